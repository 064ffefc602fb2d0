import * as fs from 'node:fs';
import type { Category } from '../src/billing/category';
import { parseCatalogueCsv } from '../src/billing/catalogue/import';
import type { Product } from '../src/billing/catalogue/product';
import { CatalogueStore } from '../src/billing/catalogue/store';
import { openDatabase } from '../src/common/db';
import { defaultCatalogueCsv } from '../src/common/paths';
import { quote } from '../src/billing/quote';
import { parseQuoteRequest, type QuoteRequest } from '../src/billing/quote-request';
import { loadRules, type RuleBook } from '../src/billing/rules/load';
import { computeSplit, type Basket, type SplitContext, type SplitLine } from '../src/billing/split';
import { medianOps, printTable } from './table';
import { mulberry32 as prng } from '../src/common/prng';

/**
 * Third-party-payment split throughput on 5-line baskets drawn from the sample catalogue, against
 * two baselines measured in the same run:
 * - a naive float split (`Math.round(base * 0.8)`, the obvious first implementation; shown for
 *   scale only — floats are not allowed near money (docs/split.md), whatever it measures);
 * - `JSON.stringify` of the same basket (the least any request path must do to a basket).
 * Then the cost of the whole `chifa quote` path (zod validation + catalogue look-up + split),
 * with the catalogue in a Map and in SQLite. Target (issue): 200,000 splits/s in one process.
 */
const TARGET = 200_000;
const BASKETS = 1024;
const LINES = 5;

interface Case {
  basket: Basket;
  context: SplitContext;
  request: QuoteRequest;
}

function makeCases(products: Product[]): Case[] {
  const rnd = prng(20231219);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const categories: Category[] = ['ordinary', 'ordinary', 'ordinary', 'chronic', 'retiree'];
  const dates = ['2023-06-15', '2023-12-18', '2023-12-19', '2024-05-02', '2025-01-20'];
  const out: Case[] = [];
  for (let i = 0; i < BASKETS; i++) {
    const category = pick(categories);
    const date = pick(dates);
    const chosen = Array.from({ length: LINES }, () => pick(products));
    const quantities = chosen.map(() => 1 + Math.floor(rnd() * 3));
    const lines: SplitLine[] = chosen.map((p, j) => ({
      code: p.code,
      quantity: quantities[j]!,
      unitPrice: p.unitPrice,
      referencePrice: p.referencePrice,
      reimbursable: p.reimbursable,
      priorApproval: p.priorApproval,
      ...(p.priorApproval && rnd() < 0.5 ? { approval: `AP-${i}` } : {}),
    }));
    out.push({
      basket: { date, lines },
      context: { category },
      request: parseQuoteRequest({
        date,
        category,
        lines: lines.map((l) => ({ code: l.code, quantity: l.quantity, ...(l.approval ? { approval: l.approval } : {}) })),
      }),
    });
  }
  return out;
}

/** The naive version: float rate, Math.round, same rules otherwise. Not exact; scale only. */
function naiveFloatSplit(b: Basket, rules: RuleBook, ctx: SplitContext): { fund: number; patient: number } {
  const rule = rules.rulesFor(b.date);
  const cat = rule.categoriesById.get(ctx.category)!;
  const rate = cat.rateBp / 10000;
  let total = 0;
  for (const l of b.lines) total += l.unitPrice * l.quantity;
  const refused = !cat.thresholdExempt && total > rule.thresholdCentimes;
  let fund = 0;
  for (const l of b.lines) {
    if (refused || !l.reimbursable || (l.priorApproval && !l.approval)) continue;
    const unit = l.referencePrice == null ? l.unitPrice : Math.min(l.unitPrice, l.referencePrice);
    fund += Math.round(unit * l.quantity * rate);
  }
  return { fund, patient: total - fund };
}

export async function run(): Promise<void> {
  const rules = loadRules();
  const parsed = parseCatalogueCsv(fs.readFileSync(defaultCatalogueCsv(), 'utf8'));
  const products = parsed.products.map((p) => p.product);
  const cases = makeCases(products);
  const byCode = new Map(products.map((p) => [p.code, p]));
  const store = new CatalogueStore(openDatabase(':memory:'));
  store.upsertMany(products);

  let sink = 0;
  const BATCH = 256;
  let k = 0;
  const batch = (one: (c: Case) => number) => () => {
    for (let i = 0; i < BATCH; i++) {
      sink ^= one(cases[k]!);
      k = (k + 1) & (BASKETS - 1);
    }
  };

  // Correctness guard before timing: the engine's invariant on every benchmark basket.
  let covered = 0;
  for (const c of cases) {
    const s = computeSplit(c.basket, rules, c.context);
    if (s.fund + s.patient !== s.total) throw new Error('invariant broken');
    if (s.thirdPartyPayment) covered++;
  }
  const naiveDiffs = cases.filter(
    (c) => naiveFloatSplit(c.basket, rules, c.context).fund !== computeSplit(c.basket, rules, c.context).fund,
  ).length;

  const split = medianOps(
    batch((c) => computeSplit(c.basket, rules, c.context).fund),
    5,
    400,
    BATCH,
  );
  const naive = medianOps(
    batch((c) => naiveFloatSplit(c.basket, rules, c.context).fund),
    5,
    400,
    BATCH,
  );
  const stringify = medianOps(
    batch((c) => JSON.stringify(c.basket).length),
    5,
    400,
    BATCH,
  );
  const zodOnly = medianOps(
    batch((c) => parseQuoteRequest(c.request).lines.length),
    5,
    400,
    BATCH,
  );
  const quoteMap = medianOps(
    batch((c) => quote(parseQuoteRequest(c.request), rules, (code) => byCode.get(code)).fund),
    5,
    400,
    BATCH,
  );
  const quoteSqlite = medianOps(
    batch((c) => quote(parseQuoteRequest(c.request), rules, (code) => store.get(code)).fund),
    5,
    400,
    BATCH,
  );
  store.close();
  if (sink === 0.5) process.stdout.write(''); // keep the results observable

  const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}x`;
  printTable(
    `Third-party-payment split, ${LINES}-line baskets (${BASKETS} baskets from the sample catalogue, ${covered} covered)`,
    ['case', 'splits/s', 'vs naive float', 'vs target 200k/s'],
    [
      ['computeSplit (exact integer centimes)', split, ratio(split, naive), ratio(split, TARGET)],
      ['baseline: naive float split (Math.round)', naive, '1.00x', ratio(naive, TARGET)],
      ['baseline: JSON.stringify(basket)', stringify, ratio(stringify, naive), ratio(stringify, TARGET)],
      ['zod validation of the request alone', zodOnly, ratio(zodOnly, naive), ratio(zodOnly, TARGET)],
      ['quote path: zod + Map look-up + split', quoteMap, ratio(quoteMap, naive), ratio(quoteMap, TARGET)],
      ['quote path: zod + SQLite look-up + split', quoteSqlite, ratio(quoteSqlite, naive), ratio(quoteSqlite, TARGET)],
    ],
  );
  process.stdout.write(
    `\nThe naive float split gives a different fund total on ${naiveDiffs} of ${BASKETS} baskets here ` +
      `(at 80 % a whole-centime base never lands on a half centime); it is a speed reference, not a ` +
      `correctness claim either way.\n` +
      `The quote rows show the whole request path per basket; compare them with the zod row to see where it goes.\n`,
  );
}
