import { isCategoryId, type Category } from './category';
import { addDays, CALENDAR_DATE_MESSAGE, isIsoDate, type IsoDate } from '../common/calendar-date';
import { AmountOverflowError } from './errors';
import { InvalidInputError } from '../common/errors';
import { isCentimes, mulRateHalfUp, type Centimes, type RateBp } from './money';
import type { RuleBook } from './rules/load';
import type { AmountItemRule, CategoryRule, ItemBase, LimitRule, Payer, RuleVersion } from './rules/schema';

/**
 * The third-party-payment split (docs/split.md): who pays what for one
 * prescription, to the centime. Pure and deterministic: no I/O, no clock, no floats — the same
 * basket, rules and context always give the same split. What the rules say (rates, the ceiling,
 * the limits, the amount items, the substitution tariff) comes from the rule version in force on
 * the dispensing date, and the split names that version.
 */

/** One priced line, as the engine sees it (catalogue look-ups happen before, in quote.ts). */
export interface SplitLine {
  /** Product code (the product dispensed), carried through to the result and used to find an approval in the context. */
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
  /** Treatment duration in days; absent: the duration limits are not evaluated on this line. */
  durationDays?: number;
  /**
   * Dispensed against a prescription the card holds: what it prescribes of this product and what
   * was already dispensed against it. Absent: no prescription data (a paper prescription), and the
   * quantity limit is not evaluated.
   */
  prescribed?: PrescribedQuantity;
  /** Generic substitution: the product prescribed, which this one (same DCI, form and strength) replaces. */
  replaces?: { code?: string; referencePrice: Centimes | null };
}

/** A product's quantities on one prescription: prescribed, and already dispensed against it. */
export interface PrescribedQuantity {
  /** Units the prescription orders (0: the product is not on it). */
  quantity: number;
  /** Units already dispensed against the same prescription (partial dispensings before this one). */
  alreadyDispensed: number;
}

/**
 * What the prescription still allows of a product: prescribed minus already dispensed, never
 * below 0. A partial dispensing leaves the rest for a later one, at this pharmacy or another.
 */
export function remainingToDispense(p: PrescribedQuantity): number {
  return Math.max(0, p.quantity - p.alreadyDispensed);
}

/** True when `quantity` units exceed what the prescription has left. */
export function exceedsPrescription(quantity: number, p: PrescribedQuantity | undefined): boolean {
  return p !== undefined && quantity > remainingToDispense(p);
}

/** A prescription to split: the dispensing date and its lines. */
export interface Basket {
  /** Dispensing date, YYYY-MM-DD: chooses the rule version. */
  date: IsoDate;
  lines: readonly SplitLine[];
  /** The prescription's reference, when known: the per-period limit does not count it twice. */
  prescription?: string;
}

/** Coverage rights as read from the card: the category and the last day they are valid. */
export interface CoverageRights {
  /** A category id of the rule version in force (e.g. `ordinary`). */
  category: Category;
  /** Last day the rights are valid (inclusive); absent: not limited. */
  rightsEnd?: IsoDate;
}

/** A prescription served earlier to the same beneficiary (the card's dispensations say which and when). */
export interface PastPrescription {
  reference: string;
  /** The day it was (first) dispensed. */
  date: IsoDate;
}

/**
 * Facts about the patient and the card that decide whether the fund pays at the counter.
 * The insured's rights are given flat (`category`, `rightsEnd`); a beneficiary is priced with
 * them unless the card gives the beneficiary rights of their own (`beneficiary`).
 */
export interface SplitContext extends CoverageRights {
  /** Last day the card may be used (inclusive); absent: not checked. */
  cardExpiry?: IsoDate;
  /** True when the card is on the fund's blacklist. */
  blacklisted?: boolean;
  /** The beneficiary's own rights, when the card holds them; they replace the insured's. */
  beneficiary?: CoverageRights;
  /** Prior-approval references by product code (in addition to each line's `approval`). */
  approvalRefs?: Readonly<Record<string, string>>;
  /** Prescriptions served earlier to this beneficiary, for the per-period limit; absent: none known. */
  prescriptionHistory?: readonly PastPrescription[];
}

/** Why the fund pays nothing on a whole prescription at the counter. */
export type DocumentReason =
  'card-blacklisted' | 'card-expired' | 'rights-expired' | 'prescription-limit' | 'over-threshold' | 'nothing-covered';
/** Why the fund pays nothing on one line. */
export type LineReason =
  | 'not-reimbursable'
  | 'prior-approval-required'
  | 'over-prescribed-quantity'
  | 'treatment-too-long'
  | Exclude<DocumentReason, 'nothing-covered'>;

