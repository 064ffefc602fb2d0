import { CATEGORY_ID_PATTERN } from '../billing/category';
import { textProblem, type TextLimits } from '../common/free-text';
import { CALENDAR_DATE_MESSAGE, isIsoDate } from '../common/calendar-date';
import { SyncError } from './errors';

/**
 * A hand-written structural check of a signed invoice document, for the fund's hot path (and
 * `journal verify`): the same rules as the zod `documentSchema` in invoice.ts — a property test
 * holds the two to the same verdicts — without zod's deep copy, which cost as much as a third
 * of an ES256 verification per invoice. Validates in place and returns nothing; throws
 * InvalidInvoiceError naming the first bad field (`payload.lines[2].quantity`).
 */

export class InvalidInvoiceError extends SyncError {
  constructor(field: string, message: string) {
    super('invalid-invoice', `invalid invoice: ${field || '(root)'}: ${message}`, field);
  }
}

/**
 * Every string the pharmacy signs that is not an enum, a date or a digest is free text under the
 * one rule of src/common/free-text.ts (printable, NFC, no lone surrogate, bounded in code points):
 * nothing unprintable is signed, whether the draft comes from the counter's API, the card, the
 * catalogue or an SDK caller. The zod schema (invoice.ts) and this check use the same limits.
 */
export const TEXT_LIMITS = {
  code: { max: 32 },
  label: { max: 200, min: 0 },
  approval: { max: 64 },
  // GS1 AI 10 (batch/lot) and AI 21 (serial): at most 20 characters of GS1 character set 82.
  lot: { max: 20 },
  serial: { max: 20 },
  lineReason: { max: 64, min: 0 },
  cardSerial: { max: 32 },
  insuredId: { max: 32 },
  prescriptionReference: { max: 64 },
  prescriber: { max: 120 },
  // The serial number printed on a counterfoil prescription (ordonnance à souche).
  counterfoil: { max: 32 },
  ruleVersion: { max: 64 },
  reason: { max: 64, min: 0 },
  referenceReason: { max: 200, min: 0 },
  pharmacyId: { max: 64 },
  itemId: { max: 48 },
} as const satisfies Record<string, TextLimits>;
const T = TEXT_LIMITS;

type Obj = Record<string, unknown>;

const fail = (field: string, message: string): never => {
  throw new InvalidInvoiceError(field, message);
};

const join = (base: string, key: string): string => (base ? `${base}.${key}` : key);

function object(v: unknown, field: string, shape: Readonly<Record<string, boolean>>): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'expected an object');
  const o = v as Obj;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    if (!Object.prototype.hasOwnProperty.call(shape, k)) fail(join(field, k), 'unknown field');
  }
  for (const k in shape) {
    if (shape[k] && o[k] === undefined) fail(join(field, k), 'required');
  }
  return o;
}

function int(v: unknown, field: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, 'expected an integer');
  if ((v as number) < min) fail(field, `must be ≥ ${min}`);
  if ((v as number) > max) fail(field, `must be ≤ ${max}`);
}

const centimes = (v: unknown, field: string): void => int(v, field, 0, Number.MAX_SAFE_INTEGER);

/** Signed free text: a string under the rule of src/common/free-text.ts, with the field's limits. */
function str(v: unknown, field: string, limits: TextLimits): void {
  if (typeof v !== 'string') fail(field, 'expected a string');
  const problem = textProblem(v as string, limits);
  if (problem !== undefined) fail(field, problem);
}

function bool(v: unknown, field: string): void {
  if (typeof v !== 'boolean') fail(field, 'expected true or false');
}

function oneOf(v: unknown, field: string, values: readonly string[]): void {
  if (typeof v !== 'string' || !values.includes(v)) fail(field, `expected one of ${values.join(', ')}`);
}

function categoryId(v: unknown, field: string): void {
  if (typeof v !== 'string' || !CATEGORY_ID_PATTERN.test(v)) fail(field, 'expected a category id');
}

function date(v: unknown, field: string): void {
  if (!isIsoDate(v)) fail(field, CALENDAR_DATE_MESSAGE);
}

const HEX64 = /^[0-9a-f]{64}$/;
/** An instant as `Date.prototype.toISOString` writes it (UTC, `Z`), milliseconds optional. */
export const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
export const UTC_INSTANT_MESSAGE = 'expected an ISO 8601 UTC instant';

