import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SyncProgress, SyncSummary } from '../../sync/uploader';
import { UnknownBatchJobError } from './errors';
import type { CounterService } from './service';

/**
 * "Clôturer et transmettre": the pharmacist closes the day's batch at the counter. The open
 * batch is sealed and its manifest signed ON THE PROFESSIONAL CARD (PSO: COMPUTE DIGITAL
 * SIGNATURE, the same card port that signs the invoices, under the counter's lock), then — when
 * the counter has a fund — uploaded by the sync loop, which reports each batch the fund answers.
 *
 * Closing and signing happen in the request (one signature: an absent or locked card is answered
 * at once, 409); the upload, which may wait on the fund and retry, runs as a job whose state is
 * read back by id and published on the counter's event bus: a `batch-job` event after every
 * change (its state and counts), besides the sync loop's own `sync-progress` per batch.
 */

export type BatchJobState = 'running' | 'done' | 'failed';

export interface BatchJob {
  id: string;
  state: BatchJobState;
  startedAt: string;
  finishedAt: string | null;
  /** The batch this close sealed and signed; null when the open batch held no invoice. */
  closed: { batchId: number; from: number; to: number; count: number; signed: boolean } | null;
  /** False without a fund: the signed batch waits for `chifa sync` (or a counter started with --fund). */
  fundConfigured: boolean;
  /** The upload so far, then the fund's answer; null without a fund. */
  upload: {
    progress: { doneInvoices: number; totalInvoices: number; doneBatches: number; totalBatches: number; retries: number };
    /** Batches and invoices the fund answered in this run. */
    batches: number;
    invoices: number;
    /** Invoices accepted and rejected by the fund (rejected ones are listed under /api/invoices/rejected). */
    accepted: number;
    rejected: number;
    /** Batches the fund already held (answered from its idempotency record). */
    replayed: number;
    /** Why the upload stopped early; the batches left are sent by the next run. */
    error: { code: string; message: string } | null;
  } | null;
  /** Why the job failed, when it did. */
  error: { code: string; message: string } | null;
}

/** Runs the upload for a job (the sync loop's pass), reporting each answered batch; throws when the pass failed. */
export type BatchUpload = (onProgress: (p: SyncProgress) => void) => Promise<SyncSummary>;

/** Jobs kept for reading back; older ones are forgotten (the journal keeps the batches themselves). */
const KEPT_JOBS = 20;

export class BatchCloser {
  private readonly service: CounterService;
  private readonly upload: BatchUpload | undefined;
  private readonly log: Logger;
  private readonly jobs = new Map<string, BatchJob>();
  private running: BatchJob | undefined;

  constructor(options: { service: CounterService; upload?: BatchUpload; logger: Logger }) {
    this.service = options.service;
    this.upload = options.upload;
    this.log = options.logger;
  }

  /**
   * Closes the open batch and signs it on the professional card, then starts its upload. While a
   * job is uploading, asking again answers with that job (a double click closes once).
   */
  async closeAndSend(): Promise<BatchJob> {
    if (this.running) return snapshot(this.running);
    const info = await this.service.signWithProfessional((signer) => this.service.journal.closeOpenBatch(signer));
    if (this.running) return snapshot(this.running);
    const job: BatchJob = {
      id: randomBytes(9).toString('base64url'),
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      closed: info ? { batchId: info.id, from: info.from, to: info.to, count: info.count, signed: info.signed } : null,
      fundConfigured: this.upload !== undefined,
      upload: null,
      error: null,
    };
    this.remember(job);
    this.log.info({ job: job.id, batch: info?.id ?? null, invoices: info?.count ?? 0 }, 'batch closed and signed by the professional card');
    if (!this.upload) {
      this.finish(job, 'done');
      return snapshot(job);
    }
    this.running = job;
    job.upload = {
      progress: { doneInvoices: 0, totalInvoices: 0, doneBatches: 0, totalBatches: 0, retries: 0 },
      batches: 0,
      invoices: 0,
      accepted: 0,
      rejected: 0,
      replayed: 0,
      error: null,
    };
    this.publish(job);
    void this.send(job, this.upload);
    return snapshot(job);
  }

  private async send(job: BatchJob, upload: BatchUpload): Promise<void> {
    try {
      const summary = await upload((p) => {
        job.upload!.progress = {
          doneInvoices: p.doneInvoices,
          totalInvoices: p.totalInvoices,
          doneBatches: p.doneBatches,
          totalBatches: p.totalBatches,
          retries: p.retries,
        };
        this.publish(job);
      });
      Object.assign(job.upload!, {
        batches: summary.batches,
        invoices: summary.invoices,
        accepted: summary.accepted,
        rejected: summary.rejected,
        replayed: summary.replayed,
        error: summary.error ? { code: summary.error.code, message: summary.error.message } : null,
      });
      job.error = job.upload!.error;
      this.finish(job, summary.error ? 'failed' : 'done');
    } catch (err) {
      job.error = { code: 'sync-failed', message: err instanceof Error ? err.message : String(err) };
      this.finish(job, 'failed');
    }
  }

  private finish(job: BatchJob, state: 'done' | 'failed'): void {
    job.state = state;
    job.finishedAt = new Date().toISOString();
    if (this.running === job) this.running = undefined;
    if (job.upload)
      this.log.info(
        { job: job.id, state, accepted: job.upload.accepted, rejected: job.upload.rejected, error: job.upload.error?.code ?? null },
        'batch upload finished',
      );
    this.publish(job);
  }

  /** The job's state and counts on the counter's event bus (the page reads the rest by id). */
  private publish(job: BatchJob): void {
    this.service.events.publish('batch-job', {
      id: job.id,
      state: job.state,
      batchId: job.closed?.batchId ?? null,
      invoices: job.closed?.count ?? 0,
      doneInvoices: job.upload?.progress.doneInvoices ?? 0,
      totalInvoices: job.upload?.progress.totalInvoices ?? 0,
      accepted: job.state !== 'running' && job.upload ? job.upload.accepted : null,
      rejected: job.state !== 'running' && job.upload ? job.upload.rejected : null,
    });
  }

  private remember(job: BatchJob): void {
    this.jobs.set(job.id, job);
    while (this.jobs.size > KEPT_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
  }

  /** The job `id` as it stands now. */
  job(id: string): BatchJob {
    const j = this.jobs.get(id);
    if (!j) throw new UnknownBatchJobError(id);
    return snapshot(j);
  }
}

function snapshot(job: BatchJob): BatchJob {
  return structuredClone(job);
}
