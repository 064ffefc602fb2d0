import { createHash } from 'node:crypto';
import { z } from 'zod';
import { categoryIdSchema, type Category } from '../billing/category';
import { freeText, type TextLimits } from '../common/free-text';
import { isoDateSchema, type IsoDate } from '../common/calendar-date';
import { firstZodIssue } from '../common/zod-issues';
import type { Basket, CoverageRights, PastPrescription, Split, SplitContext } from '../billing/split';
import {
  checkDocumentShape,
  InvalidInvoiceError,
  MAX_HISTORY,
  MAX_ITEMS,
  TEXT_LIMITS,
  UTC_INSTANT,
  UTC_INSTANT_MESSAGE,
} from './invoice-check';

/** A draft or document that is malformed or whose amounts do not add up. */
export { InvalidInvoiceError, TEXT_LIMITS };

/**
 * The invoice document (docs/sync.md): what the pharmacy signs and the fund pays on. It carries the
 * split engine's inputs (lines with quantity, unitPrice, referencePrice, reimbursable,
 * priorApproval/approval; the dispensing date; the rights read from the card) and its outputs
 * (per-line and total amounts, rule version, category, rate), so the fund can recompute the split
 * with the rules in force and compare to the centime.
 *
 * All amounts are integer centimes. The document is serialised as RFC 8785 canonical JSON and
 * signed as a compact JWS (typ `chifa-invoice+jws`).
 */

export const FUNDS = ['CNAS', 'CASNOS'] as const;
/** The fund an invoice is addressed to. */
export type Fund = (typeof FUNDS)[number];

export const INVOICE_KINDS = ['invoice', 'corrected-invoice', 'credit-note'] as const;
/** An invoice, a corrected invoice (replacing a rejected one) or a credit note (cancelling one). */
export type InvoiceKind = (typeof INVOICE_KINDS)[number];

/** SHA-256 hex of this fixed text is the `prev` of every pharmacy's invoice number 1. */
export const GENESIS_TEXT = 'chifa-terminal invoice chain v1 genesis';
export const GENESIS_HASH = createHash('sha256').update(GENESIS_TEXT).digest('hex');

/** One line of an invoice: the product, the prices and the split, centimes. */
export interface InvoiceLine {
  /** Catalogue product code. */
  code: string;
  label?: string;
  quantity: number;
  /** Sale price of one unit, centimes. */
  unitPrice: number;
  /** Reference tariff of one unit, centimes; null: no tariff. */
  referencePrice: number | null;
  reimbursable: boolean;
  priorApproval: boolean;
  /** The fund's prior-approval reference, when one was given. */
  approval?: string;
  /** Treatment duration in days (for the card's dispensing record, and the duration limits). */
  durationDays?: number;
  /**
   * The pack dispensed, when it was scanned from its GS1 DataMatrix: lot (AI 10), expiry date
   * (AI 17, the last day of use) and serial number (AI 21). Kept for recalls and for the fund's
   * checks; the card's dispensing record does not carry them.
   */
  lot?: string;
  expiry?: IsoDate;
  serial?: string;
  /**
   * Dispensed against a prescription on the card: the units it prescribes of this product and
   * those already dispensed against it, as the card said at checkout. The split refuses a line
   * above the rest (`over-prescribed-quantity`), and the fund recomputes it from these.
   */
  prescribed?: { quantity: number; alreadyDispensed: number };
  /** Generic substitution: the product prescribed, which `code` (the product dispensed) replaces. */
  replaces?: { code: string; referencePrice: number | null };
  /** The split of this line: total = unitPrice × quantity, fund + patient = total. */
  total: number;
  base: number;
  fund: number;
  patient: number;
  /** Why the fund pays nothing on this line (split engine reason), or null. */
  reason: string | null;
}

/** The split context as read from the card (the fund applies its own blacklist). */
export interface CardContext extends CoverageRights {
  cardExpiry?: IsoDate;
  beneficiary?: CoverageRights;
  /** The beneficiary's earlier prescriptions the per-period limit counted (from the card). */
  prescriptionHistory?: PastPrescription[];
}

