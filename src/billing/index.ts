/**
 * The third-party-payment (tiers payant) engine: what the fund pays and what the patient pays,
 * line by line, in integer centimes, under the rules in force on the dispensing date.
 *
 * ```ts
 * import { CatalogueStore, loadRules, quote, parseQuoteRequest } from 'chifa-terminal/billing';
 *
 * const catalogue = CatalogueStore.open('./var'); // SQLite, seeded with the sample catalogue
 * const q = quote(parseQuoteRequest(request), loadRules(), (code) => catalogue.get(code));
 * q.fund; q.patient; q.thirdPartyPayment; q.lines;
 * ```
 *
 * The rules shipped in `fixtures/rules/` are the package's defaults (see docs/split.md).
 *
 * @packageDocumentation
 * @module chifa-terminal/billing
 */

export { InvalidInputError, type FieldIssue } from '../common/errors';
export { formatDa, formatRate, type Centimes, type RateBp } from './money';
export type { Category } from './category';
export type { IsoDate } from '../common/calendar-date';
export {
  computeSplit,
  REASONS,
  type SplitLine,
  type Basket,
  type CoverageRights,
  type SplitContext,
  type DocumentReason,
  type LineReason,
  type LineSplit,
  type Split,
  type ItemSplit,
  type PastPrescription,
  type PrescribedQuantity,
} from './split';
export { quote, type Quote, type QuoteLineResult, type QuoteItem, type ProductLookup } from './quote';
export { parseQuoteRequest, type QuoteRequest, type QuoteLine } from './quote-request';
export { formatQuote } from './quote-format';
export { loadRules, type RuleBook } from './rules/load';
export type { RuleVersion, CategoryRule, Label } from './rules/schema';
export { CatalogueStore } from './catalogue/store';
export { importCatalogue, type ImportResult, type ImportOptions } from './catalogue/import';
export { CatalogueEncodingError, type CatalogueEncoding } from './catalogue/encoding';
export type { Product } from './catalogue/product';
export {
  BillingError,
  AmountOverflowError,
  UnknownProductError,
  NoRulesInForceError,
  InvalidRulesError,
  OverlappingRulesError,
  CatalogueImportError,
  type RowProblem,
} from './errors';
