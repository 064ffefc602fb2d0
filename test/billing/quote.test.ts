import type { Product } from '../../src/billing/catalogue/product';
import { UnknownProductError } from '../../src/billing/errors';
import { quote, resolveLines } from '../../src/billing/quote';
import { parseQuoteRequest } from '../../src/billing/quote-request';
import { formatQuote } from '../../src/billing/quote-format';
import { loadRules } from '../../src/billing/rules/load';

const rules = loadRules();
const product = (code: string, extra: Partial<Product> = {}): Product => ({
  code,
  dci: 'Paracétamol',
  brand: 'Doliprane',
  form: 'comprimé, boîte de 16',
  strength: '500 mg',
  unitPrice: 5200,
  referencePrice: 4500,
  reimbursable: true,
  priorApproval: false,
  ...extra,
});
const catalogue = new Map<string, Product>([
  ['P', product('P')],
  [
    'BIO',
    product('BIO', { brand: 'Humira', strength: '40 mg', form: 'stylo', unitPrice: 100000, referencePrice: null, priorApproval: true }),
  ],
  ['VIT', product('VIT', { brand: 'Vitamine C', reimbursable: false, referencePrice: null })],
]);
const lookup = (c: string) => catalogue.get(c);
const req = (lines: unknown[], extra: Record<string, unknown> = {}) =>
  parseQuoteRequest({ date: '2024-03-01', category: 'ordinary', lines, ...extra });

