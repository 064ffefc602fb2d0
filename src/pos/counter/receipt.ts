import { maskId } from '../../common/log';
import type { InvoiceDocument } from '../../sync/invoice';
import type { IsoDate } from '../../common/calendar-date';
import { REASONS, type DocumentReason, type LineReason } from '../../billing/split';
import type { PharmacyIdentity } from './card-data';
import type { CardWrite } from './card-writes';
import type { RuleBook } from '../../billing/rules/load';
import type { Label } from '../../billing/rules/schema';

/**
 * What the page prints for an invoice: everything comes from the signed document (so a receipt
 * printed a week later shows what was signed), plus the card write state, the credit note if the
 * invoice was cancelled, and the pharmacy's name when the professional card is in the reader.
 * Identifiers of the insured person are masked: a receipt leaves the pharmacy.
 */

export interface ReceiptLine {
  /** The product dispensed. */
  code: string;
  /** The product prescribed, when a generic replaced it; null otherwise. */
  replaces: string | null;
  label: string;
  quantity: number;
  durationDays: number | null;
  unitPrice: number;
  referencePrice: number | null;
  total: number;
  fund: number;
  patient: number;
  reason: string | null;
  reasonText: string | null;
  /** The pack's lot, expiry date and serial number, when it was scanned. */
  lot: string | null;
  expiry: IsoDate | null;
  serial: string | null;
}

export interface Receipt {
  number: number;
  kind: InvoiceDocument['kind'];
  date: IsoDate;
  issuedAt: string;
  /** First 16 hex digits of the SHA-256 of the signed invoice (to quote on a claim). */
  hashPrefix: string;
  pharmacy: { pharmacyId: string; name: string | null; pharmacist: string | null; wilaya: number | null; agreement: string | null };
  fund: InvoiceDocument['fund'];
  beneficiary: { cardSerial: string; insuredId: string | null; rank: number };
  prescription: { reference: string; date: IsoDate | null; prescriber: string | null } | null;
  category: InvoiceDocument['category'];
  /** The category's label in the rules of the invoice's version (null when the rules no longer have it). */
  categoryLabel: Label | null;
  rateBp: number;
  ruleVersion: string;
  lines: ReceiptLine[];
  /** Amount items (markups, per-invoice fee) that are not zero, each on a line of its own. */
  items: { id: string; label: string; amount: number; fund: number; patient: number }[];
  totals: InvoiceDocument['totals'];
  thirdPartyPayment: boolean;
  reason: string | null;
  reasonText: string | null;
  cardWrite: { state: CardWrite['state']; records: number; written: number } | null;
  creditNote: number | null;
  references: { number: number } | null;
  ack: { status: string; code: string | null; reason: string | null } | null;
}

const reasonText = (r: string | null): string | null => (r !== null && r in REASONS ? REASONS[r as DocumentReason | LineReason] : null);

export function buildReceipt(input: {
  document: InvoiceDocument;
  hash: string;
  cardWrite: CardWrite | null;
  creditNote: number | null;
  ack: Receipt['ack'];
  pharmacy: PharmacyIdentity | null;
  /** The rule versions, to name the category with its label (optional). */
  rules?: RuleBook;
}): Receipt {
  const d = input.document;
  const ph = input.pharmacy && input.pharmacy.pharmacyId === d.pharmacyId ? input.pharmacy : null;
  return {
    number: d.number,
    kind: d.kind,
    date: d.date,
    issuedAt: d.issuedAt,
    hashPrefix: input.hash.slice(0, 16),
    pharmacy: {
      pharmacyId: d.pharmacyId,
      name: ph?.name ?? null,
      pharmacist: ph?.pharmacist ?? null,
      wilaya: ph?.wilaya ?? null,
      agreement: ph?.agreement ?? null,
    },
    fund: d.fund,
    beneficiary: {
      cardSerial: maskId(d.beneficiary.cardSerial),
      insuredId: d.beneficiary.insuredId !== undefined ? maskId(d.beneficiary.insuredId) : null,
      rank: d.beneficiary.rank,
    },
    prescription: d.prescription
      ? { reference: d.prescription.reference, date: d.prescription.date ?? null, prescriber: d.prescription.prescriber ?? null }
      : null,
    category: d.category,
    categoryLabel: labelOf(input.rules, d.ruleVersion, d.category),
    rateBp: d.rateBp,
    ruleVersion: d.ruleVersion,
    lines: d.lines.map((l) => ({
      code: l.code,
      replaces: l.replaces?.code ?? null,
      label: l.label ?? l.code,
      quantity: l.quantity,
      durationDays: l.durationDays ?? null,
      unitPrice: l.unitPrice,
      referencePrice: l.referencePrice,
      total: l.total,
      fund: l.fund,
      patient: l.patient,
      reason: l.reason,
      reasonText: reasonText(l.reason),
      lot: l.lot ?? null,
      expiry: l.expiry ?? null,
      serial: l.serial ?? null,
    })),
    items: (d.items ?? []).map((it) => ({ id: it.id, label: it.label ?? it.id, amount: it.amount, fund: it.fund, patient: it.patient })),
    totals: d.totals,
    thirdPartyPayment: d.thirdPartyPayment,
    reason: d.reason,
    reasonText: reasonText(d.reason),
    cardWrite: input.cardWrite
      ? {
          state: input.cardWrite.state,
          records: input.cardWrite.records.length,
          written: input.cardWrite.state === 'done' ? input.cardWrite.records.length : input.cardWrite.written,
        }
      : null,
    creditNote: input.creditNote,
    references: d.references ? { number: d.references.number } : null,
    ack: input.ack,
  };
}

function labelOf(rules: RuleBook | undefined, version: string, category: string): Label | null {
  const label = rules?.versions.find((v) => v.version === version)?.categoriesById.get(category)?.label;
  return label ? { ...label } : null;
}