/** A non-zero amount item of the split (markup, per-invoice fee): fund + patient = amount. */
export interface InvoiceItem {
  /** The item's id in the rule version. */
  id: string;
  label?: string;
  amount: number;
  fund: number;
  patient: number;
}

/** An invoice's totals, centimes: total = fund + patient. */
export interface Totals {
  total: number;
  base: number;
  fund: number;
  patient: number;
}

/** A reference from a correction or credit note to the document it corrects. */
export interface InvoiceReference {
  number: number;
  /** SHA-256 hex of the referenced invoice's JWS. */
  hash: string;
  reason?: string;
}

/** What the counter hands to the journal: everything but the journal's own fields. */
export interface InvoiceDraft {
  kind?: InvoiceKind;
  /** The fund that covers the patient (from the card). */
  fund: Fund;
  /** Dispensing date, YYYY-MM-DD: chooses the rule version. */
  date: IsoDate;
  beneficiary: { cardSerial: string; rank: number; insuredId?: string };
  /**
   * `counterfoil`: the serial number of the counterfoil prescription (ordonnance à souche) that
   * products of a controlled table require (executive decree 19-379, amended by 21-196).
   */
  prescription?: { reference: string; date?: IsoDate; prescriber?: string; counterfoil?: string };
  context: CardContext;
  /** What the counter's copy of the blacklist said at checkout. */
  blacklisted: boolean;
  /** The category that priced the split, the rate (basis points) and the rule version. */
  category: Category;
  rateBp: number;
  ruleVersion: string;
  lines: InvoiceLine[];
  /** Amount items that are not zero; totals are the lines' sums plus these. */
  items?: InvoiceItem[];
  totals: Totals;
  thirdPartyPayment: boolean;
  /** Split engine document reason (why the fund pays nothing), or null. */
  reason: string | null;
  /** For corrected invoices and credit notes: the document corrected. */
  references?: InvoiceReference;
}

/** The signed document. */
export interface InvoiceDocument extends InvoiceDraft {
  v: 1;
  kind: InvoiceKind;
  pharmacyId: string;
  /** Gapless per-pharmacy number, from 1. */
  number: number;
  /** SHA-256 hex of the previous invoice's JWS; GENESIS_HASH for number 1. */
  prev: string;
  /** When the journal signed it (ISO 8601 UTC). */
  issuedAt: string;
}

const centimes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a SHA-256 hex digest' });
/** Free text: see TEXT_LIMITS (invoice-check.ts). */
const text = (limits: TextLimits) => freeText(limits);
const rights = z.strictObject({ category: categoryIdSchema, rightsEnd: isoDateSchema.optional() });

const line = z.strictObject({
  code: text(TEXT_LIMITS.code),
  label: text(TEXT_LIMITS.label).optional(),
  quantity: z.number().int().min(1).max(100_000),
  unitPrice: centimes,
  referencePrice: centimes.nullable(),
  reimbursable: z.boolean(),
  priorApproval: z.boolean(),
  approval: text(TEXT_LIMITS.approval).optional(),
  durationDays: z.number().int().min(0).max(3660).optional(),
  lot: text(TEXT_LIMITS.lot).optional(),
  expiry: isoDateSchema.optional(),
  serial: text(TEXT_LIMITS.serial).optional(),
  prescribed: z
    .strictObject({ quantity: z.number().int().min(0).max(100_000), alreadyDispensed: z.number().int().min(0).max(1_000_000) })
    .optional(),
  replaces: z.strictObject({ code: text(TEXT_LIMITS.code), referencePrice: centimes.nullable() }).optional(),
  total: centimes,
  base: centimes,
  fund: centimes,
  patient: centimes,
  reason: text(TEXT_LIMITS.lineReason).nullable(),
});

