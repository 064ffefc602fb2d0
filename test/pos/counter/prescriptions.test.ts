import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { loadRules, parseRuleFile, RuleBook } from '../../../src/billing/rules/load';
import { priceBasket } from '../../../src/pos/counter/pricing';
import { prescriptionBalance, prescriptionHistory } from '../../../src/pos/counter/prescriptions';
import type { CardRead, DispensationRecord } from '../../../src/pos/counter/card-data';
import { category, ruleFile } from '../../support/rules';
import { cardRead } from './fixtures';
import { DEMO_PIN, openHarness, PRO_PIN, readCardRecords, tmpDir, cardImage, type Harness } from './harness';

/**
 * The counter's side of the quantity limit and of generic substitution: what a prescription on
 * the card still allows (earlier partial dispensings read from the card, generics counted against
 * the product they replaced), the invoice line naming both products, the card record naming the
 * one dispensed — unit-tested on a CardRead, then end to end on an emulated card.
 */

const rules = loadRules();
const store = new CatalogueStore(openDatabase(':memory:'));
store.seedIfEmpty();
const lookup = (c: string) => store.get(c);
const TODAY = '2025-06-15';
const deps = { rules, lookup, today: TODAY };

// N02BE01-01 Doliprane 52,00 DA, -03 Paracétamol Saidal 42,50 DA: both paracetamol 500 mg, tablet, box of 16 (tariff 45,00 DA).
const RX = {
  date: '2025-06-10',
  prescriberId: 'DZ16-MD-10231',
  speciality: 'Médecine générale',
  rank: 1,
  reference: 'RX000200',
  lines: [{ productCode: 'N02BE01-01', quantity: 3, durationDays: 30 }],
};
const given = (
  productCode: string,
  quantity: number,
  prescriptionRef: string | null = 'RX000200',
  date = '2025-06-11',
): DispensationRecord => ({
  date,
  pharmacyId: 'DZ16-PH-00001',
  rank: 1,
  productCode,
  quantity,
  durationDays: 10,
  invoiceNumber: 9,
  prescriptionRef,
});
const card = (dispensations: DispensationRecord[]): CardRead => cardRead({ prescriptions: [RX], dispensations });
const line = (code: string, quantity: number, replaces?: string) => ({
  code,
  quantity,
  durationDays: 10,
  ...(replaces ? { replaces } : {}),
});

describe('what the prescription still allows', () => {
  test.each([
    // label, earlier dispensings on the card, remaining
    ['nothing dispensed yet', [], 3],
    ['one box earlier', [given('N02BE01-01', 1)], 2],
    ['a generic earlier counts against the product it replaced', [given('N02BE01-03', 2)], 1],
    ['another prescription does not count', [given('N02BE01-01', 2, 'RX000199')], 3],
    ['a product of another DCI does not count', [given('M01AE01-01', 2)], 3],
    ['everything dispensed', [given('N02BE01-01', 1), given('N02BE01-04', 2)], 0],
  ] as const)('%s', (_label, earlier, remaining) => {
    expect(prescriptionBalance(card([...earlier]), 'RX000200', lookup)!.lines).toEqual([
      { productCode: 'N02BE01-01', prescribed: 3, dispensed: 3 - remaining, remaining },
    ]);
  });

  test('a paper prescription (not on the card) has no balance', () => {
    expect(prescriptionBalance(card([]), 'RX999999', lookup)).toBeNull();
  });
});

