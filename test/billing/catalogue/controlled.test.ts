import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import * as os from 'node:os';
import * as path from 'node:path';
import { importCatalogue, parseCatalogueCsv } from '../../../src/billing/catalogue/import';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { defaultCatalogueCsv } from '../../../src/common/paths';

/** The catalogue's optional `controlled` column: the table of a psychotropic product, or nothing. */

const HEADER = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
const row = (code: string, controlled?: string) =>
  `${code},Tramadol,Brand ${code},gélule,50 mg,45500,38000,1,0` + (controlled === undefined ? '' : `,${controlled}`);
const memStore = () => new CatalogueStore(openDatabase(':memory:'));

test('the shipped sample marks its controlled products (TEST data)', () => {
  const parsed = parseCatalogueCsv(fs.readFileSync(defaultCatalogueCsv(), 'utf8'));
  expect(parsed.problems).toEqual([]);
  expect(parsed.hasControlled).toBe(true);
  const controlled = parsed.products.filter((p) => p.product.controlled !== undefined).map((p) => p.product.code);
  expect(controlled).toEqual(expect.arrayContaining(['N02AX02-01', 'N02AX02-02', 'N05BA12-01', 'N03AX16-01', 'N05CF02-01']));
  expect(parsed.products.find((p) => p.product.code === 'N02BE01-01')!.product.controlled).toBeUndefined();
});

test('a label, or an empty cell; anything else is refused naming the line and column', () => {
  const { products, problems } = parseCatalogueCsv(
    [`${HEADER},controlled`, row('P-1', 'II'), row('P-2', ''), row('P-3', 'too long label'), row('P-4', '"I I"')].join('\n'),
  );
  expect(products.map((p) => [p.product.code, p.product.controlled])).toEqual([
    ['P-1', 'II'],
    ['P-2', undefined],
  ]);
  expect(problems).toEqual([
    expect.objectContaining({ line: 4, column: 10, columnName: 'controlled' }),
    expect.objectContaining({ line: 5, column: 10, columnName: 'controlled' }),
  ]);
});

test('stored; a file without the column leaves the tables as they are, one with it sets them', () => {
  const store = memStore();
  importCatalogue(store, [`${HEADER},controlled`, row('P-1', 'II'), row('P-2', '')].join('\n'));
  expect(store.get('P-1')!.controlled).toBe('II');
  expect('controlled' in store.get('P-2')!).toBe(false);
  importCatalogue(store, [HEADER, row('P-1'), row('P-2')].join('\n'));
  expect(store.get('P-1')!.controlled).toBe('II');
  importCatalogue(store, [`${HEADER},controlled`, row('P-1', ''), row('P-2', 'III')].join('\n'));
  expect(store.get('P-1')!.controlled).toBeUndefined();
  expect(store.get('P-2')!.controlled).toBe('III');
});

test('a catalogue written before the column gains it on open', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-cat-')), 'chifa.sqlite');
  const old = new Database(file);
  old.exec(`CREATE TABLE catalogue_product (code TEXT PRIMARY KEY, dci TEXT NOT NULL, brand TEXT NOT NULL, form TEXT NOT NULL,
    strength TEXT NOT NULL, unit_price INTEGER NOT NULL, reference_price INTEGER, reimbursable INTEGER NOT NULL,
    prior_approval INTEGER NOT NULL) STRICT;
    INSERT INTO catalogue_product VALUES ('P-1', 'Tramadol', 'T', 'gélule', '50 mg', 100, 90, 1, 0);`);
  old.close();
  const store = new CatalogueStore(openDatabase(file));
  expect(store.get('P-1')).toMatchObject({ code: 'P-1', unitPrice: 100 });
  expect(store.get('P-1')!.controlled).toBeUndefined();
  importCatalogue(store, [`${HEADER},controlled`, row('P-1', 'II')].join('\n'));
  expect(store.get('P-1')!.controlled).toBe('II');
  store.close();
});
