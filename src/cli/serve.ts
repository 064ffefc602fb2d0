import type { Command } from 'commander';
import { ChifaError } from '../common/errors';
import { createLogger } from '../common/log';
import { startCounter } from '../pos/http/server';
import { resolveDataDir } from '../common/paths';
import { quoteClipped } from '../common/display';
import { readTokenFile } from '../pos/http/auth';
import { TIMING_PROFILE_NAMES } from '../emulator/timing-profile';
import { timingOption } from './option-files';
import { reportError } from './report';

/**
 * `chifa serve`: the counter service (what `npm start` runs). HTTP on loopback, a token for the
 * API, SQLite in the data directory, PC/SC readers — or the demo cards when there is no reader.
 * The page address with its token goes to stderr; the JSON log to stdout.
 * The token never travels on the command line, where every local user could read it in the
 * process list: it comes from `--token-file`, from CHIFA_TOKEN, or from `DATA/token`.
 */
interface ServeOptions {
  host: string;
  port: string;
  data?: string;
  tokenFile?: string;
  allowRemote?: boolean;
  insuredReader?: string;
  proReader?: string;
  demo?: boolean;
  timing?: string;
  demoCard?: string;
  fund?: string;
  fundCa?: string;
  fundSignerCa?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the counter service: the pharmacy page and its API (PC/SC readers, or the demo cards without a reader)')
    .option('--host <host>', 'address to listen on (loopback only unless --allow-remote)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '8080')
    .option('--data <dir>', 'data directory: catalogue, journal, demo cards, API token (default: $CHIFA_DATA or ./var)')
    .option('--token-file <file>', 'read the API token from this file (default: $CHIFA_TOKEN, else DATA/token, created on first start)')
    .option('--allow-remote', 'allow listening on a non-loopback address (the token is then the only protection)')
    .option(
      '--insured-reader <name>',
      "PC/SC reader of the patient's card (exact name or a case-insensitive part of it; default: each card is told apart by its application)",
    )
    .option('--pro-reader <name>', "PC/SC reader of the pharmacist's professional card (exact name or part of it)")
    .option('--demo', 'use the emulated demo cards even if readers are attached')
    .option(
      '--timing <profile>',
      `demo cards only: answer as slowly as a real card would (${TIMING_PROFILE_NAMES.join(', ')} or a JSON profile file; docs/emulator.md "Timing") (default: none)`,
    )
    .option(
      '--demo-card <image>',
      'demo cards only: the insured card image (default: fixtures/cards/demo.json; fixtures/cards/full-rings.json holds 400 dispensations)',
    )
    .option(
      '--fund <url>',
      "the fund's base URL: upload batches and fetch the blacklist, catalogue and rules in the background (each request signed by the unlocked professional card)",
    )
    .option('--fund-ca <file>', "PEM of the CA of the fund's TLS certificate (default: the system CAs)")
    .option(
      '--fund-signer-ca <file>',
      "PEM of the fund CA that issues the fund's signing certificate: its acknowledgements and downlink documents are verified against it, " +
        'and the professional card before the journal signs with it ' +
        '(required unless the fund is on loopback, where the TEST ONLY fixtures/keys/fund-ca.pem is the default)',
    )
    .addHelpText(
      'after',
      `
Without a reader (or pcscd), or with --demo, it runs the emulated demo cards (TEST ONLY):
the family card, PIN 1234, and the pharmacist's card, PIN 0000, unlocked automatically.
The page address with its token goes to stderr, the JSON log to stdout ($CHIFA_LOG_LEVEL: info).

Examples:
  chifa serve                                            # npm start: http://127.0.0.1:8080, data in ./var
  chifa serve --demo --timing typical --demo-card fixtures/cards/full-rings.json
  chifa serve --insured-reader "ACR39U ICC Reader 00 00" --pro-reader "ACR39U ICC Reader 01 00"
  chifa serve --fund http://127.0.0.1:8090               # with chifa fund: batches sent, blacklist fetched`,
    )
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!/^\d{1,5}$/.test(opts.port) || port > 65535) {
        process.stderr.write(`chifa serve: invalid-input: --port: expected a TCP port number 0..65535, got ${quoteClipped(opts.port)}\n`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger({ name: 'chifa-counter' });
      const dataDir = resolveDataDir(opts.data);
      let counter;
      let token: { token: string; from: string } | undefined;
      try {
        if (opts.timing !== undefined) timingOption(opts.timing);
        if (opts.tokenFile !== undefined) {
          const t = readTokenFile(opts.tokenFile);
          if (t.looseMode)
            logger.warn({ file: opts.tokenFile, mode: t.looseMode }, 'the token file is readable by other users: chmod 600 it');
          token = { token: t.token, from: `--token-file ${opts.tokenFile}` };
        } else if (process.env.CHIFA_TOKEN) {
          token = { token: process.env.CHIFA_TOKEN, from: 'CHIFA_TOKEN' };
        }
        counter = await startCounter({
          host: opts.host,
          port,
          dataDir,
          logger,
          ...(token ? { token: token.token } : {}),
          ...(opts.allowRemote ? { allowRemote: true } : {}),
          ...(opts.demo ? { demo: true } : {}),
          ...(opts.timing !== undefined ? { timing: opts.timing } : {}),
          ...(opts.demoCard !== undefined ? { demoInsuredImage: opts.demoCard } : {}),
          ...(opts.insuredReader ? { insuredReader: opts.insuredReader } : {}),
          ...(opts.proReader ? { professionalReader: opts.proReader } : {}),
          ...(opts.fund ? { fund: opts.fund } : {}),
          ...(opts.fundCa ? { fundCa: opts.fundCa } : {}),
          ...(opts.fundSignerCa ? { fundSignerCa: opts.fundSignerCa } : {}),
        });
      } catch (err) {
        if (!(err instanceof ChifaError)) throw err;
        reportError('serve', err);
        return;
      }
      const mode = counter.station.mode === 'demo' ? 'DEMO (emulated TEST ONLY cards)' : 'PC/SC readers';
      const tokenNote =
        token !== undefined
          ? `token from ${token.from}`
          : `token in ${counter.tokenFile}${counter.tokenSource === 'generated' ? ' (new)' : ''}`;
      process.stderr.write(`\nchifa counter — ${mode}\n  open: ${counter.pageUrl}\n  (${tokenNote}; data in ${dataDir})\n\n`);

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'stopping the counter');
          counter
            .close()
            .catch((err: unknown) => logger.error({ error: (err as Error).message }, 'error while stopping'))
            .finally(() => {
              process.off('SIGINT', onInt);
              process.off('SIGTERM', onTerm);
              resolve();
            });
        };
        const onInt = () => stop('SIGINT');
        const onTerm = () => stop('SIGTERM');
        process.on('SIGINT', onInt);
        process.on('SIGTERM', onTerm);
      });
    });
}
