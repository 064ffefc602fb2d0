import { CardRemovedError, TransportError, TransportTimeoutError } from '../transport/transport';

/**
 * Typed PC/SC errors. Every failure a PC/SC call can report is turned into one of these classes,
 * so callers switch on `code` (or `instanceof`) and never parse "SCardTransmit error: ...
 * (0x80100069)" strings. The card-removed and timeout cases reuse the transport's own classes:
 * the Chifa layer handles a removed card the same way whatever the link.
 */

/** PC/SC return codes we act on (pcsclite.h / winscard.h; same values on Windows and macOS). */
export const SCARD = {
  E_CANCELLED: 0x80100002,
  E_INVALID_HANDLE: 0x80100003,
  E_UNKNOWN_READER: 0x80100009,
  E_TIMEOUT: 0x8010000a,
  E_SHARING_VIOLATION: 0x8010000b,
  E_NO_SMARTCARD: 0x8010000c,
  E_PROTO_MISMATCH: 0x8010000f,
  E_NOT_READY: 0x80100010,
  F_COMM_ERROR: 0x80100013,
  E_NOT_TRANSACTED: 0x80100016,
  E_READER_UNAVAILABLE: 0x80100017,
  E_NO_SERVICE: 0x8010001d,
  E_SERVICE_STOPPED: 0x8010001e,
  E_NO_READERS_AVAILABLE: 0x8010002e,
  E_COMM_DATA_LOST: 0x8010002f,
  W_UNSUPPORTED_CARD: 0x80100065,
  W_UNRESPONSIVE_CARD: 0x80100066,
  W_UNPOWERED_CARD: 0x80100067,
  W_RESET_CARD: 0x80100068,
  W_REMOVED_CARD: 0x80100069,
} as const;

/** The `code` of a PcscError. */
export type PcscErrorCode =
  | 'pcsc-unavailable'
  | 'no-service'
  | 'reader-unavailable'
  | 'no-card'
  | 'card-unresponsive'
  | 'card-reset'
  | 'sharing-violation'
  | 'protocol-mismatch'
  | 'pcsc-error';

