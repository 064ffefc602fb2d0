import { isCategory, type Category } from './category';
import { CALENDAR_DATE_MESSAGE, isIsoDate, type IsoDate } from '../common/calendar-date';
import { AmountOverflowError } from './errors';
import { InvalidInputError } from '../common/errors';
import { isCentimes, mulRateHalfUp, type Centimes, type RateBp } from './money';
import type { RuleBook } from './rules/load';

/**
 * The third-party-payment split (docs/split.md): who pays what for one
 * prescription, to the centime. Pure and deterministic: no I/O, no clock, no floats — the same
 * basket, rules and context always give the same split.
 */

/** One priced line, as the engine sees it (catalogue look-ups happen before, in quote.ts). */
export interface SplitLine {
  /** Product code, carried through to the result and used to find an approval in the context. */
  code?: string;
  /** Units dispensed: an integer ≥ 1. */
  quantity: number;
  /** Sale price of one unit, centimes. */
  unitPrice: Centimes;
  /** Reference tariff of one unit, centimes; null or absent: no tariff, the sale price is the base. */
  referencePrice?: Centimes | null;
  /** False: the fund pays nothing on this line. */
  reimbursable: boolean;
  /** True: the fund pays only if an approval reference is given (line `approval` or context). */
  priorApproval: boolean;
  /** The fund's prior-approval reference for this line, if any. */
  approval?: string;
}

export interface Basket {
  /** Dispensing date, YYYY-MM-DD: chooses the rule version. */
  date: IsoDate;
  lines: readonly SplitLine[];
}

/** Coverage rights as read from the card: the category and the last day they are valid. */
export interface CoverageRights {
  category: Category;
  /** Last day the rights are valid (inclusive); absent: not limited. */
  rightsEnd?: IsoDate;
}

/**
 * Facts about the patient and the card that decide whether the fund pays at the counter.
 * The insured's rights are given flat (`category`, `rightsEnd`); a beneficiary is priced with
 * them unless the card gives the beneficiary rights of their own (`beneficiary`).
 */
export interface SplitContext extends CoverageRights {
  /** Last day the card is valid (inclusive); absent: not checked. */
  cardExpiry?: IsoDate;
  /** True when the card is on the fund's blacklist. */
  blacklisted?: boolean;
  /** The beneficiary's own rights, when the card holds them; they replace the insured's. */
  beneficiary?: CoverageRights;
  /** Prior-approval references by product code (in addition to each line's `approval`). */
  approvalRefs?: Readonly<Record<string, string>>;
}

/** Why the fund pays nothing on a whole prescription at the counter. */
export type DocumentReason = 'card-blacklisted' | 'card-expired' | 'rights-expired' | 'over-threshold' | 'nothing-covered';
/** Why the fund pays nothing on one line. */
export type LineReason = 'not-reimbursable' | 'prior-approval-required' | Exclude<DocumentReason, 'nothing-covered'>;

export const REASONS: Readonly<Record<DocumentReason | LineReason, string>> = Object.freeze({
  'card-blacklisted': 'the card is on the fund blacklist',
  'card-expired': 'the card has expired',
  'rights-expired': 'the insurance rights have expired',
  'over-threshold': 'the prescription total is above the third-party-payment threshold',
  'nothing-covered': 'no line of the prescription is covered',
  'not-reimbursable': 'the product is not reimbursable',
  'prior-approval-required': "the product needs the fund's prior approval and no approval reference was given",
});

export interface LineSplit {
  index: number;
  code: string | null;
  quantity: number;
  unitPrice: Centimes;
  referencePrice: Centimes | null;
  /** unitPrice × quantity. */
  total: Centimes;
  /** Reimbursable base: min(unitPrice, referencePrice) × quantity; 0 if not reimbursable. */
  base: Centimes;
  /** What the fund pays at the counter: base × rate, half up, or 0 if refused. */
  fund: Centimes;
  /** total − fund. */
  patient: Centimes;
  /** Why the fund pays nothing on this line, or null. */
  reason: LineReason | null;
}

export interface Split {
  date: IsoDate;
  ruleVersion: string;
  /** The category that priced the split (the beneficiary's own, or the insured's). */
  category: Category;
  rateBp: RateBp;
  thresholdCentimes: Centimes;
  /** False when the category is exempt from the threshold. */
  thresholdApplies: boolean;
  total: Centimes;
  base: Centimes;
  fund: Centimes;
  patient: Centimes;
  /** True when the fund pays its share directly at the counter. */
  thirdPartyPayment: boolean;
  reason: DocumentReason | null;
  lines: LineSplit[];
}

/**
 * Computes the split of one prescription.
 * - per line: total = unitPrice × quantity; base = min(unitPrice, referencePrice) × quantity
 *   (0 if not reimbursable); fund = base × rate rounded half up to the centime; patient = rest;
 * - the fund pays nothing on a line that is not reimbursable, or that needs prior approval
 *   without an approval reference;
 * - the fund pays nothing at all when the card is blacklisted or expired, the rights have ended,
 *   or the prescription total is above the threshold of the rule version in force (unless the
 *   category is exempt).
 * Invariant: fund + patient = total for every line and for the prescription.
 * Throws InvalidInputError / AmountOverflowError (naming the field) on bad input and
 * NoRulesInForceError when no rule version covers `basket.date`.
 */
