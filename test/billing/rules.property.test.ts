import fc from 'fast-check';
import { parseRuleFile, RuleBook } from '../../src/billing/rules/load';
import { computeSplit, type SplitLine } from '../../src/billing/split';
import { category, ruleFile } from '../support/rules';

/**
 * The money invariants with every kind of rule switched on, at random values: amount items of
 * every base and payer, limits, substitution. fund + patient = total to the centime for every
 * line, every item and the prescription; a limit never makes the fund pay more.
 */

const RUNS = { numRuns: 3000 };
const src = { source: 'docs/field-notes.md#categories', certainty: 'good' };

function check(ok: boolean, what: string, detail?: unknown): void {
  if (!ok) throw new Error(`${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
}

const bp = fc.integer({ min: 0, max: 10_000 });
const rulesArb = fc
  .record({
    rate: bp,
    exempt: fc.boolean(),
    markupRate: bp,
    markupBase: fc.constantFrom('sale-total', 'reimbursable-base', 'fund-share'),
    markupPayer: fc.constantFrom('fund', 'patient'),
    fee: fc.integer({ min: 0, max: 100_000 }),
    feePayer: fc.constantFrom('fund', 'patient'),
    days: fc.integer({ min: 1, max: 120 }),
    window: fc.integer({ min: 1, max: 366 }),
    count: fc.integer({ min: 1, max: 4 }),
    tariff: fc.constantFrom('dispensed', 'prescribed', 'lower'),
  })
  .map((r) => {
    const file = ruleFile({
      categories: [
        category('x', 1, r.rate, { thresholdExempt: r.exempt, limits: ['qty', 'days', 'period'] }),
        category('free', 2, r.rate, { thresholdExempt: r.exempt }),
      ],
      limits: [
        { id: 'qty', kind: 'prescribed-quantity', enabled: true, ...src },
        { id: 'days', kind: 'max-treatment-days', days: r.days, enabled: true, ...src },
        { id: 'period', kind: 'prescriptions-per-period', windowDays: r.window, count: r.count, enabled: true, ...src },
      ],
      amountItems: [
        { id: 'm', kind: 'markup', label: { fr: 'm', ar: 'm' }, base: r.markupBase, rateBp: r.markupRate, payer: r.markupPayer, ...src },
        { id: 'f', kind: 'invoice-fee', label: { fr: 'f', ar: 'f' }, amountCentimes: r.fee, payer: r.feePayer, ...src },
      ],
      substitution: { tariff: r.tariff, ...src },
    });
    return new RuleBook([parseRuleFile(JSON.stringify(file), 'random.json')]);
  });

const price = fc.integer({ min: 0, max: 500_000 });
const lineArb: fc.Arbitrary<SplitLine> = fc.record(
  {
    code: fc.constantFrom('A', 'B', 'C'),
    quantity: fc.integer({ min: 1, max: 10 }),
    unitPrice: price,
    referencePrice: fc.option(price, { nil: null }),
    reimbursable: fc.boolean(),
    priorApproval: fc.constant(false),
    durationDays: fc.integer({ min: 0, max: 200 }),
    prescribed: fc.record({ quantity: fc.integer({ min: 0, max: 10 }), alreadyDispensed: fc.integer({ min: 0, max: 10 }) }),
    replaces: fc.record({ code: fc.constant('P'), referencePrice: fc.option(price, { nil: null }) }),
  },
  { requiredKeys: ['quantity', 'unitPrice', 'reimbursable', 'priorApproval'] },
);
const history = fc.array(
  fc.record({
    reference: fc.constantFrom('R1', 'R2', 'R3', 'R4'),
    date: fc.integer({ min: 0, max: 500 }).map((d) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10)),
  }),
  { maxLength: 6 },
);

test('with items, limits and substitution: fund + patient = total everywhere, totals are the sums', () => {
  fc.assert(
    fc.property(rulesArb, fc.array(lineArb, { minLength: 1, maxLength: 6 }), history, (rules, lines, h) => {
      const s = computeSplit({ date: '2025-01-01', lines, prescription: 'R2' }, rules, { category: 'x', prescriptionHistory: h });
      let total = 0;
      let fund = 0;
      let base = 0;
      for (const l of s.lines) {
        check(l.fund + l.patient === l.total && 0 <= l.fund && l.fund <= l.base && l.base <= l.total, 'line', l);
        total += l.total;
        fund += l.fund;
        base += l.base;
      }
      for (const i of s.items) {
        check(i.fund + i.patient === i.amount && i.fund >= 0 && i.patient >= 0, 'item', i);
        check(Number.isSafeInteger(i.amount), 'integer item', i);
        total += i.amount;
        fund += i.fund;
      }
      check(s.total === total && s.fund === fund && s.base === base, 'totals are the sums of lines and items', s);
      check(s.fund + s.patient === s.total, 'fund + patient = total', s);
      if (!s.thirdPartyPayment)
        check(
          s.items.every((i) => i.fund === 0),
          'no fund item without third-party payment',
          s.items,
        );
    }),
    RUNS,
  );
});

test('a limit never makes the fund pay more on a line', () => {
  fc.assert(
    fc.property(rulesArb, fc.array(lineArb, { minLength: 1, maxLength: 6 }), history, (rules, lines, h) => {
      const basket = { date: '2025-01-01', lines };
      const limited = computeSplit(basket, rules, { category: 'x', prescriptionHistory: h });
      const free = computeSplit(basket, rules, { category: 'free', prescriptionHistory: h });
      limited.lines.forEach((l, i) => {
        const f = free.lines[i]!;
        check(l.base === f.base && l.total === f.total, 'limits do not change the base', [l, f]);
        check(l.fund <= f.fund, 'limited fund ≤ unlimited fund', [l, f]);
        if (l.reason === 'over-prescribed-quantity') {
          const line = lines[i]!;
          check(line.prescribed!.alreadyDispensed + line.quantity > line.prescribed!.quantity, 'refused only above the prescription', line);
        }
      });
    }),
    RUNS,
  );
});
