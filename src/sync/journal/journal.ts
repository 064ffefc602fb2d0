import type Database from 'better-sqlite3';
import type { InvoiceDocument, InvoiceDraft } from '../invoice';
import type { CloseReason } from '../manifest';
import type { BatchAck, PaymentNotice, UploadBody } from '../protocol';
import { certificateThumbprint, type Signer } from '../signer';
import type { TrustStore } from '../trust';
import { AppendQueue, type AppendedInvoice, type AppendOptions } from './append';
import type { BatchInfo } from './batch-row';
import { Batches, type BatchPolicy } from './batches';
import { Outbox, type SignedProof } from './outbox';
import { Payments, type BankPayment, type BankPaymentInput, type RecordedNotice } from './payments';
import { JournalQueries, type Backlog, type InvoiceAck, type RejectedInvoice } from './queries';
import { openJournalDatabase } from './schema';
import { JournalSigning } from './signing';

export type { AppendedInvoice, AppendOptions } from './append';
/** @internal */
export type { InCommitHook } from './append';
export type { BatchInfo, BatchState } from './batch-row';
export { DEFAULT_BATCH_POLICY, idempotencyKeyFor, type BatchPolicy } from './batches';
export type { SignedProof } from './outbox';
export type { BankPayment, BankPaymentInput, PaymentSource, RecordedNotice } from './payments';
export type { RegisterLine } from './register';
export type { Backlog, RejectedInvoice } from './queries';

/**
 * The signed invoice journal (docs/sync.md): one SQLite file per pharmacy (WAL, synchronous=FULL).
 * This class is the journal's one entry point; each of its jobs lives in a module of its own,
 * all on the same connection:
 * - `append.ts`: the group-committed append queue, gapless numbers, the hash chain;
 * - `batches.ts`: open, seal and sign batches (their manifests);
 * - `outbox.ts`: what to upload to the fund and what it answered;
 * - `queries.ts`: reads (invoices, batches, rejected invoices, the backlog);
 * - `payments.ts`: the fund's payment notices and the payments seen on the bank account;
 * - `summaries.ts` / `register.ts`: the back office's totals (kept with each append) and the
 *   psychotropics register (written by the counter with its invoice);
 * - `schema.ts` / `verify.ts`: the tables and their triggers, and the whole-file check.
 *
 * One process appends (the counter service); others (the uploader) may open the same file to
 * send batches and record acknowledgements — SQLite serialises the writers.
 */

export interface JournalOptions {
  /** Needed to append and to close batches; not to upload or verify. */
  signer?: Signer;
  /**
   * The fund CA(s) the signer's certificate must chain to before anything is signed. Default: the
   * TEST ONLY `fixtures/keys/fund-ca.pem` (as the reference fund): a real deployment passes the
   * fund's CA, which no test certificate chains to.
   */
  trust?: TrustStore;
  batch?: Partial<BatchPolicy>;
  /** The clock (timestamps, batch ages). */
  now?: () => Date;
  /** Largest number of drafts signed and committed in one transaction. */
  maxGroup?: number;
}

/**
 * The signed invoice journal of one pharmacy, in one SQLite file: appends are signed, numbered
 * without gaps, chained by hash and durable before they resolve; invoices are grouped in batches
 * whose signed manifests the Uploader sends.
 */
export class Journal {
  /** @internal The SQLite connection. */
  readonly db: Database.Database;
  readonly file: string;
  private readonly queries: JournalQueries;
  private readonly signing: JournalSigning;
  private readonly batchCycle: Batches;
  private readonly appends: AppendQueue;
  private readonly outbox: Outbox;
  private readonly payments: Payments;

  private constructor(file: string, db: Database.Database, options: JournalOptions) {
    this.file = file;
    this.db = db;
    const now = options.now ?? (() => new Date());
    this.queries = new JournalQueries(db);
    this.signing = new JournalSigning(this.queries, options.signer, options.trust);
    this.batchCycle = new Batches(this.queries, this.signing, { batch: options.batch, now, whenIdle: () => this.whenIdle() });
    this.appends = new AppendQueue(this.queries, this.signing, this.batchCycle, { now, maxGroup: options.maxGroup ?? 1000 });
    this.outbox = new Outbox(this.queries, now);
    this.payments = new Payments(this.queries, now);
  }

