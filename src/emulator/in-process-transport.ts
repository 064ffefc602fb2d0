import { TransportError, type CardTransport } from '../card/transport/transport';
import { TimingMeter, type ExchangeCost } from './timing';
import type { TimingProfile } from './timing-profile';
import type { VirtualCard } from './virtual-card';

/** Options of InProcessTransport. */
export interface InProcessTransportOptions {
  /**
   * The card's timing profile ('none', 'iso-default', 'typical', a JSON file, a profile); sets it
   * on the card. Absent: the card keeps its own (none unless it was given one).
   */
  readonly timing?: string | TimingProfile;
  /**
   * 'virtual' (default): the modelled time is only counted (`elapsedMs`, `meter`), so tests and
   * benchmarks need not sleep. 'real': every exchange also waits its modelled time, with real
   * timers, like a slow card would make the caller wait.
   */
  readonly clock?: 'real' | 'virtual';
}

/**
 * A CardTransport straight onto a VirtualCard, without PC/SC: what unit and integration tests use.
 * It behaves like a PC/SC connection: it powers the card on when created, a removed or
 * power-lost card makes `transmit` throw CardRemovedError, and `reconnect()` is the
 * SCardReconnect that resets the card and returns the ATR.
 *
 * With a timing profile it also keeps the modelled time of everything it did — the reset (ATR,
 * PPS) when created and at every reconnect, and each exchange — and waits it in 'real' mode.
 */
export class InProcessTransport implements CardTransport {
  /** Modelled time so far, by cause (times all zero without a timing profile), and APDU count. */
  readonly meter = new TimingMeter();
  readonly clock: 'real' | 'virtual';
  private closed = false;
  /** Modelled time not waited yet in 'real' mode (the reset, which happens in sync code). */
  private owed = 0;

  constructor(
    readonly card: VirtualCard,
    options: InProcessTransportOptions = {},
  ) {
    if (options.timing !== undefined) card.setTiming(options.timing);
    this.clock = options.clock ?? 'virtual';
    if (card.inserted && !card.powered) card.powerOn();
    if (card.inserted) this.charge(card.resetCost(), 'reset');
  }

  /** The card's ATR. */
  get atr(): Buffer {
    return this.card.atr;
  }

  /** Modelled milliseconds so far (resets and exchanges). */
  get elapsedMs(): number {
    return this.meter.totalMs;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
    const { response, cost } = await this.card.exchange(command);
    this.charge(cost, 'apdu');
    if (this.owed > 0) {
      const wait = this.owed;
      this.owed = 0;
      await new Promise((r) => setTimeout(r, wait));
    }
    return response;
  }

  /** Resets (or powers on) the card; throws CardRemovedError when it is not in the reader. */
  reconnect(): Buffer {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
    const atr = this.card.reset();
    this.charge(this.card.resetCost(), 'reset');
    return atr;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private charge(cost: ExchangeCost, kind: 'apdu' | 'reset'): void {
    this.meter.add(cost, kind);
    if (this.clock === 'real') this.owed += cost.totalMs;
  }
}