const draftShape = {
  kind: z.enum(INVOICE_KINDS).optional(),
  fund: z.enum(FUNDS),
  date: isoDateSchema,
  beneficiary: z.strictObject({
    cardSerial: text(TEXT_LIMITS.cardSerial),
    rank: z.number().int().min(1).max(99),
    insuredId: text(TEXT_LIMITS.insuredId).optional(),
  }),
  prescription: z
    .strictObject({
      reference: text(TEXT_LIMITS.prescriptionReference),
      date: isoDateSchema.optional(),
      prescriber: text(TEXT_LIMITS.prescriber).optional(),
      counterfoil: text(TEXT_LIMITS.counterfoil).optional(),
    })
    .optional(),
  context: z.strictObject({
    category: categoryIdSchema,
    rightsEnd: isoDateSchema.optional(),
    cardExpiry: isoDateSchema.optional(),
    beneficiary: rights.optional(),
    prescriptionHistory: z
      .array(z.strictObject({ reference: text(TEXT_LIMITS.prescriptionReference), date: isoDateSchema }))
      .max(MAX_HISTORY)
      .optional(),
  }),
  blacklisted: z.boolean(),
  category: categoryIdSchema,
  rateBp: z.number().int().min(0).max(10_000),
  ruleVersion: text(TEXT_LIMITS.ruleVersion),
  lines: z.array(line).min(1).max(200),
  items: z
    .array(
      z.strictObject({
        id: text(TEXT_LIMITS.itemId),
        label: text(TEXT_LIMITS.label).optional(),
        amount: centimes,
        fund: centimes,
        patient: centimes,
      }),
    )
    .max(MAX_ITEMS)
    .optional(),
  totals: z.strictObject({ total: centimes, base: centimes, fund: centimes, patient: centimes }),
  thirdPartyPayment: z.boolean(),
  reason: text(TEXT_LIMITS.reason).nullable(),
  references: z
    .strictObject({ number: z.number().int().min(1), hash: hex64, reason: text(TEXT_LIMITS.referenceReason).optional() })
    .optional(),
};

const draftSchema = z.strictObject(draftShape);
const documentSchema = z.strictObject({
  ...draftShape,
  v: z.literal(1),
  kind: z.enum(INVOICE_KINDS),
  pharmacyId: text(TEXT_LIMITS.pharmacyId),
  number: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  prev: hex64,
  issuedAt: z.string().regex(UTC_INSTANT, { message: UTC_INSTANT_MESSAGE }),
});

function firstIssue(error: z.ZodError, prefix: string): InvalidInvoiceError {
  const f = firstZodIssue(error);
  const field = prefix && f.field ? `${prefix}.${f.field}` : prefix || f.field;
  return new InvalidInvoiceError(field, f.message);
}

/**
 * Arithmetic the document must satisfy whatever the rules: each line's total is
 * unitPrice × quantity, base ≤ total, fund ≤ base, fund + patient = total; each item's fund +
 * patient = amount; and the totals are the sums of the lines and items (the base, of the lines). Corrections and credit notes must reference a document; invoices must not.
 */
