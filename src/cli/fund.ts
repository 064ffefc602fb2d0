import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ChifaError } from '../common/errors';
import { capLines, clip } from '../common/display';
import { loosePermissions, looseWarning } from '../common/private-files';
import { createLogger } from '../common/log';
import { auditFundStore } from '../fund/audit';
import { parseFaults } from '../fund/faults';
import { defaultFundCa, FundServer } from '../fund/server';
import { isLoopbackHost } from '../common/loopback';
import { readCaFile, signerFromFiles, tlsFiles } from './option-files';
import { MAX_DETAILS, MAX_LINE, reportError } from './report';
import { untilStopSignal } from './stop-signal';

/**
 * `chifa fund [--port] [--data DIR] [--faults SPEC]`: the reference fund server for integrators.
 * It authenticates every request but health (tokens signed by the pharmacists' cards, checked
 * against `--ca`) and signs its answers with `--signing-key/--signing-cert` (default: the TEST
 * ONLY fixtures/keys/fund-signing pair, and it says so).
 * `chifa fund verify --data DIR`: proves the fund's store complete (exit 1 if not).
 * The server prints one line `chifa fund: listening on URL` to stdout once it accepts
 * connections (tests and scripts read the port from it); JSON logs go to stderr.
 */

interface ServeOptions {
  host: string;
  port: string;
  data: string;
  faults?: string;
  ca?: string[];
  tlsCert?: string;
  tlsKey?: string;
  signingKey?: string;
  signingCert?: string;
  rules?: string;
  threads?: string;
  settleAfterMs?: string;
  allowRemote?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const fund = program.command('fund').description('the reference fund server (for integrators and tests), and its store audit');

