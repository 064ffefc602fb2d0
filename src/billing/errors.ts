import { quoteClipped } from '../common/display';
import { ChifaError, InvalidInputError } from '../common/errors';

/**
 * Errors thrown on purpose by the billing engine (split, rules, catalogue). Every one carries a stable `code` (the
 * CLI prints it, the HTTP API will switch on it) and, where bad input caused it, the `field` that
 * was wrong, written as a path: `lines[2].quantity`, `date`, `rates.ordinary`.
 */
export class BillingError extends ChifaError {
  constructor(code: string, message: string, field?: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, field });
  }
}

/** An amount does not fit in the range where integer arithmetic is exact (2^53 − 1 centimes). */
export class AmountOverflowError extends BillingError {
  constructor(field: string) {
    super('amount-overflow', `${field}: amount exceeds the exact integer range`, field);
  }
}

/** A line names a product code the catalogue does not hold (shown cut: it may be anything a client sent). */
export class UnknownProductError extends BillingError {
  readonly productCode: string;
  constructor(productCode: string, field: string) {
    super('unknown-product', `${field}: unknown product code ${quoteClipped(productCode)}`, field);
    this.productCode = productCode;
  }
}

/** A line substitutes a product that is not an equivalent of the one prescribed (same DCI, form and strength). */
export class NotSubstitutableError extends BillingError {
  constructor(field: string, message: string) {
    super('not-substitutable', `${field}: ${message}`, field);
  }
}

/** No rule version is in force on the requested date. */
export class NoRulesInForceError extends BillingError {
  readonly date: string;
  constructor(date: string, field = 'date', detail = '') {
    super('no-rules-in-force', `${field}: no third-party-payment rules in force on ${date}${detail}`, field);
    this.date = date;
  }
}

/** A rules file is unreadable, not JSON, or does not match the schema. `field` is `file: path`. */
export class InvalidRulesError extends BillingError {
  readonly file: string;
  constructor(file: string, field: string, message: string) {
    super('invalid-rules', `${file}: ${field ? field + ': ' : ''}${message}`, field);
    this.file = file;
  }
}

/** Two rule versions claim the same dates or the same version name. */
export class OverlappingRulesError extends BillingError {
  readonly files: readonly string[];
  constructor(files: readonly string[], field: string, message: string) {
    super('overlapping-rules', `${files.join(' and ')}: ${message}`, field);
    this.files = files;
  }
}

/** One bad CSV row or cell: 1-based physical line and column, and the column's name if known. */
export interface RowProblem {
  line: number;
  column: number;
  columnName?: string;
  message: string;
}

/** A catalogue import found bad rows (and, without `--skip-bad`, imported nothing). */
export class CatalogueImportError extends BillingError {
  readonly problems: readonly RowProblem[];
  constructor(file: string, problems: readonly RowProblem[]) {
    const first = problems[0];
    const where = first
      ? `line ${first.line}, column ${first.column}${first.columnName ? ` (${first.columnName})` : ''}: ${first.message}`
      : '';
    const rows = new Set(problems.map((p) => p.line)).size;
    const count = `${rows} bad row${rows === 1 ? '' : 's'}` + (problems.length > rows ? ` (${problems.length} problems)` : '');
    super(
      'invalid-catalogue',
      `${file}: ${count}, nothing imported; first: ${where}`,
      first ? `line ${first.line}, column ${first.column}` : undefined,
    );
    this.problems = problems;
  }
}

/** `line 4, column 6 (unitPrice): …` — how a bad CSV cell is shown to people. */
export function formatRowProblem(p: RowProblem): string {
  return `line ${p.line}, column ${p.column}${p.columnName ? ` (${p.columnName})` : ''}: ${p.message}`;
}

/** The detail lines a command-line tool prints under an error: one per field issue or bad row. */
export function errorDetails(err: unknown): string[] {
  if (err instanceof InvalidInputError && err.issues.length > 1) {
    return err.issues.map((i) => `${i.field || '(root)'}: ${i.message}`);
  }
  if (err instanceof CatalogueImportError) return err.problems.map(formatRowProblem);
  return [];
}