export function computeSplit(basket: Basket, rules: RuleBook, context: SplitContext): Split {
  const lines = basket.lines;
  checkContext(context);
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new InvalidInputError([{ field: 'lines', message: 'a prescription needs at least one line' }]);
  }
  const rule = rules.rulesFor(basket.date, 'date');
  const date = basket.date;
  const rights: CoverageRights = context.beneficiary ?? context;
  const category = rights.category;
  const rateBp = rule.rates[category];
  const thresholdApplies = !rule.thresholdExemptCategories.includes(category);

  // Document-level refusals that do not depend on the amounts, most serious first.
  let docReason: DocumentReason | null = null;
  if (context.blacklisted === true) docReason = 'card-blacklisted';
  else if (context.cardExpiry !== undefined && date > context.cardExpiry) docReason = 'card-expired';
  else if (rights.rightsEnd !== undefined && date > rights.rightsEnd) docReason = 'rights-expired';

  // Pass 1: validate and compute totals and bases (the threshold needs the prescription total).
  const n = lines.length;
  const totals = new Array<number>(n);
  const bases = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const l = lines[i]!;
    checkLine(l, i);
    const lineTotal = l.unitPrice * l.quantity;
    if (!Number.isSafeInteger(lineTotal)) throw new AmountOverflowError(`lines[${i}].total`);
    const ref = l.referencePrice;
    const unitBase = ref === undefined || ref === null || ref > l.unitPrice ? l.unitPrice : ref;
    totals[i] = lineTotal;
    bases[i] = l.reimbursable ? unitBase * l.quantity : 0; // ≤ lineTotal, so safe
    total += lineTotal;
  }
  if (!Number.isSafeInteger(total)) throw new AmountOverflowError('total');
  if (docReason === null && thresholdApplies && total > rule.thresholdCentimes) docReason = 'over-threshold';

  // Pass 2: the fund's share per line.
  const out = new Array<LineSplit>(n);
  let base = 0;
  let fund = 0;
  for (let i = 0; i < n; i++) {
    const l = lines[i]!;
    const lineTotal = totals[i]!;
    const lineBase = bases[i]!;
    let reason: LineReason | null = null;
    if (!l.reimbursable) reason = 'not-reimbursable';
    else if (l.priorApproval && !hasApproval(l, context)) reason = 'prior-approval-required';
    else if (docReason !== null) reason = docReason as LineReason;
    const lineFund = reason === null ? mulRateHalfUp(lineBase, rateBp) : 0;
    base += lineBase;
    fund += lineFund;
    out[i] = {
      index: i,
      code: l.code ?? null,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      referencePrice: l.referencePrice ?? null,
      total: lineTotal,
      base: lineBase,
      fund: lineFund,
      patient: lineTotal - lineFund,
      reason,
    };
  }
  if (docReason === null && fund === 0) docReason = 'nothing-covered';

  return {
    date,
    ruleVersion: rule.version,
    category,
    rateBp,
    thresholdCentimes: rule.thresholdCentimes,
    thresholdApplies,
    total,
    base,
    fund,
    patient: total - fund,
    thirdPartyPayment: docReason === null,
    reason: docReason,
    lines: out,
  };
}

function hasApproval(l: SplitLine, context: SplitContext): boolean {
  if (typeof l.approval === 'string' && l.approval.trim() !== '') return true;
  if (l.code === undefined || context.approvalRefs === undefined) return false;
  const ref = Object.prototype.hasOwnProperty.call(context.approvalRefs, l.code) ? context.approvalRefs[l.code] : undefined;
  return typeof ref === 'string' && ref.trim() !== '';
}

/** Cheap guards so the public function never computes with a fractional or negative amount. */
function checkLine(l: SplitLine, i: number): void {
  if (l === null || typeof l !== 'object') bad(`lines[${i}]`, 'expected an object');
  if (!Number.isSafeInteger(l.quantity) || l.quantity < 1) bad(`lines[${i}].quantity`, 'expected an integer ≥ 1');
  if (!isCentimes(l.unitPrice)) bad(`lines[${i}].unitPrice`, 'expected a non-negative integer number of centimes');
  const ref = l.referencePrice;
  if (ref !== undefined && ref !== null && !isCentimes(ref)) {
    bad(`lines[${i}].referencePrice`, 'expected a non-negative integer number of centimes, or null');
  }
  if (typeof l.reimbursable !== 'boolean') bad(`lines[${i}].reimbursable`, 'expected true or false');
  if (typeof l.priorApproval !== 'boolean') bad(`lines[${i}].priorApproval`, 'expected true or false');
}

function checkContext(c: SplitContext): void {
  if (c === null || typeof c !== 'object') bad('context', 'expected an object');
  checkRights(c, 'context');
  if (c.beneficiary !== undefined) {
    if (c.beneficiary === null || typeof c.beneficiary !== 'object') bad('context.beneficiary', 'expected an object');
    checkRights(c.beneficiary, 'context.beneficiary');
  }
  if (c.cardExpiry !== undefined && !isIsoDate(c.cardExpiry)) bad('context.cardExpiry', CALENDAR_DATE_MESSAGE);
  if (c.blacklisted !== undefined && typeof c.blacklisted !== 'boolean') bad('context.blacklisted', 'expected true or false');
}

function checkRights(r: CoverageRights, at: string): void {
  if (!isCategory(r.category)) bad(`${at}.category`, 'expected "ordinary", "chronic" or "retiree"');
  if (r.rightsEnd !== undefined && !isIsoDate(r.rightsEnd)) bad(`${at}.rightsEnd`, CALENDAR_DATE_MESSAGE);
}

function bad(field: string, message: string): never {
  throw new InvalidInputError([{ field, message }]);
}
