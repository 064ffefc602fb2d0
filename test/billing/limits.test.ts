import { loadRules, parseRuleFile, RuleBook } from '../../src/billing/rules/load';
import { computeSplit, type PastPrescription, type SplitContext, type SplitLine } from '../../src/billing/split';
import { InvalidInputError } from '../../src/common/errors';
import { category, ruleFile } from '../support/rules';
import { thrown } from '../support/thrown';

/**
 * The rules as data (docs/split.md): each category's rate and ceiling, each limit on both sides
 * of its boundary, the amount items and generic substitution. The shipped rules where they
 * decide; small rule books where a test needs a value the shipped files do not have (an enabled
 * per-period limit, a non-zero fee).
 */

const shipped = loadRules();
const DATE = '2024-03-01';

function line(unitPrice: number, quantity = 1, extra: Partial<SplitLine> = {}): SplitLine {
  return { quantity, unitPrice, reimbursable: true, priorApproval: false, ...extra };
}

function book(extra: Record<string, unknown>): RuleBook {
  return new RuleBook([parseRuleFile(JSON.stringify(ruleFile(extra)), 'test.json')]);
}

const src = { source: 'docs/field-notes.md#categories', certainty: 'good' };

describe('the shipped categories', () => {
  test.each([
    // id, rate, exempt from the ceiling
    ['ordinary', 8000, false],
    ['chronic', 10000, true],
    ['retiree', 10000, true],
    ['mutualist', 10000, false],
    ['invalidity', 10000, false],
    ['work-accident', 10000, false],
    ['veteran', 10000, false],
  ] as const)('%s: %d bp, exempt %s', (id, rate, exempt) => {
    const at = computeSplit({ date: DATE, lines: [line(500000)] }, shipped, { category: id });
    expect(at).toMatchObject({ category: id, rateBp: rate, thresholdApplies: !exempt, thirdPartyPayment: true, fund: 50 * rate });
    const over = computeSplit({ date: DATE, lines: [line(500001)] }, shipped, { category: id });
    expect(over.thirdPartyPayment).toBe(exempt);
    expect(over.reason).toBe(exempt ? null : 'over-threshold');
  });

  test('a category the rules do not define is refused naming the field and the rule version', () => {
    const err = thrown(() => computeSplit({ date: DATE, lines: [line(100)] }, shipped, { category: 'student' }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ field: 'context.category' });
    expect((err as Error).message).toContain('tp-2023-12-19 have no category "student"');
    const ben = thrown(() =>
      computeSplit({ date: DATE, lines: [line(100)] }, shipped, { category: 'ordinary', beneficiary: { category: 'vip' } }),
    );
    expect(ben).toMatchObject({ field: 'context.beneficiary.category' });
  });

  test('a new category is one rules entry away', () => {
    const rules = book({ categories: [category('ordinary', 1, 8000), category('student', 9, 6000, { thresholdExempt: true })] });
    const s = computeSplit({ date: '2024-01-01', lines: [line(10000000)] }, rules, { category: 'student' });
    expect(s).toMatchObject({ rateBp: 6000, fund: 6000000, thirdPartyPayment: true });
  });
});

