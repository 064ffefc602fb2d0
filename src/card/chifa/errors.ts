import { ChifaError } from '../../common/errors';

/**
 * Errors of the Chifa card application. Status words the commands expect come back as result
 * values (wrong PIN, blocked); these classes are for what a caller cannot go on from.
 */

/** Where in the card a bad value sits: file, record number (record files), field, byte offset. */
export interface DataLocation {
  /** File name from the layout, e.g. "EF.DISPENSATIONS". */
  readonly file: string;
  /** Record number as the card numbers it (1 = newest in a cyclic file). */
  readonly record?: number;
  /** Field name, e.g. "quantity" or "lines[2].productCode". */
  readonly field?: string;
  /** Byte offset within the record or file, when known. */
  readonly offset?: number;
}

export function describeLocation(at: DataLocation): string {
  let s = at.file;
  if (at.record !== undefined) s += ` record ${at.record}`;
  if (at.field !== undefined) s += ` field ${at.field}`;
  if (at.offset !== undefined) s += ` (byte ${at.offset})`;
  return s;
}

/** The card holds bytes that do not decode: names the file, record and field. */
export class CardDataError extends ChifaError {
  readonly file: string;
  readonly record: number | undefined;
  readonly offset: number | undefined;
  constructor(at: DataLocation, message: string, options?: { cause?: unknown }) {
    super('bad-card-data', `${describeLocation(at)}: ${message}`, { ...options, field: at.field });
    this.file = at.file;
    this.record = at.record;
    this.offset = at.offset;
  }
}

/** A PIN or PUK string of the wrong shape. The message never contains the value. */
export class PinFormatError extends ChifaError {
  constructor(what: 'PIN' | 'PUK' | 'new PIN', digits: number) {
    super('invalid-pin-format', `a ${what} is exactly ${digits} digits`);
  }
}

/** The card is not a Chifa card of the expected kind (application not found). */
export class NotAChifaCardError extends ChifaError {
  constructor(kind: 'insured' | 'professional') {
    super('not-a-chifa-card', `this card has no Chifa ${kind} application`);
  }
}

/** An operation needs the PIN (or professional authentication) first. */
export class AccessDeniedError extends ChifaError {
  constructor(code: 'pin-required' | 'professional-auth-required', message: string) {
    super(code, message);
  }
}

/** The card answered in a way the protocol does not allow here (not a bad record: a bad card). */
export class CardProtocolError extends ChifaError {
  constructor(message: string) {
    super('card-protocol', message);
  }
}

/** Data to write does not fit the card's layout (too long, out of range); nothing was written. */
export class RecordInputError extends ChifaError {
  declare readonly field: string;
  constructor(field: string, message: string) {
    super('invalid-record', `${field}: ${message}`, { field });
  }
}

/**
 * The link failed (card pulled, reader gone) in the middle of appending records. `written` records
 * were acknowledged by the card; the one after them may or may not have been written (each APPEND
 * RECORD is atomic on the card, but its answer was lost). Read the card again before retrying.
 */
export class AppendInterruptedError extends ChifaError {
  readonly written: number;
  readonly total: number;
  constructor(written: number, total: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'append-interrupted',
      `appending stopped after ${written} of ${total} records (${reason}); record ${written + 1} may or may not be on the card — read the card again before retrying`,
      { cause },
    );
    this.written = written;
    this.total = total;
  }
}
