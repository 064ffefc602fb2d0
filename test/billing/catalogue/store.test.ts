import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importCatalogue, parseCatalogueCsv } from '../../../src/billing/catalogue/import';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { CatalogueImportError } from '../../../src/billing/errors';
import { defaultCatalogueCsv } from '../../../src/common/paths';
import { thrown } from '../../support/thrown';

const HEADER = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
const GOOD = [
  'P-1,Paracétamol,Doliprane,"comprimé, boîte de 16",500 mg,5200,4500,1,0',
  'P-2,Paracétamol,Paralgan,"comprimé, boîte de 16",500 mg,4500,,true,false',
];
const csv = (...rows: string[]) => [HEADER, ...rows].join('\n') + '\n';
const memStore = () => new CatalogueStore(openDatabase(':memory:'));

describe('the shipped sample catalogue', () => {
  const parsed = parseCatalogueCsv(fs.readFileSync(defaultCatalogueCsv(), 'utf8'));

  test('has at least 200 valid, unique entries', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.products.length).toBeGreaterThanOrEqual(200);
    expect(new Set(parsed.products.map((p) => p.product.code)).size).toBe(parsed.products.length);
  });

  test('covers every case the split distinguishes', () => {
    const ps = parsed.products.map((p) => p.product);
    const ref = (p: (typeof ps)[number]) => p.referencePrice;
    expect(ps.some((p) => ref(p) !== null && p.unitPrice > ref(p)!)).toBe(true);
    expect(ps.some((p) => ref(p) !== null && p.unitPrice < ref(p)!)).toBe(true);
    expect(ps.some((p) => ref(p) === null && p.reimbursable)).toBe(true);
    expect(ps.some((p) => !p.reimbursable)).toBe(true);
    expect(ps.some((p) => p.priorApproval)).toBe(true);
  });
});

describe('row validation', () => {
  test('good rows parse into products', () => {
    const { products, problems } = parseCatalogueCsv(csv(...GOOD));
    expect(problems).toEqual([]);
    expect(products).toEqual([
      {
        line: 2,
        product: {
          code: 'P-1',
          dci: 'Paracétamol',
          brand: 'Doliprane',
          form: 'comprimé, boîte de 16',
          strength: '500 mg',
          unitPrice: 5200,
          referencePrice: 4500,
          reimbursable: true,
          priorApproval: false,
        },
      },
      {
        line: 3,
        product: {
          code: 'P-2',
          dci: 'Paracétamol',
          brand: 'Paralgan',
          form: 'comprimé, boîte de 16',
          strength: '500 mg',
          unitPrice: 4500,
          referencePrice: null,
          reimbursable: true,
          priorApproval: false,
        },
      },
    ]);
  });

  test('columns may come in any order', () => {
    const text = 'priorApproval,reimbursable,referencePrice,unitPrice,strength,form,brand,dci,code\n0,1,,100,,f,b,d,X-1\n';
    const { products, problems } = parseCatalogueCsv(text);
    expect(problems).toEqual([]);
    expect(products[0]!.product).toMatchObject({ code: 'X-1', unitPrice: 100, referencePrice: null });
  });

  test.each([
    ['a price in dinars with decimals', 'P-9,d,b,f,s,52.00,,1,0', 6, 'unitPrice', 'whole centimes'],
    ['a negative price', 'P-9,d,b,f,s,-5,,1,0', 6, 'unitPrice', 'negative'],
    ['a missing price', 'P-9,d,b,f,s,,,1,0', 6, 'unitPrice', 'required'],
    ['a word for a reference tariff', 'P-9,d,b,f,s,100,cheap,1,0', 7, 'referencePrice', 'integer'],
    ['a price beyond exact integers', 'P-9,d,b,f,s,99999999999999999999,,1,0', 6, 'unitPrice', 'too large'],
    ['a bad reimbursable flag', 'P-9,d,b,f,s,100,,oui,0', 8, 'reimbursable', '1 or 0'],
    ['a bad prior-approval flag', 'P-9,d,b,f,s,100,,1,2', 9, 'priorApproval', '1 or 0'],
    ['an empty code', ',d,b,f,s,100,,1,0', 1, 'code', 'letters'],
    ['a code with spaces', 'P 9,d,b,f,s,100,,1,0', 1, 'code', 'letters'],
    ['an empty DCI', 'P-9,,b,f,s,100,,1,0', 2, 'dci', 'empty'],
    ['a duplicate code', 'P-1,d,b,f,s,100,,1,0', 1, 'code', 'first on line 2'],
  ])('%s is reported by line and column', (_label, row, column, columnName, message) => {
    const { problems, products } = parseCatalogueCsv(csv(GOOD[0]!, row));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 3, column, columnName });
    expect(problems[0]!.message).toContain(message);
    expect(products.map((p) => p.product.code)).toEqual(['P-1']);
  });

  test('every bad cell of every bad row is reported, in order', () => {
    const { problems } = parseCatalogueCsv(csv('A,d,b,f,s,1.5,x,1,0', GOOD[0]!, 'B,d,b,f,s,100,,maybe,perhaps', 'C,too,few'));
    expect(problems.map((p) => [p.line, p.column])).toEqual([
      [2, 6],
      [2, 7],
      [4, 8],
      [4, 9],
      [5, 4],
    ]);
    expect(problems[4]!.message).toBe('expected 9 fields, found 3');
  });

  test.each([
    ['an unknown column', HEADER.replace('dci', 'inn'), 'unknown column "inn"'],
    ['a missing column', HEADER.replace(',priorApproval', ''), 'missing column priorApproval'],
    ['a repeated column', HEADER + ',code', 'column named twice'],
  ])('a header with %s is fatal', (_label, header, message) => {
    const parsed = parseCatalogueCsv(`${header}\n${GOOD[0]}\n`);
    expect(parsed.fatal).toBe(true);
    expect(parsed.problems.some((p) => p.line === 1 && p.message.includes(message))).toBe(true);
  });

  test('an empty file is fatal', () => {
    expect(parseCatalogueCsv('')).toMatchObject({ fatal: true, problems: [{ line: 1, column: 1 }] });
  });
});