/** Why the fund pays nothing (on a line or on the whole prescription), in words, by reason code. */
export const REASONS: Readonly<Record<DocumentReason | LineReason, string>> = Object.freeze({
  'card-blacklisted': 'the card is on the fund blacklist',
  'card-expired': 'the card has expired',
  'rights-expired': 'the insurance rights have expired',
  'prescription-limit': 'the beneficiary has reached the number of prescriptions allowed in the period',
  'over-threshold': 'the prescription total is above the third-party-payment threshold',
  'nothing-covered': 'no line of the prescription is covered',
  'not-reimbursable': 'the product is not reimbursable',
  'prior-approval-required': "the product needs the fund's prior approval and no approval reference was given",
  'over-prescribed-quantity': 'more units than the prescription has left to dispense',
  'treatment-too-long': 'the treatment duration is longer than the rules allow for this category',
});

/** The split of one line, in centimes: total = fund + patient. */
export interface LineSplit {
  index: number;
  /** The product dispensed. */
  code: string | null;
  /** The product prescribed, when a generic was substituted for it; null otherwise. */
  prescribedCode: string | null;
  quantity: number;
  unitPrice: Centimes;
  referencePrice: Centimes | null;
  /** The unit reference tariff the base was computed with (after the substitution rule); null: none. */
  tariff: Centimes | null;
  /** unitPrice × quantity. */
  total: Centimes;
  /** Reimbursable base: min(unitPrice, tariff) × quantity; 0 if not reimbursable. */
  base: Centimes;
  /** What the fund pays at the counter: base × rate, half up, or 0 if refused. */
  fund: Centimes;
  /** total − fund. */
  patient: Centimes;
  /** Why the fund pays nothing on this line, or null. */
  reason: LineReason | null;
  /** For a refusal by a limit: which limit and the numbers, for people; null otherwise. */
  detail: string | null;
}

/** An amount item (docs/split.md) as computed for one prescription. */
export interface ItemSplit {
  id: string;
  kind: AmountItemRule['kind'];
  payer: Payer;
  /** Markups: what the rate applies to, and that amount; null for a fixed fee. */
  base: ItemBase | null;
  baseAmount: Centimes | null;
  rateBp: RateBp | null;
  amount: Centimes;
  fund: Centimes;
  patient: Centimes;
}

/** The split of a prescription, in centimes: total = fund + patient, line by line and overall. */
export interface Split {
  date: IsoDate;
  ruleVersion: string;
  /** The category that priced the split (the beneficiary's own, or the insured's). */
  category: Category;
  rateBp: RateBp;
  thresholdCentimes: Centimes;
  /** False when the category is exempt from the threshold. */
  thresholdApplies: boolean;
  /** Lines and amount items. */
  total: Centimes;
  base: Centimes;
  fund: Centimes;
  patient: Centimes;
  /** True when the fund pays its share directly at the counter. */
  thirdPartyPayment: boolean;
  reason: DocumentReason | null;
  /** For a refusal by a limit: which limit and the numbers; null otherwise. */
  detail: string | null;
  lines: LineSplit[];
  /** Every amount item of the rule version, in its order (amount 0 when not due or set to 0). */
  items: ItemSplit[];
}

/**
 * Computes the split of one prescription.
 * - per line: total = unitPrice × quantity; base = min(unitPrice, tariff) × quantity (0 if not
 *   reimbursable), the tariff being the line's reference tariff or, for a generic that replaces
 *   the prescribed product, the one the rule version's substitution rule picks; fund = base ×
 *   rate rounded half up to the centime; patient = the rest;
 * - the fund pays nothing on a line that is not reimbursable, that needs prior approval without
 *   an approval reference, or that a limit of the category refuses (more than the prescription
 *   leaves to dispense, a treatment longer than allowed);
 * - the fund pays nothing at all when the card is blacklisted or expired, the rights have ended,
 *   the beneficiary has had the number of prescriptions a per-period limit allows, or the lines'
 *   total is above the threshold of the rule version in force (unless the category is exempt);
 * - amount items follow: a fund-paid item only on a third-party-payment prescription.
 * Invariant: fund + patient = total for every line, every item and the prescription.
 * Throws InvalidInputError / AmountOverflowError (naming the field) on bad input — a category
 * the rule version does not define included — and NoRulesInForceError when no rule version
 * covers `basket.date`.
 */
