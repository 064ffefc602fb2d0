import { quoteClipped } from '../../common/display';
import { CatalogueImportError, type RowProblem } from '../errors';
import { parseCsv } from './csv';
import { decodeCatalogue, type CatalogueEncoding } from './encoding';
import { normalizeGtin } from '../../common/gs1';
import { CATALOGUE_COLUMNS, OPTIONAL_CATALOGUE_COLUMNS, type CatalogueColumn, type Product } from './product';
import type { CatalogueStore } from './store';

/** A product read from the CSV, with the line it came from. */
export interface ParsedProduct {
  line: number;
  product: Product;
}

export interface ParsedCatalogue {
  products: ParsedProduct[];
  /** Every bad cell or row; a row may appear more than once (one per bad column). */
  problems: RowProblem[];
  /** True when the file cannot be read at all (bad header): nothing can be imported. */
  fatal: boolean;
  /** True when the file has a `gtin` column (then an empty cell means "no GTIN"). */
  hasGtin: boolean;
  /** True when the file has a `controlled` column (then an empty cell means "not controlled"). */
  hasControlled: boolean;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$/;
const CENTIMES = /^(0|[1-9][0-9]*)$/;
const TEXT_MAX = 200;

const KNOWN_COLUMNS: readonly string[] = [...CATALOGUE_COLUMNS, ...OPTIONAL_CATALOGUE_COLUMNS];

/**
 * Reads and validates a catalogue CSV (header row with the columns of `CATALOGUE_COLUMNS`, in any
 * order, and optionally those of `OPTIONAL_CATALOGUE_COLUMNS`). Collects every problem rather than stopping at the first, so one run of
 * `chifa catalogue import` shows the whole list to fix.
 */
export function parseCatalogueCsv(text: string): ParsedCatalogue {
  const { records, errors } = parseCsv(text);
  const problems: RowProblem[] = errors.map((e) => ({ line: e.line, column: e.column, message: e.message }));
  const header = records[0];
  if (!header) {
    if (problems.length === 0) problems.push({ line: 1, column: 1, message: 'the file is empty (no header row)' });
    return { products: [], problems, fatal: true, hasGtin: false, hasControlled: false };
  }
  const headerProblems: RowProblem[] = [];
  const index = new Map<CatalogueColumn, number>();
  header.fields.forEach((raw, i) => {
    const name = raw.trim();
    if (!KNOWN_COLUMNS.includes(name)) {
      headerProblems.push({
        line: header.line,
        column: i + 1,
        message: `unknown column ${quoteClipped(raw)}; expected ${CATALOGUE_COLUMNS.join(',')} (and optionally ${OPTIONAL_CATALOGUE_COLUMNS.join(',')})`,
      });
    } else if (index.has(name as CatalogueColumn)) {
      headerProblems.push({ line: header.line, column: i + 1, columnName: name, message: 'column named twice' });
    } else {
      index.set(name as CatalogueColumn, i);
    }
  });
  for (const c of CATALOGUE_COLUMNS) {
    if (!index.has(c))
      headerProblems.push({ line: header.line, column: header.fields.length + 1, columnName: c, message: `missing column ${c}` });
  }
  if (headerProblems.length > 0) {
    return {
      products: [],
      problems: [...problems.filter((p) => p.line < header.line), ...headerProblems, ...problems.filter((p) => p.line > header.line)],
      fatal: true,
      hasGtin: false,
      hasControlled: false,
    };
  }
  const hasGtin = index.has('gtin');
  const hasControlled = index.has('controlled');

  const width = header.fields.length;
  const products: ParsedProduct[] = [];
  const firstLineOf = new Map<string, number>();
  const gtinLineOf = new Map<string, number>();
  for (const rec of records.slice(1)) {
    const rowProblems: RowProblem[] = [];
    const bad = (c: CatalogueColumn, message: string) =>
      rowProblems.push({ line: rec.line, column: index.get(c)! + 1, columnName: c, message });
    if (rec.fields.length !== width) {
      problems.push({
        line: rec.line,
        column: Math.min(rec.fields.length, width) + 1,
        message: `expected ${width} fields, found ${rec.fields.length}`,
      });
      continue;
    }
    const get = (c: CatalogueColumn) => rec.fields[index.get(c)!]!;

    const code = get('code');
    if (!CODE.test(code)) bad('code', 'expected 1–32 letters, digits or . _ / - (starting with a letter or digit)');
    else {
      const first = firstLineOf.get(code);
      if (first !== undefined) bad('code', `duplicate code ${code} (first on line ${first})`);
    }
    const text = (c: 'dci' | 'brand' | 'form' | 'strength', required: boolean): string => {
      const v = get(c).trim();
      if (required && v === '') bad(c, 'must not be empty');
      else if (v.length > TEXT_MAX) bad(c, `longer than ${TEXT_MAX} characters`);
      // eslint-disable-next-line no-control-regex -- control characters are what this check looks for
      else if (/[\u0000-\u001f\u007f]/.test(v)) bad(c, 'contains a control character or line break');
      return v;
    };
    const dci = text('dci', true);
    const brand = text('brand', true);
    const form = text('form', true);
    const strength = text('strength', false);
    const unitPrice = centimes(get('unitPrice'), false, (m) => bad('unitPrice', m));
    const referencePrice = centimes(get('referencePrice'), true, (m) => bad('referencePrice', m));
    const reimbursable = flag(get('reimbursable'), (m) => bad('reimbursable', m));
    const priorApproval = flag(get('priorApproval'), (m) => bad('priorApproval', m));
    const gtin = hasGtin ? gtinCell(get('gtin'), gtinLineOf, (m) => bad('gtin', m)) : undefined;
    const controlled = hasControlled ? controlledCell(get('controlled'), (m) => bad('controlled', m)) : undefined;

    if (rowProblems.length > 0) {
      problems.push(...rowProblems);
      continue;
    }
    firstLineOf.set(code, rec.line);
    if (gtin !== undefined) gtinLineOf.set(gtin, rec.line);
    products.push({
      line: rec.line,
      product: {
        code,
        dci,
        brand,
        form,
        strength,
        unitPrice: unitPrice!,
        referencePrice: referencePrice ?? null,
        reimbursable: reimbursable!,
        priorApproval: priorApproval!,
        ...(gtin !== undefined ? { gtin } : {}),
        ...(controlled !== undefined ? { controlled } : {}),
      },
    });
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { products, problems, fatal: false, hasGtin, hasControlled };
}

/**
 * A GTIN cell: empty (no GTIN), or the 8, 12, 13 or 14 digits of a GS1 GTIN whose check digit is
 * right (GS1 General Specifications §7.9.1), kept as 14 digits; one GTIN names one pack, so it may
 * not appear on two rows.
 */
function gtinCell(raw: string, lineOf: ReadonlyMap<string, number>, bad: (m: string) => void): string | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  if (!/^(\d{8}|\d{12,14})$/.test(s)) {
    bad(`${quoteClipped(raw)}: expected a GTIN of 8, 12, 13 or 14 digits`);
    return undefined;
  }
  const gtin = normalizeGtin(s);
  if (gtin === undefined) {
    bad(`${quoteClipped(raw)}: the GTIN's check digit is wrong`);
    return undefined;
  }
  const first = lineOf.get(gtin);
  if (first !== undefined) {
    bad(`duplicate GTIN ${s} (first on line ${first})`);
    return undefined;
  }
  return gtin;
}

/** A controlled-table cell: empty (not controlled), or the table's label (`I`, `II`, `IV`…). */
function controlledCell(raw: string, bad: (m: string) => void): string | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  if (!/^[A-Za-z0-9.-]{1,8}$/.test(s)) {
    bad(`${quoteClipped(raw)}: expected the controlled table's label, 1–8 letters, digits, . or - (e.g. II), or nothing`);
    return undefined;
  }
  return s;
}

