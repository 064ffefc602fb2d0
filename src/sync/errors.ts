import { ChifaError } from '../common/errors';

/**
 * Errors thrown on purpose by the sync layer (journal, batches, uploader, fund server). `code` is
 * stable and machine-readable; `field` names the offending field or offset when bad input caused
 * it (`payload.lines[2].fund`, `invoices[17]`, `offset 12`).
 */
export class SyncError extends ChifaError {
  constructor(code: string, message: string, field?: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, field });
  }
}

/** A value cannot be written as RFC 8785 canonical JSON (NaN, a lone surrogate, a Date…). */
export class CanonicalJsonError extends SyncError {
  /** The message without the field prefix. */
  readonly detail: string;
  constructor(field: string, detail: string) {
    super('non-canonical-json', `${field || '(root)'}: ${detail}`, field);
    this.detail = detail;
  }
}

/** A compact JWS that does not parse, uses another algorithm, or whose signature is wrong. */
export class JwsError extends SyncError {
  constructor(code: string, message: string, field?: string) {
    super(code, message, field);
  }
}

/** A certificate that is not a fund-issued P-256 pharmacy certificate. */
export class CertificateError extends SyncError {
  constructor(code: string, message: string) {
    super(code, message, 'certificate');
  }
}

/** The local journal refused an operation (bad draft, immutability, a chain it cannot extend). */
export class JournalError extends SyncError {}

/** The fund answered with an error that retrying will not fix (a rejected batch, a chain gap…). */
export class FundError extends SyncError {
  readonly status: number;
  readonly body: unknown;
  constructor(code: string, message: string, status: number, body: unknown) {
    super(code, message);
    this.status = status;
    this.body = body;
  }
}
