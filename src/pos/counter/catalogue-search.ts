import type { Db } from '../../common/db';
import type { Product } from '../../billing/catalogue/product';
import { describeProduct } from '../../billing/quote';
import { displayGtin } from '../../common/gs1';

/**
 * Catalogue search for the basket editor: by code prefix, or by a prefix of a word of the DCI or
 * of the brand, case-insensitively and ignoring accents ("parac" finds Paracétamol). The sample
 * nomenclature is a few hundred rows and a national one a few thousand, so the products are
 * scanned in memory from a list refreshed when the table changes (an import), not per keystroke.
 */

export interface SearchHit {
  code: string;
  dci: string;
  brand: string;
  form: string;
  strength: string;
  description: string;
  unitPrice: number;
  referencePrice: number | null;
  reimbursable: boolean;
  priorApproval: boolean;
  gtin?: string;
}

interface Indexed {
  product: Product;
  code: string;
  words: string[];
  /** The GTIN as printed under the barcode (13 digits when it has a leading zero), or ''. */
  gtin: string;
}

function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

export class CatalogueSearch {
  private readonly db: Db;
  private index: Indexed[] = [];
  private version = '';

  constructor(db: Db) {
    this.db = db;
  }

  private refresh(): void {
    // data_version changes when another connection commits; total_changes when this one does.
    const v = `${String(this.db.pragma('data_version', { simple: true }))}/${(this.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n}`;
    if (v === this.version) return;
    const rows = this.db.prepare('SELECT * FROM catalogue_product ORDER BY code').all() as Record<string, unknown>[];
    this.index = rows.map((r) => {
      const product: Product = {
        code: r.code as string,
        dci: r.dci as string,
        brand: r.brand as string,
        form: r.form as string,
        strength: r.strength as string,
        unitPrice: r.unit_price as number,
        referencePrice: (r.reference_price as number | null) ?? null,
        reimbursable: r.reimbursable === 1,
        priorApproval: r.prior_approval === 1,
        ...(typeof r.gtin === 'string' ? { gtin: r.gtin } : {}),
      };
      const words = [...fold(product.dci).split(/[^a-z0-9]+/), ...fold(product.brand).split(/[^a-z0-9]+/)].filter((w) => w !== '');
      return { product, code: fold(product.code), words, gtin: product.gtin !== undefined ? displayGtin(product.gtin) : '' };
    });
    this.version = v;
  }

  /**
   * Products whose code starts with `query`, then those with a DCI or brand word starting with
   * each word of `query` (all words must match), and for 6 digits or more those whose GTIN starts
   * with them (the digits printed under a barcode the scanner cannot read). At most `limit`.
   */
  search(query: string, limit = 20): SearchHit[] {
    this.refresh();
    const q = fold(query).trim();
    if (q === '') return [];
    const terms = q.split(/[^a-z0-9]+/).filter((t) => t !== '');
    const digits = /^\d{6,14}$/.test(q) ? q : undefined;
    const byCode: Product[] = [];
    const byName: Product[] = [];
    for (const e of this.index) {
      if (
        e.code.startsWith(q) ||
        (digits !== undefined && e.gtin !== '' && (e.gtin.startsWith(digits) || e.product.gtin!.startsWith(digits)))
      )
        byCode.push(e.product);
      else if (terms.length > 0 && terms.every((t) => e.words.some((w) => w.startsWith(t)))) byName.push(e.product);
      if (byCode.length >= limit) break;
    }
    return [...byCode, ...byName].slice(0, limit).map(hit);
  }
}

export function hit(p: Product): SearchHit {
  return { ...p, description: describeProduct(p) };
}