function centimes(raw: string, optional: boolean, bad: (m: string) => void): number | undefined {
  const s = raw.trim();
  if (s === '') {
    if (!optional) bad('required (an integer number of centimes)');
    return undefined;
  }
  if (!CENTIMES.test(s)) {
    if (/^-/.test(s)) bad(`${quoteClipped(raw)}: cannot be negative`);
    else if (/^[0-9]+[.,][0-9]*$/.test(s)) bad(`${quoteClipped(raw)}: amounts are whole centimes (250.00 DA is written 25000)`);
    else bad(`${quoteClipped(raw)}: expected an integer number of centimes`);
    return undefined;
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n)) {
    bad(`${quoteClipped(raw)}: too large`);
    return undefined;
  }
  return n;
}

function flag(raw: string, bad: (m: string) => void): boolean | undefined {
  switch (raw.trim().toLowerCase()) {
    case '1':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      bad(`${quoteClipped(raw)}: expected 1 or 0 (or true / false)`);
      return undefined;
  }
}

/** What importCatalogue did. */
export interface ImportResult {
  /** Rows written (inserted + updated). */
  imported: number;
  inserted: number;
  updated: number;
  /** Bad rows left out (only with skipBad; otherwise a CatalogueImportError is thrown). */
  skipped: RowProblem[];
}

/** Options of importCatalogue. */
export interface ImportOptions {
  /** Name used in error messages (default `catalogue`). */
  file?: string;
  skipBad?: boolean;
  /** How to read bytes (default UTF-8, strictly); ignored for text already decoded. */
  encoding?: CatalogueEncoding;
}

/**
 * Imports a catalogue CSV into the store in one transaction: either every row is written or none.
 * `input` is the file's bytes (decoded strictly, see decodeCatalogue: a byte that is not in the
 * encoding throws CatalogueEncodingError and nothing is written) or text already decoded.
 * With `skipBad`, the good rows are written and the problems returned; without it, any problem
 * throws CatalogueImportError (listing them all) and nothing is written. A bad header is always
 * fatal. Existing codes are updated (a tariff update), new codes inserted. A file without a `gtin`
 * column leaves the GTINs the store holds as they are; with one, it sets them (empty: none). The
 * same goes for the `controlled` column and the controlled tables.
 */
export function importCatalogue(store: CatalogueStore, input: string | Uint8Array, options: ImportOptions = {}): ImportResult {
  const file = options.file ?? 'catalogue';
  const text = typeof input === 'string' ? input : decodeCatalogue(input, options.encoding, file);
  const parsed = parseCatalogueCsv(text);
  if (parsed.fatal || (parsed.problems.length > 0 && !options.skipBad)) {
    throw new CatalogueImportError(file, parsed.problems);
  }
  const { inserted, updated } = store.upsertMany(
    parsed.products.map((p) => p.product),
    { setGtin: parsed.hasGtin, setControlled: parsed.hasControlled },
  );
  return { imported: inserted + updated, inserted, updated, skipped: parsed.problems };
}
