import type Database from 'better-sqlite3';
import { GENESIS_HASH, type Fund, type InvoiceDocument } from '../invoice';
import { parseCompact } from '../jws';
import { CURRENT_BATCHES, toBatchInfo, type BatchInfo, type BatchRow, type CurrentBatchRow } from './batch-row';

/**
 * What the journal says when asked: the chain's tip, invoices with the fund's answers, batches,
 * the rejected invoices and the sync backlog. Reads only; the other modules of the journal look
 * rows up through here too, so each query is written (and prepared) once.
 */

export interface RejectedInvoice {
  number: number;
  hash: string;
  batchId: number;
  code: string;
  reason: string;
  receivedAt: string;
  date: string;
  fund: Fund;
  cardSerial: string;
  total: number;
  fundAmount: number;
  /** Number of the corrected invoice that recycles this one, if issued. */
  correctedBy: number | null;
}

/** What is not yet at the fund, and the journal's counts. */
export interface Backlog {
  pharmacyId: string | null;
  invoices: number;
  lastNumber: number;
  /** Invoices in the open batch (not yet closed). */
  openInvoices: number;
  openSince: string | null;
  /** Closed batches not yet accepted by the fund (closed or sent), and their invoices. */
  unsentBatches: number;
  unsentInvoices: number;
  oldestUnsentClosedAt: string | null;
  unsignedBatches: number;
  acknowledgedBatches: number;
  settledBatches: number;
  /** Rejected invoices not yet corrected. */
  rejectedPending: number;
}

/** The fund's answer about one invoice, as the journal recorded it. */
export interface InvoiceAck {
  status: string;
  code: string | null;
  reason: string | null;
}

/** The columns of an invoice that batches and uploads need, in number order. */
export interface RangeRow {
  number: number;
  kind: string;
  fund: Fund;
  total: number;
  fund_amount: number;
  patient_amount: number;
  hash: string;
  jws: string;
}

/** @internal The journal's reads (the Journal class answers through it). */
export class JournalQueries {
  private readonly st;

  constructor(readonly db: Database.Database) {
    this.st = {
      tip: db.prepare('SELECT number, hash FROM invoices ORDER BY number DESC LIMIT 1'),
      openBatch: db.prepare("SELECT * FROM batches WHERE state = 'open'"),
      batch: db.prepare(`${CURRENT_BATCHES} WHERE b.id = ?`),
      rangeRows: db.prepare(
        'SELECT number, kind, fund, total, fund_amount, patient_amount, hash, jws FROM invoices WHERE number BETWEEN ? AND ? ORDER BY number',
      ),
      cert: db.prepare('SELECT der FROM certificates WHERE key_id = ?').pluck(),
      invoice: db.prepare('SELECT * FROM invoices WHERE number = ?'),
      ack: db.prepare('SELECT * FROM acks WHERE invoice_number = ?'),
      correction: db.prepare('SELECT number FROM invoices WHERE ref_number = ? AND kind = ? ORDER BY number LIMIT 1').pluck(),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    };
  }

  /** The pharmacy this journal belongs to (set by the first append), or null when empty. */
  pharmacyId(): string | null {
    return (this.st.meta.get('pharmacy_id') as string | undefined) ?? null;
  }

  /** The last invoice's number and hash (0 and the genesis value when empty). */
  tip(): { number: number; hash: string } {
    const r = this.st.tip.get() as { number: number; hash: string } | undefined;
    return r ?? { number: 0, hash: GENESIS_HASH };
  }

  /** Batch `id` with its current manifest. */
  batchRow(id: number): CurrentBatchRow | undefined {
    return this.st.batch.get(id) as CurrentBatchRow | undefined;
  }

  /** Batches with their current manifest, `where` on `b.` columns. */
  batchRows(where: string, ...params: unknown[]): CurrentBatchRow[] {
    return this.db.prepare(`${CURRENT_BATCHES} ${where}`).all(...params) as CurrentBatchRow[];
  }

  openBatchRow(): BatchRow | undefined {
    return this.st.openBatch.get() as BatchRow | undefined;
  }

  invoiceRow(number: number): { hash: string; jws: string; kind: string } | undefined {
    return this.st.invoice.get(number) as { hash: string; jws: string; kind: string } | undefined;
  }

