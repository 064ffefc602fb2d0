import type { Product } from '../../billing/catalogue/product';
import { substitutionProblem } from '../../billing/catalogue/substitution';
import type { IsoDate } from '../../common/calendar-date';
import { NotSubstitutableError, UnknownProductError } from '../../billing/errors';
import { InvalidInputError } from '../../common/errors';
import { describeProduct, labelled, type ProductLookup, type Quote, type QuoteLineResult } from '../../billing/quote';
import type { RuleBook } from '../../billing/rules/load';
import type { CategoryRule, RuleVersion } from '../../billing/rules/schema';
import { computeSplit, type Basket, type SplitContext, type SplitLine } from '../../billing/split';
import type { Beneficiary, CardCategory, CardRead } from './card-data';
import { UnknownCategoryError } from './errors';
import { checkLots } from './lots';
import { prescribedPerLine, prescriptionBalance, prescriptionHistory, type PrescriptionBalance } from './prescriptions';
import type { CounterQuoteRequest } from './request';
import { computeWarnings, type CounterWarning } from './warnings';

/**
 * The counter's quote: the basket priced from the catalogue, the rights read from the card, the
 * rules in force today (categories by the card's codes, limits, amount items, the substitution
 * tariff), and the warnings. The same function prices the quote the page shows and the checkout,
 * so what the pharmacist validated is what gets signed (checked again with `expect` at checkout).
 */

export interface CounterQuote {
  quote: Quote;
  /** The basket and context the split was computed from (what the invoice carries). */
  basket: Basket;
  context: SplitContext;
  /** The products dispensed, line by line. */
  products: Product[];
  beneficiary: Beneficiary;
  warnings: CounterWarning[];
  /** The card's prescription the basket is dispensed against, with what it still allows; null without one. */
  prescription: PrescriptionBalance | null;
}

export interface PricingDeps {
  rules: RuleBook;
  lookup: ProductLookup;
  /** The fund's blacklist (downlink) on a dispensing date; undefined when the counter has no copy. */
  isBlacklisted?: (cardSerial: string, date: IsoDate) => boolean;
  today: IsoDate;
}

/** The beneficiary with `rank` on the card. Rank 1 is the insured person even if not listed. */
export function beneficiaryOf(card: CardRead, rank: number): Beneficiary {
  const b = card.beneficiaries.find((x) => x.rank === rank);
  if (b) return b;
  if (rank === 1) {
    const h = card.holder;
    return {
      rank: 1,
      relationship: 'insured',
      lastName: h.lastName,
      firstName: h.firstName,
      lastNameAr: h.lastNameAr,
      firstNameAr: h.firstNameAr,
      birthDate: h.birthDate,
    };
  }
  throw new InvalidInputError([{ field: 'beneficiary', message: `the card has no beneficiary with rank ${rank}` }], 'basket');
}

/** The category of the rule version with the card's code `code`; UnknownCategoryError when it has none. */
export function categoryOfCode(rule: RuleVersion, code: number): CategoryRule {
  const c = rule.categoriesByCardCode.get(code);
  if (!c) throw new UnknownCategoryError(code, rule.version);
  return c;
}

/** The card's rights with the names and labels the rules give their category codes (null for a code they lack). */
export function withCategories(card: CardRead, rule: RuleVersion): CardRead {
  const named = <T extends CardCategory>(x: T): T => {
    const c = rule.categoriesByCardCode.get(x.categoryCode);
    return { ...x, category: c?.id ?? null, categoryLabel: c ? { ...c.label } : null };
  };
  const r = card.rights;
  return { ...card, rights: { ...named(r), beneficiaryRights: r.beneficiaryRights.map(named) } };
}

/**
 * The last day the card may be used: the holder file's expiry date, unless the fund's rights on
 * the card (an online update, docs/card-layout.md §6a) say otherwise.
 */
export function cardUsableUntil(card: CardRead): IsoDate {
  return card.rights.cardValidUntil ?? card.holder.expiryDate;
}

