import { ChifaError } from '../../common/errors';

/**
 * Errors of the counter service. Each has a stable `code`; the HTTP layer maps the class to a
 * status (card state conflicts → 409, PC/SC down → 503, unknown invoice → 404) and the page
 * switches on the code. Messages are for people and never contain a PIN.
 *
 * The names are the counter's own: the SDK's transport and PC/SC layers have their own
 * `CardRemovedError` and `NoCardError` (what a reader reports), which the card ports translate
 * into these (what the counter's session can still do).
 */
export class CounterError extends ChifaError {
  constructor(code: string, message: string, field?: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, field });
  }
}

/** The state of the cards does not allow the operation (no card, card pulled, PIN needed…): HTTP 409. */
export class CardConflictError extends CounterError {}

/** No insured (or professional) card in its reader, or no reader. */
export class CardMissingError extends CardConflictError {
  constructor(what: 'insured' | 'professional' = 'insured') {
    super(
      what === 'insured' ? 'no-card' : 'no-professional-card',
      what === 'insured' ? 'no insured card in the reader' : "the pharmacist's professional card is not in the reader",
    );
  }
}

/**
 * The card the session was opened on is gone: removed, swapped for another, or reset (power
 * lost) since it was opened — its PIN and authentication state went with it.
 */
export class CardGoneError extends CardConflictError {
  constructor(message = 'the card was removed from the reader; insert it again') {
    super('card-removed', message);
  }
}

/** The card's PIN is blocked (no tries left): it must be unblocked with the PUK at the fund. */
export class PinBlockedError extends CardConflictError {
  constructor(which: 'insured' | 'professional' = 'insured') {
    super(
      which === 'insured' ? 'pin-blocked' : 'professional-pin-blocked',
      which === 'insured' ? "the card's PIN is blocked (unblock it with the PUK)" : "the professional card's PIN is blocked",
    );
  }
}

/** The operation needs the holder's PIN first. */
export class PinRequiredError extends CardConflictError {
  constructor(which: 'insured' | 'professional' = 'insured') {
    super(
      which === 'insured' ? 'pin-required' : 'professional-pin-required',
      which === 'insured' ? "the holder's PIN must be verified first" : "the professional card's PIN must be verified first",
    );
  }
}

/** Another checkout or card operation is running; the counter does one at a time. */
export class CardBusyError extends CardConflictError {
  constructor() {
    super('card-busy', 'another card operation is in progress');
  }
}

/** The prices or rights changed between the quote the pharmacist saw and the checkout. */
export class QuoteChangedError extends CardConflictError {
  constructor(detail: string) {
    super('quote-changed', `the amounts changed since the quote (${detail}); check the basket again`, 'expect');
  }
}

/** A card write (checkout) is not in a state that allows the operation (already done, cancelled). */
export class CardWriteStateError extends CardConflictError {
  constructor(message: string) {
    super('card-write-state', message);
  }
}

/** The card cannot be written or read for a reason other than its absence (refused, failed). */
export class CardOperationError extends CardConflictError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
  }
}

/**
 * The card's rights name a category code that no category of the rules in force has: the counter
 * cannot say what the fund pays (it does not guess a rate), so it prices nothing until the rules
 * know the code (a rules file, or the fund's downlink).
 */
export class UnknownCategoryError extends CardConflictError {
  constructor(code: number, ruleVersion: string) {
    super(
      'unknown-category',
      `the card's category code ${code} is not a category of the rules ${ruleVersion}: third-party payment cannot be priced until the rules know it`,
    );
  }
}

/** The PC/SC service (pcscd) is not running or was lost. */
export class CardServiceUnavailableError extends CounterError {
  constructor(message = 'the PC/SC service (pcscd) is not available') {
    super('pcsc-unavailable', message);
  }
}

/** The invoice number is not in the journal. */
export class UnknownInvoiceError extends CounterError {
  constructor(number: number) {
    super('unknown-invoice', `no invoice number ${number}`, 'number');
  }
}

/** No batch job with this id (never started, or forgotten since). */
export class UnknownBatchJobError extends CounterError {
  constructor(id: string) {
    super('unknown-job', `no batch job ${id.slice(0, 40)}`, 'id');
  }
}

/** A checkout's requestId was already used for another basket: replaying it would answer with the wrong invoice. */
export class RequestIdReusedError extends CounterError {
  constructor(invoiceNumber: number) {
    super(
      'request-id-reused',
      `this requestId was already used for invoice ${invoiceNumber} with another basket; use a new requestId for a new checkout`,
      'requestId',
    );
  }
}

/** The invoice journal is not available (e.g. the sync module is not installed). */
export class JournalUnavailableError extends CounterError {
  constructor(message = 'the invoice journal is not available') {
    super('journal-unavailable', message);
  }
}

/** The stable code and message an outcome reports for `err` (`card-error` for one without a code). */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CounterError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'card-error', message: typeof e?.message === 'string' ? e.message : String(err) };
}
