import { ChifaError } from '../../common/errors';

/**
 * The one thing every card link does: command bytes in, response bytes out (after yubikit's
 * SmartCardConnection and Ledger's Transport.exchange). PC/SC readers, the in-process emulator
 * and the replay transport all implement it; everything else stacks on top.
 */
export interface CardTransport {
  /** Sends one command APDU and returns the response APDU bytes (data + SW1 SW2). */
  transmit(command: Buffer): Promise<Buffer>;
  /** Releases the link. Safe to call twice. */
  close?(): Promise<void>;
}

/** What a link knows about the card behind it, mostly from the ATR's historical bytes. */
export interface CardCapabilities {
  /** The card accepts extended Lc/Le (ISO 7816-4 §8.1.1.2.7, third software function byte b7). */
  readonly extendedLength: boolean;
  /** The card accepts command chaining (same byte, b8). */
  readonly chaining: boolean;
}

/** Errors of the link itself (not status words). */
export class TransportError extends ChifaError {}

/** The card left the reader (or lost power) before or during an exchange. */
export class CardRemovedError extends TransportError {
  constructor(message = 'the card was removed') {
    super('card-removed', message);
  }
}

/** No answer in time. */
export class TransportTimeoutError extends TransportError {
  constructor(message = 'the card did not answer in time') {
    super('timeout', message);
  }
}