describe('the quantity limit at the counter, both sides of the boundary', () => {
  test.each([
    // label, earlier, basket lines, reasons
    ['all of it at once', [], [line('N02BE01-01', 3)], [null]],
    ['one more than prescribed', [], [line('N02BE01-01', 4)], ['over-prescribed-quantity']],
    ['the rest after a partial dispensing', [given('N02BE01-01', 1)], [line('N02BE01-01', 2)], [null]],
    ['one more than the rest', [given('N02BE01-01', 1)], [line('N02BE01-01', 3)], ['over-prescribed-quantity']],
    [
      'two lines of the basket share the rest',
      [given('N02BE01-01', 1)],
      [line('N02BE01-01', 1), line('N02BE01-01', 2)],
      [null, 'over-prescribed-quantity'],
    ],
    ['a generic for the rest', [given('N02BE01-01', 1)], [line('N02BE01-03', 2, 'N02BE01-01')], [null]],
    ['a generic above the rest', [given('N02BE01-03', 2)], [line('N02BE01-03', 2, 'N02BE01-01')], ['over-prescribed-quantity']],
    ['a product not on the prescription', [], [line('M01AE01-01', 1)], ['over-prescribed-quantity']],
  ] as const)('%s', (_label, earlier, lines, reasons) => {
    const q = priceBasket(card([...earlier]), { beneficiary: 1, prescription: 'RX000200', lines: [...lines] }, deps);
    expect(q.quote.lines.map((l) => l.reason)).toEqual(reasons);
    expect(q.prescription?.reference).toBe('RX000200');
  });

  test('without a prescription reference (a paper prescription) the quantity is not limited', () => {
    const q = priceBasket(card([given('N02BE01-01', 3)]), { beneficiary: 1, lines: [line('N02BE01-01', 9)] }, deps);
    expect(q.quote.lines[0]!.reason).toBeNull();
  });
});

