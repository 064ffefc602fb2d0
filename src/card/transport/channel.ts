import type { CommandApdu, ResponseApdu } from '../apdu';
import type { Command } from '../commands/command';
import { Mutex } from '../../common/mutex';
import {
  type ApduProcessor,
  type Exchange,
  getResponseProcessor,
  lengthProcessor,
  stack,
  transportExchange,
  wrongLengthProcessor,
} from './processors';
import { tracedTransport, type TraceHook } from './trace';
import type { CardCapabilities, CardTransport } from './transport';

/** Options of CardChannel. */
export interface ChannelOptions {
  /** What the card accepts; by default short APDUs with chaining. */
  capabilities?: CardCapabilities;
  /** Sees every raw exchange (secrets redacted). */
  trace?: TraceHook;
  /** Extra processors, outermost first, stacked above the standard ones. */
  processors?: readonly ApduProcessor[];
}

/**
 * A session on one card: a transport with the standard processors (61xx GET RESPONSE, 6Cxx
 * re-issue, chaining / extended length) and a mutex. `run` sends one command; `session` holds
 * the card for a multi-command operation so no other caller's APDU slips in between.
 */
export class CardChannel {
  readonly capabilities: CardCapabilities;
  private readonly exchange: Exchange;
  private readonly mutex = new Mutex();
  private readonly transport: CardTransport;

  constructor(transport: CardTransport, options: ChannelOptions = {}) {
    this.transport = transport;
    this.capabilities = options.capabilities ?? { extendedLength: false, chaining: true };
    const base = transportExchange(options.trace ? tracedTransport(transport, options.trace) : transport);
    this.exchange = stack(base, [
      ...(options.processors ?? []),
      getResponseProcessor,
      wrongLengthProcessor,
      lengthProcessor(this.capabilities),
    ]);
  }

  /** Sends one raw command APDU (through the processors) under the lock. */
  transmit(command: CommandApdu): Promise<ResponseApdu> {
    return this.mutex.run(() => this.exchange(command));
  }

  /** Sends one command value and decodes its result, under the lock. */
  run<R>(cmd: Command<R>): Promise<R> {
    return this.mutex.run(async () => cmd.decode(await this.exchange(cmd.apdu)));
  }

  /**
   * Holds the card for several commands: `fn` gets a session whose calls bypass the lock (it
   * already holds it). Calls on the channel itself from inside `fn` would wait forever, so the
   * session is the only way in.
   */
  session<T>(fn: (s: CardSession) => Promise<T>): Promise<T> {
    return this.mutex.run(() => fn(new CardSession(this.exchange)));
  }

  /** Releases the transport. */
  close(): Promise<void> {
    return this.transport.close ? this.transport.close() : Promise.resolve();
  }
}

/** A locked view of a channel, valid inside CardChannel.session(). */
export class CardSession {
  constructor(private readonly exchange: Exchange) {}

  /** Sends one raw command APDU through the processors. */
  transmit(command: CommandApdu): Promise<ResponseApdu> {
    return this.exchange(command);
  }

  /** Sends one command value and decodes its result. */
  async run<R>(cmd: Command<R>): Promise<R> {
    return cmd.decode(await this.exchange(cmd.apdu));
  }
}
