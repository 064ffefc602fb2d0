import { AmountOverflowError, NoRulesInForceError } from '../../src/billing/errors';
import { InvalidInputError } from '../../src/common/errors';
import { loadRules } from '../../src/billing/rules/load';
import { computeSplit, type Basket, type SplitContext, type SplitLine } from '../../src/billing/split';
import { thrown } from '../support/thrown';

const rules = loadRules();
const V1 = 'tp-2023-01-01'; // 3,000 DA threshold
const V2 = 'tp-2023-12-19'; // 5,000 DA threshold

function line(unitPrice: number, quantity = 1, extra: Partial<SplitLine> = {}): SplitLine {
  return { quantity, unitPrice, reimbursable: true, priorApproval: false, ...extra };
}
function split(lines: SplitLine[], ctx: Partial<SplitContext> = {}, date = '2024-03-01') {
  return computeSplit({ date, lines }, rules, { category: 'ordinary', ...ctx });
}
describe('rates by category, per line', () => {
  test.each([
    // category, unit price, qty, total, base, fund, patient
    ['ordinary', 25000, 2, 50000, 50000, 40000, 10000],
    ['chronic', 25000, 2, 50000, 50000, 50000, 0],
    ['retiree', 25000, 2, 50000, 50000, 50000, 0],
    ['ordinary', 1234, 1, 1234, 1234, 987, 247], // 987.2 → 987
    ['ordinary', 1237, 1, 1237, 1237, 990, 247], // 989.6 → 990
    ['ordinary', 1, 1, 1, 1, 1, 0], // 0.8 → 1
    ['ordinary', 5, 1, 5, 5, 4, 1], // 4.0
    ['ordinary', 0, 3, 0, 0, 0, 0],
  ] as const)('%s: %d × %d → total %d base %d fund %d patient %d', (category, price, qty, total, base, fund, patient) => {
    const s = split([line(price, qty)], { category });
    expect(s.lines[0]).toMatchObject({ total, base, fund, patient });
    expect(s).toMatchObject({ total, base, fund, patient });
    expect(s.rateBp).toBe(category === 'ordinary' ? 8000 : 10000);
  });

  test('the fund share is rounded per line, not on the prescription total', () => {
    // 7 × 80 % = 5.6 → 6 per line, so 12; on the 14-centime total it would have been 11.2 → 11.
    const s = split([line(7), line(7)]);
    expect(s.lines.map((l) => l.fund)).toEqual([6, 6]);
    expect(s.fund).toBe(12);
    expect(s.patient).toBe(2);
  });
});

describe('reference tariff', () => {
  test.each([
    // label, price, reference, qty, base, fund, patient
    ['below the price: the patient pays the difference', 30000, 25000, 2, 50000, 40000, 20000],
    ['above the price: the sale price is the base', 20000, 25000, 2, 40000, 32000, 8000],
    ['equal to the price', 25000, 25000, 1, 25000, 20000, 5000],
    ['absent (null): the sale price is the base', 25000, null, 1, 25000, 20000, 5000],
    ['absent (undefined): the sale price is the base', 25000, undefined, 1, 25000, 20000, 5000],
    ['zero: nothing is reimbursable', 25000, 0, 1, 0, 0, 25000],
  ] as const)('%s', (_label, price, ref, qty, base, fund, patient) => {
    const s = split([line(price, qty, { referencePrice: ref })]);
    expect(s.lines[0]).toMatchObject({ total: price * qty, base, fund, patient, reason: null });
  });

  test('a chronic patient still pays above the reference tariff', () => {
    const s = split([line(30000, 1, { referencePrice: 25000 })], { category: 'chronic' });
    expect(s.lines[0]).toMatchObject({ base: 25000, fund: 25000, patient: 5000 });
  });
});

