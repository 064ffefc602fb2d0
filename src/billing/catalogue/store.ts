import * as fs from 'node:fs';
import type { Statement } from 'better-sqlite3';
import { openDatabase, type Db } from '../../common/db';
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
  prior_approval  INTEGER NOT NULL CHECK (prior_approval IN (0, 1))
) STRICT;
`;

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
  };
}

/**
 * The drug catalogue (nomenclature with reference tariffs) in SQLite. A STRICT table with CHECKs,
 * so even a write that bypasses the CSV validation cannot store a fractional or negative price.
 */
export class CatalogueStore {
  readonly db: Db;
  private readonly getStmt: Statement<[string], Row>;
  private readonly existsStmt: Statement<[string], { one: number }>;
  private readonly upsertStmt: Statement<Record<string, unknown>>;

  constructor(db: Db) {
    this.db = db;
    db.exec(SCHEMA);
    this.getStmt = db.prepare<[string], Row>('SELECT * FROM catalogue_product WHERE code = ?');
    this.existsStmt = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM catalogue_product WHERE code = ?');
    this.upsertStmt = db.prepare(
      `INSERT INTO catalogue_product (code, dci, brand, form, strength, unit_price, reference_price, reimbursable, prior_approval)
       VALUES (@code, @dci, @brand, @form, @strength, @unitPrice, @referencePrice, @reimbursable, @priorApproval)
       ON CONFLICT (code) DO UPDATE SET dci = excluded.dci, brand = excluded.brand, form = excluded.form,
         strength = excluded.strength, unit_price = excluded.unit_price, reference_price = excluded.reference_price,
         reimbursable = excluded.reimbursable, prior_approval = excluded.prior_approval`,
    );
  }

  /** Opens the catalogue in `DATA_DIR/chifa.sqlite`, seeding it from the sample CSV if empty. */
  static open(dataDir: string, options: { seed?: boolean } = {}): CatalogueStore {
    const store = new CatalogueStore(openDatabase(databasePath(dataDir)));
    if (options.seed !== false) store.seedIfEmpty();
    return store;
  }

  get(code: string): Product | undefined {
    const r = this.getStmt.get(code);
    return r ? toProduct(r) : undefined;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM catalogue_product').get() as { n: number }).n;
  }

  /** Every product, ordered by code. */
  list(): Product[] {
    return (this.db.prepare('SELECT * FROM catalogue_product ORDER BY code').all() as Row[]).map(toProduct);
  }

  /** Inserts or updates products in one transaction (all or nothing). */
  upsertMany(products: readonly Product[]): { inserted: number; updated: number } {
    const run = this.db.transaction((items: readonly Product[]) => {
      let inserted = 0;
      let updated = 0;
      for (const p of items) {
        if (this.existsStmt.get(p.code)) updated++;
        else inserted++;
        this.upsertStmt.run({
          ...p,
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

  close(): void {
    this.db.close();
  }
}
