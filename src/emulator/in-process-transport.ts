import { TransportError, type CardTransport } from '../card/transport/transport';
import type { VirtualCard } from './virtual-card';

/**
 * A CardTransport straight onto a VirtualCard, without PC/SC: what unit and integration tests use.
 * It behaves like a PC/SC connection: it powers the card on when created, a removed or
 * power-lost card makes `transmit` throw CardRemovedError, and `reconnect()` is the
 * SCardReconnect that resets the card and returns the ATR.
 */
export class InProcessTransport implements CardTransport {
  private closed = false;

  constructor(readonly card: VirtualCard) {
    if (card.inserted && !card.powered) card.powerOn();
  }

  get atr(): Buffer {
    return this.card.atr;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
    return this.card.transmit(command);
  }

  /** Resets (or powers on) the card; throws CardRemovedError when it is not in the reader. */
  reconnect(): Buffer {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
    return this.card.reset();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