describe('non-reimbursable products', () => {
  test('the patient pays the whole line; the other lines stay covered', () => {
    const s = split([line(10000, 2), line(45000, 1, { reimbursable: false, referencePrice: 40000 })]);
    expect(s.lines[1]).toMatchObject({ total: 45000, base: 0, fund: 0, patient: 45000, reason: 'not-reimbursable' });
    expect(s.lines[0]).toMatchObject({ fund: 16000, reason: null });
    expect(s).toMatchObject({ total: 65000, fund: 16000, patient: 49000, thirdPartyPayment: true, reason: null });
  });

  test('a prescription of nothing reimbursable is not third-party paid', () => {
    const s = split([line(10000, 1, { reimbursable: false })], { category: 'chronic' });
    expect(s).toMatchObject({ fund: 0, patient: 10000, thirdPartyPayment: false, reason: 'nothing-covered' });
  });
});

describe('prior approval', () => {
  const needs = (extra: Partial<SplitLine> = {}) => line(120000, 1, { code: 'L04AB04-01', priorApproval: true, ...extra });

  test.each([
    ['no reference', needs(), {}, 0, 'prior-approval-required'],
    ['a blank reference', needs({ approval: '  ' }), {}, 0, 'prior-approval-required'],
    ['a reference on the line', needs({ approval: 'AP-2024-0042' }), {}, 120000, null],
    ['a reference in the context', needs(), { approvalRefs: { 'L04AB04-01': 'AP-7' } }, 120000, null],
    ['a reference for another code', needs(), { approvalRefs: { 'X-1': 'AP-7' } }, 0, 'prior-approval-required'],
  ] as const)('%s', (_label, l, ctx, fund, reason) => {
    const s = split([l, line(10000)], { category: 'chronic', ...ctx });
    expect(s.lines[0]).toMatchObject({ fund, patient: 120000 - fund, reason });
    expect(s.lines[1]).toMatchObject({ fund: 10000, reason: null });
    expect(s.thirdPartyPayment).toBe(true);
  });

  test('inherited object keys are not approvals', () => {
    const s = split([needs({ code: 'toString' })], { category: 'chronic', approvalRefs: {} });
    expect(s.lines[0]!.reason).toBe('prior-approval-required');
  });
});

describe('per-prescription threshold, both sides of 2023-12-19', () => {
  test.each([
    // date, category, total, covered, version
    ['2023-12-18', 'ordinary', 300000, true, V1],
    ['2023-12-18', 'ordinary', 300001, false, V1],
    ['2023-12-18', 'retiree', 10000000, true, V1],
    ['2023-12-18', 'mutualist', 300001, false, V1],
    ['2023-12-18', 'chronic', 10000000, true, V1],
    ['2023-12-19', 'ordinary', 300001, true, V2],
    ['2023-12-19', 'ordinary', 500000, true, V2],
    ['2023-12-19', 'ordinary', 500001, false, V2],
    ['2023-12-19', 'retiree', 10000000, true, V2],
    ['2023-12-19', 'veteran', 500001, false, V2],
    ['2023-12-19', 'chronic', 10000000, true, V2],
  ] as const)('%s %s total %d → covered %s (%s)', (date, category, total, covered, version) => {
    // Two lines so that the threshold is seen to apply to the prescription, not to a line.
    const s = split([line(total - 1000), line(1000)], { category }, date);
    expect(s.total).toBe(total);
    expect(s.ruleVersion).toBe(version);
    expect(s.thirdPartyPayment).toBe(covered);
    expect(s.thresholdApplies).toBe(category !== 'chronic' && category !== 'retiree');
    if (covered) {
      expect(s.reason).toBeNull();
      expect(s.fund).toBeGreaterThan(0);
    } else {
      expect(s).toMatchObject({ reason: 'over-threshold', fund: 0, patient: total });
      expect(s.lines.every((l) => l.reason === 'over-threshold' && l.fund === 0 && l.patient === l.total)).toBe(true);
      // The base is still reported: it is what the patient can claim later.
      expect(s.base).toBe(total);
    }
  });

  test('the threshold is on the total sale amount, non-reimbursable lines included', () => {
    const s = split([line(290000), line(10001, 1, { reimbursable: false })], {}, '2023-12-18');
    expect(s).toMatchObject({ total: 300001, thirdPartyPayment: false, reason: 'over-threshold', fund: 0 });
    expect(s.lines[1]!.reason).toBe('not-reimbursable');
  });
});

