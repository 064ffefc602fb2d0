import type { Centimes } from '../money';

/** One catalogue entry (a presentation of a drug), prices in centimes of dinar. */
export interface Product {
  /** Our nomenclature code, unique (the sample data uses `<ATC>-<nn>`). */
  code: string;
  /** International non-proprietary name (DCI). */
  dci: string;
  brand: string;
  /** Pharmaceutical form and pack, e.g. `comprimé, boîte de 16`. */
  form: string;
  /** Strength, e.g. `500 mg`; may be empty (dressings, devices). */
  strength: string;
  /** Sale price of one pack. */
  unitPrice: Centimes;
  /** Reference tariff of one pack, or null when the product has none. */
  referencePrice: Centimes | null;
  reimbursable: boolean;
  /** True when the fund must approve the product before paying for it. */
  priorApproval: boolean;
  /**
   * The GS1 GTIN of the pack, as 14 digits (a GTIN-13 printed under an EAN-13 is padded with one
   * leading zero, as a GS1 DataMatrix carries it in AI 01); absent when the catalogue has none.
   */
  gtin?: string;
  /**
   * The controlled table the product is listed in (psychotropic and narcotic substances, executive
   * decree 19-379 as amended by 21-196: dispensed only on a serial-numbered counterfoil
   * prescription, and entered in the register); absent for every other product. A short label as
   * the catalogue gives it (`I`, `II`, …).
   */
  controlled?: string;
}

/** The CSV columns, in the order the sample file and the exporter use. */
export const CATALOGUE_COLUMNS = [
  'code',
  'dci',
  'brand',
  'form',
  'strength',
  'unitPrice',
  'referencePrice',
  'reimbursable',
  'priorApproval',
] as const;
/**
 * Columns a file may have or not: without `gtin` (or `controlled`), an import leaves the GTINs
 * (or controlled tables) the store holds as they are.
 */
export const OPTIONAL_CATALOGUE_COLUMNS = ['gtin', 'controlled'] as const;
export type CatalogueColumn = (typeof CATALOGUE_COLUMNS)[number] | (typeof OPTIONAL_CATALOGUE_COLUMNS)[number];
