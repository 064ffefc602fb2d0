import * as path from 'node:path';
import type Database from 'better-sqlite3';
import type { InvoiceDocument, InvoiceDraft } from '../../sync/invoice';
import {
  Journal,
  type AppendedInvoice,
  type Backlog,
  type BatchInfo,
  type BatchPolicy,
  type InCommitHook,
  type RejectedInvoice,
} from '../../sync/journal/journal';
import type { Signer } from '../../sync/signer';
import type { TrustStore } from '../../sync/trust';

/**
 * The counter's view of the signed invoice journal (src/sync): append an invoice signed by the
 * professional card, cancel one with a credit note, read invoices back, and the sync backlog.
 *
 * The sync Journal binds its signer when it is opened, while the professional card comes and goes
 * at the counter; so this holds one Journal without a signer for reading, and opens an appending
 * one for the signer of the moment (re-opened when another professional card signs). The same
 * card pulled and put back is a new port with a new signer (the old one refuses: card removed),
 * so the appending Journal signs through a stand-in that forwards to the latest signer given for
 * that key. Only the counter appends, one checkout at a time.
 */

export interface JournalInvoice {
  document: InvoiceDocument;
  hash: string;
  ack: { status: string; code: string | null; reason: string | null } | null;
}

export interface InvoiceJournalPort {
  /** The journal's SQLite connection: the counter's card_writes table lives in the same file. */
  readonly db: Database.Database;
  /** `inCommit` runs inside the invoice's commit transaction (see InCommitHook). */
  append(draft: InvoiceDraft, signer: Signer, inCommit?: InCommitHook): Promise<AppendedInvoice>;
  creditNote(number: number, reason: string, signer: Signer, inCommit?: InCommitHook): Promise<AppendedInvoice>;
  invoice(number: number): JournalInvoice | null;
  /** Number of the credit note cancelling invoice `number`, or null. */
  creditNoteOf(number: number): number | null;
  /**
   * Invoices (kind `invoice`) that have no card_writes row: left by a crash after the commit.
   * `recentOnly`: only those after the highest invoice that has a row (an index range, not a scan).
   */
  invoicesWithoutCardWrite(options?: { recentOnly?: boolean }): number[];
  backlog(): Backlog;
  rejected(): RejectedInvoice[];
  /**
   * Closes the open batch now and signs its manifest (and any sealed batch left unsigned) with
   * `signer`; resolves the batch closed, or null when the open batch was empty.
   */
  closeOpenBatch(signer: Signer): Promise<BatchInfo | null>;
  /** The back office's signed correction (src/pos/backoffice). */
  correct(
    number: number,
    draft: InvoiceDraft,
    reason: string | undefined,
    signer: Signer,
    options?: { beforeSending?: boolean },
  ): Promise<AppendedInvoice>;
  /** The journal without a signer, for reading and for what needs no signature (payments seen). */
  readonly syncJournal: Journal;
  close(): Promise<void>;
}

export interface CounterJournalOptions {
  now?: () => Date;
  /** When the journal closes a batch (default: 500 invoices or 24 hours). */
  batch?: Partial<BatchPolicy>;
  /** The fund CAs a professional card's certificate must chain to (Journal's `trust`). */
  trust?: TrustStore;
}

/** Where the counter keeps the journal: `DATA/journal.sqlite`. */
export function journalPath(dataDir: string): string {
  return path.join(dataDir, 'journal.sqlite');
}

export class CounterJournal implements InvoiceJournalPort {
  readonly file: string;
  private readonly reader: Journal;
  private writer: { journal: Journal; keyId: string; latest: { signer: Signer } } | undefined;
  private readonly now: (() => Date) | undefined;
  private readonly batch: Partial<BatchPolicy> | undefined;
  private readonly trust: TrustStore | undefined;

  private constructor(file: string, reader: Journal, options: CounterJournalOptions) {
    this.file = file;
    this.reader = reader;
    this.now = options.now;
    this.batch = options.batch;
    this.trust = options.trust;
  }