describe('card and rights', () => {
  test.each([
    // label, context, date, reason
    ['card valid through its expiry day', { cardExpiry: '2024-03-01' }, null],
    ['card expired the day before', { cardExpiry: '2024-02-29' }, 'card-expired'],
    ['rights valid through their last day', { rightsEnd: '2024-03-01' }, null],
    ['rights ended the day before', { rightsEnd: '2024-02-29' }, 'rights-expired'],
    ['blacklisted card', { blacklisted: true }, 'card-blacklisted'],
    ['not blacklisted', { blacklisted: false }, null],
    ['blacklist wins over expiry', { blacklisted: true, cardExpiry: '2020-01-01', rightsEnd: '2020-01-01' }, 'card-blacklisted'],
    ['card expiry wins over rights', { cardExpiry: '2020-01-01', rightsEnd: '2020-01-01' }, 'card-expired'],
    ['refused even far under the threshold and for chronic patients', { category: 'chronic', rightsEnd: '2023-01-01' }, 'rights-expired'],
  ] as const)('%s', (_label, ctx, reason) => {
    const s = split([line(20000, 2), line(5000, 1, { reimbursable: false })], ctx as Partial<SplitContext>);
    expect(s.reason).toBe(reason);
    expect(s.thirdPartyPayment).toBe(reason === null);
    if (reason !== null) {
      expect(s).toMatchObject({ fund: 0, patient: 45000 });
      expect(s.lines.map((l) => l.reason)).toEqual([reason, 'not-reimbursable']);
    }
  });

  test.each([
    // label, insured rights, beneficiary's own rights, rate, reason
    ["a beneficiary without own rights is priced with the insured's", { category: 'chronic' }, undefined, 10000, null],
    ['own rights replace the insured category', { category: 'chronic' }, { category: 'ordinary' }, 8000, null],
    [
      'own rights replace the insured end date (expired)',
      { category: 'ordinary', rightsEnd: '2030-01-01' },
      { category: 'ordinary', rightsEnd: '2024-01-01' },
      8000,
      'rights-expired',
    ],
    [
      'own rights replace the insured end date (valid)',
      { category: 'ordinary', rightsEnd: '2024-01-01' },
      { category: 'retiree', rightsEnd: '2030-01-01' },
      10000,
      null,
    ],
  ] as const)('%s', (_label, insured, beneficiary, rate, reason) => {
    const ctx = { ...insured, ...(beneficiary ? { beneficiary } : {}) } as SplitContext;
    const s = split([line(400000)], ctx);
    expect(s.rateBp).toBe(rate);
    expect(s.reason).toBe(reason);
    expect(s.fund).toBe(reason === null ? (400000 * rate) / 10000 : 0);
  });

  test('the beneficiary category also decides the threshold exemption', () => {
    const own = split([line(600000)], { category: 'ordinary', beneficiary: { category: 'chronic' } });
    expect(own).toMatchObject({ thirdPartyPayment: true, thresholdApplies: false, fund: 600000 });
    const inherited = split([line(600000)], { category: 'ordinary' });
    expect(inherited).toMatchObject({ thirdPartyPayment: false, reason: 'over-threshold' });
  });
});

