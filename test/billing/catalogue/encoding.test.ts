import { decodeCatalogue, parseCatalogueEncoding, CatalogueEncodingError } from '../../../src/billing/catalogue/encoding';
import { importCatalogue } from '../../../src/billing/catalogue/import';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { thrown } from '../../support/thrown';

/**
 * Catalogue files are read strictly: UTF-8 (with or without a byte-order mark) unless told
 * otherwise; a byte that is not UTF-8 stops the import naming its line and column, instead of
 * turning `Café` into `Caf\uFFFD` in the catalogue.
 */

const HEADER = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval\n';
const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const memStore = () => new CatalogueStore(openDatabase(':memory:'));

// What a spreadsheet saves as "CSV" on a French Windows: é is the single byte 0xE9.
const WIN1252 = bytes(HEADER, 'P-1,Parac', [0xe9], 'tamol,Caf', [0xe9], ',comprim', [0xe9], ',500 mg,5400,4600,1,0\n');

describe('a Windows-1252 file', () => {
  test('is refused by default, naming the line and the column of the first bad byte; nothing is imported', () => {
    const store = memStore();
    const err = thrown(() => importCatalogue(store, WIN1252, { file: 'w.csv' }));
    expect(err).toBeInstanceOf(CatalogueEncodingError);
    expect(err).toMatchObject({ code: 'invalid-encoding', line: 2, column: 10, field: 'line 2, column 10' });
    expect((err as Error).message).toMatch(/^w\.csv: line 2, column 10: byte 0xE9 is not valid UTF-8 .*windows-1252.*nothing imported$/);
    expect(store.count()).toBe(0);
  });

  test.each(['windows-1252', 'latin1'] as const)('is imported correctly with --encoding %s', (encoding) => {
    const store = memStore();
    expect(importCatalogue(store, WIN1252, { encoding })).toMatchObject({ imported: 1 });
    expect(store.get('P-1')).toMatchObject({ dci: 'Paracétamol', brand: 'Café', form: 'comprimé' });
  });
});

describe('UTF-8', () => {
  test('an invalid byte in the middle of the file: its line, and its column counted in characters', () => {
    const rows = Array.from({ length: 50 }, (_, i) => `P-${i},Paracétamol,Doliprane,comprimé,500 mg,100,,1,0\n`);
    // Line 30 (the header is line 1): "P-28,Éfferalgan…" with a stray 0xFF after "Éff" — four
    // characters but five bytes into the second field, so a byte count would say column 10.
    const text = bytes(
      HEADER,
      rows.slice(0, 28).join(''),
      'P-28,Éff',
      [0xff],
      'eralgan,x,comprimé,1 g,100,,1,0\n',
      rows.slice(29).join(''),
    );
    const err = thrown(() => decodeCatalogue(text, 'utf-8', 'm.csv'));
    expect(err).toMatchObject({ code: 'invalid-encoding', line: 30, column: 9 });
    expect((err as Error).message).toContain('line 30, column 9: byte 0xFF is not valid UTF-8');
  });

  test('a truncated multi-byte sequence at the very end of the file', () => {
    expect(thrown(() => decodeCatalogue(bytes(HEADER, 'P-1,', [0xc3])))).toMatchObject({ line: 2, column: 5 });
  });

  test('a real U+FFFD in the file is text, and a bad byte after it is still found where it is', () => {
    expect(decodeCatalogue(bytes('a\uFFFDb'))).toBe('a\uFFFDb');
    expect(thrown(() => decodeCatalogue(bytes('x\n\uFFFD€', [0x80])))).toMatchObject({ line: 2, column: 3 });
  });

  test('a byte-order mark is dropped, with or without it the file imports the same', () => {
    const plain = bytes(HEADER, 'P-1,Paracétamol,Café,comprimé,500 mg,5400,4600,1,0\n');
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain]);
    expect(decodeCatalogue(withBom)).toBe(decodeCatalogue(plain));
    const store = memStore();
    expect(importCatalogue(store, withBom)).toMatchObject({ imported: 1 });
    expect(store.get('P-1')).toMatchObject({ brand: 'Café' });
    // The column of a bad byte on the first line does not count the mark.
    expect(thrown(() => decodeCatalogue(bytes([0xef, 0xbb, 0xbf], 'ab', [0xe9])))).toMatchObject({ line: 1, column: 3 });
  });

  test('a UTF-8 byte-order mark with --encoding windows-1252: the file is UTF-8, refused', () => {
    const err = thrown(() => decodeCatalogue(bytes([0xef, 0xbb, 0xbf], HEADER), 'windows-1252'));
    expect(err).toMatchObject({ code: 'invalid-encoding', line: 1, column: 1 });
    expect((err as Error).message).toContain('UTF-8 byte-order mark');
  });

  test('a UTF-16 file is named as such', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEADER, 'utf16le')]);
    expect((thrown(() => decodeCatalogue(utf16)) as Error).message).toContain(
      'the file is UTF-16 (it starts with the byte-order mark 0xFF 0xFE)',
    );
  });
});

test('encoding names', () => {
  expect(parseCatalogueEncoding('UTF8')).toBe('utf-8');
  expect(parseCatalogueEncoding('Windows-1252')).toBe('windows-1252');
  expect(parseCatalogueEncoding('cp1252')).toBe('windows-1252');
  expect(parseCatalogueEncoding('latin1')).toBe('latin1');
  expect(thrown(() => parseCatalogueEncoding('ebcdic'))).toMatchObject({ code: 'invalid-input', field: 'encoding' });
});
