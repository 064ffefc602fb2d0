import type Database from 'better-sqlite3';
import { addDays } from '../../common/calendar-date';
import type { InvoiceDocument } from '../invoice';
import { parseCompact } from '../jws';

/**
 * The back office's derived tables (backoffice-schema.ts), kept in step with the invoices: `add`
 * runs inside the transaction that appends each invoice, on the journal's connection, so the
 * summaries are durable with the invoice or not at all, and a page never reads a total that
 * misses a committed invoice. `rebuildSummaries` recomputes them all from the signed invoices
 * (the migration of an older journal; a check in tests).
 *
 * What counts, so that the totals are the pharmacy's sales once each:
 * - an invoice adds its amounts, lines and (for a chronic patient) its supplies;
 * - a corrected invoice replaces the invoice it recycles: the original's contribution is taken
 *   back and the correction's added (the same dispensing, signed again);
 * - a credit note takes back its own amounts and lines; when it cancels the whole invoice
 *   (same total) the invoice no longer counts and its supplies are cancelled.
 * A batch's totals are what its manifest claims: invoices and corrections, and credit notes apart.
 */

/** The category whose supplies the refill forecast follows (src/billing/category.ts). */
export const CHRONIC_CATEGORY = 'chronic';

/** The third-party-payment refusal a document is counted under: '' when the fund pays. */
export const refusalOf = (d: Pick<InvoiceDocument, 'thirdPartyPayment' | 'reason'>): string =>
  d.thirdPartyPayment ? '' : (d.reason ?? 'refused');

/** @internal (the Journal class is the API) */
export class Summaries {
  private readonly st;