export function computeSplit(basket: Basket, rules: RuleBook, context: SplitContext): Split {
  const lines = basket.lines;
  checkContext(context);
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new InvalidInputError([{ field: 'lines', message: 'a prescription needs at least one line' }]);
  }
  if (basket.prescription !== undefined && (typeof basket.prescription !== 'string' || basket.prescription === '')) {
    bad('prescription', 'expected a prescription reference');
  }
  const rule = rules.rulesFor(basket.date, 'date');
  const date = basket.date;
  const rights: CoverageRights = context.beneficiary ?? context;
  const cat = categoryIn(rule, rights.category, context.beneficiary ? 'context.beneficiary.category' : 'context.category');
  const rateBp = cat.rateBp;
  const thresholdApplies = !cat.thresholdExempt;

  // Document-level refusals that do not depend on the amounts, most serious first.
  let docReason: DocumentReason | null = null;
  let docDetail: string | null = null;
  if (context.blacklisted === true) docReason = 'card-blacklisted';
  else if (context.cardExpiry !== undefined && date > context.cardExpiry) docReason = 'card-expired';
  else if (rights.rightsEnd !== undefined && date > rights.rightsEnd) docReason = 'rights-expired';
  else {
    docDetail = prescriptionLimit(cat, basket, context);
    if (docDetail !== null) docReason = 'prescription-limit';
  }

  // Pass 1: validate and compute totals and bases (the threshold needs the prescription total).
  const n = lines.length;
  const totals = new Array<number>(n);
  const bases = new Array<number>(n);
  const tariffs = new Array<Centimes | null>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const l = lines[i]!;
    checkLine(l, i);
    const lineTotal = l.unitPrice * l.quantity;
    if (!Number.isSafeInteger(lineTotal)) throw new AmountOverflowError(`lines[${i}].total`);
    const tariff = l.replaces === undefined ? (l.referencePrice ?? null) : substitutedTariff(rule, l.referencePrice ?? null, l.replaces);
    const unitBase = tariff === null || tariff > l.unitPrice ? l.unitPrice : tariff;
    totals[i] = lineTotal;
    tariffs[i] = tariff;
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
    let detail: string | null = null;
    if (!l.reimbursable) reason = 'not-reimbursable';
    else if (l.priorApproval && !hasApproval(l, context)) reason = 'prior-approval-required';
    else {
      for (const limit of cat.limits) {
        detail = lineLimit(limit, l);
        if (detail !== null) {
          reason = limit.kind === 'prescribed-quantity' ? 'over-prescribed-quantity' : 'treatment-too-long';
          break;
        }
      }
      if (reason === null && docReason !== null) {
        reason = docReason as LineReason;
        detail = docDetail;
      }
    }
    const lineFund = reason === null ? mulRateHalfUp(lineBase, rateBp) : 0;
    base += lineBase;
    fund += lineFund;
    out[i] = {
      index: i,
      code: l.code ?? null,
      prescribedCode: l.replaces?.code ?? null,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      referencePrice: l.referencePrice ?? null,
      tariff: tariffs[i]!,
      total: lineTotal,
      base: lineBase,
      fund: lineFund,
      patient: lineTotal - lineFund,
      reason,
      detail,
    };
  }
  if (docReason === null && fund === 0) docReason = 'nothing-covered';
  const thirdPartyPayment = docReason === null;

  // Amount items, after the lines: their bases are the lines' sums.
  const items = new Array<ItemSplit>(rule.amountItems.length);
  let itemsTotal = 0;
  let itemsFund = 0;
  for (let k = 0; k < items.length; k++) {
    const item = itemSplit(rule.amountItems[k]!, thirdPartyPayment, { 'sale-total': total, 'reimbursable-base': base, 'fund-share': fund });
    itemsTotal += item.amount;
    itemsFund += item.fund;
    items[k] = item;
  }
  const grandTotal = total + itemsTotal;
  const grandFund = fund + itemsFund;
  if (!Number.isSafeInteger(grandTotal)) throw new AmountOverflowError('total');

  return {
    date,
    ruleVersion: rule.version,
    category: cat.id,
    rateBp,
    thresholdCentimes: rule.thresholdCentimes,
    thresholdApplies,
    total: grandTotal,
    base,
    fund: grandFund,
    patient: grandTotal - grandFund,
    thirdPartyPayment,
    reason: docReason,
    detail: docReason === 'prescription-limit' ? docDetail : null,
    lines: out,
    items,
  };
}

function categoryIn(rule: RuleVersion, id: Category, field: string): CategoryRule {
  const c = rule.categoriesById.get(id);
  if (c) return c;
  const known = rule.categories.map((x) => JSON.stringify(x.id)).join(', ');
  return bad(field, `the rules ${rule.version} have no category ${JSON.stringify(id)} (they define ${known})`);
}

/**
 * The tariff of a substituted line: the rule version says whose — the dispensed product's, the
 * prescribed one's, or the lower of the two (a missing tariff is no limit, so "lower" takes the
 * other one).
 */
function substitutedTariff(
  rule: RuleVersion,
  dispensed: Centimes | null,
  prescribed: { referencePrice: Centimes | null },
): Centimes | null {
  const p = prescribed.referencePrice;
  switch (rule.substitution.tariff) {
    case 'dispensed':
      return dispensed;
    case 'prescribed':
      return p;
    case 'lower':
      return dispensed === null ? p : p === null ? dispensed : Math.min(dispensed, p);
  }
}