/** The split context the card describes for beneficiary `rank`, its category codes named by `rule`. */
export function contextFromCard(card: CardRead, rank: number, blacklisted: boolean, rule: RuleVersion): SplitContext {
  const r = card.rights;
  const ctx: SplitContext = {
    category: categoryOfCode(rule, r.categoryCode).id,
    rightsEnd: r.rightsEnd,
    cardExpiry: cardUsableUntil(card),
    blacklisted,
  };
  const own = r.beneficiaryRights.find((b) => b.rank === rank);
  if (own) ctx.beneficiary = { category: categoryOfCode(rule, own.categoryCode).id, rightsEnd: own.rightsEnd };
  return ctx;
}

/** The longest window of the per-period limits the rule version enables (0: none): how far back the split looks at the card's dispensations. */
export function historyWindow(rule: RuleVersion): number {
  let days = 0;
  for (const l of rule.limits) if (l.enabled && l.kind === 'prescriptions-per-period') days = Math.max(days, l.windowDays);
  return days;
}

export function priceBasket(card: CardRead, request: CounterQuoteRequest, deps: PricingDeps): CounterQuote {
  checkLots(request.lines, deps.today);
  const rule = deps.rules.rulesFor(deps.today);
  const beneficiary = beneficiaryOf(card, request.beneficiary);
  const products: Product[] = [];
  const lines: SplitLine[] = request.lines.map((l, i) => {
    const p = deps.lookup(l.code);
    if (!p) throw new UnknownProductError(l.code, `lines[${i}].code`);
    products.push(p);
    const line: SplitLine = {
      code: p.code,
      quantity: l.quantity,
      unitPrice: p.unitPrice,
      referencePrice: p.referencePrice,
      reimbursable: p.reimbursable,
      priorApproval: p.priorApproval,
    };
    if (l.approval !== undefined) line.approval = l.approval;
    if (l.durationDays !== undefined) line.durationDays = l.durationDays;
    if (l.replaces !== undefined) {
      const q = deps.lookup(l.replaces);
      if (!q) throw new UnknownProductError(l.replaces, `lines[${i}].replaces`);
      const problem = substitutionProblem(q, p);
      if (problem !== null) throw new NotSubstitutableError(`lines[${i}].replaces`, problem);
      line.replaces = { code: q.code, referencePrice: q.referencePrice };
    }
    return line;
  });
  // Against a prescription the card holds, no line may take more than it has left (the quantity
  // limit of the rules decides whether that refuses the line).
  const prescription = request.prescription !== undefined ? prescriptionBalance(card, request.prescription, deps.lookup) : null;
  if (prescription) {
    const perLine = prescribedPerLine(
      prescription,
      lines.map((l) => ({ code: l.replaces?.code ?? l.code!, quantity: l.quantity })),
    );
    lines.forEach((l, i) => (l.prescribed = perLine[i]!));
  }
  const blacklisted = deps.isBlacklisted ? deps.isBlacklisted(card.holder.cardSerial, deps.today) : false;
  const context = contextFromCard(card, request.beneficiary, blacklisted, rule);
  const window = historyWindow(rule);
  if (window > 0) {
    const history = prescriptionHistory(card, request.beneficiary, deps.today, window);
    if (history.length > 0) context.prescriptionHistory = history;
  }
  const basket: Basket = { date: deps.today, lines, ...(request.prescription !== undefined ? { prescription: request.prescription } : {}) };
  const s = computeSplit(basket, deps.rules, context);
  const out: QuoteLineResult[] = s.lines.map((l, i) => ({ ...l, description: describeProduct(products[i]!) }));
  const warnings = computeWarnings({
    today: deps.today,
    rank: request.beneficiary,
    lines: request.lines,
    products,
    allergies: card.emergency.allergies,
    dispensations: card.dispensations,
    lookup: deps.lookup,
  });
  return { quote: labelled(s, deps.rules, out), basket, context, products, beneficiary, warnings, prescription };
}
