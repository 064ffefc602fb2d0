import { ChifaError } from '../errors';

/**
 * Errors thrown on purpose by the point-of-sale engine. Every one carries a stable `code` (the
 * CLI prints it, the HTTP API will switch on it) and, where bad input caused it, the `field` that
 * was wrong, written as a path: `lines[2].quantity`, `date`, `rates.ordinary`.
 */
export class PosError extends ChifaError {
  readonly field: string | undefined;
  constructor(code: string, message: string, field?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.field = field;
  }
}

/** One problem found while validating some input: where, and what. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * A request or value that does not have the expected shape (negative or fractional quantity,
 * non-integer amount, missing field…). `field` names the first problem; `issues` lists them all.
 */
export class InvalidInputError extends PosError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[], what = 'input') {
    const first = issues[0] ?? { field: '', message: 'invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('invalid-input', `invalid ${what}: ${first.field || '(root)'}: ${first.message}${more}`, first.field);
    this.issues = issues;
  }
}

/** The input is not JSON at all. */
export class MalformedJsonError extends PosError {
  constructor(detail: string, source = 'input') {
    super('malformed-json', `${source} is not valid JSON: ${detail}`, '');
  }
}

/** An amount does not fit in the range where integer arithmetic is exact (2^53 − 1 centimes). */
export class AmountOverflowError extends PosError {
  constructor(field: string) {
    super('amount-overflow', `${field}: amount exceeds the exact integer range`, field);
  }
}

/** A line names a product code the catalogue does not hold. */
export class UnknownProductError extends PosError {
  readonly productCode: string;
  constructor(productCode: string, field: string) {
    super('unknown-product', `${field}: unknown product code ${JSON.stringify(productCode)}`, field);
    this.productCode = productCode;
  }
}

/** No rule version is in force on the requested date. */
export class NoRulesInForceError extends PosError {
  readonly date: string;
  constructor(date: string, field = 'date', detail = '') {
    super('no-rules-in-force', `${field}: no third-party-payment rules in force on ${date}${detail}`, field);
    this.date = date;
  }
}

/** A rules file is unreadable, not JSON, or does not match the schema. `field` is `file: path`. */
export class InvalidRulesError extends PosError {
  readonly file: string;
  constructor(file: string, field: string, message: string) {
    super('invalid-rules', `${file}: ${field ? field + ': ' : ''}${message}`, field);
    this.file = file;
  }
}

/** Two rule versions claim the same dates or the same version name. */
export class OverlappingRulesError extends PosError {
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
export class CatalogueImportError extends PosError {
  readonly problems: readonly RowProblem[];
  constructor(file: string, problems: readonly RowProblem[]) {
    const first = problems[0];
    const where = first ? `line ${first.line}, column ${first.column}${first.columnName ? ` (${first.columnName})` : ''}: ${first.message}` : '';
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
