/**
 * What the rest of src/card/pcsc needs from a PC/SC binding. The one implementation over the
 * `pcsclite` native module lives in binding.ts; tests use a scripted fake. Another binding
 * (`@pokusew/pcsclite`, `smartcard`, a Windows WinSCard one) would implement this same interface
 * and nothing else would change.
 *
 * The interface is deliberately small and callback-shaped: it is the part that talks to threads
 * in native code, and the monitor and transport on top of it own all policy (backoff, rescans,
 * error mapping, timeouts).
 */

/** PC/SC reader state bits (SCARD_STATE_*, pcsclite.h; the same values in WinSCard). */
export const ReaderState = {
  UNAWARE: 0x0000,
  IGNORE: 0x0001,
  CHANGED: 0x0002,
  UNKNOWN: 0x0004,
  UNAVAILABLE: 0x0008,
  EMPTY: 0x0010,
  PRESENT: 0x0020,
  ATRMATCH: 0x0040,
  EXCLUSIVE: 0x0080,
  INUSE: 0x0100,
  MUTE: 0x0200,
  UNPOWERED: 0x0400,
} as const;

/** How a connection shares the card with other applications (SCARD_SHARE_*). */
export type ShareMode = 'shared' | 'exclusive';
/** The transmission protocol of a connection. */
export type Protocol = 'T0' | 'T1';
/** What happens to the card when a connection ends (SCARD_LEAVE_CARD, _RESET_CARD, _UNPOWER_CARD). */
export type Disposition = 'leave' | 'reset' | 'unpower';

/** A reader's state, as SCardGetStatusChange reports it. */
export interface ReaderStatus {
  /** SCARD_STATE_* bits; the high 16 bits carry pcsc-lite's event counter. */
  readonly state: number;
  /** The card's ATR when a card is present (may be empty for a mute card). */
  readonly atr: Buffer;
}

/** A running watch of one reader. */
export interface ReaderWatch {
  /** Stops watching. Safe to call twice, and from inside the watch's own callbacks. */
  close(): void;
}

/** A PC/SC context (SCardEstablishContext) and the watches started from it. */
export interface PcscContext {
  /**
   * Watches the list of readers: `onReaders` is called soon with the current list (readers already
   * attached count), then after every change. `onError` is called once if the context fails (the
   * service stopped); after it, and after close(), nothing more is called.
   */
  watchReaders(onReaders: (names: readonly string[]) => void, onError: (err: Error) => void): void;
  /**
   * Watches one reader: `onStatus` at once with its current state, then on each change. `onEnd` is
   * called once when the watch stops by itself (reader gone: err undefined; service stopped: err).
   */
  watchReader(name: string, onStatus: (status: ReaderStatus) => void, onEnd: (err?: Error) => void): ReaderWatch;
  /** Releases the context and every watch started from it; the process can exit afterwards. */
  close(): void;
}

/** A connection to the card in a reader (SCardConnect). */
export interface CardHandle {
  readonly protocol: Protocol;
  readonly atr: Buffer;
  /** Sends command bytes, returns response bytes (data + SW). Rejects with a typed PcscError. */
  transmit(command: Buffer): Promise<Buffer>;
  /** Ends the connection, leaving, resetting or unpowering the card. */
  disconnect(disposition: Disposition): Promise<void>;
}

/** What to connect to, and how. */
export interface ConnectRequest {
  readonly reader: string;
  readonly share: ShareMode;
  /** Acceptable protocols; both by default. */
  readonly protocols: readonly Protocol[];
}

/** A PC/SC binding: the seam between the monitor and transport and a native module. */
export interface PcscBackend {
  /** Name for diagnostics, e.g. "pcsclite 1.0.1". */
  readonly name: string;
  /** Establishes a context; throws PcscNoServiceError when pcscd is absent. */
  establish(): PcscContext;
  /** Connects to the card in a reader; rejects NoCardError, SharingViolationError, ... */
  connect(request: ConnectRequest): Promise<CardHandle>;
}

export function cardPresent(state: number): boolean {
  return (state & ReaderState.PRESENT) !== 0;
}

export function readerGone(state: number): boolean {
  return (state & (ReaderState.UNKNOWN | ReaderState.UNAVAILABLE)) !== 0;
}

/** Human-readable list of the meaningful state bits, e.g. "present, inuse". */
export function describeState(state: number): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(ReaderState)) {
    if (bit !== 0 && bit !== ReaderState.CHANGED && (state & bit) !== 0) names.push(name.toLowerCase());
  }
  return names.join(', ') || 'unaware';
}
