import { ChifaError } from '../../common/errors';
import {
  CardServiceUnavailableError,
  CardConflictError,
  JournalUnavailableError,
  UnknownBatchJobError,
  UnknownInvoiceError,
} from '../counter/errors';
import { UnknownProductError } from '../../billing/errors';

/**
 * Every API error is `{ error: { code, message, field? } }`. The status says what kind of problem
 * it is: 400 bad input (naming the field), 401 no or bad token, 404 unknown product, invoice or batch job,
 * 409 the cards are not in a state that allows it (no card, card removed, PIN blocked…), a
 * requestId already used for another basket, or card or catalogue data that cannot be signed,
 * 413 body too large, 415 a body that is not uncompressed UTF-8 JSON, 503 the PC/SC service or
 * the journal is down, 500 our bug (details only in the log, never in the answer): a client's
 * mistake is never a 500.
 */

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export class HttpError extends ChifaError {
  readonly status: number;
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message, { field });
    this.status = status;
  }
}

const BAD_INPUT = new Set(['invalid-input', 'malformed-json', 'amount-overflow', 'expired-lot', 'not-substitutable']);
/**
 * Codes from the sync layer that mean the professional card or journal state blocks the operation
 * (the card's certificate is one the fund would refuse: another pharmacy's, untrusted, expired).
 */
const SYNC_CONFLICT = new Set([
  'cert-wrong-pharmacy',
  'cert-untrusted',
  'cert-expired',
  'no-signer',
  'bad-reference',
  'already-corrected',
  'not-rejected',
  'batch-open',
  'payment-too-large',
]);
/** The journal has no such batch or invoice (the back office's routes). */
const SYNC_NOT_FOUND = new Set(['unknown-batch', 'unknown-invoice']);
/**
 * Conflicts that name a field: a requestId already used for another basket; an invoice the
 * card's or the catalogue's data would make unsignable (the request itself was validated first,
 * with the same free-text rule, so what is left is data the pharmacist did not type).
 */
const FIELD_CONFLICT = new Set(['request-id-reused', 'invalid-invoice']);

export function toHttpError(err: unknown): { status: number; body: ApiErrorBody; internal: boolean } {
  const body = (code: string, message: string, field?: string): ApiErrorBody => ({
    error: field !== undefined && field !== '' ? { code, message, field } : { code, message },
  });
  if (err instanceof HttpError) return { status: err.status, body: body(err.code, err.message, err.field), internal: false };
  if (err instanceof UnknownProductError || err instanceof UnknownInvoiceError || err instanceof UnknownBatchJobError)
    return { status: 404, body: body(err.code, err.message, err.field), internal: false };
  if (err instanceof CardServiceUnavailableError || err instanceof JournalUnavailableError)
    return { status: 503, body: body(err.code, err.message), internal: false };
  if (err instanceof CardConflictError) return { status: 409, body: body(err.code, err.message, err.field), internal: false };
  if (err instanceof ChifaError) {
    if (BAD_INPUT.has(err.code)) return { status: 400, body: body(err.code, err.message, err.field), internal: false };
    if (err.code === 'no-rules-in-force')
      return {
        status: 503,
        body: body(err.code, `the counter has no third-party-payment rules for today: ${err.message}`),
        internal: false,
      };
  }
  if (err instanceof ChifaError) {
    if (SYNC_CONFLICT.has(err.code)) return { status: 409, body: body(err.code, err.message, err.field), internal: false };
    if (SYNC_NOT_FOUND.has(err.code)) return { status: 404, body: body(err.code, err.message, err.field), internal: false };
    if (FIELD_CONFLICT.has(err.code)) return { status: 409, body: body(err.code, err.message, err.field), internal: false };
    if (err.code === 'pcsc-unavailable' || err.code === 'journal-closed')
      return { status: 503, body: body(err.code, err.message), internal: false };
  }
  // body-parser (express.json) errors carry `type` and `status`.
  const e = err as { type?: unknown; status?: unknown };
  if (e && typeof e === 'object' && typeof e.type === 'string') {
    if (e.type === 'entity.too.large')
      return { status: 413, body: body('body-too-large', 'the request body is larger than the counter accepts', 'body'), internal: false };
    if (e.type === 'entity.parse.failed')
      return { status: 400, body: body('malformed-json', 'the request body is not valid JSON', 'body'), internal: false };
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return { status: 415, body: body('unsupported-encoding', 'the request body must be UTF-8 JSON'), internal: false };
  }
  // Other errors of express and its body reader that blame the request (http-errors with a 4xx
  // status: an aborted upload, a body shorter than its Content-Length…). Never a ChifaError:
  // those carry their own meaning (a FundError's status is the fund's).
  if (e && typeof e === 'object' && !(err instanceof ChifaError) && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return { status: e.status, body: body('bad-request', 'the request could not be read'), internal: false };
  return { status: 500, body: body('internal', 'internal error; see the counter log'), internal: true };
}