const LINE = {
  code: true,
  label: false,
  quantity: true,
  unitPrice: true,
  referencePrice: true,
  reimbursable: true,
  priorApproval: true,
  approval: false,
  durationDays: false,
  lot: false,
  expiry: false,
  serial: false,
  prescribed: false,
  replaces: false,
  total: true,
  base: true,
  fund: true,
  patient: true,
  reason: true,
};
const PRESCRIBED = { quantity: true, alreadyDispensed: true };
const REPLACES = { code: true, referencePrice: true };
const RIGHTS = { category: true, rightsEnd: false };
const CONTEXT = { category: true, rightsEnd: false, cardExpiry: false, beneficiary: false, prescriptionHistory: false };
const PAST_PRESCRIPTION = { reference: true, date: true };
const ITEM = { id: true, label: false, amount: true, fund: true, patient: true };
const BENEFICIARY = { cardSerial: true, rank: true, insuredId: false };
const PRESCRIPTION = { reference: true, date: false, prescriber: false, counterfoil: false };
const TOTALS = { total: true, base: true, fund: true, patient: true };
const REFERENCES = { number: true, hash: true, reason: false };
const DOCUMENT = {
  v: true,
  kind: true,
  pharmacyId: true,
  number: true,
  prev: true,
  issuedAt: true,
  fund: true,
  date: true,
  beneficiary: true,
  prescription: false,
  context: true,
  blacklisted: true,
  category: true,
  rateBp: true,
  ruleVersion: true,
  lines: true,
  items: false,
  totals: true,
  thirdPartyPayment: true,
  reason: true,
  references: false,
};

const FUNDS = ['CNAS', 'CASNOS'];
/** Bounds of the lists an invoice may carry besides its lines. */
export const MAX_HISTORY = 1000;
export const MAX_ITEMS = 20;
const KINDS = ['invoice', 'corrected-invoice', 'credit-note'];

