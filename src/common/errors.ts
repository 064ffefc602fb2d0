/**
 * The root of every error this project throws on purpose. `code` is a stable, machine-readable
 * identifier (callers and the HTTP API switch on it); `message` is for people; `field` names the
 * offending field or offset when bad input caused it, as a path (`lines[2].quantity`, `date`,
 * `offset 12`).
 */
export class ChifaError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; field?: string | undefined }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.field = options?.field;
  }
}

/** One problem found while validating some input: where, and what. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** The first of `issues`, its message saying how many more there are: for an error that names one field. */
export function firstIssueOf(issues: readonly FieldIssue[]): FieldIssue {
  const first = issues[0] ?? { field: '', message: 'invalid' };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return { field: first.field, message: first.message + more };
}

/**
 * A request or value that does not have the expected shape (negative or fractional quantity,
 * non-integer amount, missing field…). `field` names the first problem; `issues` lists them all.
 */
export class InvalidInputError extends ChifaError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[], what = 'input') {
    const first = firstIssueOf(issues);
    super('invalid-input', `invalid ${what}: ${first.field || '(root)'}: ${first.message}`, { field: first.field });
    this.issues = issues;
  }
}

/** The input is not JSON at all. */
export class MalformedJsonError extends ChifaError {
  constructor(detail: string, source = 'input') {
    super('malformed-json', `${source} is not valid JSON: ${detail}`, { field: '' });
  }
}