/** Why a line-level limit refuses the line, or null when it does not (or cannot be evaluated). */
function lineLimit(limit: LimitRule, l: SplitLine): string | null {
  switch (limit.kind) {
    case 'prescribed-quantity': {
      const p = l.prescribed;
      if (p === undefined || !exceedsPrescription(l.quantity, p)) return null;
      return `${limit.id}: ${l.quantity} asked, ${p.quantity} prescribed, ${p.alreadyDispensed} already dispensed: at most ${remainingToDispense(p)}`;
    }
    case 'max-treatment-days':
      if (l.durationDays === undefined || l.durationDays <= limit.days) return null;
      return `${limit.id}: ${l.durationDays} days of treatment, at most ${limit.days}`;
    default:
      return null;
  }
}

/** Why a per-period limit refuses this prescription, or null. */
function prescriptionLimit(cat: CategoryRule, basket: Basket, context: SplitContext): string | null {
  for (const limit of cat.limits) {
    if (limit.kind !== 'prescriptions-per-period') continue;
    const from = addDays(basket.date, -(limit.windowDays - 1));
    const seen = new Set<string>();
    for (const p of context.prescriptionHistory ?? []) {
      if (p.date >= from && p.date <= basket.date && p.reference !== basket.prescription) seen.add(p.reference);
    }
    if (seen.size + 1 > limit.count) {
      return `${limit.id}: ${seen.size} prescriptions already served since ${from}, at most ${limit.count} in ${limit.windowDays} days`;
    }
  }
  return null;
}

function itemSplit(rule: AmountItemRule, thirdPartyPayment: boolean, bases: Record<ItemBase, Centimes>): ItemSplit {
  const due = rule.payer === 'patient' || thirdPartyPayment;
  let amount: Centimes;
  let out: Pick<ItemSplit, 'base' | 'baseAmount' | 'rateBp'>;
  if (rule.kind === 'markup') {
    const baseAmount = bases[rule.base];
    amount = due ? mulRateHalfUp(baseAmount, rule.rateBp) : 0;
    out = { base: rule.base, baseAmount, rateBp: rule.rateBp };
  } else {
    amount = due ? rule.amountCentimes : 0;
    out = { base: null, baseAmount: null, rateBp: null };
  }
  const fund = rule.payer === 'fund' ? amount : 0;
  return { id: rule.id, kind: rule.kind, payer: rule.payer, ...out, amount, fund, patient: amount - fund };
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
  if (l.durationDays !== undefined && (!Number.isSafeInteger(l.durationDays) || l.durationDays < 0)) {
    bad(`lines[${i}].durationDays`, 'expected a whole number of days');
  }
  const q = l.prescribed;
  if (q !== undefined) {
    if (q === null || typeof q !== 'object') bad(`lines[${i}].prescribed`, 'expected an object');
    if (!Number.isSafeInteger(q.quantity) || q.quantity < 0) bad(`lines[${i}].prescribed.quantity`, 'expected an integer ≥ 0');
    if (!Number.isSafeInteger(q.alreadyDispensed) || q.alreadyDispensed < 0)
      bad(`lines[${i}].prescribed.alreadyDispensed`, 'expected an integer ≥ 0');
  }
  const r = l.replaces;
  if (r !== undefined) {
    if (r === null || typeof r !== 'object') bad(`lines[${i}].replaces`, 'expected an object');
    if (r.referencePrice !== null && !isCentimes(r.referencePrice)) {
      bad(`lines[${i}].replaces.referencePrice`, 'expected a non-negative integer number of centimes, or null');
    }
  }
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
  const h = c.prescriptionHistory;
  if (h !== undefined) {
    if (!Array.isArray(h)) bad('context.prescriptionHistory', 'expected an array');
    h.forEach((p, i) => {
      if (p === null || typeof p !== 'object' || typeof p.reference !== 'string' || p.reference === '') {
        bad(`context.prescriptionHistory[${i}].reference`, 'expected a prescription reference');
      }
      if (!isIsoDate(p.date)) bad(`context.prescriptionHistory[${i}].date`, CALENDAR_DATE_MESSAGE);
    });
  }
}

function checkRights(r: CoverageRights, at: string): void {
  if (!isCategoryId(r.category)) bad(`${at}.category`, 'expected a category id (e.g. "ordinary")');
  if (r.rightsEnd !== undefined && !isIsoDate(r.rightsEnd)) bad(`${at}.rightsEnd`, CALENDAR_DATE_MESSAGE);
}

function bad(field: string, message: string): never {
  throw new InvalidInputError([{ field, message }]);
}