/** Throws InvalidInvoiceError unless `v` has the shape of an InvoiceDocument. */
export function checkDocumentShape(v: unknown, field: string): void {
  const d = object(v, field, DOCUMENT);
  const at = (k: string): string => join(field, k);
  if (d.v !== 1) fail(at('v'), 'expected 1');
  oneOf(d.kind, at('kind'), KINDS);
  str(d.pharmacyId, at('pharmacyId'), T.pharmacyId);
  int(d.number, at('number'), 1, Number.MAX_SAFE_INTEGER);
  if (typeof d.prev !== 'string' || !HEX64.test(d.prev)) fail(at('prev'), 'expected a SHA-256 hex digest');
  if (typeof d.issuedAt !== 'string' || !UTC_INSTANT.test(d.issuedAt)) fail(at('issuedAt'), UTC_INSTANT_MESSAGE);
  oneOf(d.fund, at('fund'), FUNDS);
  date(d.date, at('date'));
  const b = object(d.beneficiary, at('beneficiary'), BENEFICIARY);
  str(b.cardSerial, at('beneficiary.cardSerial'), T.cardSerial);
  int(b.rank, at('beneficiary.rank'), 1, 99);
  if (b.insuredId !== undefined) str(b.insuredId, at('beneficiary.insuredId'), T.insuredId);
  if (d.prescription !== undefined) {
    const p = object(d.prescription, at('prescription'), PRESCRIPTION);
    str(p.reference, at('prescription.reference'), T.prescriptionReference);
    if (p.date !== undefined) date(p.date, at('prescription.date'));
    if (p.prescriber !== undefined) str(p.prescriber, at('prescription.prescriber'), T.prescriber);
    if (p.counterfoil !== undefined) str(p.counterfoil, at('prescription.counterfoil'), T.counterfoil);
  }
  const c = object(d.context, at('context'), CONTEXT);
  categoryId(c.category, at('context.category'));
  if (c.rightsEnd !== undefined) date(c.rightsEnd, at('context.rightsEnd'));
  if (c.cardExpiry !== undefined) date(c.cardExpiry, at('context.cardExpiry'));
  if (c.beneficiary !== undefined) {
    const r = object(c.beneficiary, at('context.beneficiary'), RIGHTS);
    categoryId(r.category, at('context.beneficiary.category'));
    if (r.rightsEnd !== undefined) date(r.rightsEnd, at('context.beneficiary.rightsEnd'));
  }
  if (c.prescriptionHistory !== undefined) {
    const hf = at('context.prescriptionHistory');
    if (!Array.isArray(c.prescriptionHistory)) fail(hf, 'expected an array');
    const h = c.prescriptionHistory as unknown[];
    if (h.length > MAX_HISTORY) fail(hf, `at most ${MAX_HISTORY} entries`);
    for (let i = 0; i < h.length; i++) {
      const p = object(h[i], `${hf}[${i}]`, PAST_PRESCRIPTION);
      str(p.reference, `${hf}[${i}].reference`, T.prescriptionReference);
      date(p.date, `${hf}[${i}].date`);
    }
  }
  bool(d.blacklisted, at('blacklisted'));
  categoryId(d.category, at('category'));
  int(d.rateBp, at('rateBp'), 0, 10_000);
  str(d.ruleVersion, at('ruleVersion'), T.ruleVersion);
  if (!Array.isArray(d.lines)) fail(at('lines'), 'expected an array');
  const lines = d.lines as unknown[];
  if (lines.length < 1) fail(at('lines'), 'at least one line');
  if (lines.length > 200) fail(at('lines'), 'at most 200 lines');
  for (let i = 0; i < lines.length; i++) {
    const lf = `${at('lines')}[${i}]`;
    const l = object(lines[i], lf, LINE);
    str(l.code, `${lf}.code`, T.code);
    if (l.label !== undefined) str(l.label, `${lf}.label`, T.label);
    int(l.quantity, `${lf}.quantity`, 1, 100_000);
    centimes(l.unitPrice, `${lf}.unitPrice`);
    if (l.referencePrice !== null) centimes(l.referencePrice, `${lf}.referencePrice`);
    bool(l.reimbursable, `${lf}.reimbursable`);
    bool(l.priorApproval, `${lf}.priorApproval`);
    if (l.approval !== undefined) str(l.approval, `${lf}.approval`, T.approval);
    if (l.durationDays !== undefined) int(l.durationDays, `${lf}.durationDays`, 0, 3660);
    if (l.lot !== undefined) str(l.lot, `${lf}.lot`, T.lot);
    if (l.expiry !== undefined) date(l.expiry, `${lf}.expiry`);
    if (l.serial !== undefined) str(l.serial, `${lf}.serial`, T.serial);
    if (l.prescribed !== undefined) {
      const p = object(l.prescribed, `${lf}.prescribed`, PRESCRIBED);
      int(p.quantity, `${lf}.prescribed.quantity`, 0, 100_000);
      int(p.alreadyDispensed, `${lf}.prescribed.alreadyDispensed`, 0, 1_000_000);
    }
    if (l.replaces !== undefined) {
      const r = object(l.replaces, `${lf}.replaces`, REPLACES);
      str(r.code, `${lf}.replaces.code`, T.code);
      if (r.referencePrice !== null) centimes(r.referencePrice, `${lf}.replaces.referencePrice`);
    }
    centimes(l.total, `${lf}.total`);
    centimes(l.base, `${lf}.base`);
    centimes(l.fund, `${lf}.fund`);
    centimes(l.patient, `${lf}.patient`);
    if (l.reason !== null) str(l.reason, `${lf}.reason`, T.lineReason);
  }
  if (d.items !== undefined) {
    if (!Array.isArray(d.items)) fail(at('items'), 'expected an array');
    const items = d.items as unknown[];
    if (items.length > MAX_ITEMS) fail(at('items'), `at most ${MAX_ITEMS} items`);
    for (let i = 0; i < items.length; i++) {
      const f = `${at('items')}[${i}]`;
      const it = object(items[i], f, ITEM);
      str(it.id, `${f}.id`, T.itemId);
      if (it.label !== undefined) str(it.label, `${f}.label`, T.label);
      centimes(it.amount, `${f}.amount`);
      centimes(it.fund, `${f}.fund`);
      centimes(it.patient, `${f}.patient`);
    }
  }
  const t = object(d.totals, at('totals'), TOTALS);
  centimes(t.total, at('totals.total'));
  centimes(t.base, at('totals.base'));
  centimes(t.fund, at('totals.fund'));
  centimes(t.patient, at('totals.patient'));
  bool(d.thirdPartyPayment, at('thirdPartyPayment'));
  if (d.reason !== null) str(d.reason, at('reason'), T.reason);
  if (d.references !== undefined) {
    const r = object(d.references, at('references'), REFERENCES);
    int(r.number, at('references.number'), 1, Number.MAX_SAFE_INTEGER);
    if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) fail(at('references.hash'), 'expected a SHA-256 hex digest');
    if (r.reason !== undefined) str(r.reason, at('references.reason'), T.referenceReason);
  }
}
