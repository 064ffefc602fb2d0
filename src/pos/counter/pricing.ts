import type { Product } from '../../billing/catalogue/product';
import type { IsoDate } from '../../common/calendar-date';
import { UnknownProductError } from '../../billing/errors';
import { InvalidInputError } from '../../common/errors';
import { describeProduct, labelled, type ProductLookup, type Quote, type QuoteLineResult } from '../../billing/quote';
import type { RuleBook } from '../../billing/rules/load';
import { computeSplit, type Basket, type SplitContext, type SplitLine } from '../../billing/split';
import type { Beneficiary, CardRead } from './card-data';
import { checkLots } from './lots';
import type { CounterQuoteRequest } from './request';
import { computeWarnings, type CounterWarning } from './warnings';

/**
 * The counter's quote: the basket priced from the catalogue, the rights read from the card, and
 * the warnings. The same function prices the quote the page shows and the checkout, so what the
 * pharmacist validated is what gets signed (checked again with `expect` at checkout).
 */

export interface CounterQuote {
  quote: Quote;
  /** The basket and context the split was computed from (what the invoice carries). */
  basket: Basket;
  context: SplitContext;
  products: Product[];
  beneficiary: Beneficiary;
  warnings: CounterWarning[];
}

export interface PricingDeps {
  rules: RuleBook;
  lookup: ProductLookup;
  /** The fund's blacklist (downlink); undefined when the counter has no copy. */
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

/** The split context the card describes for beneficiary `rank`. */
export function contextFromCard(card: CardRead, rank: number, blacklisted: boolean): SplitContext {
  const r = card.rights;
  const ctx: SplitContext = { category: r.category, rightsEnd: r.rightsEnd, cardExpiry: card.holder.expiryDate, blacklisted };
  const own = r.beneficiaryRights.find((b) => b.rank === rank);
  if (own) ctx.beneficiary = { category: own.category, rightsEnd: own.rightsEnd };
  return ctx;
}

export function priceBasket(card: CardRead, request: CounterQuoteRequest, deps: PricingDeps): CounterQuote {
  checkLots(request.lines, deps.today);
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
    return line;
  });
  const blacklisted = deps.isBlacklisted ? deps.isBlacklisted(card.holder.cardSerial, deps.today) : false;
  const context = contextFromCard(card, request.beneficiary, blacklisted);
  const basket: Basket = { date: deps.today, lines };
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
  return { quote: labelled(s, deps.rules, out), basket, context, products, beneficiary, warnings };
}