function checkArithmetic(d: InvoiceDraft, prefix: string): void {
  const at = (f: string) => (prefix ? `${prefix}.${f}` : f);
  let total = 0;
  let base = 0;
  let fund = 0;
  let patient = 0;
  d.lines.forEach((l, i) => {
    const lineTotal = l.unitPrice * l.quantity;
    if (!Number.isSafeInteger(lineTotal)) throw new InvalidInvoiceError(at(`lines[${i}].total`), 'amount exceeds the exact integer range');
    if (l.total !== lineTotal)
      throw new InvalidInvoiceError(at(`lines[${i}].total`), `expected unitPrice × quantity = ${lineTotal}, got ${l.total}`);
    if (l.base > l.total) throw new InvalidInvoiceError(at(`lines[${i}].base`), 'the reimbursable base exceeds the line total');
    if (l.fund > l.base) throw new InvalidInvoiceError(at(`lines[${i}].fund`), "the fund's share exceeds the reimbursable base");
    if (l.fund + l.patient !== l.total)
      throw new InvalidInvoiceError(at(`lines[${i}].patient`), `fund + patient must equal total (${l.fund} + ${l.patient} ≠ ${l.total})`);
    total += l.total;
    base += l.base;
    fund += l.fund;
    patient += l.patient;
  });
  (d.items ?? []).forEach((it, i) => {
    if (it.fund + it.patient !== it.amount)
      throw new InvalidInvoiceError(
        at(`items[${i}].patient`),
        `fund + patient must equal amount (${it.fund} + ${it.patient} ≠ ${it.amount})`,
      );
    total += it.amount;
    fund += it.fund;
    patient += it.patient;
  });
  const t = d.totals;
  if (!Number.isSafeInteger(total)) throw new InvalidInvoiceError(at('totals.total'), 'amount exceeds the exact integer range');
  if (t.total !== total) throw new InvalidInvoiceError(at('totals.total'), `expected the sum of the lines, ${total}, got ${t.total}`);
  if (t.base !== base) throw new InvalidInvoiceError(at('totals.base'), `expected the sum of the lines, ${base}, got ${t.base}`);
  if (t.fund !== fund) throw new InvalidInvoiceError(at('totals.fund'), `expected the sum of the lines, ${fund}, got ${t.fund}`);
  if (t.patient !== patient)
    throw new InvalidInvoiceError(at('totals.patient'), `expected the sum of the lines, ${patient}, got ${t.patient}`);
  const kind = d.kind ?? 'invoice';
  if (kind === 'invoice' && d.references !== undefined)
    throw new InvalidInvoiceError(at('references'), 'an invoice references nothing; use kind corrected-invoice or credit-note');
  if (kind !== 'invoice' && d.references === undefined)
    throw new InvalidInvoiceError(at('references'), `a ${kind} must reference the document it corrects`);
}

/** Validates a draft from the counter; returns it typed, or throws InvalidInvoiceError. */
export function checkDraft(input: unknown): InvoiceDraft {
  const r = draftSchema.safeParse(input);
  if (!r.success) throw firstIssue(r.error, '');
  const d = r.data as InvoiceDraft;
  checkArithmetic(d, '');
  return d;
}

/** Validates a signed document's payload (fund side, journal verify). */
export function checkDocument(input: unknown, field = 'payload'): InvoiceDocument {
  checkDocumentShape(input, field); // hand-written twin of documentSchema (fast; no copy)
  const d = input as InvoiceDocument;
  checkArithmetic(d, field);
  return d;
}

/** The zod form of the document rules (reference for the hand-written check; tests compare them). */
export function checkDocumentWithZod(input: unknown, field = 'payload'): InvoiceDocument {
  const r = documentSchema.safeParse(input);
  if (!r.success) throw firstIssue(r.error, field);
  const d = r.data as InvoiceDocument;
  checkArithmetic(d, field);
  return d;
}

/**
 * Builds a draft from the split engine's result and the basket and context it was computed
 * from: the counter's one call after `computeSplit`.
 */
