import type { Logger } from 'pino';
import pino from 'pino';
import { FundError, SyncError } from './errors';
import { fundEndpoint, NetworkError, request, retryAfterMs, type FundEndpoint, type HttpResponse } from './http';
import type { Backlog, BatchInfo, Journal } from './journal/journal';
import { batchAckSchema, batchListSchema, errorBodySchema, type BatchAck } from './protocol';

/**
 * Sends the journal's closed batches to the fund, in order, one at a time (the chain is per
 * pharmacy; the fund refuses a batch that does not continue it).
 *
 * Crash safety comes from the journal and the idempotency key, not from memory: the journal says
 * which batches are not yet acknowledged; each is sent with the key derived from its signed
 * manifest, so a batch the fund already stored (the answer was lost, or the uploader was killed
 * after sending) is answered with the stored acknowledgement instead of being stored twice.
 * Nothing is marked sent before the fund's answer is recorded.
 *
 * Retries: network failures, 408, 429 and 5xx are retried with exponential backoff and full
 * jitter (delay uniform in [0, min(max, base·2^attempt)]); a `Retry-After` header is honoured
 * instead when present. Other 4xx answers are final: the run stops there and reports the reason.
 */

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts per request before the run gives up (the next run starts again). */
  maxAttempts: number;
  /** Longest Retry-After honoured; longer ones stop the run (try again later). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, maxMs: 30_000, maxAttempts: 12, maxRetryAfterMs: 5 * 60_000 };

export interface SyncProgress {
  /** Invoices acknowledged in this run, and in the queue when the run started. */
  doneInvoices: number;
  totalInvoices: number;
  doneBatches: number;
  totalBatches: number;
  batchId: number;
  retries: number;
}

export interface SyncSummary {
  batches: number;
  invoices: number;
  accepted: number;
  rejected: number;
  /** Batches the fund had already stored (answered from its idempotency record). */
  replayed: number;
  retries: number;
  settledBatches: number;
  /** Sum of `paid` over batches acknowledged in this run, centimes. */
  paid: number;
  /** Why the run stopped early, if it did. */
  error: { code: string; message: string; batchId?: number; expected?: number } | null;
  backlog: Backlog;
  durationMs: number;
}

export interface UploaderOptions {
  /** The fund's base URL, or a prepared endpoint. */
  fund: string | FundEndpoint;
  /** PEM of the CA that issued the fund's TLS certificate. */
  ca?: string | Buffer;
  retry?: Partial<RetryPolicy>;
  onProgress?: (p: SyncProgress) => void;
  logger?: Logger;
  signal?: AbortSignal;
  /** For tests: randomness and sleeping. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

class Final extends Error {
  constructor(readonly error: FundError | SyncError) {
    super(error.message);
  }
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SyncError('aborted', 'sync aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new SyncError('aborted', 'sync aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class Uploader {
  readonly endpoint: FundEndpoint;
  private readonly journal: Journal;
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  private readonly options: UploaderOptions;
  private retries = 0;

  constructor(journal: Journal, options: UploaderOptions) {
    this.journal = journal;
    this.options = options;
    this.endpoint = typeof options.fund === 'string' ? fundEndpoint(options.fund, { ...(options.ca !== undefined ? { ca: options.ca } : {}) }) : options.fund;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.log = options.logger ?? pino({ level: 'silent' });
  }

  /** One pass: send every closed batch, complete partial acknowledgements, learn settlements. */
  async runOnce(): Promise<SyncSummary> {
    const started = Date.now();
    this.retries = 0;
    const s: SyncSummary = { batches: 0, invoices: 0, accepted: 0, rejected: 0, replayed: 0, retries: 0, settledBatches: 0, paid: 0, error: null, backlog: this.journal.backlog(), durationMs: 0 };
    const pharmacyId = this.journal.pharmacyId();
    try {
      const queue = this.journal.uploadQueue();
      const total = queue.reduce((n, b) => n + b.count, 0);
      let done = 0;
      for (const b of queue) {
        this.options.signal?.throwIfAborted();
        const ack = await this.sendBatch(b, pharmacyId!);
        done += b.count;
        s.batches++;
        s.invoices += b.count;
        s.accepted += ack.accepted;
        s.rejected += ack.rejected;
        s.paid += ack.paid;
        if (ack.replayed) s.replayed++;
        this.options.onProgress?.({ doneInvoices: done, totalInvoices: total, doneBatches: s.batches, totalBatches: queue.length, batchId: b.id, retries: this.retries });
      }
      if (pharmacyId !== null) s.settledBatches = await this.learnSettlements(pharmacyId);
    } catch (err) {
      if (err instanceof Final) {
        const e = err.error;
        const body = e instanceof FundError ? errorBodySchema.safeParse(e.body) : undefined;
        s.error = { code: e.code, message: e.message, ...(body?.success && body.data.error.expected !== undefined ? { expected: body.data.error.expected } : {}) };
      } else if (err instanceof SyncError) {
        s.error = { code: err.code, message: err.message };
      } else {
        throw err;
      }
    }
    s.retries = this.retries;
    s.backlog = this.journal.backlog();
    s.durationMs = Date.now() - started;
    return s;
  }

