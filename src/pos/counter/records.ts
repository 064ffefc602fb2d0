import type { InvoiceDocument } from '../../sync/invoice';
import type { DispensationRecord } from './card-data';

/**
 * The card records of an invoice, and which of them a card still lacks.
 *
 * The records are derived from the signed invoice alone (date, pharmacy, beneficiary rank, and per
 * line the product, quantity and treatment duration, plus the invoice number and the prescription
 * reference), so a journal invoice always determines exactly what must be on the card — even if
 * the counter crashed before it could note the card write.
 */

/** Default treatment duration for an invoice line that does not carry one (card records need one). */
export const DEFAULT_DURATION_DAYS = 30;

export function recordsOfInvoice(doc: InvoiceDocument): DispensationRecord[] {
  return doc.lines.map((l) => ({
    date: doc.date,
    pharmacyId: doc.pharmacyId,
    rank: doc.beneficiary.rank,
    productCode: l.code,
    quantity: l.quantity,
    durationDays: l.durationDays !== undefined && l.durationDays >= 1 ? l.durationDays : DEFAULT_DURATION_DAYS,
    invoiceNumber: doc.number,
    prescriptionRef: doc.prescription?.reference ?? null,
  }));
}

const keyOf = (pharmacyId: string, invoiceNumber: number | null, productCode: string) =>
  `${pharmacyId}\u0000${invoiceNumber}\u0000${productCode}`;

/**
 * The records of `wanted` that are not on the card yet. A record is identified by pharmacy,
 * invoice number and product code (invoice numbers are per pharmacy); if an invoice has two lines
 * with the same product, the card must hold as many matching records (multiset difference).
 */
export function missingRecords(wanted: readonly DispensationRecord[], onCard: readonly DispensationRecord[]): DispensationRecord[] {
  const have = new Map<string, number>();
  for (const r of onCard) {
    if (r.invoiceNumber === null) continue;
    const k = keyOf(r.pharmacyId, r.invoiceNumber, r.productCode);
    have.set(k, (have.get(k) ?? 0) + 1);
  }
  const out: DispensationRecord[] = [];
  for (const w of wanted) {
    const k = keyOf(w.pharmacyId, w.invoiceNumber, w.productCode);
    const n = have.get(k) ?? 0;
    if (n > 0) have.set(k, n - 1);
    else out.push(w);
  }
  return out;
}
