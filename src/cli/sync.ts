import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { ChifaError } from '../common/errors';
import { clip } from '../common/display';
import { loosePermissions, looseWarning } from '../common/private-files';
import { createLogger } from '../common/log';
import { importCatalogue } from '../billing/catalogue/import';
import { CatalogueStore } from '../billing/catalogue/store';
import { formatDa } from '../billing/money';
import { resolveDataDir } from '../common/paths';
import { downlinkDatabasePath } from '../sync/downlink/blacklist';
import { DownlinkStore, refreshDownlink, type DownlinkResult } from '../sync/downlink/client';
import { fundCaFor, FundVerifier } from '../sync/fund-verifier';
import { fundBaseUrl, fundEndpoint } from '../sync/http';
import type { Journal } from '../sync/journal/journal';
import { CertificateError } from '../sync/errors';
import { type Signer } from '../sync/signer';
import { TrustStore } from '../sync/trust';
import { RequestAuthenticator } from '../sync/request-auth';
import { Uploader, type SyncProgress, type SyncSummary } from '../sync/uploader';
import { openExistingJournal, unreadableJournal } from './journal';
import { readCaFile, signerFromFiles } from './option-files';
import { pinFromPrompt, pinFromStdin } from './pin-input';
import { openProfessionalSigner, type ProfessionalCardSigner } from './pro-card';
import { MAX_LINE, reportError } from './report';

/**
 * `chifa sync [--once] [--fund URL]`: uploads the journal's closed batches to the fund (in
 * order, idempotent, retried with backoff), completes acknowledgements, learns settlements, then
 * fetches the downlink (blacklist, catalogue, rules). Safe to kill at any moment: the next run
 * resumes from the journal without duplicates or losses. A progress bar goes to stderr when it
 * is a terminal, plain progress lines otherwise; the summary goes to stdout.
 *
 * The pharmacist's key authenticates every request to the fund; with it the command also closes
 * the open batch when due (or now, with `--close`) and signs pending manifests — only if its
 * certificate is one the fund accepts. The key is the professional card in a PC/SC reader
 * (`--pro-reader NAME`: every signature is made on the card; its PIN comes from stdin with
 * `--pin-stdin` or a prompt without echo, never from the command line), or, for tests only, a
 * software key (`--key/--cert`, TEST ONLY). The fund's answers, and that certificate, are checked
 * against `--fund-signer-ca` (default: the TEST ONLY fund CA, only for a fund on loopback).
 */

interface SyncOptions {
  once?: boolean;
  fund?: string;
  ca?: string;
  fundSignerCa?: string;
  data?: string;
  key?: string;
  cert?: string;
  proReader?: string;
  pinStdin?: boolean;
  close?: boolean;
  interval: string;
  downlink: boolean;
  json?: boolean;
  retryBaseMs?: string;
  retryMaxMs?: string;
  maxAttempts?: string;
}

