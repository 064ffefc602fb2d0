import * as fs from 'node:fs';
import Database, { type Statement } from 'better-sqlite3';
import { openDatabase, type Db } from '../../common/db';
import { BillingError } from '../errors';
import { databasePath, defaultCatalogueCsv } from '../../common/paths';
import { importCatalogue } from './import';
import type { Product } from './product';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS catalogue_product (
  code            TEXT    PRIMARY KEY,
  dci             TEXT    NOT NULL,
  brand           TEXT    NOT NULL,
  form            TEXT    NOT NULL,
  strength        TEXT    NOT NULL,
  unit_price      INTEGER NOT NULL CHECK (unit_price >= 0),
  reference_price INTEGER          CHECK (reference_price IS NULL OR reference_price >= 0),
  reimbursable    INTEGER NOT NULL CHECK (reimbursable IN (0, 1)),
  prior_approval  INTEGER NOT NULL CHECK (prior_approval IN (0, 1)),
  gtin            TEXT             CHECK (gtin IS NULL OR (length(gtin) = 14 AND gtin NOT GLOB '*[^0-9]*')),
  controlled      TEXT             CHECK (controlled IS NULL OR length(controlled) BETWEEN 1 AND 8)
) STRICT;
`;

/** Added after the first catalogues were written: databases made before get the column here. */
const GTIN_COLUMN = `ALTER TABLE catalogue_product ADD COLUMN gtin TEXT CHECK (gtin IS NULL OR (length(gtin) = 14 AND gtin NOT GLOB '*[^0-9]*'))`;
/** Added with the psychotropics register: the controlled table a product is listed in. */
const CONTROLLED_COLUMN = `ALTER TABLE catalogue_product ADD COLUMN controlled TEXT CHECK (controlled IS NULL OR length(controlled) BETWEEN 1 AND 8)`;
/** One GTIN names one pack: a scan finds one product. */
const GTIN_INDEX = `CREATE UNIQUE INDEX IF NOT EXISTS catalogue_product_gtin ON catalogue_product (gtin) WHERE gtin IS NOT NULL`;

interface Row {
  code: string;
  dci: string;
  brand: string;
  form: string;
  strength: string;
  unit_price: number;
  reference_price: number | null;
  reimbursable: number;
  prior_approval: number;
  gtin: string | null;
  controlled: string | null;
}

function toProduct(r: Row): Product {
  return {
    code: r.code,
    dci: r.dci,
    brand: r.brand,
    form: r.form,
    strength: r.strength,
    unitPrice: r.unit_price,
    referencePrice: r.reference_price,
    reimbursable: r.reimbursable === 1,
    priorApproval: r.prior_approval === 1,
    ...(r.gtin !== null ? { gtin: r.gtin } : {}),
    ...(r.controlled !== null ? { controlled: r.controlled } : {}),
  };
}

/** A GTIN the import would give a product already belongs to another one (not in the same file). */
export class DuplicateGtinError extends BillingError {
  constructor(gtin: string, code: string, holder: string) {
    super('duplicate-gtin', `gtin: ${gtin} (${code}) is already the GTIN of ${holder}`, 'gtin');
  }
}

/**
 * The drug catalogue (nomenclature with reference tariffs) in SQLite. A STRICT table with CHECKs,
 * so even a write that bypasses the CSV validation cannot store a fractional or negative price.
 */
export class CatalogueStore {
  /** @internal The SQLite connection. */
  readonly db: Db;
  private readonly getStmt: Statement<[string], Row>;
  private readonly existsStmt: Statement<[string], { one: number }>;
  private readonly upserts = new Map<string, Statement<Record<string, unknown>>>();
  private readonly byGtinStmt: Statement<[string], Row>;
  private readonly clearGtinStmt: Statement<[string]>;

  /** @internal A store on an open connection; use CatalogueStore.open. */
  constructor(db: Db) {
    this.db = db;
    db.exec(SCHEMA);
    const columns = db.prepare('PRAGMA table_info(catalogue_product)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'gtin')) db.exec(GTIN_COLUMN);
    if (!columns.some((c) => c.name === 'controlled')) db.exec(CONTROLLED_COLUMN);
    db.exec(GTIN_INDEX);
    this.getStmt = db.prepare<[string], Row>('SELECT * FROM catalogue_product WHERE code = ?');
    this.existsStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM catalogue_product WHERE code = ?');
    this.byGtinStmt = db.prepare<[string], Row>('SELECT * FROM catalogue_product WHERE gtin = ?');
    this.clearGtinStmt = db.prepare<[string]>('UPDATE catalogue_product SET gtin = NULL WHERE code = ?');
  }

  /** The upsert that writes the GTIN and the controlled table, or leaves those stored as they are. */
  private upsert(setGtin: boolean, setControlled: boolean): Statement<Record<string, unknown>> {
    const key = `${setGtin} ${setControlled}`;
    let st = this.upserts.get(key);
    if (!st) {
      st = this.db.prepare<Record<string, unknown>>(
        `INSERT INTO catalogue_product (code, dci, brand, form, strength, unit_price, reference_price, reimbursable, prior_approval, gtin, controlled)
         VALUES (@code, @dci, @brand, @form, @strength, @unitPrice, @referencePrice, @reimbursable, @priorApproval, @gtin, @controlled)
         ON CONFLICT (code) DO UPDATE SET dci = excluded.dci, brand = excluded.brand, form = excluded.form,
           strength = excluded.strength, unit_price = excluded.unit_price, reference_price = excluded.reference_price,
           reimbursable = excluded.reimbursable, prior_approval = excluded.prior_approval${setGtin ? ', gtin = excluded.gtin' : ''}${
             setControlled ? ', controlled = excluded.controlled' : ''
           }`,
      );
      this.upserts.set(key, st);
    }
    return st;
  }

  /** Opens the catalogue in `DATA_DIR/chifa.sqlite`, seeding it from the sample CSV if empty. */
  static open(dataDir: string, options: { seed?: boolean } = {}): CatalogueStore {
    const store = new CatalogueStore(openDatabase(databasePath(dataDir)));
    if (options.seed !== false) store.seedIfEmpty();
    return store;
  }

  /**
   * The codes of the products listed in a controlled table, read from `DATA_DIR/chifa.sqlite`
   * without changing it (no seeding, no migration: for `chifa journal verify`); undefined when
   * there is no catalogue there, or one from before the controlled column.
   */
  static controlledCodes(dataDir: string): ReadonlySet<string> | undefined {
    const file = databasePath(dataDir);
    if (!fs.existsSync(file)) return undefined;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const columns = db.prepare("SELECT name FROM pragma_table_info('catalogue_product')").pluck().all() as string[];
      if (!columns.includes('controlled')) return undefined;
      return new Set(db.prepare('SELECT code FROM catalogue_product WHERE controlled IS NOT NULL').pluck().all() as string[]);
    } finally {
      db.close();
    }
  }

  /** The product with this code, or undefined. */
  get(code: string): Product | undefined {
    const r = this.getStmt.get(code);
    return r ? toProduct(r) : undefined;
  }

  /** The product with this GTIN (14 digits, see Product.gtin). */
  byGtin(gtin: string): Product | undefined {
    const r = this.byGtinStmt.get(gtin);
    return r ? toProduct(r) : undefined;
  }

  /** How many products the catalogue holds. */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM catalogue_product').get() as { n: number }).n;
  }

  /** Every product, ordered by code. */
  list(): Product[] {
    return (this.db.prepare('SELECT * FROM catalogue_product ORDER BY code').all() as Row[]).map(toProduct);
  }

  /**
   * A mark that differs whenever the products may have changed since it was taken, for callers
   * that keep a copy of `list()`: SQLite's data_version changes when another connection commits,
   * total_changes() when this one does.
   */
  changeMark(): string {
    const n = (this.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    return `${String(this.db.pragma('data_version', { simple: true }))}/${n}`;
  }

  /**
   * Inserts or updates products in one transaction (all or nothing). `setGtin` (default true):
   * write each product's GTIN (none when absent); false leaves the GTINs stored as they are (a file
   * without a GTIN column). `setControlled` (default true) does the same for the controlled table. GTINs may move between the products written together; a GTIN that
   * still belongs to another product throws DuplicateGtinError and nothing is written.
   */
  upsertMany(
    products: readonly Product[],
    options: { setGtin?: boolean; setControlled?: boolean } = {},
  ): { inserted: number; updated: number } {
    const setGtin = options.setGtin !== false;
    const stmt = this.upsert(setGtin, options.setControlled !== false);
    const run = this.db.transaction((items: readonly Product[]) => {
      let inserted = 0;
      let updated = 0;
      // The unique index is checked row by row: free the GTINs of the products written here
      // first, so two of them may swap theirs.
      if (setGtin) for (const p of items) this.clearGtinStmt.run(p.code);
      for (const p of items) {
        if (this.existsStmt.get(p.code)) updated++;
        else inserted++;
        const gtin = p.gtin ?? null;
        if (gtin !== null && setGtin) {
          const holder = this.byGtinStmt.get(gtin);
          if (holder && holder.code !== p.code) throw new DuplicateGtinError(gtin, p.code, holder.code);
        }
        stmt.run({
          ...p,
          gtin,
          controlled: p.controlled ?? null,
          reimbursable: p.reimbursable ? 1 : 0,
          priorApproval: p.priorApproval ? 1 : 0,
        });
      }
      return { inserted, updated };
    });
    return run(products);
  }

  /**
   * Fills an empty catalogue from a CSV (default: the shipped sample), so `chifa quote` works with
   * codes out of the box. Returns the number of products added (0 if the catalogue had any).
   */
  seedIfEmpty(csvFile: string = defaultCatalogueCsv()): number {
    if (this.count() > 0) return 0;
    const result = importCatalogue(this, fs.readFileSync(csvFile), { file: csvFile });
    return result.imported;
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