export function draftFromSplit(input: {
  split: Split;
  basket: Basket;
  context: SplitContext;
  fund: Fund;
  beneficiary: InvoiceDraft['beneficiary'];
  prescription?: InvoiceDraft['prescription'];
  /** Per line (same order as the basket): label, the treatment duration when the basket line has none, and the pack's lot, expiry, serial. */
  details?: readonly { label?: string; durationDays?: number; lot?: string; expiry?: IsoDate; serial?: string }[];
  /** Labels of the amount items by id (what the receipt shows for a non-zero item). */
  itemLabels?: Readonly<Record<string, string>>;
}): InvoiceDraft {
  const { split, basket, context } = input;
  if (split.lines.length !== basket.lines.length)
    throw new InvalidInvoiceError('lines', 'the split and the basket have different line counts');
  if (basket.prescription !== undefined && input.prescription?.reference !== basket.prescription)
    throw new InvalidInvoiceError('prescription.reference', 'the split counted another prescription than the invoice names');
  const lines: InvoiceLine[] = split.lines.map((s, i) => {
    const b = basket.lines[i]!;
    const approval = b.approval ?? (b.code !== undefined ? context.approvalRefs?.[b.code] : undefined);
    const det = input.details?.[i];
    const durationDays = b.durationDays ?? det?.durationDays;
    if (b.replaces !== undefined && b.replaces.code === undefined)
      throw new InvalidInvoiceError(`lines[${i}].replaces.code`, 'an invoice names the product prescribed');
    return {
      code: s.code ?? b.code ?? '',
      ...(det?.label !== undefined ? { label: det.label } : {}),
      quantity: s.quantity,
      unitPrice: s.unitPrice,
      referencePrice: s.referencePrice,
      reimbursable: b.reimbursable,
      priorApproval: b.priorApproval,
      ...(approval !== undefined && approval.trim() !== '' ? { approval } : {}),
      ...(durationDays !== undefined ? { durationDays } : {}),
      ...(det?.lot !== undefined ? { lot: det.lot } : {}),
      ...(det?.expiry !== undefined ? { expiry: det.expiry } : {}),
      ...(det?.serial !== undefined ? { serial: det.serial } : {}),
      ...(b.prescribed !== undefined
        ? { prescribed: { quantity: b.prescribed.quantity, alreadyDispensed: b.prescribed.alreadyDispensed } }
        : {}),
      ...(b.replaces !== undefined ? { replaces: { code: b.replaces.code!, referencePrice: b.replaces.referencePrice } } : {}),
      total: s.total,
      base: s.base,
      fund: s.fund,
      patient: s.patient,
      reason: s.reason,
    };
  });
  const cardContext: CardContext = {
    category: context.category,
    ...(context.rightsEnd !== undefined ? { rightsEnd: context.rightsEnd } : {}),
    ...(context.cardExpiry !== undefined ? { cardExpiry: context.cardExpiry } : {}),
    ...(context.beneficiary !== undefined
      ? {
          beneficiary: {
            category: context.beneficiary.category,
            ...(context.beneficiary.rightsEnd !== undefined ? { rightsEnd: context.beneficiary.rightsEnd } : {}),
          },
        }
      : {}),
    ...(context.prescriptionHistory !== undefined && context.prescriptionHistory.length > 0
      ? { prescriptionHistory: context.prescriptionHistory.map((p) => ({ reference: p.reference, date: p.date })) }
      : {}),
  };
  const items = split.items
    .filter((it) => it.amount !== 0)
    .map((it) => {
      const label = input.itemLabels?.[it.id];
      return { id: it.id, ...(label !== undefined ? { label } : {}), amount: it.amount, fund: it.fund, patient: it.patient };
    });
  return checkDraft({
    kind: 'invoice',
    fund: input.fund,
    date: split.date,
    beneficiary: input.beneficiary,
    ...(input.prescription !== undefined ? { prescription: input.prescription } : {}),
    context: cardContext,
    blacklisted: context.blacklisted === true,
    category: split.category,
    rateBp: split.rateBp,
    ruleVersion: split.ruleVersion,
    lines,
    ...(items.length > 0 ? { items } : {}),
    totals: { total: split.total, base: split.base, fund: split.fund, patient: split.patient },
    thirdPartyPayment: split.thirdPartyPayment,
    reason: split.reason,
  });
}

/**
 * What makes two invoices "the same dispensing" for the fund's duplicate check: who, when,
 * which prescription, which products in which quantities, at which prices. Numbers, times and
 * signatures are left out on purpose — a replayed dispensing under a new number is a duplicate.
 */
export function dispensingFingerprint(d: InvoiceDocument): string {
  // A JSON array of plain values: deterministic without canonicalisation (every field is a
  // string, a number or null, in a fixed order).
  const parts: (string | number | null)[] = [
    d.pharmacyId,
    d.fund,
    d.date,
    d.beneficiary.cardSerial,
    d.beneficiary.rank,
    d.prescription?.reference ?? null,
    d.prescription?.date ?? null,
    d.kind === 'credit-note' ? (d.references?.number ?? null) : null,
  ];
  for (const l of d.lines) parts.push(l.code, l.quantity, l.unitPrice);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