describe('limit: quantity at most what was prescribed (shipped, every category)', () => {
  test.each([
    // label, category, prescribed, before, quantity, refused
    ['exactly the prescribed quantity', 'ordinary', 3, 0, 3, false],
    ['one more than prescribed', 'ordinary', 3, 0, 4, true],
    ['the rest after a partial dispensing', 'ordinary', 3, 2, 1, false],
    ['one more than the rest', 'ordinary', 3, 2, 2, true],
    ['anything after the whole prescription', 'chronic', 2, 2, 1, true],
    ['chronic too: the prescribed quantity', 'chronic', 2, 0, 2, false],
    ['a retiree above the prescription', 'retiree', 1, 0, 2, true],
    ['a product the prescription does not order (0)', 'ordinary', 0, 0, 1, true],
    ['no prescription known: not evaluated', 'ordinary', undefined, undefined, 9, false],
  ] as const)('%s', (_label, cat, prescribed, before, quantity, refused) => {
    const l = line(1000, quantity, prescribed !== undefined ? { prescribed: { quantity: prescribed, alreadyDispensed: before! } } : {});
    const s = computeSplit({ date: DATE, lines: [l, line(2000)] }, shipped, { category: cat });
    expect(s.lines[0]!.reason).toBe(refused ? 'over-prescribed-quantity' : null);
    expect(s.lines[0]!.fund).toBe(refused ? 0 : Math.round((1000 * quantity * s.rateBp) / 10000));
    expect(s.lines[1]!.reason).toBeNull(); // the other lines stay covered
    expect(s.thirdPartyPayment).toBe(true);
    if (refused)
      expect(s.lines[0]!.detail).toBe(
        `prescribed-quantity: ${quantity} asked, ${prescribed} prescribed, ${before ?? 0} already dispensed: at most ${Math.max(0, prescribed! - (before ?? 0))}`,
      );
  });

  test('a refused line still reports its base (the patient may claim it)', () => {
    const s = computeSplit({ date: DATE, lines: [line(1000, 5, { prescribed: { quantity: 4, alreadyDispensed: 0 } })] }, shipped, {
      category: 'ordinary',
    });
    expect(s.lines[0]).toMatchObject({ base: 5000, fund: 0, patient: 5000 });
    expect(s).toMatchObject({ thirdPartyPayment: false, reason: 'nothing-covered' });
  });

  test('a rule version without the limit does not evaluate it', () => {
    const s = computeSplit({ date: '2024-01-01', lines: [line(1000, 5, { prescribed: { quantity: 1, alreadyDispensed: 0 } })] }, book({}), {
      category: 'ordinary',
    });
    expect(s.lines[0]!.reason).toBeNull();
  });
});

describe('limit: chronic treatment at most 90 days per prescription (shipped)', () => {
  test.each([
    ['chronic', 90, null],
    ['chronic', 91, 'treatment-too-long'],
    ['chronic', 1, null],
    ['chronic', undefined, null], // no duration given: not evaluated
    ['ordinary', 120, null], // the limit is the chronic category's
    ['retiree', 365, null],
  ] as const)('%s, %s days → %s', (cat, days, reason) => {
    const s = computeSplit({ date: DATE, lines: [line(1000, 1, days !== undefined ? { durationDays: days } : {})] }, shipped, {
      category: cat,
    });
    expect(s.lines[0]!.reason).toBe(reason);
    if (reason) expect(s.lines[0]!.detail).toBe(`chronic-treatment-duration: ${days} days of treatment, at most 90`);
  });

  test("a beneficiary's own category decides which limits apply", () => {
    const lines = [line(1000, 1, { durationDays: 120 })];
    expect(
      computeSplit({ date: DATE, lines }, shipped, { category: 'chronic', beneficiary: { category: 'ordinary' } }).lines[0]!.reason,
    ).toBeNull();
    expect(
      computeSplit({ date: DATE, lines }, shipped, { category: 'ordinary', beneficiary: { category: 'chronic' } }).lines[0]!.reason,
    ).toBe('treatment-too-long');
  });
});