  /** Opens (creating if needed) the journal at `file`. */
  static open(file: string, options: JournalOptions = {}): Journal {
    const db = openJournalDatabase(file);
    try {
      const j = new Journal(file, db, options);
      if (options.signer) j.signing.pharmacyOf(options.signer);
      return j;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The pharmacy this journal belongs to (set by the first append), or null when empty. */
  pharmacyId(): string | null {
    return this.queries.pharmacyId();
  }

  /** The last invoice's number and hash (0 and the genesis value when empty). */
  tip(): { number: number; hash: string } {
    return this.queries.tip();
  }

  // ---------------------------------------------------------------- appending (append.ts)

  /** Signs and appends one invoice; resolves once it is durable. */
  append(draft: InvoiceDraft, options: AppendOptions = {}): Promise<AppendedInvoice> {
    return this.appends.append(draft, options);
  }

  /** Appends many drafts, group-committed (one transaction per `maxGroup`); in order. */
  appendMany(drafts: readonly InvoiceDraft[]): Promise<AppendedInvoice[]> {
    return this.appends.appendMany(drafts);
  }

  /**
   * Recycles a rejected invoice: appends `draft` as a corrected invoice referencing it. Refused
   * unless the fund rejected `rejectedNumber` and it has not been corrected yet; with
   * `beforeSending`, an invoice of the open batch may be corrected too (append.ts).
   */
  correct(
    rejectedNumber: number,
    draft: InvoiceDraft,
    reason?: string,
    options: { beforeSending?: boolean } = {},
  ): Promise<AppendedInvoice> {
    return this.appends.correct(rejectedNumber, draft, reason, options);
  }

  /**
   * Cancels (all or part of) an invoice with a credit note referencing it. Without `draft` the
   * credit note repeats the original's lines and amounts.
   */
  creditNote(number: number, draft?: InvoiceDraft, reason?: string, options: AppendOptions = {}): Promise<AppendedInvoice> {
    return this.appends.creditNote(number, draft, reason, options);
  }

  /** Resolves when no append is queued or being committed. */
  whenIdle(): Promise<void> {
    return this.appends.whenIdle();
  }

  // ---------------------------------------------------------------- closing batches (batches.ts)

  /** Closes the open batch now (if it holds anything) and signs its manifest. */
  closeOpenBatch(reason: CloseReason = 'on-demand'): Promise<BatchInfo | null> {
    return this.batchCycle.closeOpenBatch(reason);
  }

  /** Closes the open batch if it is older than the policy's maxAgeMs. */
  closeDueBatches(): Promise<BatchInfo | null> {
    return this.batchCycle.closeDueBatches();
  }

  /** Signs the manifests of sealed batches (after a crash between sealing and signing). */
  signPendingManifests(): Promise<number> {
    return this.batchCycle.signPendingManifests();
  }

  // ---------------------------------------------------------------- uploading (outbox.ts)

  /** Signed batches the fund has not fully acknowledged, in order: the upload queue. */
  uploadQueue(): BatchInfo[] {
    return this.outbox.uploadQueue();
  }

  /** Acknowledged batches whose settlement is still to be learnt. */
  awaitingSettlement(): BatchInfo[] {
    return this.outbox.awaitingSettlement();
  }

  /** The request body and idempotency key for uploading batch `id`. */
  uploadRequest(id: number): { idempotencyKey: string; body: UploadBody } {
    return this.outbox.uploadRequest(id);
  }

  /**
   * Records an attempt that failed (for the backlog display); does not change the state. A
   * FundError refusing the manifest's certificate is recorded as such (see Batches: re-signing).
   */
  recordAttemptFailure(id: number, error: string | Error): void {
    this.outbox.recordAttemptFailure(id, error);
  }

  /**
   * Records the fund's answer for batch `id`: marks it sent, stores each invoice's result, and
   * moves it to acknowledged once every invoice has one (and to settled if the fund says so).
   * Idempotent: a result already stored is kept. `signed`, the fund's signed answer it was read
   * from (already verified by the caller), is kept in `fund_acks` in the same transaction.
   */
  recordAck(id: number, ack: BatchAck, signed?: SignedProof): BatchInfo {
    return this.outbox.recordAck(id, ack, signed);
  }

  /** Records that the fund settled (paid) acknowledged batch `id`; `signed` as in recordAck. */
  recordSettlement(id: number, paid: number, settledAt: string, signed?: SignedProof): BatchInfo | null {
    return this.outbox.recordSettlement(id, paid, settledAt, signed);
  }

  // ---------------------------------------------------------------- payments (payments.ts)

  /**
   * Records the fund's payment notice of settled batch `id` (verified by the caller) once; the
   * batch is settled at the amount transferred. False when one was already recorded.
   */
  recordPaymentNotice(id: number, notice: PaymentNotice, signed: SignedProof): boolean {
    return this.payments.recordNotice(id, notice, signed);
  }

  /** The fund's payment notice recorded for batch `id`, or null. */
  paymentNotice(id: number): RecordedNotice | null {
    return this.payments.notice(id);
  }

  /** Settled batches whose payment notice is still to be fetched. */
  awaitingPaymentNotice(): number[] {
    return this.payments.awaitingNotice();
  }

  /** Records payments seen on the bank account (all or none); statement lines already recorded are skipped. */
  recordBankPayments(inputs: readonly BankPaymentInput[]): { recorded: BankPayment[]; duplicates: BankPaymentInput[] } {
    return this.payments.recordBankPayments(inputs);
  }

  /** The payments recorded against batch `id`, in the order they were recorded. */
  bankPayments(id: number): BankPayment[] {
    return this.payments.bankPayments(id);
  }

  /** The fund's signed answers kept for batch `id`, oldest first. */
  signedAnswers(id: number): (SignedProof & { receivedAt: string })[] {
    return this.queries.signedAnswers(id);
  }

  // ---------------------------------------------------------------- reading (queries.ts)

  /** The batch `id`, or null. */
  batch(id: number): BatchInfo | null {
    return this.queries.batch(id);
  }

  /** Every batch, oldest first. */
  batches(): BatchInfo[] {
    return this.queries.batches();
  }

  /** The decoded invoice `number`, with its JWS, hash and the fund's answer if any. */
  invoice(number: number): { document: InvoiceDocument; jws: string; hash: string; ack: InvoiceAck | null } | null {
    return this.queries.invoice(number);
  }

  /** Invoices the fund rejected, for the pharmacist, with the correction that recycles each. */
  rejectedInvoices(options: { pendingOnly?: boolean } = {}): RejectedInvoice[] {
    return this.queries.rejectedInvoices(options);
  }

  /** What is waiting to be sent, acknowledged or corrected. */
  backlog(): Backlog {
    return this.queries.backlog();
  }

  /** Certificate DER by thumbprint (for verification). */
  certificate(keyId: string): Buffer | undefined {
    return this.queries.certificate(keyId);
  }

  /** Stops accepting appends, waits for queued ones, closes the database. */
  async close(): Promise<void> {
    this.appends.close();
    await this.whenIdle();
    if (this.db.open) this.db.close();
  }

  /** The `x5t#S256` of a DER certificate. */
  static thumbprint = certificateThumbprint;
}