  constructor(db: Database.Database) {
    const add = (cols: string) =>
      cols
        .split(', ')
        .map((c) => `${c} = ${c} + excluded.${c}`)
        .join(', ');
    const amounts = 'total, fund_amount, patient_amount';
    this.st = {
      day: db.prepare(
        `INSERT INTO stats_day (day, category, fund, refusal, invoices, credits, total, fund_amount, patient_amount)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, category, fund, refusal) DO UPDATE SET ${add(`invoices, credits, ${amounts}`)}`,
      ),
      productDay: db.prepare(
        `INSERT INTO stats_product_day (day, code, lines, quantity, total, fund_amount, patient_amount) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, code) DO UPDATE SET ${add(`lines, quantity, ${amounts}`)}`,
      ),
      productMonth: db.prepare(
        `INSERT INTO stats_product_month (month, code, lines, quantity, total, fund_amount, patient_amount) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (month, code) DO UPDATE SET ${add(`lines, quantity, ${amounts}`)}`,
      ),
      batch: db.prepare(
        `INSERT INTO batch_totals (batch_id, invoices, total, fund_amount, patient_amount, credits, credit_total, credit_fund, credit_patient)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (batch_id) DO UPDATE SET ${add('invoices, total, fund_amount, patient_amount, credits, credit_total, credit_fund, credit_patient')}`,
      ),
      supply: db.prepare(
        `INSERT INTO supply_lines (invoice_number, line, card_serial, rank, day, code, quantity, duration_days, runs_out)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      latest: db.prepare(
        `INSERT INTO supply_latest (card_serial, rank, code, invoice_number, day, quantity, duration_days, runs_out)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (card_serial, rank, code) DO UPDATE SET invoice_number = excluded.invoice_number, day = excluded.day,
           quantity = excluded.quantity, duration_days = excluded.duration_days, runs_out = excluded.runs_out
         WHERE excluded.day > supply_latest.day
            OR (excluded.day = supply_latest.day AND excluded.invoice_number > supply_latest.invoice_number)`,
      ),
      cancelSupply: db.prepare('UPDATE supply_lines SET cancelled = 1 WHERE invoice_number = ? RETURNING card_serial, rank, code'),
      newestSupply: db.prepare(
        `SELECT invoice_number, day, quantity, duration_days, runs_out FROM supply_lines
          WHERE card_serial = ? AND rank = ? AND code = ? AND cancelled = 0 ORDER BY day DESC, invoice_number DESC LIMIT 1`,
      ),
      replaceLatest: db.prepare(
        `UPDATE supply_latest SET invoice_number = ?, day = ?, quantity = ?, duration_days = ?, runs_out = ?
          WHERE card_serial = ? AND rank = ? AND code = ?`,
      ),
      dropLatest: db.prepare('DELETE FROM supply_latest WHERE card_serial = ? AND rank = ? AND code = ?'),
      jws: db.prepare('SELECT jws FROM invoices WHERE number = ?').pluck(),
    };
  }

  /** Inside the append transaction, right after the row of `doc` (in batch `batchId`) is inserted. */
  add(doc: InvoiceDocument, batchId: number): void {
    this.claim(doc, batchId);
    if (doc.kind === 'invoice') {
      this.count(doc, 1);
      this.supplies(doc);
      return;
    }
    const ref = this.document(doc.references!.number);
    if (doc.kind === 'corrected-invoice') {
      this.count(ref, -1);
      this.cancelSupplies(ref.number);
      this.count(doc, 1);
      this.supplies(doc);
      return;
    }
    const whole = doc.totals.total === ref.totals.total;
    this.credit(doc, whole);
    if (whole) this.cancelSupplies(ref.number);
  }

  private document(number: number): InvoiceDocument {
    const jws = this.st.jws.get(number) as string | undefined;
    if (jws === undefined) throw new Error(`summaries: no invoice ${number}`);
    return parseCompact(jws).payload as InvoiceDocument;
  }

  /** What the batch's manifest claims (manifest.ts, addToTotals): credit notes apart. */
  private claim(doc: InvoiceDocument, batchId: number): void {
    const t = doc.totals;
    if (doc.kind === 'credit-note') this.st.batch.run(batchId, 0, 0, 0, 0, 1, t.total, t.fund, t.patient);
    else this.st.batch.run(batchId, 1, t.total, t.fund, t.patient, 0, 0, 0, 0);
  }

  /** Adds (sign 1) or takes back (sign −1) an invoice's count, amounts and lines. */
  private count(doc: InvoiceDocument, sign: 1 | -1): void {
    const t = doc.totals;
    this.st.day.run(doc.date, doc.category, doc.fund, refusalOf(doc), sign, 0, sign * t.total, sign * t.fund, sign * t.patient);
    this.lines(doc, sign);
  }

  private credit(doc: InvoiceDocument, whole: boolean): void {
    const t = doc.totals;
    this.st.day.run(doc.date, doc.category, doc.fund, refusalOf(doc), whole ? -1 : 0, 1, -t.total, -t.fund, -t.patient);
    this.lines(doc, -1);
  }

  private lines(doc: InvoiceDocument, sign: 1 | -1): void {
    const month = doc.date.slice(0, 7);
    for (const l of doc.lines) {
      const v = [sign, sign * l.quantity, sign * l.total, sign * l.fund, sign * l.patient] as const;
      this.st.productDay.run(doc.date, l.code, ...v);
      this.st.productMonth.run(month, l.code, ...v);
    }
  }

  /** A chronic patient's lines with a treatment duration: supplies that will run out. */
  private supplies(doc: InvoiceDocument): void {
    if (doc.category !== CHRONIC_CATEGORY) return;
    const b = doc.beneficiary;
    doc.lines.forEach((l, i) => {
      if (!l.durationDays) return;
      const runsOut = addDays(doc.date, l.durationDays);
      this.st.supply.run(doc.number, i, b.cardSerial, b.rank, doc.date, l.code, l.quantity, l.durationDays, runsOut);
      this.st.latest.run(b.cardSerial, b.rank, l.code, doc.number, doc.date, l.quantity, l.durationDays, runsOut);
    });
  }

  /** Cancels invoice `number`'s supplies; the latest supply of each product is found again. */
  private cancelSupplies(number: number): void {
    const keys = this.st.cancelSupply.all(number) as { card_serial: string; rank: number; code: string }[];
    for (const k of keys) {
      const n = this.st.newestSupply.get(k.card_serial, k.rank, k.code) as
        { invoice_number: number; day: string; quantity: number; duration_days: number; runs_out: string } | undefined;
      if (n) this.st.replaceLatest.run(n.invoice_number, n.day, n.quantity, n.duration_days, n.runs_out, k.card_serial, k.rank, k.code);
      else this.st.dropLatest.run(k.card_serial, k.rank, k.code);
    }
  }
}

/** The derived tables, emptied: `rebuildSummaries` fills them again. */
const DERIVED = ['stats_day', 'stats_product_day', 'stats_product_month', 'batch_totals', 'supply_lines', 'supply_latest'];

/**
 * @internal (the Journal class is the API)
 *
 * Recomputes every derived table from the signed invoices, in number order, inside the caller's
 * transaction: what an older journal gets when it is migrated to the back office's schema.
 */
export function rebuildSummaries(db: Database.Database): number {
  for (const t of DERIVED) db.exec(`DELETE FROM ${t}`);
  const s = new Summaries(db);
  const batchOf = db.prepare('SELECT id FROM batches WHERE ? BETWEEN first_number AND last_number').pluck();
  const page = db.prepare('SELECT number, jws FROM invoices WHERE number > ? ORDER BY number LIMIT 1000');
  let n = 0;
  // In pages: better-sqlite3 runs no other statement on a connection while one is being iterated.
  for (;;) {
    const rows = page.all(n) as { number: number; jws: string }[];
    if (rows.length === 0) break;
    for (const r of rows) s.add(parseCompact(r.jws).payload as InvoiceDocument, (batchOf.get(r.number) as number | undefined) ?? 0);
    n = rows[rows.length - 1]!.number;
  }
  return n;
}