describe('generic substitution at the counter', () => {
  test('the line names both products; the base is the lower tariff; the basket line keeps what the invoice needs', () => {
    const q = priceBasket(card([]), { beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-03', 2, 'N02BE01-01')] }, deps);
    expect(q.quote.lines[0]).toMatchObject({ code: 'N02BE01-03', prescribedCode: 'N02BE01-01', tariff: 4500, base: 8500, fund: 6800 });
    expect(q.basket.lines[0]).toMatchObject({ code: 'N02BE01-03', replaces: { code: 'N02BE01-01', referencePrice: 4500 } });
  });

  test.each([
    ['another pack size', 'N02BE01-05'],
    ['another DCI', 'M01AE01-01'],
  ])('%s is not a substitute: a 400 naming the line', (_label, code) => {
    expect(store.get(code)).toBeDefined();
    expect(() => priceBasket(card([]), { beneficiary: 1, lines: [line(code, 1, 'N02BE01-01')] }, deps)).toThrow(
      expect.objectContaining({ code: 'not-substitutable', field: 'lines[0].replaces' }),
    );
  });

  test('an unknown prescribed product names its field', () => {
    expect(() => priceBasket(card([]), { beneficiary: 1, lines: [line('N02BE01-03', 1, 'NOPE-01')] }, deps)).toThrow(
      expect.objectContaining({ code: 'unknown-product', field: 'lines[0].replaces' }),
    );
  });
});

describe('categories by the card code; prescriptions per period from the card', () => {
  test('a card code the rules do not know is refused, never guessed', () => {
    const unknown = cardRead({ rights: { ...cardRead().rights, categoryCode: 42 } });
    expect(() => priceBasket(unknown, { beneficiary: 1, lines: [line('N02BE01-01', 1)] }, deps)).toThrow(
      expect.objectContaining({ code: 'unknown-category', message: expect.stringContaining('category code 42') }),
    );
  });

  test.each([
    [4, 'mutualist', 10000],
    [6, 'work-accident', 10000],
    [7, 'veteran', 10000],
  ])('card code %d prices as %s', (code, id, rate) => {
    const c = cardRead({ rights: { ...cardRead().rights, categoryCode: code } });
    expect(priceBasket(c, { beneficiary: 1, lines: [line('N02BE01-01', 1)] }, deps).quote).toMatchObject({ category: id, rateBp: rate });
  });

  test('an enabled per-period limit counts the prescriptions the card shows', () => {
    const src = { source: 'docs/field-notes.md#prescriptions-per-period', certainty: 'dated' };
    const enabled = new RuleBook([
      parseRuleFile(
        JSON.stringify(
          ruleFile({
            effectiveFrom: '2025-01-01',
            categories: [category('ordinary', 1, 8000, { limits: ['per-quarter'] })],
            limits: [{ id: 'per-quarter', kind: 'prescriptions-per-period', windowDays: 91, count: 2, enabled: true, ...src }],
          }),
        ),
        'test.json',
      ),
    ]);
    const served = [given('N02BE01-01', 1, 'RX1', '2025-04-01'), given('N02BE01-01', 1, 'RX2', '2025-05-01')];
    expect(prescriptionHistory(card(served), 1, TODAY, 91)).toEqual([
      { reference: 'RX1', date: '2025-04-01' },
      { reference: 'RX2', date: '2025-05-01' },
    ]);
    const q = priceBasket(
      card(served),
      { beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-01', 1)] },
      { ...deps, rules: enabled },
    );
    expect(q.quote).toMatchObject({ reason: 'prescription-limit', thirdPartyPayment: false });
    expect(q.context.prescriptionHistory).toHaveLength(2);
    // The shipped rules have it disabled: no history is passed, nothing refused.
    const shipped = priceBasket(card(served), { beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-01', 1)] }, deps);
    expect(shipped.quote.reason).toBeNull();
    expect(shipped.context.prescriptionHistory).toBeUndefined();
  });
});

describe('end to end on an emulated card: partial dispensings recorded on the card, then a generic for the rest', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  test('1 box, then 3 refused (2 left), then 2 generic boxes; the invoices name both products, the card the generic', async () => {
    const dir = tmpDir();
    const image = cardImage(dir, 'demo', (img) => {
      (img.prescriptions as unknown[]).unshift(RX);
    });
    h = await openHarness(dir, { insuredImage: image });
    expect((await h.service.verifyProfessionalPin(PRO_PIN)).result).toBe('ok');
    await h.service.openCard();
    expect((await h.service.verifyPin(DEMO_PIN)).result).toBe('ok');

    const first = await h.service.checkout({ beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-01', 1)] });
    expect(first.cardWrite.state).toBe('done');
    const onCard = await readCardRecords(h.insured);
    expect(onCard[0]).toMatchObject({ productCode: 'N02BE01-01', quantity: 1, prescriptionRef: 'RX000200' });

    await h.service.openCard();
    expect((await h.service.verifyPin(DEMO_PIN)).result).toBe('ok');
    const tooMany = await h.service.quote({ beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-01', 3)] });
    expect(tooMany.quote.lines[0]).toMatchObject({ reason: 'over-prescribed-quantity', fund: 0 });
    expect(tooMany.quote.lines[0]!.detail).toBe('prescribed-quantity: 3 asked, 3 prescribed, 1 already dispensed: at most 2');
    expect(tooMany.prescription?.lines).toEqual([{ productCode: 'N02BE01-01', prescribed: 3, dispensed: 1, remaining: 2 }]);

    const generic = await h.service.checkout({ beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-03', 2, 'N02BE01-01')] });
    expect(generic.invoice.thirdPartyPayment).toBe(true);
    const doc = h.journal.invoice(generic.invoice.number)!.document;
    expect(doc.lines[0]).toMatchObject({
      code: 'N02BE01-03',
      replaces: { code: 'N02BE01-01', referencePrice: 4500 },
      prescribed: { quantity: 3, alreadyDispensed: 1 },
      base: 8500,
    });
    expect((await readCardRecords(h.insured))[0]).toMatchObject({ productCode: 'N02BE01-03', quantity: 2, prescriptionRef: 'RX000200' });

    // Nothing left: the generic counted against the prescribed product.
    await h.service.openCard();
    expect((await h.service.verifyPin(DEMO_PIN)).result).toBe('ok');
    const after = await h.service.quote({ beneficiary: 1, prescription: 'RX000200', lines: [line('N02BE01-01', 1)] });
    expect(after.quote.lines[0]!.reason).toBe('over-prescribed-quantity');
    expect(after.prescription?.lines[0]).toMatchObject({ dispensed: 3, remaining: 0 });
  });
});