describe('import', () => {
  test('all or nothing: one bad row and nothing is written', () => {
    const store = memStore();
    const err = thrown(() => importCatalogue(store, csv(...GOOD, 'P-3,d,b,f,s,-1,,1,0'), { file: 'x.csv' }));
    expect(err).toBeInstanceOf(CatalogueImportError);
    expect(err).toMatchObject({ code: 'invalid-catalogue', problems: [{ line: 4, column: 6, columnName: 'unitPrice' }] });
    expect((err as Error).message).toContain('x.csv: 1 bad row, nothing imported; first: line 4, column 6 (unitPrice)');
    expect(store.count()).toBe(0);
  });

  test('skipBad imports the good rows and returns the bad ones', () => {
    const store = memStore();
    const r = importCatalogue(store, csv(GOOD[0]!, 'P-3,d,b,f,s,-1,,1,0', GOOD[1]!), { skipBad: true });
    expect(r).toMatchObject({ imported: 2, inserted: 2, updated: 0 });
    expect(r.skipped.map((p) => [p.line, p.columnName])).toEqual([[3, 'unitPrice']]);
    expect(store.get('P-3')).toBeUndefined();
    expect(store.get('P-2')).toEqual({
      code: 'P-2',
      dci: 'Paracétamol',
      brand: 'Paralgan',
      form: 'comprimé, boîte de 16',
      strength: '500 mg',
      unitPrice: 4500,
      referencePrice: null,
      reimbursable: true,
      priorApproval: false,
    });
  });

  test('skipBad does not get past a bad header', () => {
    const store = memStore();
    expect(() => importCatalogue(store, `nope\n${GOOD[0]}\n`, { skipBad: true })).toThrow(CatalogueImportError);
    expect(store.count()).toBe(0);
  });

  test('importing again updates existing codes (a tariff update)', () => {
    const store = memStore();
    importCatalogue(store, csv(...GOOD));
    const r = importCatalogue(store, csv('P-1,Paracétamol,Doliprane,"comprimé, boîte de 16",500 mg,5400,4600,1,0', 'P-3,d,b,f,,100,,0,0'));
    expect(r).toMatchObject({ inserted: 1, updated: 1 });
    expect(store.get('P-1')).toMatchObject({ unitPrice: 5400, referencePrice: 4600 });
    expect(store.count()).toBe(3);
  });

  test('the table refuses what the CSV validation would (defence in depth)', () => {
    const store = memStore();
    expect(() =>
      store.upsertMany([
        {
          code: 'Z',
          dci: 'd',
          brand: 'b',
          form: 'f',
          strength: '',
          unitPrice: 1.5,
          referencePrice: null,
          reimbursable: true,
          priorApproval: false,
        },
      ]),
    ).toThrow();
    expect(store.count()).toBe(0);
  });

  test('a store on disk seeds itself from the sample once, and keeps its data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-cat-'));
    try {
      const a = CatalogueStore.open(dir);
      const n = a.count();
      expect(n).toBeGreaterThanOrEqual(200);
      expect(a.get('N02BE01-01')).toMatchObject({ brand: 'Doliprane', unitPrice: 5200, referencePrice: 4500 });
      importCatalogue(a, csv('N02BE01-01,Paracétamol,Doliprane,"comprimé, boîte de 16",500 mg,5300,4500,1,0'));
      a.close();
      expect(fs.existsSync(path.join(dir, 'chifa.sqlite'))).toBe(true);
      const b = CatalogueStore.open(dir);
      expect(b.count()).toBe(n);
      expect(b.get('N02BE01-01')!.unitPrice).toBe(5300);
      b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
