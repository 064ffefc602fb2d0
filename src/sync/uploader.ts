import type { Logger } from 'pino';
import { createLogger } from '../common/log';
import { FundError, SyncError } from './errors';
import type { FundVerifier, VerifiedAnswer } from './fund-verifier';
import { fundEndpoint, NetworkError, request, retryAfterMs, type FundEndpoint, type HttpResponse } from './http';
import type { Backlog, BatchInfo, Journal, SignedProof } from './journal/journal';
import { batchAckSchema, batchListSchema, errorBodySchema, paymentNoticeSchema, type BatchAck, type PaymentNotice } from './protocol';
import type { RequestAuthenticator } from './request-auth';

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
 *
 * Every request is authenticated (the endpoint's `auth`) and every answer is the fund's signed
 * answer, verified (the endpoint's `verifier`: signature, certificate chained to the fund CA,
 * and about this pharmacy, this batch and this idempotency key) before anything is recorded; the
 * signed answer is kept in the journal as the pharmacy's proof. An answer that does not verify
 * ends the run with the batch left as it was, to be sent again by the next run.
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

/** Progress of an upload run (UploaderOptions.onProgress). */
export interface SyncProgress {
  /** Invoices acknowledged in this run, and in the queue when the run started. */
  doneInvoices: number;
  totalInvoices: number;
  doneBatches: number;
  totalBatches: number;
  batchId: number;
  retries: number;
}

/** What an upload run did. */
export interface SyncSummary {
  batches: number;
  invoices: number;
  accepted: number;
  rejected: number;
  /** Batches the fund had already stored (answered from its idempotency record). */
  replayed: number;
  retries: number;
  settledBatches: number;
  /** Payment notices of settled batches fetched and recorded in this run. */
  paymentNotices: number;
  /** Sum of `paid` over batches acknowledged in this run, centimes. */
  paid: number;
  /** Why the run stopped early, if it did. */
  error: { code: string; message: string; batchId?: number; expected?: number } | null;
  backlog: Backlog;
  durationMs: number;
}

/** Options of Uploader. */
export interface UploaderOptions {
  /** The fund's base URL, or a prepared endpoint. */
  fund: string | FundEndpoint;
  /** PEM of the CA that issued the fund's TLS certificate. */
  ca?: string | Buffer;
  /** With a URL for `fund`: signs the requests (the pharmacist's card). */
  auth?: RequestAuthenticator;
  /** With a URL for `fund`: checks the fund's signed answers against the fund CA. */
  verifier?: FundVerifier;
  retry?: Partial<RetryPolicy>;
  /** Called after each batch. */
  onProgress?: (p: SyncProgress) => void;
  logger?: Logger;
  signal?: AbortSignal;
  /** For tests: randomness and sleeping. */
  random?: () => number;
  /** How the uploader waits between retries (tests make it instant). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A batch and the fund's verified answer about it, not yet recorded. */
interface Answer {
  b: BatchInfo;
  ack: BatchAck;
  proof: SignedProof;
  replayed: boolean;
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

/**
 * Sends the journal's closed batches to the fund, in order, each with an idempotency key derived
 * from its signed manifest, retrying network failures, 408, 429 and 5xx with backoff (honouring
 * Retry-After); a batch is marked sent only once the fund's answer is recorded.
 */
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
    this.endpoint =
      typeof options.fund === 'string'
        ? fundEndpoint(options.fund, {
            ...(options.ca !== undefined ? { ca: options.ca } : {}),
            ...(options.auth ? { auth: options.auth } : {}),
            ...(options.verifier ? { verifier: options.verifier } : {}),
          })
        : options.fund;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.log = options.logger ?? createLogger({ level: 'silent' });
  }

  /**
   * One pass: send every closed batch, complete partial acknowledgements, learn settlements.
   *
   * Batches go strictly one after another, but the work around them overlaps: while batch k+1 is
   * on the wire, the answer for batch k is recorded in the journal and the body of batch k+2 is
   * read. If the process dies in between, batch k is still "closed" in the journal and the next
   * run sends it again, which the fund answers from its idempotency record.
   */
  async runOnce(): Promise<SyncSummary> {
    const started = Date.now();
    this.retries = 0;
    const s: SyncSummary = {
      batches: 0,
      invoices: 0,
      accepted: 0,
      rejected: 0,
      replayed: 0,
      retries: 0,
      settledBatches: 0,
      paymentNotices: 0,
      paid: 0,
      error: null,
      backlog: this.journal.backlog(),
      durationMs: 0,
    };
    const pharmacyId = this.journal.pharmacyId();
    let current: BatchInfo | undefined;
    try {
      const queue = this.journal.uploadQueue();
      const total = queue.reduce((n, b) => n + b.count, 0);
      let done = 0;
      const count = (info: BatchInfo, replayed: boolean): void => {
        if (info.state !== 'acknowledged' && info.state !== 'settled') return;
        s.accepted += info.accepted ?? 0;
        s.rejected += info.rejected ?? 0;
        s.paid += info.paid ?? 0;
        if (replayed) s.replayed++;
      };
      const record = (r: Answer): void => {
        current = r.b;
        const info = this.journal.recordAck(r.b.id, r.ack, r.proof);
        count(info, r.replayed);
        done += r.b.count;
        s.batches++;
        s.invoices += r.b.count;
        this.log.info(
          { batchId: r.b.id, accepted: r.ack.accepted, rejected: r.ack.rejected, complete: r.ack.complete, replayed: r.replayed },
          'batch answered',
        );
        this.options.onProgress?.({
          doneInvoices: done,
          totalInvoices: total,
          doneBatches: s.batches,
          totalBatches: queue.length,
          batchId: r.b.id,
          retries: this.retries,
        });
      };
      // Two batches on the wire: batch i+1 is sent while batch i is being answered, so the fund
      // checks one while it stores the other. The fund extends the chain in order regardless; if
      // batch i+1 arrives too early (batch i failed and is being retried), it is refused with
      // 409 and sent again once batch i is in.
      const start = (i: number): Promise<Omit<Answer, 'b'>> => {
        const p = this.fetchAck(queue[i]!, this.prepare(queue[i]!), pharmacyId!);
        p.catch(() => undefined); // awaited in turn below; not unhandled meanwhile
        return p;
      };
      let pending: Answer | undefined;
      let next = queue.length > 0 ? start(0) : undefined;
      for (let i = 0; i < queue.length; i++) {
        this.options.signal?.throwIfAborted();
        const b = queue[i]!;
        const mine = next!;
        next = i + 1 < queue.length ? start(i + 1) : undefined;
        if (pending) record(pending);
        pending = undefined;
        current = b;
        let answer: Omit<Answer, 'b'>;
        try {
          answer = await mine;
        } catch (err) {
          const early =
            err instanceof Final &&
            err.error instanceof FundError &&
            err.error.status === 409 &&
            ['BATCH_OUT_OF_ORDER', 'CHAIN_GAP'].includes(err.error.code);
          if (!early || i === 0) throw err;
          answer = await this.fetchAck(b, this.prepare(b), pharmacyId!);
        }
        pending = { b, ...answer };
      }
      if (pending) record(pending);
      // Partial acknowledgements: the fund holds those batches; fetch the complete answers.
      for (const b of this.journal.uploadQueue().filter((x) => x.state === 'sent')) {
        current = b;
        let info = b;
        for (let attempt = 0; info.state === 'sent'; attempt++) {
          if (attempt >= this.retry.maxAttempts)
            throw new Final(new SyncError('incomplete-ack', `batch ${b.id}: the fund's acknowledgement stayed incomplete`));
          const a = this.parseAck(
            await this.call('GET', `v1/batches/${encodeURIComponent(pharmacyId!)}/${b.id}`, {}, b.id),
            b,
            pharmacyId!,
          );
          info = this.journal.recordAck(b.id, a.ack, a.proof);
        }
        count(info, false);
      }
      current = undefined;
      if (pharmacyId !== null) {
        s.settledBatches = await this.learnSettlements(pharmacyId);
        s.paymentNotices = await this.learnPaymentNotices(pharmacyId);
      }
    } catch (err) {
      if (current !== undefined) {
        try {
          this.journal.recordAttemptFailure(current.id, err instanceof Final ? err.error : err instanceof Error ? err : String(err));
        } catch {
          // The journal may be busy; the failure is in the summary anyway.
        }
      }
      if (err instanceof Final) {
        const e = err.error;
        const body = e instanceof FundError ? errorBodySchema.safeParse(e.body) : undefined;
        s.error = {
          code: e.code,
          message: e.message,
          ...(current !== undefined ? { batchId: current.id } : {}),
          ...(body?.success && body.data.error.expected !== undefined ? { expected: body.data.error.expected } : {}),
        };
      } else if (err instanceof SyncError) {
        s.error = { code: err.code, message: err.message, ...(current !== undefined ? { batchId: current.id } : {}) };
      } else {
        throw err;
      }
    }
    s.retries = this.retries;
    s.backlog = this.journal.backlog();
    s.durationMs = Date.now() - started;
    return s;
  }

  /** The request for batch `b`: its upload body, or (already received, partially answered) a GET. */
  private prepare(b: BatchInfo): { key: string; body: Buffer } | null {
    if (b.state !== 'closed') return null;
    const { idempotencyKey, body } = this.journal.uploadRequest(b.id);
    return { key: idempotencyKey, body: Buffer.from(JSON.stringify(body)) };
  }

  /** Sends (or asks again for) batch `b` and returns the fund's acknowledgement, not yet recorded. */
  private async fetchAck(b: BatchInfo, prepared: { key: string; body: Buffer } | null, pharmacyId: string): Promise<Omit<Answer, 'b'>> {
    if (prepared) {
      const res = await this.call('POST', 'v1/batches', { headers: { 'idempotency-key': prepared.key }, body: prepared.body }, b.id);
      return { ...this.parseAck(res, b, pharmacyId), replayed: res.headers['idempotent-replayed'] === 'true' };
    }
    return {
      ...this.parseAck(await this.call('GET', `v1/batches/${encodeURIComponent(pharmacyId)}/${b.id}`, {}, b.id), b, pharmacyId),
      replayed: false,
    };
  }

  /** The fund's answer, verified; throws Final (nothing recorded) if it does not verify. */
  private verified(
    res: HttpResponse,
    typ: 'chifa-ack+jws' | 'chifa-batches+jws' | 'chifa-payment+jws',
    what: string,
    batchId?: number,
  ): VerifiedAnswer {
    const verifier = this.endpoint.verifier;
    if (!verifier)
      throw new Final(new SyncError('no-fund-verifier', "configure the fund CA: the fund's signed answers cannot be checked without it"));
    try {
      return verifier.verifyAnswer(res.body, typ, what);
    } catch (err) {
      const e = err instanceof SyncError ? err : new SyncError('bad-fund-answer', String(err));
      this.log.error({ batchId, code: e.code, error: e.message }, "REFUSED the fund's answer: it does not verify; nothing recorded");
      throw new Final(e);
    }
  }

  /** Verifies the signed acknowledgement of batch `b` and checks that it is about that batch. */
  private parseAck(res: HttpResponse, b: BatchInfo, pharmacyId: string): { ack: BatchAck; proof: SignedProof } {
    const v = this.verified(res, 'chifa-ack+jws', `the acknowledgement of batch ${b.id}`, b.id);
    const r = batchAckSchema.safeParse(v.payload);
    if (!r.success)
      throw new Final(
        new SyncError(
          'bad-fund-answer',
          `the fund's acknowledgement is malformed: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`,
        ),
      );
    const ack = r.data as BatchAck;
    const wrong = (why: string): never => {
      this.log.error({ batchId: b.id, why }, "REFUSED the fund's acknowledgement: it is not about the batch sent");
      throw new Final(new SyncError('ack-mismatch', `the fund's signed acknowledgement ${why}`));
    };
    if (ack.pharmacyId !== pharmacyId) wrong(`is for pharmacy ${ack.pharmacyId}, not ${pharmacyId}`);
    if (ack.batchId !== b.id) wrong(`is for batch ${ack.batchId}, not ${b.id}`);
    if (ack.idempotencyKey !== b.idempotencyKey) wrong(`carries another idempotency key than batch ${b.id}'s`);
    if (ack.count !== b.count || ack.accepted + ack.rejected !== ack.count)
      wrong(`counts ${ack.count} invoices, the batch holds ${b.count}`);
    const accepted = ack.results.filter((x) => x.status === 'accepted').length;
    if (ack.complete && (ack.results.length !== ack.count || accepted !== ack.accepted))
      wrong(`lists ${ack.results.length} results (${accepted} accepted) but says ${ack.count} (${ack.accepted} accepted)`);
    return { ack, proof: { jws: v.jws, certificate: v.certificate } };
  }

  private async learnSettlements(pharmacyId: string): Promise<number> {
    const waiting = this.journal.awaitingSettlement();
    if (waiting.length === 0) return 0;
    const res = await this.call('GET', `v1/pharmacies/${encodeURIComponent(pharmacyId)}/batches?from=${waiting[0]!.id}`, {});
    const v = this.verified(res, 'chifa-batches+jws', 'the batch list');
    const r = batchListSchema.safeParse(v.payload);
    if (!r.success) throw new Final(new SyncError('bad-fund-answer', 'the fund sent a malformed batch list'));
    if (r.data.pharmacyId !== pharmacyId)
      throw new Final(new SyncError('ack-mismatch', `the fund's batch list is for pharmacy ${r.data.pharmacyId}, not ${pharmacyId}`));
    const byId = new Map(r.data.batches.map((b) => [b.batchId, b]));
    let n = 0;
    for (const w of waiting) {
      const f = byId.get(w.id);
      if (f?.state === 'settled') {
        this.journal.recordSettlement(w.id, f.paid, f.settledAt ?? new Date().toISOString(), { jws: v.jws, certificate: v.certificate });
        n++;
      }
    }
    return n;
  }

  /**
   * The payment notice of each settled batch that has none yet: what the fund transferred and
   * what it kept back, invoice by invoice, verified (signature, this pharmacy, this batch and its
   * idempotency key) before it is recorded. A fund that has no notice for a batch (404, or 409
   * not settled yet) is asked again at the next pass.
   */
  private async learnPaymentNotices(pharmacyId: string): Promise<number> {
    let n = 0;
    for (const id of this.journal.awaitingPaymentNotice()) {
      const b = this.journal.batch(id)!;
      let res: HttpResponse;
      try {
        res = await this.call('GET', `v1/batches/${encodeURIComponent(pharmacyId)}/${id}/payment`, {}, id);
      } catch (err) {
        if (err instanceof Final && err.error instanceof FundError && (err.error.status === 404 || err.error.status === 409)) continue;
        throw err;
      }
      const v = this.verified(res, 'chifa-payment+jws', `the payment notice of batch ${id}`, id);
      const r = paymentNoticeSchema.safeParse(v.payload);
      if (!r.success) throw new Final(new SyncError('bad-fund-answer', `the fund's payment notice of batch ${id} is malformed`));
      const notice = r.data as PaymentNotice;
      if (notice.pharmacyId !== pharmacyId || notice.batchId !== id || notice.idempotencyKey !== b.idempotencyKey) {
        this.log.error({ batchId: id }, "REFUSED the fund's payment notice: it is not about the batch asked");
        throw new Final(new SyncError('ack-mismatch', `the fund's payment notice is not about batch ${id} of ${pharmacyId}`));
      }
      if (this.journal.recordPaymentNotice(id, notice, { jws: v.jws, certificate: v.certificate })) n++;
    }
    return n;
  }

  /** One request with retries. Resolves with a 2xx answer; throws Final otherwise. */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    options: { headers?: Record<string, string>; body?: Buffer },
    batchId?: number,
  ): Promise<HttpResponse> {
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
        if (!retryable)
          throw new Final(new FundError(code, `${method} ${path}: the fund refused (${res.status} ${code}): ${message}`, res.status, body));
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
        if (ra > this.retry.maxRetryAfterMs)
          throw new Final(new SyncError('fund-busy', `the fund asks to retry in ${Math.round(ra / 1000)} s; try again later`));
        delay = ra;
      }
      this.retries++;
      this.log.warn({ batchId, attempt: attempt + 1, delayMs: delay, why: why! }, 'retrying');
      await sleep(delay, this.options.signal);
    }
  }
}
