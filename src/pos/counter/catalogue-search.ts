import type { Product } from '../../billing/catalogue/product';
import type { CatalogueStore } from '../../billing/catalogue/store';
import { describeProduct } from '../../billing/quote';
import { displayGtin } from '../../common/gs1';

/**
 * Catalogue search for the basket editor: by code prefix, or by a prefix of a word of the DCI or
 * of the brand, case-insensitively and ignoring accents ("parac" finds Paracétamol). The sample
 * nomenclature is a few hundred rows and a national one a few thousand, so the products are
 * scanned in memory from a list refreshed when the table changes (an import), not per keystroke.
 */

/** A product found, with the one-line description the basket shows. */
export interface SearchHit extends Product {
  description: string;
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
  private index: Indexed[] = [];
  private version = '';

  constructor(private readonly store: Pick<CatalogueStore, 'list' | 'changeMark'>) {}

  private refresh(): void {
    const v = this.store.changeMark();
    if (v === this.version) return;
    this.index = this.store.list().map((product) => {
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
