import fc from 'fast-check';
import type { Category } from '../../src/billing/category';
import { loadRules } from '../../src/billing/rules/load';
import { computeSplit, type SplitContext, type SplitLine } from '../../src/billing/split';

const rules = loadRules();
const RUNS = { numRuns: 5000 };

/** A cheap assertion for hot loops (jest's expect costs more than the split itself). */
function check(ok: boolean, what: string, detail?: unknown): void {
  if (!ok) throw new Error(`${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
}

const isoDate = (from: string, to: string) =>
  fc
    .date({ min: new Date(`${from}T00:00:00Z`), max: new Date(`${to}T00:00:00Z`), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
const date = isoDate('2023-01-01', '2026-12-31');
const category = fc.constantFrom<Category>('ordinary', 'chronic', 'retiree', 'mutualist', 'invalidity', 'work-accident', 'veteran');
const price = fc.integer({ min: 0, max: 2_000_000 }); // up to 20,000 DA a unit

const lineArb: fc.Arbitrary<SplitLine> = fc.record(
  {
    code: fc.constantFrom('A', 'B', 'C', 'D'),
    quantity: fc.integer({ min: 1, max: 20 }),
    unitPrice: price,
    referencePrice: fc.option(price, { nil: null }),
    reimbursable: fc.boolean(),
    priorApproval: fc.boolean(),
    approval: fc.constantFrom('AP-1', ''),
  },
  { requiredKeys: ['quantity', 'unitPrice', 'reimbursable', 'priorApproval'] },
);
const lines = fc.array(lineArb, { minLength: 1, maxLength: 8 });
const context: fc.Arbitrary<SplitContext> = fc.record(
  {
    category,
    cardExpiry: date,
    rightsEnd: date,
    blacklisted: fc.boolean(),
    approvalRefs: fc.dictionary(fc.constantFrom('A', 'B', 'C', 'D'), fc.constantFrom('AP-9', ' ')),
  },
  { requiredKeys: ['category'] },
);

test('fund + patient = total, 0 ≤ fund ≤ base ≤ total, per line and overall', () => {
  fc.assert(
    fc.property(date, lines, context, (d, ls, ctx) => {
      const s = computeSplit({ date: d, lines: ls }, rules, ctx);
      let total = 0;
      let base = 0;
      let fund = 0;
      for (const l of s.lines) {
        check(l.fund + l.patient === l.total, 'line fund + patient = total', l);
        check(0 <= l.fund && l.fund <= l.base && l.base <= l.total, 'line 0 ≤ fund ≤ base ≤ total', l);
        check([l.total, l.base, l.fund, l.patient].every(Number.isSafeInteger), 'integer centimes', l);
        const expected = l.reason !== null ? 0 : Number((BigInt(l.base) * BigInt(s.rateBp) + 5000n) / 10000n);
        check(l.fund === expected, 'line fund = base × rate half up, or 0 when refused', l);
        total += l.total;
        base += l.base;
        fund += l.fund;
      }
      check(s.fund + s.patient === s.total, 'fund + patient = total', s);
      check(s.total === total && s.base === base && s.fund === fund, 'totals are the sums of the lines', s);
      check(s.fund <= s.base, 'fund ≤ base', s);
      check(s.thirdPartyPayment === (s.reason === null), 'thirdPartyPayment iff no reason', s);
      check(s.thirdPartyPayment ? s.fund > 0 : s.fund === 0, 'a refused prescription has fund 0', s);
    }),
    RUNS,
  );
});

test('monotonic in quantity: more units never lower a line total, base, fund or patient share', () => {
  let compared = 0;
  fc.assert(
    fc.property(date, lines, context, fc.nat(), fc.integer({ min: 1, max: 10 }), (d, ls, ctx, pick, extra) => {
      const i = pick % ls.length;
      const more = ls.map((l, j) => (j === i ? { ...l, quantity: l.quantity + extra } : l));
      const a = computeSplit({ date: d, lines: ls }, rules, ctx);
      const b = computeSplit({ date: d, lines: more }, rules, ctx);
      check(b.total >= a.total, 'total never shrinks', [a.total, b.total]);
      // Crossing the threshold is a cliff by design (the whole prescription leaves third-party
      // payment), so compare shares only when the prescription-level outcome is the same.
      if (a.reason !== b.reason) {
        check(b.reason === 'over-threshold', 'only the threshold changes the outcome', [a.reason, b.reason]);
        return;
      }
      compared++;
      const [la, lb] = [a.lines[i]!, b.lines[i]!];
      check(lb.total >= la.total && lb.base >= la.base, 'line total and base grow', [la, lb]);
      check(lb.fund >= la.fund && lb.patient >= la.patient, 'line fund and patient shares grow', [la, lb]);
      check(b.fund >= a.fund && b.patient >= a.patient, 'prescription shares grow', [a, b]);
      a.lines.forEach((l, j) => {
        if (j !== i) check(JSON.stringify(b.lines[j]) === JSON.stringify(l), 'other lines unchanged', j);
      });
    }),
    RUNS,
  );
  expect(compared).toBeGreaterThan(RUNS.numRuns / 2); // the property was really exercised
});

test('threshold boundary: total = threshold is covered, threshold + 1 centime is not', () => {
  const small = fc.record({
    quantity: fc.integer({ min: 1, max: 5 }),
    unitPrice: fc.integer({ min: 0, max: 9_000 }), // 6 × 5 × 9,000 < the lowest threshold
    referencePrice: fc.option(fc.integer({ min: 0, max: 9_000 }), { nil: null }),
    reimbursable: fc.boolean(),
    priorApproval: fc.constant(false),
  });
  fc.assert(
    fc.property(date, fc.array(small, { maxLength: 6 }), fc.constantFrom<Category>('ordinary', 'mutualist', 'veteran'), (d, ls, cat) => {
      const threshold = rules.rulesFor(d).thresholdCentimes;
      const sum = ls.reduce((acc, l) => acc + l.unitPrice * l.quantity, 0);
      const pad = (p: number): SplitLine => ({ quantity: 1, unitPrice: p, reimbursable: true, priorApproval: false });
      const at = computeSplit({ date: d, lines: [...ls, pad(threshold - sum)] }, rules, { category: cat });
      expect(at.total).toBe(threshold);
      expect(at.thirdPartyPayment).toBe(true);
      expect(at.fund).toBeGreaterThan(0);
      const over = computeSplit({ date: d, lines: [...ls, pad(threshold - sum + 1)] }, rules, { category: cat });
      expect(over.total).toBe(threshold + 1);
      expect(over).toMatchObject({ thirdPartyPayment: false, reason: 'over-threshold', fund: 0, patient: threshold + 1 });
      // Chronic patients are exempt: the same basket stays covered.
      const chronic = computeSplit({ date: d, lines: [...ls, pad(threshold - sum + 1)] }, rules, { category: 'chronic' });
      expect(chronic.thirdPartyPayment).toBe(true);
    }),
    RUNS,
  );
});
