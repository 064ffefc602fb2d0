import * as fs from 'node:fs';
import { importCatalogue, parseCatalogueCsv } from '../../../src/billing/catalogue/import';
import { CatalogueStore, DuplicateGtinError } from '../../../src/billing/catalogue/store';
import { checkDigit } from '../../../src/common/gs1';
import { openDatabase } from '../../../src/common/db';
import { defaultCatalogueCsv } from '../../../src/common/paths';
import { CatalogueSearch } from '../../../src/pos/counter/catalogue-search';
import { thrown } from '../../support/thrown';

/** The catalogue's optional GTIN column: validated on import, stored as 14 digits, indexed, searched. */

const HEADER = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
const row = (code: string, gtin?: string) =>
  `${code},Paracétamol,Brand ${code},comprimé,500 mg,5200,4500,1,0` + (gtin === undefined ? '' : `,${gtin}`);
const g13 = (n: number) => {
  const body = `29900009${String(n).padStart(4, '0')}`;
  return body + checkDigit(body);
};
const memStore = () => new CatalogueStore(openDatabase(':memory:'));

describe('the shipped sample', () => {
  const parsed = parseCatalogueCsv(fs.readFileSync(defaultCatalogueCsv(), 'utf8'));

  test('has invented GTINs in the restricted-circulation range 2990000…, unique, with correct check digits', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.hasGtin).toBe(true);
    const gtins = parsed.products.map((p) => p.product.gtin).filter((g) => g !== undefined);
    expect(gtins.length).toBeGreaterThan(250);
    expect(gtins.length).toBeLessThan(parsed.products.length); // some products have none
    expect(new Set(gtins).size).toBe(gtins.length);
    for (const g of gtins) expect(g).toMatch(/^02990000\d{6}$/);
    expect(parsed.products.find((p) => p.product.code === 'N02BE01-01')!.product.gtin).toBe('02990000000019');
  });
});

describe('import', () => {
  test('a GTIN of 8, 12, 13 or 14 digits is kept as 14 digits; an empty cell is no GTIN', () => {
    const { products, problems } = parseCatalogueCsv(
      [
        `${HEADER},gtin`,
        row('P-1', '4006381333931'),
        row('P-2', '96385074'),
        row('P-3', '036000291452'),
        row('P-4', '10614141000415'),
        row('P-5', ''),
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(products.map((p) => p.product.gtin)).toEqual([
      '04006381333931',
      '00000096385074',
      '00036000291452',
      '10614141000415',
      undefined,
    ]);
    expect('gtin' in products[4]!.product).toBe(false);
  });

  test('a bad GTIN is refused naming the line and the column; one GTIN on two rows too', () => {
    const { problems } = parseCatalogueCsv(
      [
        `${HEADER},gtin`,
        row('P-1', '4006381333932'),
        row('P-2', '40063813339'),
        row('P-3', 'ABCDEFGHIJKLM'),
        row('P-4', g13(1)),
        row('P-5', `0${g13(1)}`),
      ].join('\n'),
    );
    expect(problems).toEqual([
      { line: 2, column: 10, columnName: 'gtin', message: '"4006381333932": the GTIN\'s check digit is wrong' },
      { line: 3, column: 10, columnName: 'gtin', message: '"40063813339": expected a GTIN of 8, 12, 13 or 14 digits' },
      { line: 4, column: 10, columnName: 'gtin', message: '"ABCDEFGHIJKLM": expected a GTIN of 8, 12, 13 or 14 digits' },
      { line: 6, column: 10, columnName: 'gtin', message: `duplicate GTIN 0${g13(1)} (first on line 5)` },
    ]);
  });

  test('a file without the column keeps the GTINs stored; with it, an empty cell removes one', () => {
    const store = memStore();
    importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(1)), row('P-2', g13(2))].join('\n'));
    expect(store.byGtin(`0${g13(1)}`)!.code).toBe('P-1');
    importCatalogue(store, [HEADER, row('P-1').replace('5200', '5300')].join('\n'));
    expect(store.get('P-1')).toMatchObject({ unitPrice: 5300, gtin: `0${g13(1)}` });
    importCatalogue(store, [`${HEADER},gtin`, row('P-1', '')].join('\n'));
    expect(store.get('P-1')!.gtin).toBeUndefined();
    expect(store.byGtin(`0${g13(1)}`)).toBeUndefined();
  });

  test('two products may swap GTINs in one import; a GTIN another product keeps is refused and nothing is written', () => {
    const store = memStore();
    importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(1)), row('P-2', g13(2)), row('P-3', g13(3))].join('\n'));
    importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(2)), row('P-2', g13(1))].join('\n'));
    expect([store.byGtin(`0${g13(1)}`)!.code, store.byGtin(`0${g13(2)}`)!.code]).toEqual(['P-2', 'P-1']);
    const e = thrown(() => importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(3)), row('P-9', g13(9))].join('\n')));
    expect(e).toBeInstanceOf(DuplicateGtinError);
    expect(e).toMatchObject({ code: 'duplicate-gtin', field: 'gtin', message: expect.stringContaining('P-3') });
    expect(store.get('P-9')).toBeUndefined();
    expect(store.byGtin(`0${g13(2)}`)!.code).toBe('P-1');
  });

  test('the database refuses a GTIN that is not 14 digits, whatever writes it', () => {
    const store = memStore();
    importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(1))].join('\n'));
    expect(() => store.db.prepare("UPDATE catalogue_product SET gtin = '123' WHERE code = 'P-1'").run()).toThrow(/CHECK/);
  });
});

test('a catalogue written before GTINs existed gets the column when opened', () => {
  const db = openDatabase(':memory:');
  db.exec(`CREATE TABLE catalogue_product (
    code TEXT PRIMARY KEY, dci TEXT NOT NULL, brand TEXT NOT NULL, form TEXT NOT NULL, strength TEXT NOT NULL,
    unit_price INTEGER NOT NULL, reference_price INTEGER, reimbursable INTEGER NOT NULL, prior_approval INTEGER NOT NULL) STRICT`);
  db.prepare("INSERT INTO catalogue_product VALUES ('OLD-1', 'Paracétamol', 'Old', 'comprimé', '500 mg', 100, NULL, 1, 0)").run();
  const store = new CatalogueStore(db);
  expect(store.get('OLD-1')).toEqual({
    code: 'OLD-1',
    dci: 'Paracétamol',
    brand: 'Old',
    form: 'comprimé',
    strength: '500 mg',
    unitPrice: 100,
    referencePrice: null,
    reimbursable: true,
    priorApproval: false,
  });
  importCatalogue(store, [`${HEADER},gtin`, row('OLD-1', g13(7))].join('\n'));
  expect(store.byGtin(`0${g13(7)}`)!.code).toBe('OLD-1');
  expect(new CatalogueStore(db).byGtin(`0${g13(7)}`)!.code).toBe('OLD-1'); // opening again changes nothing
});

test('the counter search finds a product by the digits printed under its barcode', () => {
  const store = memStore();
  importCatalogue(store, [`${HEADER},gtin`, row('P-1', g13(1)), row('P-2', g13(2))].join('\n'));
  const search = new CatalogueSearch(store);
  expect(search.search(g13(2)).map((p) => p.code)).toEqual(['P-2']);
  expect(search.search(`0${g13(1)}`).map((p) => [p.code, p.gtin])).toEqual([['P-1', `0${g13(1)}`]]);
  expect(search.search('29900009').map((p) => p.code)).toEqual(['P-1', 'P-2']);
  expect(search.search('29900').map((p) => p.code)).toEqual([]); // too few digits to mean a GTIN
});