describe('resolveLines: the catalogue gives prices, the request may override them', () => {
  test.each([
    ['catalogue prices', { code: 'P', quantity: 2 }, { unitPrice: 5200, referencePrice: 4500, reimbursable: true, priorApproval: false }],
    ['given sale price wins', { code: 'P', quantity: 1, unitPrice: 5000 }, { unitPrice: 5000, referencePrice: 4500 }],
    ['given reference tariff wins', { code: 'P', quantity: 1, referencePrice: 5000 }, { unitPrice: 5200, referencePrice: 5000 }],
    ['null removes the reference tariff', { code: 'P', quantity: 1, referencePrice: null }, { referencePrice: null }],
    ['given flags win', { code: 'VIT', quantity: 1, reimbursable: true }, { reimbursable: true }],
    ['prior approval from the catalogue', { code: 'BIO', quantity: 1, approval: 'AP-1' }, { priorApproval: true, approval: 'AP-1' }],
    [
      'a line with its own prices',
      { quantity: 1, unitPrice: 999 },
      { unitPrice: 999, referencePrice: null, reimbursable: true, priorApproval: false },
    ],
  ])('%s', (_label, l, expected) => {
    const { lines } = resolveLines(req([l]), lookup);
    expect(lines[0]).toMatchObject(expected);
  });

  test('an unknown code names its line', () => {
    let err: unknown;
    try {
      resolveLines(
        req([
          { code: 'P', quantity: 1 },
          { code: 'NOPE', quantity: 1 },
        ]),
        lookup,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnknownProductError);
    expect(err).toMatchObject({ code: 'unknown-product', field: 'lines[1].code', productCode: 'NOPE' });
  });

  test('the catalogue is not consulted for lines without a code', () => {
    const seen: string[] = [];
    resolveLines(req([{ quantity: 1, unitPrice: 10 }]), (c) => (seen.push(c), undefined));
    expect(seen).toEqual([]);
  });
});

test('quote: split plus product descriptions; card facts from the request', () => {
  const q = quote(
    req(
      [
        { code: 'P', quantity: 2 },
        { code: 'BIO', quantity: 1 },
        { quantity: 1, unitPrice: 100 },
      ],
      { category: 'chronic' },
    ),
    rules,
    lookup,
  );
  expect(q.lines.map((l) => [l.description, l.fund, l.reason])).toEqual([
    ['Doliprane 500 mg, comprimé, boîte de 16', 9000, null],
    ['Humira 40 mg, stylo', 0, 'prior-approval-required'],
    [null, 100, null],
  ]);
  expect(q).toMatchObject({ total: 110500, fund: 9100, patient: 101400, thirdPartyPayment: true, ruleVersion: 'tp-2023-12-19' });

  const expired = quote(req([{ code: 'P', quantity: 1 }], { rightsEnd: '2024-02-29' }), rules, lookup);
  expect(expired).toMatchObject({ thirdPartyPayment: false, reason: 'rights-expired', fund: 0 });
  const blacklisted = quote(req([{ code: 'P', quantity: 1 }], { blacklisted: true, cardExpiry: '2030-01-01' }), rules, lookup);
  expect(blacklisted.reason).toBe('card-blacklisted');
  const beneficiary = quote(req([{ code: 'P', quantity: 1 }], { beneficiary: { category: 'retiree' } }), rules, lookup);
  expect(beneficiary).toMatchObject({ category: 'retiree', rateBp: 10000, fund: 4500 });
});

test('the readable table shows amounts as "1 234,56 DA" and explains refusals', () => {
  const text = formatQuote(
    quote(
      req([
        { code: 'P', quantity: 2 },
        { code: 'VIT', quantity: 1 },
        { quantity: 1, unitPrice: 123456 },
      ]),
      rules,
      lookup,
    ),
  );
  expect(text).toContain('rules tp-2023-12-19, threshold 5 000,00 DA');
  expect(text).toContain('1 234,56 DA');
  expect(text).toMatch(/Doliprane 500 mg, comprimé, boîte de 16\s+2\s+52,00 DA\s+45,00 DA\s+104,00 DA\s+90,00 DA\s+72,00 DA\s+32,00 DA/);
  expect(text).toContain('not-reimbursable: the product is not reimbursable');
  expect(text).toContain('Third-party payment: yes. The fund pays 1 059,65 DA');
});

describe('generic substitution and limits in a quote request', () => {
  const generics = new Map<string, Product>([
    ['DOLI', product('DOLI', { unitPrice: 5200, referencePrice: 4500 })],
    ['GEN', product('GEN', { brand: 'Paracétamol Saidal', unitPrice: 4250, referencePrice: 4400 })],
    ['GEN8', product('GEN8', { brand: 'Paracétamol Saidal', form: 'comprimé, boîte de 8', unitPrice: 2300 })],
    ['IBU', product('IBU', { dci: 'Ibuprofène', brand: 'Brufen', strength: '400 mg' })],
  ]);
  const find = (c: string) => generics.get(c);

  test('an equivalent generic: the invoice line keeps both products, the base follows the tariff rule (lower)', () => {
    const q = quote(req([{ code: 'GEN', quantity: 2, replaces: { code: 'DOLI' } }]), rules, find);
    expect(q.lines[0]).toMatchObject({ code: 'GEN', prescribedCode: 'DOLI', referencePrice: 4400, tariff: 4400, base: 8500, fund: 6800 });
    const text = formatQuote(q);
    expect(text).toContain('(for DOLI)');
  });

  test.each([
    ['another pack size', 'GEN8', 'a different form'],
    ['another DCI and strength', 'IBU', 'a different DCI, strength'],
    ['the same product', 'DOLI', 'the product dispensed is the one prescribed'],
  ])('%s is not a substitute', (_label, code, message) => {
    let err: unknown;
    try {
      quote(req([{ code, quantity: 1, replaces: { code: 'DOLI' } }]), rules, find);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'not-substitutable', field: 'lines[0].replaces.code' });
    expect((err as Error).message).toContain(message);
  });

  test('an unknown prescribed code names its field', () => {
    expect(() => quote(req([{ code: 'GEN', quantity: 1, replaces: { code: 'NOPE' } }]), rules, find)).toThrow(UnknownProductError);
  });

  test('the table explains each refusal with its numbers and the French category label', () => {
    const q = quote(
      req(
        [
          { code: 'DOLI', quantity: 3, prescribed: { quantity: 4, alreadyDispensed: 2 } },
          { code: 'GEN', quantity: 1, durationDays: 120 },
          { code: 'GEN', quantity: 1, durationDays: 30 },
        ],
        { category: 'chronic' },
      ),
      rules,
      find,
    );
    expect(q.categoryLabel).toEqual({ fr: 'Malade chronique', ar: 'مريض مزمن' });
    expect(q.lines.map((l) => l.reason)).toEqual(['over-prescribed-quantity', 'treatment-too-long', null]);
    const text = formatQuote(q);
    expect(text).toContain('category chronic — Malade chronique (100 %)');
    expect(text).toContain('over-prescribed-quantity: more units than the prescription has left to dispense');
    expect(text).toContain('line 1: prescribed-quantity: 3 asked, 4 prescribed, 2 already dispensed: at most 2');
    expect(text).toContain('line 2: chronic-treatment-duration: 120 days of treatment, at most 90');
  });
});