  private async sendBatch(b: BatchInfo, pharmacyId: string): Promise<BatchAck & { replayed: boolean }> {
    let ack: BatchAck;
    let replayed = false;
    try {
      if (b.state === 'closed') {
        const { idempotencyKey, body } = this.journal.uploadRequest(b.id);
        const res = await this.call('POST', 'v1/batches', { headers: { 'idempotency-key': idempotencyKey }, body: Buffer.from(JSON.stringify(body)) }, b.id);
        ack = this.parseAck(res);
        replayed = res.headers['idempotent-replayed'] === 'true';
      } else {
        ack = this.parseAck(await this.call('GET', `v1/batches/${encodeURIComponent(pharmacyId)}/${b.id}`, {}, b.id));
      }
      let info = this.journal.recordAck(b.id, ack);
      // A partial acknowledgement: the fund has the batch; fetch the full answer.
      for (let attempt = 0; info.state === 'sent'; attempt++) {
        if (attempt >= this.retry.maxAttempts) throw new Final(new SyncError('incomplete-ack', `batch ${b.id}: the fund's acknowledgement stayed incomplete`));
        ack = this.parseAck(await this.call('GET', `v1/batches/${encodeURIComponent(pharmacyId)}/${b.id}`, {}, b.id));
        info = this.journal.recordAck(b.id, ack);
      }
      this.log.info({ batchId: b.id, accepted: ack.accepted, rejected: ack.rejected, replayed }, 'batch acknowledged');
      return { ...ack, replayed };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      try {
        this.journal.recordAttemptFailure(b.id, msg);
      } catch {
        // The journal may be busy or read-only; the failure is reported in the summary anyway.
      }
      if (err instanceof Final) {
        (err.error as { batchId?: number }).batchId = b.id;
      }
      throw err;
    }
  }

  private parseAck(res: HttpResponse): BatchAck {
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new Final(new SyncError('bad-fund-answer', 'the fund answered with something that is not JSON'));
    }
    const r = batchAckSchema.safeParse(json);
    if (!r.success) throw new Final(new SyncError('bad-fund-answer', `the fund's acknowledgement is malformed: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`));
    return r.data as BatchAck;
  }

  private async learnSettlements(pharmacyId: string): Promise<number> {
    const waiting = this.journal.awaitingSettlement();
    if (waiting.length === 0) return 0;
    const res = await this.call('GET', `v1/pharmacies/${encodeURIComponent(pharmacyId)}/batches?from=${waiting[0]!.id}`, {});
    const r = batchListSchema.safeParse(JSON.parse(res.body.toString('utf8')));
    if (!r.success) throw new Final(new SyncError('bad-fund-answer', 'the fund sent a malformed batch list'));
    const byId = new Map(r.data.batches.map((b) => [b.batchId, b]));
    let n = 0;
    for (const w of waiting) {
      const f = byId.get(w.id);
      if (f?.state === 'settled') {
        this.journal.recordSettlement(w.id, f.paid, f.settledAt ?? new Date().toISOString());
        n++;
      }
    }
    return n;
  }

  /** One request with retries. Resolves with a 2xx answer; throws Final otherwise. */
  private async call(method: 'GET' | 'POST', path: string, options: { headers?: Record<string, string>; body?: Buffer }, batchId?: number): Promise<HttpResponse> {
    const sleep = this.options.sleep ?? defaultSleep;
    const random = this.options.random ?? Math.random;
    for (let attempt = 0; ; attempt++) {
      this.options.signal?.throwIfAborted();
      let res: HttpResponse | undefined;
      let why: string;
      try {
        res = await request(this.endpoint, method, path, options);
      } catch (err) {
        if (!(err instanceof NetworkError)) throw new Final(err instanceof SyncError ? err : new SyncError('network', String(err)));
        why = err.message;
      }
      if (res !== undefined) {
        if (res.status >= 200 && res.status < 300) return res;
        let body: unknown;
        try {
          body = JSON.parse(res.body.toString('utf8'));
        } catch {
          body = undefined;
        }
        const parsed = errorBodySchema.safeParse(body);
        const code = parsed.success ? parsed.data.error.code : `HTTP_${res.status}`;
        const message = parsed.success ? parsed.data.error.message : `HTTP ${res.status}`;
        const retryable = res.status === 408 || res.status === 429 || res.status >= 500 || code === 'CONFLICT';
        if (!retryable) throw new Final(new FundError(code, `${method} ${path}: the fund refused (${res.status} ${code}): ${message}`, res.status, body));
        why = `${res.status} ${code}`;
      } else {
        why ??= 'network error';
      }
      if (attempt + 1 >= this.retry.maxAttempts) {
        throw new Final(new SyncError('retries-exhausted', `${method} ${path}: gave up after ${attempt + 1} attempts (last: ${why!})`));
      }
      let delay = Math.floor(random() * Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** attempt));
      const ra = res ? retryAfterMs(res.headers['retry-after']) : undefined;
      if (ra !== undefined) {
        if (ra > this.retry.maxRetryAfterMs) throw new Final(new SyncError('fund-busy', `the fund asks to retry in ${Math.round(ra / 1000)} s; try again later`));
        delay = ra;
      }
      this.retries++;
      this.log.warn({ batchId, attempt: attempt + 1, delayMs: delay, why: why! }, 'retrying');
      await sleep(delay, this.options.signal);
    }
  }
}
