import type { Logger } from 'pino';
import { type DownlinkStore, refreshDownlink } from '../../sync/downlink/client';
import { CertificateError } from '../../sync/errors';
import { FundVerifier } from '../../sync/fund-verifier';
import { fundEndpoint, type FundEndpoint } from '../../sync/http';
import { RequestAuthenticator } from '../../sync/request-auth';
import { Uploader, type SyncProgress, type SyncSummary } from '../../sync/uploader';
import { importCatalogue } from '../../billing/catalogue/import';
import type { CounterJournal } from './journal';
import type { CounterService } from './service';

/**
 * With `--fund URL`, the counter keeps in touch with the fund in the background: it closes the
 * batch when it is due and signs its manifest (with the professional card, under the counter's
 * lock), uploads closed batches (src/sync Uploader: idempotent, retried with backoff), and
 * fetches the downlink (blacklist, catalogue, rules). A failed run changes nothing and is retried
 * at the next tick; the page shows the backlog. Without `--fund`, `chifa sync` does the same by hand.
 *
 * Every request to the fund is signed by the professional card (a token per request, under the
 * counter's lock), so the loop needs the card inserted and unlocked; every answer is checked
 * against `fundCa` (the fund CA PEM) before anything is recorded or applied.
 */

export interface SyncLoopOptions {
  fund: string;
  /** PEM of the CA of the fund's TLS certificate. */
  ca?: string | Buffer;
  /** PEM of the fund CA that issues the fund's signing certificate. */
  fundCa: string | Buffer;
  intervalMs?: number;
  journal: CounterJournal;
  downlink: DownlinkStore;
  service: CounterService;
  logger: Logger;
  /** The counter's clock (request tokens are dated with it). */
  now?: () => Date;
}

export interface SyncRunOptions {
  /** Called after each batch the fund answered (the upload's progress). */
  onProgress?: (p: SyncProgress) => void;
}

export class SyncLoop {
  private readonly endpoint: FundEndpoint;
  private readonly o: SyncLoopOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly abort = new AbortController();
  lastRun: { at: string; error: string | null } | null = null;

  constructor(o: SyncLoopOptions) {
    this.o = o;
    this.endpoint = fundEndpoint(o.fund, {
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      auth: new RequestAuthenticator((use) => o.service.withProfessionalSigner(use), o.now ? { now: o.now } : {}),
      verifier: new FundVerifier([o.fundCa], o.now ? { now: o.now } : {}),
    });
  }

  start(): void {
    const tick = () => {
      if (!this.running) this.running = this.runOnce().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.o.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /**
   * Runs a pass now (after the one in progress, if any); resolves the upload's summary, or null
   * when the pass failed before the upload finished (lastRun says why).
   */
  async runNow(options: SyncRunOptions = {}): Promise<SyncSummary | null> {
    while (this.running) await this.running.catch(() => undefined);
    const run = this.runOnce(options);
    this.running = run.finally(() => (this.running = undefined));
    return run;
  }

  async runOnce(options: SyncRunOptions = {}): Promise<SyncSummary | null> {
    const { service, journal, logger } = this.o;
    let error: string | null = null;
    let summary: SyncSummary | null = null;
    try {
      // A professional card the fund would refuse signs nothing, but what is signed is still sent.
      try {
        await service.withProfessionalSigner((signer) => journal.closeDueBatches(signer));
      } catch (err) {
        if (!(err instanceof CertificateError)) throw err;
        error = `${err.code}: ${err.message}`;
        logger.warn({ error: err.code }, 'the professional card cannot sign: its certificate would be refused');
      }
      summary = await new Uploader(journal.syncJournal, {
        fund: this.endpoint,
        logger,
        signal: this.abort.signal,
        // The page shows the upload as it goes (one event per batch the fund answered).
        onProgress: (p) => {
          service.events.publish('sync-progress', { state: 'running', ...countsOf(p) });
          options.onProgress?.(p);
        },
      }).runOnce();
      if (summary.batches > 0 || summary.error)
        service.events.publish('sync-progress', {
          state: summary.error ? 'failed' : 'done',
          doneInvoices: summary.invoices,
          totalInvoices: summary.invoices + summary.backlog.unsentInvoices,
          doneBatches: summary.batches,
          totalBatches: summary.batches + summary.backlog.unsentBatches,
        });
      if (summary.error) error = `${summary.error.code}: ${summary.error.message}`;
      if (summary.batches > 0 || summary.error)
        logger.info(
          { batches: summary.batches, invoices: summary.invoices, rejected: summary.rejected, error: summary.error?.code ?? null },
          'sync run',
        );
      const results = await refreshDownlink(this.endpoint, this.o.downlink, {
        applyCatalogue: (csv) => {
          importCatalogue(service.catalogue, csv, { file: 'downlink catalogue' });
        },
      });
      for (const r of results) {
        if (r.status === 'updated') logger.info({ document: r.name, etag: r.etag }, 'downlink applied');
        if (r.status === 'failed') logger.warn({ document: r.name, detail: r.detail }, 'downlink failed');
        if (r.name === 'rules' && r.status === 'updated') {
          const book = this.o.downlink.ruleBook();
          if (book) service.rules = book;
        }
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      logger.warn({ error }, 'sync run failed; retrying later');
    }
    this.lastRun = { at: new Date().toISOString(), error };
    return summary;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }
}

function countsOf(p: SyncProgress): { doneInvoices: number; totalInvoices: number; doneBatches: number; totalBatches: number } {
  return { doneInvoices: p.doneInvoices, totalInvoices: p.totalInvoices, doneBatches: p.doneBatches, totalBatches: p.totalBatches };
}