  fund
    .command('serve', { isDefault: true })
    .description('run the reference fund server (the default sub-command)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '8090')
    .option('--data <dir>', "the fund's data directory (fund.sqlite, downlink/)", path.join('var', 'fund'))
    .option(
      '--faults <spec>',
      'inject faults, e.g. drop=0.05,drop-after=0.05,5xx=0.05,retry-after=0.02:1,latency=0.2:5-50,partial=0.1,seed=1',
    )
    .option(
      '--ca <file>',
      'PEM of a CA that issues professional certificates (repeatable; default: the TEST ONLY fixtures/keys/fund-ca.pem)',
      collect,
    )
    .option(
      '--signing-key <file>',
      "the fund's signing key (PEM), which signs every acknowledgement and downlink document; with --signing-cert " +
        '(default: the TEST ONLY fixtures/keys/fund-signing.key.pem)',
    )
    .option(
      '--signing-cert <file>',
      'certificate of --signing-key (PEM or DER), issued by the fund CA the terminals trust, with the fund-signing extended key usage',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--rules <dir>', 'third-party-payment rules to recompute splits with (default: fixtures/rules)')
    .option('--threads <n>', 'signature-verification worker threads (default: one per core; 0: main thread)')
    .option('--settle-after-ms <ms>', 'settle acknowledged batches after this delay (default 0)')
    .option('--allow-remote', 'allow a non-loopback --host')
    .addHelpText(
      'after',
      `
--faults is a comma-separated list of name=rate[:argument], each rate in [0, 1]:
  drop=R             close the connection before processing the request
  drop-after=R       process and store the request, then close the connection without answering
  5xx=R              answer 500, 502 or 503 without processing
  retry-after=R[:S]  answer 503 with Retry-After: S seconds (default 1)
  latency=R[:A-B]    wait A-B ms (default 50-500) before handling
  partial=R          acknowledge only part of the invoices (complete: false)
  seed=N             seed of the fault generator (reproducible runs)

Examples:
  chifa fund --port 8090 --data var/fund                 # TEST ONLY keys from fixtures/keys
  chifa fund --faults "drop=0.05,5xx=0.05,latency=0.3:5-50,seed=7"
  chifa fund verify --data var/fund                      # after the run: each invoice exactly once`,
    )
    .action(async (opts: ServeOptions) => {
      const log = createLogger({ name: 'chifa-fund', destination: 2 });
      let server: FundServer;
      let url: string;
      try {
        const port = Number(opts.port);
        if (!/^\d{1,5}$/.test(opts.port) || port > 65535)
          throw new ChifaError('invalid-input', `--port: expected 0..65535, got ${JSON.stringify(opts.port)}`);
        if (!isLoopbackHost(opts.host) && !opts.allowRemote)
          throw new ChifaError('invalid-input', `--host ${opts.host} is not a loopback address; add --allow-remote to listen on it`);
        if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined))
          throw new ChifaError('invalid-input', '--tls-cert and --tls-key go together');
        const threads = opts.threads === undefined ? undefined : Number(opts.threads);
        if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0 && threads <= 64))
          throw new ChifaError('invalid-input', '--threads: expected 0..64');
        const settle = opts.settleAfterMs === undefined ? undefined : Number(opts.settleAfterMs);
        if (settle !== undefined && !(Number.isInteger(settle) && settle >= 0))
          throw new ChifaError('invalid-input', '--settle-after-ms: expected a whole number of ms');
        const loose = loosePermissions(path.resolve(opts.data));
        if (loose.length > 0) log.warn({ loose }, looseWarning(loose));
        const caFiles = opts.ca ?? [defaultFundCa()];
        for (const f of caFiles) readCaFile('--ca', f);
        if (!opts.ca) log.warn({ ca: caFiles[0] }, 'trusting the TEST ONLY fund CA from fixtures/keys');
        if ((opts.signingKey === undefined) !== (opts.signingCert === undefined))
          throw new ChifaError('invalid-input', '--signing-key and --signing-cert go together');
        const signer =
          opts.signingKey && opts.signingCert
            ? signerFromFiles({ option: '--signing-key', file: opts.signingKey }, { option: '--signing-cert', file: opts.signingCert })
            : undefined;
        if (!signer) log.warn('signing answers with the TEST ONLY fund key from fixtures/keys');
        const tls =
          opts.tlsCert && opts.tlsKey
            ? tlsFiles({ option: '--tls-cert', file: opts.tlsCert }, { option: '--tls-key', file: opts.tlsKey })
            : undefined;
        const dataDir = path.resolve(opts.data);
        try {
          server = new FundServer({
            dataDir,
            caFiles,
            ...(signer ? { signer } : {}),
            faults: parseFaults(opts.faults),
            logger: log,
            ...(opts.rules ? { rulesDir: path.resolve(opts.rules) } : {}),
            ...(threads !== undefined ? { verifyThreads: threads } : {}),
            ...(settle !== undefined ? { settleAfterMs: settle } : {}),
          });
        } catch (err) {
          if (!(err instanceof Database.SqliteError)) throw err;
          throw new ChifaError(
            'fund-store-unreadable',
            `${path.join(dataDir, 'fund.sqlite')} is not a readable fund store (${clip(err.message, 120)}): check --data; keep the file, and run \`chifa fund verify\``,
            { cause: err },
          );
        }
        try {
          url = await server.listen({ host: opts.host, port, ...(tls ? { tls } : {}) });
        } catch (err) {
          await server.close();
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE')
            throw new ChifaError('port-in-use', `--port ${port}: in use on ${opts.host}; choose another (0: any free port)`);
          if (code === 'EACCES')
            throw new ChifaError('port-forbidden', `--port ${port}: not allowed for this user on ${opts.host}; choose one above 1023`);
          throw err;
        }
      } catch (err) {
        if (!(err instanceof ChifaError) && !(err as NodeJS.ErrnoException).code) throw err;
        const e = err as { code?: string; message: string };
        process.stderr.write(`chifa fund: ${e.code ?? 'error'}: ${clip(e.message, MAX_LINE)}\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(`chifa fund: listening on ${url}\n`);
      log.info({ url, data: path.resolve(opts.data), faults: opts.faults ?? null }, 'fund listening');
      await untilStopSignal();
      await server.close();
    });

  fund
    .command('verify')
    .description("prove the fund's store complete: each pharmacy's chain without gaps or duplicates, every signature and batch")
    .option('--data <dir>', "the fund's data directory", path.join('var', 'fund'))
    .option('--json', 'print the report as JSON')
    .action((opts: { data: string; json?: boolean }) => {
      const file = path.join(path.resolve(opts.data), 'fund.sqlite');
      if (!fs.existsSync(file)) {
        reportError('fund verify', new ChifaError('no-fund-store', `${file} does not exist (use --data DIR)`));
        return;
      }
      const a = auditFundStore(path.resolve(opts.data));
      if (opts.json) process.stdout.write(JSON.stringify(a, null, 2) + '\n');
      else {
        process.stdout.write(`fund store ${a.ok ? 'OK' : 'BROKEN'}: ${a.file}\n`);
        for (const line of capLines(a.problems, MAX_DETAILS)) process.stdout.write(`  - ${clip(line, MAX_LINE)}\n`);
        for (const p of a.pharmacies) {
          process.stdout.write(
            `  ${p.pharmacyId}: ${p.invoices} invoices (${p.accepted} accepted, ${p.rejected} rejected), each exactly once: ${p.problems.length === 0 ? 'yes' : 'NO'}; ` +
              `${p.batches} batches; chain ${p.chainComplete ? 'complete' : 'BROKEN'} 1..${p.lastNumber}, last hash ${p.lastHash}\n`,
          );
          for (const m of capLines(p.problems, MAX_DETAILS)) process.stdout.write(`    - ${clip(m, MAX_LINE)}\n`);
        }
      }
      process.exitCode = a.ok ? 0 : 1;
    });
}