describe('limit: prescriptions per period per beneficiary', () => {
  const perQuarter = (enabled: boolean) =>
    book({
      categories: [category('ordinary', 1, 8000, { limits: ['per-quarter'] }), category('chronic', 2, 10000, { thresholdExempt: true })],
      limits: [{ id: 'per-quarter', kind: 'prescriptions-per-period', windowDays: 91, count: 2, enabled, ...src }],
    });
  const split = (history: PastPrescription[], ctx: Partial<SplitContext> = {}, prescription?: string, rules = perQuarter(true)) =>
    computeSplit({ date: '2024-06-30', lines: [line(1000)], ...(prescription !== undefined ? { prescription } : {}) }, rules, {
      category: 'ordinary',
      prescriptionHistory: history,
      ...ctx,
    });

  test.each([
    // label, history (reference, date), refused
    ['none before', [], false],
    ['one before: this is the second', [['R1', '2024-05-01']], false],
    [
      'two before in the window',
      [
        ['R1', '2024-05-01'],
        ['R2', '2024-06-01'],
      ],
      true,
    ],
    [
      'two before, one on the first day of the window',
      [
        ['R1', '2024-04-01'],
        ['R2', '2024-06-01'],
      ],
      true,
    ],
    [
      'two before, one the day before the window',
      [
        ['R1', '2024-03-31'],
        ['R2', '2024-06-01'],
      ],
      false,
    ],
    [
      'one prescription dispensed in two visits counts once',
      [
        ['R1', '2024-05-01'],
        ['R1', '2024-06-01'],
      ],
      false,
    ],
    [
      'a future date on the card does not count',
      [
        ['R1', '2024-07-01'],
        ['R2', '2024-06-01'],
      ],
      false,
    ],
  ] as const)('%s → refused %s', (_label, history, refused) => {
    const s = split(history.map(([reference, date]) => ({ reference, date })));
    expect(s.thirdPartyPayment).toBe(!refused);
    expect(s.reason).toBe(refused ? 'prescription-limit' : null);
    if (refused) {
      expect(s.detail).toBe('per-quarter: 2 prescriptions already served since 2024-04-01, at most 2 in 91 days');
      expect(s.lines[0]).toMatchObject({ reason: 'prescription-limit', fund: 0 });
    }
  });

  test('the rest of a prescription already counted is not a new one', () => {
    const history = [
      { reference: 'R1', date: '2024-05-01' },
      { reference: 'R2', date: '2024-06-01' },
    ];
    expect(split(history, {}, 'R2').thirdPartyPayment).toBe(true);
    expect(split(history, {}, 'R3').reason).toBe('prescription-limit');
  });

  test('disabled (as shipped) or for a category without it: not evaluated', () => {
    const history = [
      { reference: 'R1', date: '2024-05-01' },
      { reference: 'R2', date: '2024-06-01' },
    ];
    expect(split(history, {}, undefined, perQuarter(false)).thirdPartyPayment).toBe(true);
    expect(split(history, { category: 'chronic' }).thirdPartyPayment).toBe(true);
    expect(
      computeSplit({ date: DATE, lines: [line(1000)] }, shipped, { category: 'ordinary', prescriptionHistory: history }).thirdPartyPayment,
    ).toBe(true);
  });

  test('a blacklisted or expired card is refused for that reason first', () => {
    const history = [
      { reference: 'R1', date: '2024-05-01' },
      { reference: 'R2', date: '2024-06-01' },
    ];
    expect(split(history, { blacklisted: true }).reason).toBe('card-blacklisted');
    expect(split(history, { rightsEnd: '2024-01-01' }).reason).toBe('rights-expired');
  });

  test('a malformed history entry is refused naming it', () => {
    const err = thrown(() => split([{ reference: 'R1', date: '2024-02-30' }]));
    expect(err).toMatchObject({ code: 'invalid-input', field: 'context.prescriptionHistory[0].date' });
  });
});