  static open(file: string, options: CounterJournalOptions = {}): CounterJournal {
    const opts = options.now ? { now: options.now } : {};
    return new CounterJournal(file, Journal.open(file, opts), options);
  }

  get db(): Database.Database {
    return this.reader.db;
  }

  private async writerFor(signer: Signer): Promise<Journal> {
    if (this.writer && this.writer.keyId === signer.keyId) {
      this.writer.latest.signer = signer;
      return this.writer.journal;
    }
    if (this.writer) await this.writer.journal.close();
    this.writer = undefined;
    const latest = { signer };
    const stand: Signer = {
      certificate: signer.certificate,
      keyId: signer.keyId,
      sign: (digest, message) => latest.signer.sign(digest, message),
    };
    const journal = Journal.open(this.file, {
      signer: stand,
      ...(this.now ? { now: this.now } : {}),
      ...(this.batch ? { batch: this.batch } : {}),
      ...(this.trust ? { trust: this.trust } : {}),
    });
    this.writer = { journal, keyId: signer.keyId, latest };
    return journal;
  }

  async append(draft: InvoiceDraft, signer: Signer, inCommit?: InCommitHook): Promise<AppendedInvoice> {
    return (await this.writerFor(signer)).append(draft, inCommit ? { inCommit } : {});
  }

  async creditNote(number: number, reason: string, signer: Signer, inCommit?: InCommitHook): Promise<AppendedInvoice> {
    return (await this.writerFor(signer)).creditNote(number, undefined, reason, inCommit ? { inCommit } : {});
  }

  invoice(number: number): JournalInvoice | null {
    const r = this.reader.invoice(number);
    return r ? { document: r.document, hash: r.hash, ack: r.ack } : null;
  }

  creditNoteOf(number: number): number | null {
    const n = this.db
      .prepare("SELECT number FROM invoices WHERE ref_number = ? AND kind = 'credit-note' ORDER BY number LIMIT 1")
      .pluck()
      .get(number) as number | undefined;
    return n ?? null;
  }

  invoicesWithoutCardWrite(options: { recentOnly?: boolean } = {}): number[] {
    const from = options.recentOnly
      ? ((this.db.prepare('SELECT COALESCE(MAX(invoice_number), 0) FROM card_writes').pluck().get() as number) ?? 0)
      : 0;
    return this.db
      .prepare(
        "SELECT i.number FROM invoices i WHERE i.number > ? AND i.kind = 'invoice' AND NOT EXISTS (SELECT 1 FROM card_writes w WHERE w.invoice_number = i.number) ORDER BY i.number",
      )
      .pluck()
      .all(from) as number[];
  }

  backlog(): Backlog {
    return this.reader.backlog();
  }

  /** The sync Journal (no signer) the uploader sends batches from. */
  get syncJournal(): Journal {
    return this.reader;
  }

  /** Closes the open batch if it is due (age) and signs pending manifests, with `signer`. */
  async closeDueBatches(signer: Signer): Promise<void> {
    await (await this.writerFor(signer)).closeDueBatches();
  }

  /** Closes the open batch now (if it holds anything) and signs its manifest, with `signer`. */
  async closeOpenBatch(signer: Signer): Promise<BatchInfo | null> {
    return (await this.writerFor(signer)).closeOpenBatch('on-demand');
  }

  /**
   * Appends a corrected invoice recycling `number` (rejected by the fund, or, with
   * `beforeSending`, still in the open batch), signed with `signer`.
   */
  async correct(
    number: number,
    draft: InvoiceDraft,
    reason: string | undefined,
    signer: Signer,
    options: { beforeSending?: boolean } = {},
  ): Promise<AppendedInvoice> {
    return (await this.writerFor(signer)).correct(number, draft, reason, options);
  }

  rejected(): RejectedInvoice[] {
    return this.reader.rejectedInvoices();
  }

  async close(): Promise<void> {
    if (this.writer) await this.writer.journal.close();
    this.writer = undefined;
    await this.reader.close();
  }
}
