import { parseAtr } from '../atr';
import { CardChannel, type CardSession } from '../transport/channel';
import type { TraceHook } from '../transport/trace';
import type { CardCapabilities, CardTransport } from '../transport/transport';

/**
 * What a Chifa card object holds on to: a channel (processors + mutex) over the transport, the
 * card's capabilities, and the transport's transaction hook when it has one (PcscTransport).
 * Every multi-APDU operation runs as `atomic(fn)`: the channel's mutex keeps this process's
 * callers apart, the PC/SC transaction keeps other applications out.
 */
export interface LinkOptions {
  /** What the card accepts; by default from the transport (capabilities, or its ATR), else short APDUs. */
  capabilities?: CardCapabilities;
  /** Sees every raw exchange; VERIFY-like data is redacted before it gets there. */
  trace?: TraceHook;
}

/** Optional extras a transport may offer (PcscTransport has all three). */
interface TransportExtras {
  readonly capabilities?: CardCapabilities;
  readonly atr?: Buffer;
  transaction?<T>(fn: () => Promise<T>): Promise<T>;
}

export function capabilitiesOf(transport: CardTransport, given?: CardCapabilities): CardCapabilities {
  if (given) return given;
  const t = transport as CardTransport & TransportExtras;
  if (t.capabilities) return t.capabilities;
  if (t.atr) {
    try {
      return parseAtr(t.atr).capabilities;
    } catch {
      // fall through to the safe default
    }
  }
  return { extendedLength: false, chaining: true };
}

export class Link {
  readonly channel: CardChannel;
  readonly capabilities: CardCapabilities;
  private readonly transport: CardTransport & TransportExtras;

  constructor(transport: CardTransport, options: LinkOptions = {}) {
    this.transport = transport as CardTransport & TransportExtras;
    this.capabilities = capabilitiesOf(transport, options.capabilities);
    this.channel = new CardChannel(transport, { capabilities: this.capabilities, ...(options.trace ? { trace: options.trace } : {}) });
  }

  atomic<T>(fn: (s: CardSession) => Promise<T>): Promise<T> {
    const tx = this.transport.transaction;
    return this.channel.session((s) =>
      tx ? tx.call<TransportExtras, [() => Promise<T>], Promise<T>>(this.transport, () => fn(s)) : fn(s),
    );
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
