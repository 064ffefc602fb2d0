import type { Product } from '../../../src/billing/catalogue/product';
import type { DispensationRecord } from '../../../src/pos/counter/card-data';
import { normalizeName } from '../../../src/billing/catalogue/names';
import { allergyMatch, computeWarnings } from '../../../src/pos/counter/warnings';

const product = (code: string, dci: string, brand = 'Brand'): Product => ({
  code,
  dci,
  brand,
  form: 'comprimé',
  strength: '1 mg',
  unitPrice: 1000,
  referencePrice: 1000,
  reimbursable: true,
  priorApproval: false,
});
const catalogue = new Map<string, Product>([
  ['J01CA04-01', product('J01CA04-01', 'Amoxicilline', 'Clamoxyl')],
  ['J01CA04-02', product('J01CA04-02', 'Amoxicilline', 'Amoxypen')],
  ['N02BE01-01', product('N02BE01-01', 'Paracétamol', 'Doliprane')],
  ['N02AJ06-01', product('N02AJ06-01', 'Codéine + paracétamol', 'Codoliprane')],
]);
const disp = (over: Partial<DispensationRecord>): DispensationRecord => ({
  date: '2025-06-01',
  pharmacyId: 'DZ16-PH-00001',
  rank: 1,
  productCode: 'N02BE01-01',
  quantity: 1,
  durationDays: 10,
  invoiceNumber: 5,
  prescriptionRef: null,
  ...over,
});

function warn(codes: string[], opts: { allergies?: string[]; dispensations?: DispensationRecord[]; rank?: number; today?: string } = {}) {
  return computeWarnings({
    today: opts.today ?? '2025-06-05',
    rank: opts.rank ?? 1,
    lines: codes.map((code) => ({ code })),
    products: codes.map((c) => catalogue.get(c)!),
    allergies: opts.allergies ?? [],
    dispensations: opts.dispensations ?? [],
    lookup: (c) => catalogue.get(c),
  });
}

describe('allergy match', () => {
  test('ignores case and accents, and matches a component of a combination', () => {
    expect(normalizeName('  Paracétamol ')).toBe('paracetamol');
    expect(allergyMatch('Amoxicilline', ['amoxicilline'])).toBe('amoxicilline');
    expect(allergyMatch('Codéine + paracétamol', ['PARACETAMOL'])).toBe('PARACETAMOL');
    expect(allergyMatch('Amoxicilline + acide clavulanique', ['Amoxicilline'])).toBe('Amoxicilline');
  });
  test('does not match part of a word or an unrelated DCI', () => {
    expect(allergyMatch('Amoxicilline', ['Amox'])).toBeUndefined();
    expect(allergyMatch('Paracétamol', ['Amoxicilline', ''])).toBeUndefined();
  });
  test('an allergy produces a warning on its line only', () => {
    const w = warn(['N02BE01-01', 'J01CA04-01'], { allergies: ['Amoxicilline'] });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ code: 'allergy', line: 1, details: { allergy: 'Amoxicilline', dci: 'Amoxicilline' } });
  });
});

describe('possible duplicate dispensing', () => {
  test('same product, same beneficiary, supply not run out', () => {
    const w = warn(['N02BE01-01'], { dispensations: [disp({ date: '2025-06-01', durationDays: 10 })] });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ code: 'possible-duplicate', line: 0, details: { daysLeft: 6, sameProduct: true } });
  });
  test('the day the supply runs out is no longer a duplicate', () => {
    expect(warn(['N02BE01-01'], { today: '2025-06-11', dispensations: [disp({ date: '2025-06-01', durationDays: 10 })] })).toEqual([]);
    expect(warn(['N02BE01-01'], { today: '2025-06-10', dispensations: [disp({ date: '2025-06-01', durationDays: 10 })] })).toHaveLength(1);
  });
  test('another beneficiary is not a duplicate', () => {
    expect(warn(['N02BE01-01'], { rank: 2, dispensations: [disp({ rank: 1 })] })).toEqual([]);
  });
  test('another brand of the same DCI is flagged as such', () => {
    const w = warn(['J01CA04-02'], { dispensations: [disp({ productCode: 'J01CA04-01', durationDays: 7 })] });
    expect(w[0]).toMatchObject({ code: 'possible-duplicate', details: { sameProduct: false, productCode: 'J01CA04-01' } });
  });
  test('a record of a product the catalogue does not know is ignored unless it is the same code', () => {
    expect(warn(['N02BE01-01'], { dispensations: [disp({ productCode: 'ZZZ' })] })).toEqual([]);
  });
});