describe('amount items', () => {
  const items = (markup: Record<string, unknown>, fee: Record<string, unknown>) =>
    book({
      amountItems: [
        {
          id: 'markup',
          kind: 'markup',
          label: { fr: 'Majoration', ar: 'زيادة' },
          base: 'fund-share',
          rateBp: 0,
          payer: 'fund',
          ...src,
          ...markup,
        },
        { id: 'fee', kind: 'invoice-fee', label: { fr: 'Frais', ar: 'رسوم' }, amountCentimes: 0, payer: 'fund', ...src, ...fee },
      ],
    });

  test.each([
    // label, markup, fee, category, lines, expected [markup amount, fee amount], totals [total, fund, patient]
    ['shipped-like: zero', {}, {}, 'ordinary', [line(10000)], [0, 0], [10000, 8000, 2000]],
    ['a 5 DA fee paid by the fund', {}, { amountCentimes: 500 }, 'ordinary', [line(10000)], [0, 500], [10500, 8500, 2000]],
    ['a fee paid by the patient', {}, { amountCentimes: 500, payer: 'patient' }, 'ordinary', [line(10000)], [0, 500], [10500, 8000, 2500]],
    ['2 % of the fund share, half up', { rateBp: 200 }, {}, 'ordinary', [line(10025)], [160, 0], [10185, 8180, 2005]],
    ['3 % of the sale total', { rateBp: 300, base: 'sale-total' }, {}, 'ordinary', [line(10000)], [300, 0], [10300, 8300, 2000]],
    [
      '1 % of the reimbursable base, patient pays',
      { rateBp: 100, base: 'reimbursable-base', payer: 'patient' },
      {},
      'ordinary',
      [line(12000, 1, { referencePrice: 10000 })],
      [100, 0],
      [12100, 8000, 4100],
    ],
  ] as const)('%s', (_label, markup, fee, cat, lines, [m, f], [total, fund, patient]) => {
    const s = computeSplit({ date: '2024-01-01', lines: [...lines] }, items(markup, fee), { category: cat });
    expect(s.items.map((i) => i.amount)).toEqual([m, f]);
    expect(s).toMatchObject({ total, fund, patient });
    for (const i of s.items) expect(i.fund + i.patient).toBe(i.amount);
  });

  test('a fund-paid item is due only with third-party payment; a patient-paid one always', () => {
    const rules = items({ rateBp: 100, base: 'sale-total', payer: 'patient' }, { amountCentimes: 500 });
    const s = computeSplit({ date: '2024-01-01', lines: [line(400000)] }, rules, { category: 'ordinary' });
    expect(s.reason).toBe('over-threshold');
    expect(s.items.map((i) => [i.id, i.amount, i.fund, i.patient])).toEqual([
      ['markup', 4000, 0, 4000],
      ['fee', 0, 0, 0],
    ]);
    expect(s).toMatchObject({ total: 404000, fund: 0, patient: 404000 });
  });

  test('items do not count toward the ceiling', () => {
    const rules = items({ rateBp: 1000, base: 'sale-total' }, { amountCentimes: 500 });
    const s = computeSplit({ date: '2024-01-01', lines: [line(300000)] }, rules, { category: 'ordinary' });
    expect(s).toMatchObject({ thirdPartyPayment: true, total: 300000 + 30000 + 500 });
  });
});

describe('generic substitution: the base follows the reference tariff rule', () => {
  const withTariff = (tariff: string) => book({ substitution: { tariff, ...src } });
  test.each([
    // rule, dispensed price, dispensed tariff, prescribed tariff → unit tariff used, base
    ['lower', 4250, 4500, 4000, 4000, 4000],
    ['lower', 4250, 4000, 4500, 4000, 4000],
    ['lower', 4250, null, 4500, 4500, 4250],
    ['lower', 4250, 4500, null, 4500, 4250],
    ['lower', 4250, null, null, null, 4250],
    ['dispensed', 4250, 4500, 4000, 4500, 4250],
    ['prescribed', 4250, 4500, 4000, 4000, 4000],
    ['prescribed', 5800, 4500, 4800, 4800, 4800],
  ] as const)('%s: price %d, tariffs %s / %s → tariff %s, base %d', (rule, price, dispensed, prescribed, tariff, base) => {
    const l = line(price, 1, { code: 'G', referencePrice: dispensed, replaces: { code: 'P', referencePrice: prescribed } });
    const s = computeSplit({ date: '2024-01-01', lines: [l] }, withTariff(rule), { category: 'ordinary' });
    expect(s.lines[0]).toMatchObject({ code: 'G', prescribedCode: 'P', tariff, base, fund: Math.round(base * 0.8) });
  });

  test('a line without substitution keeps its own tariff, whatever the rule', () => {
    const s = computeSplit({ date: '2024-01-01', lines: [line(5000, 1, { referencePrice: 4500 })] }, withTariff('prescribed'), {
      category: 'ordinary',
    });
    expect(s.lines[0]).toMatchObject({ prescribedCode: null, tariff: 4500, base: 4500 });
  });

  test('a bad prescribed tariff is refused naming it', () => {
    const l = line(100, 1, { replaces: { referencePrice: -5 } });
    expect(thrown(() => computeSplit({ date: DATE, lines: [l] }, shipped, { category: 'ordinary' }))).toMatchObject({
      field: 'lines[0].replaces.referencePrice',
    });
    const q = line(100, 1, { prescribed: { quantity: 1, alreadyDispensed: -1 } });
    expect(thrown(() => computeSplit({ date: DATE, lines: [q] }, shipped, { category: 'ordinary' }))).toMatchObject({
      field: 'lines[0].prescribed.alreadyDispensed',
    });
  });
});