describe('bad input is refused with a typed error naming the field', () => {
  const ok = line(1000);
  test.each([
    ['quantity 0', [ok, line(1000, 0)], {}, 'lines[1].quantity'],
    ['negative quantity', [line(1000, -1)], {}, 'lines[0].quantity'],
    ['fractional quantity', [ok, ok, line(1000, 1.5)], {}, 'lines[2].quantity'],
    ['negative price', [line(-1)], {}, 'lines[0].unitPrice'],
    ['fractional price', [line(10.5)], {}, 'lines[0].unitPrice'],
    ['NaN price', [line(NaN)], {}, 'lines[0].unitPrice'],
    ['fractional reference price', [line(1000, 1, { referencePrice: 99.9 })], {}, 'lines[0].referencePrice'],
    ['non-boolean reimbursable', [line(1000, 1, { reimbursable: 'yes' as unknown as boolean })], {}, 'lines[0].reimbursable'],
    ['no lines', [], {}, 'lines'],
    ['unknown category', [ok], { category: 'vip' }, 'context.category'],
    ['invalid card expiry', [ok], { cardExpiry: '2024-13-01' }, 'context.cardExpiry'],
    ['invalid rights end', [ok], { rightsEnd: 'soon' }, 'context.rightsEnd'],
    ['invalid beneficiary category', [ok], { beneficiary: { category: 'x' } }, 'context.beneficiary.category'],
  ] as const)('%s', (_label, lines, ctx, field) => {
    const err = thrown(() => split(lines as unknown as SplitLine[], ctx as Partial<SplitContext>));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'invalid-input', field });
    expect((err as Error).message).toContain(field);
  });

  test('an amount beyond exact integers is refused', () => {
    const err = thrown(() => split([line(Number.MAX_SAFE_INTEGER, 2)]));
    expect(err).toBeInstanceOf(AmountOverflowError);
    expect(err).toMatchObject({ code: 'amount-overflow', field: 'lines[0].total' });
    const err2 = thrown(() => split([line(Number.MAX_SAFE_INTEGER - 1), line(2)]));
    expect(err2).toMatchObject({ code: 'amount-overflow', field: 'total' });
  });

  test.each([
    ['2022-12-31', NoRulesInForceError, 'no-rules-in-force'],
    ['2023-02-29', InvalidInputError, 'invalid-input'],
  ])('date %s', (date, cls, code) => {
    const err = thrown(() => split([ok], {}, date));
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ code, field: 'date' });
  });
});

test('the result names the rule version and carries the line details', () => {
  const basket: Basket = {
    date: '2023-12-19',
    lines: [line(30000, 2, { code: 'A', referencePrice: 25000 }), line(1000, 3)],
  };
  const s = computeSplit(basket, rules, { category: 'ordinary' });
  const zero = { amount: 0, fund: 0, patient: 0, payer: 'fund' };
  expect(s).toEqual({
    date: '2023-12-19',
    ruleVersion: V2,
    category: 'ordinary',
    rateBp: 8000,
    thresholdCentimes: 500000,
    thresholdApplies: true,
    total: 63000,
    base: 53000,
    fund: 42400,
    patient: 20600,
    thirdPartyPayment: true,
    reason: null,
    detail: null,
    lines: [
      {
        index: 0,
        code: 'A',
        prescribedCode: null,
        quantity: 2,
        unitPrice: 30000,
        referencePrice: 25000,
        tariff: 25000,
        total: 60000,
        base: 50000,
        fund: 40000,
        patient: 20000,
        reason: null,
        detail: null,
      },
      {
        index: 1,
        code: null,
        prescribedCode: null,
        quantity: 3,
        unitPrice: 1000,
        referencePrice: null,
        tariff: null,
        total: 3000,
        base: 3000,
        fund: 2400,
        patient: 600,
        reason: null,
        detail: null,
      },
    ],
    // The shipped amount items are at zero (their rates and bases are not public).
    items: [
      { id: 'markup', kind: 'markup', base: 'fund-share', baseAmount: 42400, rateBp: 0, ...zero },
      { id: 'invoice-fee', kind: 'invoice-fee', base: null, baseAmount: null, rateBp: null, ...zero },
    ],
  });
});

test('the split is pure: frozen input, same output twice', () => {
  const basket = Object.freeze({
    date: '2024-01-05',
    lines: Object.freeze([Object.freeze(line(1234, 3)), Object.freeze(line(999, 1, { reimbursable: false }))]),
  }) as Basket;
  const ctx = Object.freeze({ category: 'ordinary' as const });
  expect(computeSplit(basket, rules, ctx)).toEqual(computeSplit(basket, rules, ctx));
});