  ackRow(number: number): InvoiceAck | undefined {
    return this.st.ack.get(number) as InvoiceAck | undefined;
  }

  /** The first invoice of `kind` that references invoice `number`. */
  referencing(number: number, kind: string): number | undefined {
    return this.st.correction.get(number, kind) as number | undefined;
  }

  rangeRows(from: number, to: number): RangeRow[] {
    return this.st.rangeRows.all(from, to) as RangeRow[];
  }

  /** Certificate DER by thumbprint (for verification). */
  certificate(keyId: string): Buffer | undefined {
    return this.st.cert.get(keyId) as Buffer | undefined;
  }

  batch(id: number): BatchInfo | null {
    const r = this.batchRow(id);
    return r ? toBatchInfo(r) : null;
  }

  batches(): BatchInfo[] {
    return this.batchRows('ORDER BY b.id').map(toBatchInfo);
  }

  /** The decoded invoice `number`, with its JWS, hash and the fund's answer if any. */
  invoice(number: number): { document: InvoiceDocument; jws: string; hash: string; ack: InvoiceAck | null } | null {
    const r = this.invoiceRow(number);
    if (!r) return null;
    const a = this.ackRow(number);
    return {
      document: parseCompact(r.jws).payload as InvoiceDocument,
      jws: r.jws,
      hash: r.hash,
      ack: a ? { status: a.status, code: a.code, reason: a.reason } : null,
    };
  }

  /** The fund's signed answers kept for batch `id`, oldest first. */
  signedAnswers(id: number): { receivedAt: string; jws: string; certificate: Buffer }[] {
    return (
      this.db.prepare('SELECT received_at, jws, certificate FROM fund_acks WHERE batch_id = ? ORDER BY seq').all(id) as {
        received_at: string;
        jws: string;
        certificate: Buffer;
      }[]
    ).map((r) => ({ receivedAt: r.received_at, jws: r.jws, certificate: r.certificate }));
  }

  /** Invoices the fund rejected, for the pharmacist, with the correction that recycles each. */
  rejectedInvoices(options: { pendingOnly?: boolean } = {}): RejectedInvoice[] {
    const rows = this.db
      .prepare(
        `SELECT a.invoice_number AS number, i.hash, a.batch_id AS batchId, a.code, a.reason, a.received_at AS receivedAt,
                i.date, i.fund, i.card_serial AS cardSerial, i.total, i.fund_amount AS fundAmount,
                (SELECT c.number FROM invoices c WHERE c.ref_number = a.invoice_number AND c.kind = 'corrected-invoice' ORDER BY c.number LIMIT 1) AS correctedBy
           FROM acks a JOIN invoices i ON i.number = a.invoice_number
          WHERE a.status = 'rejected' ORDER BY a.invoice_number`,
      )
      .all() as RejectedInvoice[];
    return options.pendingOnly ? rows.filter((r) => r.correctedBy === null) : rows;
  }

  backlog(): Backlog {
    const q = <T>(sql: string): T => this.db.prepare(sql).get() as T;
    const inv = q<{ n: number; last: number | null }>('SELECT COUNT(*) AS n, MAX(number) AS last FROM invoices');
    const open = this.openBatchRow();
    const unsent = q<{ n: number; inv: number | null; oldest: string | null }>(
      "SELECT COUNT(*) AS n, SUM(count) AS inv, MIN(closed_at) AS oldest FROM batches WHERE state IN ('closed', 'sent')",
    );
    const unsigned = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'closed' AND manifest_jws IS NULL");
    const acked = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'acknowledged'");
    const settled = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'settled'");
    return {
      pharmacyId: this.pharmacyId(),
      invoices: inv.n,
      lastNumber: inv.last ?? 0,
      openInvoices: open?.count ?? 0,
      openSince: open?.opened_at ?? null,
      unsentBatches: unsent.n,
      unsentInvoices: unsent.inv ?? 0,
      oldestUnsentClosedAt: unsent.oldest,
      unsignedBatches: unsigned.n,
      acknowledgedBatches: acked.n,
      settledBatches: settled.n,
      rejectedPending: this.rejectedInvoices({ pendingOnly: true }).length,
    };
  }
}