/** A PC/SC failure; `scardCode` is the PC/SC return code when one is known. */
export class PcscError extends TransportError {
  readonly scardCode: number | undefined;
  readonly reader: string | undefined;
  constructor(code: PcscErrorCode | string, message: string, options: { scardCode?: number; reader?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.scardCode = options.scardCode;
    this.reader = options.reader;
  }
}

/** What {@link PcscUnavailableError} says: the two steps that bring the optional native module back. */
export const PCSC_UNAVAILABLE_MESSAGE =
  'PC/SC support needs the optional native module pcsclite: apt-get install libpcsclite-dev pcscd, then npm rebuild pcsclite, or npm install pcsclite@1.0.1 if it is not in node_modules';

/** The native binding is not installed or cannot load (no libpcsclite on this machine). */
export class PcscUnavailableError extends PcscError {
  constructor(cause?: unknown) {
    // Not `instanceof Error`: a loader's error may come from another realm (jest's module registry).
    const message = typeof cause === 'object' && cause !== null ? (cause as { message?: unknown }).message : undefined;
    const detail = typeof message === 'string' ? ` (${message.split('\n')[0]})` : '';
    super('pcsc-unavailable', `${PCSC_UNAVAILABLE_MESSAGE}${detail}`, { cause });
  }
}

/** pcscd is not running (SCARD_E_NO_SERVICE), or stopped under us. */
export class PcscNoServiceError extends PcscError {
  constructor(scardCode: number = SCARD.E_NO_SERVICE, cause?: unknown) {
    super(
      'no-service',
      scardCode === SCARD.E_NO_SERVICE
        ? 'the PC/SC service (pcscd) is not running'
        : 'the PC/SC service (pcscd) stopped or cannot be reached',
      { scardCode, cause },
    );
  }
}

/** The reader is unknown or gone (unplugged, or its driver failed). */
export class ReaderUnavailableError extends PcscError {
  constructor(reader: string, scardCode?: number, cause?: unknown) {
    super('reader-unavailable', `reader "${reader}" is not available`, { scardCode, reader, cause });
  }
}

/** No card in the reader when connecting. */
export class NoCardError extends PcscError {
  constructor(reader: string, scardCode: number = SCARD.E_NO_SMARTCARD) {
    super('no-card', `no card in reader "${reader}"`, { scardCode, reader });
  }
}

/** Another application holds the card (exclusive connection or transaction). */
export class SharingViolationError extends PcscError {
  constructor(reader: string, cause?: unknown) {
    super('sharing-violation', `the card in "${reader}" is in use by another application (sharing violation)`, {
      scardCode: SCARD.E_SHARING_VIOLATION,
      reader,
      cause,
    });
  }
}

/**
 * The card was reset by someone else (SCARD_W_RESET_CARD): the transport reconnected, but the
 * card's security state (verified PIN, selected application, authentication) is gone.
 */
export class CardResetError extends PcscError {
  constructor(reader: string) {
    super(
      'card-reset',
      `the card in "${reader}" was reset by another application; its PIN and authentication state are lost — open it again`,
      {
        scardCode: SCARD.W_RESET_CARD,
        reader,
      },
    );
  }
}

/** The card is mute or unpowered. */
export class CardUnresponsiveError extends PcscError {
  constructor(reader: string, scardCode: number, detail = 'does not respond') {
    super('card-unresponsive', `the card in "${reader}" ${detail}`, { scardCode, reader });
  }
}

/** Extracts the PC/SC code from a binding message such as "SCardConnect error: ...(0x8010000b)". */
export function scardCodeOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && typeof (err as { scardCode?: unknown }).scardCode === 'number') {
    return (err as { scardCode: number }).scardCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  const m = /\(0x([0-9a-fA-F]{8})\)/.exec(message);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/**
 * Turns whatever a binding threw into a typed error. `reader` names the reader for messages;
 * `operation` (e.g. "SCardTransmit") is kept in generic messages.
 */
export function toPcscError(err: unknown, reader?: string, operation = 'PC/SC'): Error {
  if (err instanceof TransportError) return err;
  const code = scardCodeOf(err);
  const name = reader ?? '?';
  switch (code) {
    case SCARD.E_NO_SERVICE:
    case SCARD.E_SERVICE_STOPPED:
    case SCARD.F_COMM_ERROR:
      return new PcscNoServiceError(code, err);
    case SCARD.E_UNKNOWN_READER:
    case SCARD.E_READER_UNAVAILABLE:
    case SCARD.E_NO_READERS_AVAILABLE:
      return new ReaderUnavailableError(name, code, err);
    case SCARD.E_NO_SMARTCARD:
      return new NoCardError(name, code);
    case SCARD.W_REMOVED_CARD:
      return new CardRemovedError(`the card was removed from "${name}"`);
    case SCARD.E_SHARING_VIOLATION:
      return new SharingViolationError(name, err);
    case SCARD.W_RESET_CARD:
      return new CardResetError(name);
    case SCARD.W_UNRESPONSIVE_CARD:
    case SCARD.W_UNPOWERED_CARD:
    case SCARD.W_UNSUPPORTED_CARD:
      return new CardUnresponsiveError(name, code);
    case SCARD.E_TIMEOUT:
      return new TransportTimeoutError(`${operation} timed out on "${name}"`);
    case SCARD.E_PROTO_MISMATCH:
      return new PcscError('protocol-mismatch', `the card in "${name}" does not speak the requested protocol`, { scardCode: code, reader });
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return new PcscError('pcsc-error', `${operation} failed on "${name}": ${message}`, { scardCode: code, reader, cause: err });
    }
  }
}

/** Whether an error means the PC/SC service itself is gone (as opposed to one reader or card). */
export function isServiceLoss(err: unknown): boolean {
  if (err instanceof PcscNoServiceError) return true;
  const code = scardCodeOf(err);
  return code === SCARD.E_NO_SERVICE || code === SCARD.E_SERVICE_STOPPED || code === SCARD.F_COMM_ERROR;
}
