import { UnknownProductError } from '../../../src/billing/errors';
import { InvalidInputError } from '../../../src/common/errors';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { beneficiaryOf, contextFromCard, priceBasket } from '../../../src/pos/counter/pricing';
import { loadRules } from '../../../src/billing/rules/load';
import { cardRead } from './fixtures';

const rules = loadRules();
const store = new CatalogueStore(openDatabase(':memory:'));
store.seedIfEmpty();
const deps = { rules, lookup: (c: string) => store.get(c), today: '2025-06-15' };

test('prices from the catalogue with the rights on the card', () => {
  const q = priceBasket(cardRead(), { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 2 }] }, deps);
  expect(q.quote).toMatchObject({
    total: 10400,
    base: 9000,
    fund: 7200,
    patient: 3200,
    ruleVersion: 'tp-2023-12-19',
    thirdPartyPayment: true,
  });
  expect(q.quote.lines[0]!.description).toBe('Doliprane 500 mg, comprimé, boîte de 16');
  expect(q.context).toEqual({ category: 'ordinary', rightsEnd: '2026-12-31', cardExpiry: '2034-01-14', blacklisted: false });
});

test("a beneficiary's own rights replace the insured's", () => {
  const card = cardRead({
    rights: {
      ...cardRead().rights,
      beneficiaryRights: [{ rank: 3, categoryCode: 2, category: null, categoryLabel: null, rateBp: 10000, rightsEnd: '2027-01-01' }],
    },
  });
  expect(contextFromCard(card, 3, false, rules.rulesFor('2025-06-15')).beneficiary).toEqual({
    category: 'chronic',
    rightsEnd: '2027-01-01',
  });
  const q = priceBasket(card, { beneficiary: 3, lines: [{ code: 'N02BE01-01', quantity: 2 }] }, deps);
  expect(q.quote.fund).toBe(9000);
});

test('expired rights, an expired card and the blacklist refuse third-party payment', () => {
  const expired = cardRead({ rights: { ...cardRead().rights, rightsEnd: '2025-06-14' } });
  expect(priceBasket(expired, { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] }, deps).quote.reason).toBe('rights-expired');
  const old = cardRead({ holder: { ...cardRead().holder, expiryDate: '2025-01-01' } });
  expect(priceBasket(old, { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] }, deps).quote.reason).toBe('card-expired');
  const listed = priceBasket(
    cardRead(),
    { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] },
    { ...deps, isBlacklisted: (s) => s === 'CH2-TEST-000001' },
  );
  expect(listed.quote).toMatchObject({ reason: 'card-blacklisted', fund: 0, thirdPartyPayment: false });
});

test('bad beneficiary and unknown product name their field', () => {
  expect(() => beneficiaryOf(cardRead(), 9)).toThrow(InvalidInputError);
  try {
    priceBasket(cardRead(), { beneficiary: 9, lines: [{ code: 'N02BE01-01', quantity: 1 }] }, deps);
  } catch (e) {
    expect((e as InvalidInputError).field).toBe('beneficiary');
  }
  try {
    priceBasket(
      cardRead(),
      {
        beneficiary: 1,
        lines: [
          { code: 'N02BE01-01', quantity: 1 },
          { code: 'NOPE', quantity: 1 },
        ],
      },
      deps,
    );
    throw new Error('expected a throw');
  } catch (e) {
    expect(e).toBeInstanceOf(UnknownProductError);
    expect((e as UnknownProductError).field).toBe('lines[1].code');
  }
});

test('rank 1 is the insured even on a card that does not list them', () => {
  expect(beneficiaryOf(cardRead({ beneficiaries: [] }), 1)).toMatchObject({ rank: 1, relationship: 'insured', firstName: 'Karim' });
});

test('the allergy warning comes with the quote', () => {
  const q = priceBasket(cardRead(), { beneficiary: 1, lines: [{ code: 'J01CA04-01', quantity: 1 }] }, deps);
  expect(q.warnings.map((w) => w.code)).toEqual(['allergy']);
});