function positiveInt(name: string, v: string | undefined, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new ChifaError('invalid-input', `--${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

class ProgressDisplay {
  private lastLine = 0;
  private readonly tty = process.stderr.isTTY === true;
  private drawn = false;

  update(p: SyncProgress): void {
    if (this.tty) {
      const width = 30;
      const frac = p.totalInvoices === 0 ? 1 : p.doneInvoices / p.totalInvoices;
      const fill = Math.round(frac * width);
      const bar = '#'.repeat(fill) + '-'.repeat(width - fill);
      process.stderr.write(
        `\r[${bar}] ${p.doneInvoices}/${p.totalInvoices} invoices  batch ${p.doneBatches}/${p.totalBatches}  retries ${p.retries} `,
      );
      this.drawn = true;
      return;
    }
    // Plain lines: every batch, but at most one line every 500 ms (and always the last).
    const now = Date.now();
    if (p.doneBatches === p.totalBatches || now - this.lastLine >= 500) {
      this.lastLine = now;
      process.stderr.write(
        `sync: ${p.doneInvoices}/${p.totalInvoices} invoices, batch ${p.batchId} (${p.doneBatches}/${p.totalBatches}), ${p.retries} retries\n`,
      );
    }
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

/** The downlink store; one SQLite cannot read is a typed error saying what to do. */
function openDownlink(dataDir: string): DownlinkStore {
  try {
    return DownlinkStore.open(dataDir);
  } catch (err) {
    if (!(err instanceof Database.SqliteError)) throw err;
    throw new ChifaError(
      'downlink-unreadable',
      `${downlinkDatabasePath(dataDir)} is not readable (${clip(err.message, 120)}): move it away, the next sync fetches the documents again`,
      { cause: err },
    );
  }
}

function printSummary(s: SyncSummary, downlink: DownlinkResult[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ...s, downlink }, null, 2) + '\n');
    return;
  }
  const b = s.backlog;
  process.stdout.write(
    `sync: ${s.batches} batches, ${s.invoices} invoices sent (${s.accepted} accepted, ${s.rejected} rejected${s.replayed ? `, ${s.replayed} already at the fund` : ''}), ` +
      `${s.retries} retries, ${s.settledBatches} batches settled, fund share ${formatDa(s.paid)}, ${(s.durationMs / 1000).toFixed(1)} s\n` +
      `backlog: ${b.unsentBatches} batches (${b.unsentInvoices} invoices) to send, ${b.openInvoices} invoices in the open batch, ${b.rejectedPending} rejected awaiting correction\n`,
  );
  for (const d of downlink)
    if (d.status !== 'unchanged') process.stdout.write(`downlink ${d.name}: ${d.status}${d.detail ? ` (${d.detail})` : ''}\n`);
  if (s.error) {
    process.stdout.write(
      `stopped: ${clip(s.error.code, MAX_LINE)}: ${clip(s.error.message, MAX_LINE)}${s.error.expected !== undefined ? ` (the fund expects ${s.error.expected} next)` : ''}\n`,
    );
  }
}

/** Two runs of one pass as one summary (the second after a refused manifest was signed again). */
function addSummaries(a: SyncSummary, b: SyncSummary): SyncSummary {
  const sum = (
    k:
      | 'batches'
      | 'invoices'
      | 'accepted'
      | 'rejected'
      | 'replayed'
      | 'retries'
      | 'settledBatches'
      | 'paymentNotices'
      | 'paid'
      | 'durationMs',
  ) => a[k] + b[k];
  return {
    ...b,
    batches: sum('batches'),
    invoices: sum('invoices'),
    accepted: sum('accepted'),
    rejected: sum('rejected'),
    replayed: sum('replayed'),
    retries: sum('retries'),
    settledBatches: sum('settledBatches'),
    paymentNotices: sum('paymentNotices'),
    paid: sum('paid'),
    durationMs: sum('durationMs'),
  };
}

export function register(program: Command): void {
  program
    .command('sync')
    .description('upload closed invoice batches to the fund and fetch the blacklist, catalogue and rules')
    .option('--once', 'one pass, then exit (default: keep running every --interval seconds)')
    .option('--fund <url>', "the fund's base URL (default: $CHIFA_FUND_URL); plain http only to loopback")
    .option('--ca <file>', "PEM of the CA of the fund's TLS certificate (default: $CHIFA_FUND_CA, else the system CAs)")
    .option(
      '--fund-signer-ca <file>',
      "PEM of the fund CA that issues the fund's signing certificate: acknowledgements and downlink documents are verified against it, " +
        "and the pharmacist's certificate before anything is signed " +
        '(default: $CHIFA_FUND_SIGNER_CA; for a fund on loopback only, the TEST ONLY fixtures/keys/fund-ca.pem)',
    )
    .option('--data <dir>', 'data directory holding journal.sqlite (default: $CHIFA_DATA or ./var)')
    .option(
      '--pro-reader <name>',
      "the PC/SC reader holding the pharmacist's professional card, which authenticates every request to the fund, closes batches and signs manifests (exact name or a unique part of it)",
    )
    .option('--pin-stdin', "with --pro-reader: read the card's PIN from the first line of standard input (default: a prompt without echo)")
    .option(
      '--key <file>',
      'TEST ONLY software key (PEM) of the pharmacist, instead of the professional card (--pro-reader); with --cert (default: $CHIFA_SIGNER_KEY)',
    )
    .option('--cert <file>', 'TEST ONLY: certificate (PEM or DER) of --key (default: $CHIFA_SIGNER_CERT)')
    .option('--close', 'close the open batch now and sign its manifest (with the card, or the TEST ONLY key) before uploading')
    .option('--interval <seconds>', 'seconds between passes when not --once', '60')
    .option('--no-downlink', 'do not fetch the blacklist, catalogue and rules')
    .option('--json', 'print the summary as JSON')
    .option('--retry-base-ms <ms>', 'first backoff delay (default 200)')
    .option('--retry-max-ms <ms>', 'longest backoff delay (default 30000)')
    .option('--max-attempts <n>', 'attempts per request before a pass gives up (default 12)')
    .addHelpText(
      'after',
      `
One of --pro-reader or (TEST ONLY) --key and --cert is required: the fund authenticates every request.
Exit status: 0 when the pass went through, 1 when the fund or the card refused or was unreachable, 2 for a usage mistake.

Examples:
  chifa sync --once --close --fund https://fund.example --pro-reader "ACR39U" --fund-signer-ca fund-ca.pem
  echo 0000 | chifa sync --once --fund http://127.0.0.1:8090 --pro-reader "Virtual PCD 00 01" --pin-stdin
  chifa sync --once --fund http://127.0.0.1:8090 \\
    --key fixtures/keys/pharmacy-1.key.pem --cert fixtures/keys/pharmacy-1.cert.pem   # TEST ONLY key`,
    )
    .action(async (opts: SyncOptions) => {
      const logger = createLogger({ name: 'chifa-sync', defaultLevel: 'warn', destination: 2 });
      let journal: Journal | undefined;
      let downlink: DownlinkStore | undefined;
      let card: ProfessionalCardSigner | undefined;
      let cardStage = false;
      try {
        // An environment variable set to nothing is not set.
        const env = (name: string): string | undefined => process.env[name] || undefined;
        const url = opts.fund ?? env('CHIFA_FUND_URL');
        if (!url) throw new ChifaError('invalid-input', '--fund: the fund URL is required (or set CHIFA_FUND_URL)');
        // The URL first: a scheme that is not https is the mistake to name, not a missing CA.
        fundBaseUrl(url);
        const option = (name: string, variable: string, given: string | undefined) => (given !== undefined ? name : variable);
        const caFile = opts.ca ?? env('CHIFA_FUND_CA');
        const ca = caFile ? readCaFile(option('--ca', 'CHIFA_FUND_CA', opts.ca), caFile) : undefined;
        const fundCa = fundCaFor(url, opts.fundSignerCa ?? env('CHIFA_FUND_SIGNER_CA'));
        const fundCaPem = readCaFile(option('--fund-signer-ca', 'CHIFA_FUND_SIGNER_CA', opts.fundSignerCa), fundCa.file);
        if (fundCa.testOnly)
          logger.warn({ ca: fundCa.file }, "verifying the fund's signatures with the TEST ONLY fund CA (the fund is on loopback)");
        const interval = positiveInt('interval', opts.interval, 60)!;
        const retry = {
          ...(opts.retryBaseMs !== undefined ? { baseMs: positiveInt('retry-base-ms', opts.retryBaseMs)! } : {}),
          ...(opts.retryMaxMs !== undefined ? { maxMs: positiveInt('retry-max-ms', opts.retryMaxMs)! } : {}),
          ...(opts.maxAttempts !== undefined ? { maxAttempts: positiveInt('max-attempts', opts.maxAttempts)! } : {}),
        };
        const dataDir = resolveDataDir(opts.data);
        const loose = loosePermissions(dataDir);
        if (loose.length > 0) logger.warn({ loose }, looseWarning(loose));
        const verifier = new FundVerifier([fundCaPem]);
        const trust = new TrustStore([fundCaPem]);
        let signer: Signer;
        if (opts.proReader !== undefined) {
          if (opts.key !== undefined || opts.cert !== undefined)
            throw new ChifaError(
              'invalid-input',
              '--pro-reader and --key/--cert: sign with the professional card or the TEST ONLY key, not both',
            );
          // The card last, once everything that can be checked without it has been.
          cardStage = true;
          card = await openProfessionalSigner(opts.proReader, () =>
            opts.pinStdin ? pinFromStdin() : pinFromPrompt({ label: 'PIN of the professional card' }),
          );
          cardStage = false;
          signer = card.signer;
          logger.info({ reader: card.reader, pharmacy: card.pharmacyId }, 'signing with the professional card');
        } else {
          if (opts.pinStdin) throw new ChifaError('invalid-input', '--pin-stdin goes with --pro-reader');
          const keyFile = opts.key ?? env('CHIFA_SIGNER_KEY');
          const certFile = opts.cert ?? env('CHIFA_SIGNER_CERT');
          if ((keyFile === undefined) !== (certFile === undefined)) throw new ChifaError('invalid-input', '--key and --cert go together');
          if (!keyFile || !certFile)
            throw new ChifaError(
              'invalid-input',
              "--pro-reader NAME (or, TEST ONLY, --key and --cert): the fund authenticates every request with the pharmacist's professional card",
            );
          signer = signerFromFiles(
            { option: option('--key', 'CHIFA_SIGNER_KEY', opts.key), file: keyFile },
            { option: option('--cert', 'CHIFA_SIGNER_CERT', opts.cert), file: certFile },
          );
          logger.warn('signing with a TEST ONLY software key (--key/--cert): a pharmacy signs with its professional card (--pro-reader)');
        }
        const endpoint = fundEndpoint(url, {
          ...(ca ? { ca } : {}),
          auth: new RequestAuthenticator(signer),
          verifier,
        });
        const j = (journal = openExistingJournal(opts.data, { signer, trust }));
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);

        for (let pass = 0; ;) {
          // A certificate the fund would refuse signs nothing; with --close that ends the run
          // (exit 2), otherwise the batches already signed are still sent (exit 1).
          let signing: CertificateError | null = null;
          const unlessRefused = async <T>(sign: () => Promise<T>): Promise<T | undefined> => {
            try {
              return await sign();
            } catch (err) {
              if (!(err instanceof CertificateError)) throw err;
              signing = err;
              process.stderr.write(`chifa sync: nothing signed: ${err.code}: ${clip(err.message, MAX_LINE)}\n`);
              return undefined;
            }
          };
          if (opts.close) await j.closeOpenBatch('on-demand');
          else await unlessRefused(() => j.closeDueBatches());
          const display = new ProgressDisplay();
          const uploader = new Uploader(j, {
            fund: endpoint,
            retry,
            logger,
            signal: abort.signal,
            onProgress: (p) => display.update(p),
          });
          let summary = await uploader.runOnce();
          // The fund refused a manifest's certificate just now: signed again with this key (if the
          // fund can accept it) and sent again in the same pass.
          if (summary.error && ((await unlessRefused(() => j.signPendingManifests())) ?? 0) > 0)
            summary = addSummaries(summary, await uploader.runOnce());
          display.end();
          let dl: DownlinkResult[] = [];
          if (opts.downlink && !abort.signal.aborted) {
            downlink ??= openDownlink(dataDir);
            dl = await refreshDownlink(endpoint, downlink, {
              applyCatalogue: (csv) => {
                const store = CatalogueStore.open(dataDir, { seed: false });
                try {
                  importCatalogue(store, csv, { file: 'downlink catalogue' });
                } finally {
                  store.close();
                }
              },
            });
          }
          // In the background loop, say something only when something happened.
          const eventful =
            summary.batches > 0 || summary.settledBatches > 0 || summary.error !== null || dl.some((d) => d.status !== 'unchanged');
          if (opts.once || pass === 0 || eventful) printSummary(summary, dl, opts.json === true);
          pass++;
          if (opts.once || abort.signal.aborted) {
            process.exitCode = summary.error || signing ? 1 : 0;
            break;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, interval * 1000);
            abort.signal.addEventListener(
              'abort',
              () => {
                clearTimeout(t);
                resolve();
              },
              { once: true },
            );
          });
          if (abort.signal.aborted) break;
        }
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      } catch (err) {
        // A journal found unreadable during the pass (a page SQLite cannot read) is the same mistake as at opening.
        const typed = err instanceof ChifaError ? err : journal ? unreadableJournal(journal.file, err) : undefined;
        if (!typed) throw err;
        // A card that refuses (wrong PIN, blocked, absent, not a professional card) is not a usage mistake.
        reportError('sync', typed, cardStage && typed.code !== 'usage' ? 1 : 2);
      } finally {
        await journal?.close();
        downlink?.close();
        await card?.close().catch(() => undefined);
      }
    });
}
