import type { Product } from './catalogue/product';
import { UnknownProductError } from './errors';
import type { QuoteRequest } from './quote-request';
import type { RuleBook } from './rules/load';
import { computeSplit, type LineSplit, type Split, type SplitContext, type SplitLine } from './split';

/** Finds a product by code (the catalogue store's `get`, or a Map's, in tests). */
export type ProductLookup = (code: string) => Product | undefined;

export interface QuoteLineResult extends LineSplit {
  /** `brand strength, form` for catalogue lines; null for lines priced by the request. */
  description: string | null;
}

export interface Quote extends Split {
  lines: QuoteLineResult[];
}

/**
 * Turns request lines into priced split lines: a line naming a code takes the catalogue's prices
 * and flags, and any price or flag the line gives itself wins. Throws UnknownProductError naming
 * `lines[i].code`. `lookup` is only called for lines that have a code.
 */
export function resolveLines(request: QuoteRequest, lookup: ProductLookup): { lines: SplitLine[]; products: (Product | undefined)[] } {
  const products: (Product | undefined)[] = [];
  const lines = request.lines.map((l, i): SplitLine => {
    let p: Product | undefined;
    if (l.code !== undefined) {
      p = lookup(l.code);
      if (!p) throw new UnknownProductError(l.code, `lines[${i}].code`);
    }
    products.push(p);
    const line: SplitLine = {
      quantity: l.quantity,
      unitPrice: l.unitPrice ?? p!.unitPrice, // the schema requires unitPrice when there is no code
      referencePrice: l.referencePrice !== undefined ? l.referencePrice : (p?.referencePrice ?? null),
      reimbursable: l.reimbursable ?? p?.reimbursable ?? true,
      priorApproval: l.priorApproval ?? p?.priorApproval ?? false,
    };
    if (l.code !== undefined) line.code = l.code;
    if (l.approval !== undefined) line.approval = l.approval;
    return line;
  });
  return { lines, products };
}

/** The split context a quote request describes. */
export function contextOf(request: QuoteRequest): SplitContext {
  const ctx: SplitContext = { category: request.category };
  if (request.rightsEnd !== undefined) ctx.rightsEnd = request.rightsEnd;
  if (request.cardExpiry !== undefined) ctx.cardExpiry = request.cardExpiry;
  if (request.blacklisted !== undefined) ctx.blacklisted = request.blacklisted;
  if (request.beneficiary !== undefined) {
    ctx.beneficiary = { category: request.beneficiary.category };
    if (request.beneficiary.rightsEnd !== undefined) ctx.beneficiary.rightsEnd = request.beneficiary.rightsEnd;
  }
  return ctx;
}

/** Prices a validated quote request: catalogue look-up, then the split. */
export function quote(request: QuoteRequest, rules: RuleBook, lookup: ProductLookup): Quote {
  const { lines, products } = resolveLines(request, lookup);
  const s = computeSplit({ date: request.date, lines }, rules, contextOf(request));
  // Fields are copied one by one: spreading them measured ~8x slower on the quote path (bench/split).
  const out: QuoteLineResult[] = new Array(s.lines.length);
  for (let i = 0; i < s.lines.length; i++) {
    const l = s.lines[i]!;
    const p = products[i];
    out[i] = {
      index: l.index,
      code: l.code,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      referencePrice: l.referencePrice,
      total: l.total,
      base: l.base,
      fund: l.fund,
      patient: l.patient,
      reason: l.reason,
      description: p ? describeProduct(p) : null,
    };
  }
  return {
    date: s.date,
    ruleVersion: s.ruleVersion,
    category: s.category,
    rateBp: s.rateBp,
    thresholdCentimes: s.thresholdCentimes,
    thresholdApplies: s.thresholdApplies,
    total: s.total,
    base: s.base,
    fund: s.fund,
    patient: s.patient,
    thirdPartyPayment: s.thirdPartyPayment,
    reason: s.reason,
    lines: out,
  };
}

export function describeProduct(p: Product): string {
  return (p.strength === '' ? p.brand : `${p.brand} ${p.strength}`) + `, ${p.form}`;
}
