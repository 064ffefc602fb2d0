import { AsyncLocalStorage } from 'node:async_hooks';
import { parseAtr } from '../atr';
import { Mutex } from '../../common/mutex';
import { CardRemovedError, type CardCapabilities, type CardTransport, TransportTimeoutError } from '../transport/transport';
import type { CardHandle, Disposition, PcscBackend, Protocol, ShareMode } from './backend';
import { pcscliteBackend } from './binding';
import { CardResetError, CardUnresponsiveError, PcscError, SCARD, SharingViolationError, toPcscError } from './errors';

/** Options of PcscTransport.connect. */
export interface PcscTransportOptions {
  /** 'exclusive' (default) or 'shared'. */
  share?: ShareMode;
  /** Protocols to accept; both by default (the reader and card choose). */
  protocols?: readonly Protocol[];
  /** Per-APDU timeout; default 30 s (a card computing a signature takes well under a second). */
  timeoutMs?: number;
  /**
   * What transaction() does in shared mode: 'exclusive' (default) reconnects exclusively for the
   * duration — other applications must have disconnected, not just be idle; 'none' takes no
   * protection (APDUs of other applications may come in between; use it only if they are known
   * to be harmless, e.g. a card-presence poller).
   */
  sharedTransactions?: 'exclusive' | 'none';
  /** In shared mode, how long transaction() waits for another application to let go. Default 5 s. */
  transactionWaitMs?: number;
  backend?: PcscBackend;
}

/**
 * A CardTransport over one PC/SC reader.
 *
 * Transactions: pcsclite 1.0.1 does not expose SCardBeginTransaction, so `transaction(fn)` gets
 * the same guarantee — no other application's APDU between ours — from the share mode: in
 * exclusive mode (the default; a counter's reader belongs to the counter) every operation is
 * already protected; in shared mode the transport reconnects exclusively for the duration of
 * `fn` (leaving the card powered, so its security state survives) and back to shared afterwards.
 * Unlike a real PC/SC transaction, that needs the other applications to be disconnected, not
 * merely idle; `sharedTransactions: 'none'` opts out. Inside this process, CardChannel's mutex
 * keeps callers apart.
 *
 * Reset by someone else: a shared card reset by another application answers
 * SCARD_W_RESET_CARD. The transport reconnects at once and throws CardResetError: the card works
 * again, but its PIN and authentication state are gone, so the caller must open it again — an
 * APDU is never silently retried on a card whose state changed under it.
 */
export class PcscTransport implements CardTransport {
  readonly reader: string;
  readonly share: ShareMode;
  private handle: CardHandle | undefined;
  private readonly backend: PcscBackend;
  private readonly protocols: readonly Protocol[];
  private readonly timeoutMs: number;
  private readonly transactionWaitMs: number;
  private readonly sharedTransactions: 'exclusive' | 'none';
  private closed = false;
  private broken: Error | undefined;
  /** Serializes transactions of concurrent callers; a nested call (same async context) runs inline. */
  private readonly txMutex = new Mutex();
  private readonly txContext = new AsyncLocalStorage<true>();

  private constructor(
    reader: string,
    handle: CardHandle,
    options: Required<Omit<PcscTransportOptions, 'backend'>> & { backend: PcscBackend },
  ) {
    this.reader = reader;
    this.handle = handle;
    this.share = options.share;
    this.backend = options.backend;
    this.protocols = options.protocols;
    this.timeoutMs = options.timeoutMs;
    this.transactionWaitMs = options.transactionWaitMs;
    this.sharedTransactions = options.sharedTransactions;
  }

  /** Connects to the card in `reader`. Rejects NoCardError, SharingViolationError, PcscNoServiceError... */
  static async connect(reader: string, options: PcscTransportOptions = {}): Promise<PcscTransport> {
    const opts = {
      share: options.share ?? 'exclusive',
      protocols: options.protocols ?? ['T0', 'T1'],
      timeoutMs: options.timeoutMs ?? 30_000,
      transactionWaitMs: options.transactionWaitMs ?? 5_000,
      sharedTransactions: options.sharedTransactions ?? 'exclusive',
      backend: options.backend ?? pcscliteBackend(),
    } as const;
    const handle = await opts.backend.connect({ reader, share: opts.share, protocols: opts.protocols });
    return new PcscTransport(reader, handle, opts);
  }

  /** The card's answer to reset. */
  get atr(): Buffer {
    return this.current().atr;
  }

  /** The protocol in use. */
  get protocol(): Protocol {
    return this.current().protocol;
  }

  /**
   * What the card accepts, from its ATR. Extended length needs T=1 as well: under T=0 an extended
   * APDU would need ENVELOPE, which we do not use.
   */
  get capabilities(): CardCapabilities {
    let caps: CardCapabilities = { extendedLength: false, chaining: true };
    try {
      caps = parseAtr(this.atr).capabilities;
    } catch {
      // An ATR we cannot parse: assume the safe minimum.
    }
    return { extendedLength: caps.extendedLength && this.protocol === 'T1', chaining: caps.chaining };
  }

  private current(): CardHandle {
    if (this.closed) throw new PcscError('pcsc-error', `the connection to "${this.reader}" is closed`, { reader: this.reader });
    if (!this.handle) throw this.broken ?? new CardRemovedError(`the card was removed from "${this.reader}"`);
    return this.handle;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    const handle = this.current();
    try {
      const resp = await this.withTimeout(handle.transmit(command));
      if (resp.length < 2) {
        // SCardTransmit succeeded with no status word: the reader lost the card mid-exchange
        // (vpcd does this when the card leaves during a command). The handle is done for.
        throw new CardUnresponsiveError(this.reader, SCARD.W_UNRESPONSIVE_CARD, 'gave no answer (removed during the command, or mute)');
      }
      return resp;
    } catch (err) {
      const e = toPcscError(err, this.reader, 'SCardTransmit');
      if (e instanceof CardResetError) {
        await this.reconnect('leave');
        throw e;
      }
      if (e instanceof CardRemovedError || e instanceof TransportTimeoutError || e instanceof CardUnresponsiveError) {
        // The handle is unusable now (a timed-out native call may still complete later).
        this.broken = e;
        this.handle = undefined;
        void handle.disconnect('leave').catch(() => undefined);
      }
      throw e;
    }
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransportTimeoutError(`the card in "${this.reader}" did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Drops the connection and connects again (SCardReconnect is not in the binding): 'leave' keeps
   * the card's state, 'reset' resets the card (its security state is lost). Also revives a
   * transport whose card was removed and inserted again.
   */
  async reconnect(disposition: Disposition = 'leave', share: ShareMode = this.share): Promise<void> {
    if (this.closed) throw new PcscError('pcsc-error', `the connection to "${this.reader}" is closed`, { reader: this.reader });
    const old = this.handle;
    this.handle = undefined;
    if (old) await old.disconnect(disposition);
    this.handle = await this.backend.connect({ reader: this.reader, share, protocols: this.protocols });
    this.broken = undefined;
  }

  /**
   * Runs `fn` with no other application able to reach the card (see the class comment). In
   * exclusive mode this is just `fn()`. Concurrent transactions wait for each other; a nested
   * call runs inline.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.share === 'exclusive' || this.sharedTransactions === 'none' || this.txContext.getStore()) return fn();
    return this.txMutex.run(() =>
      this.txContext.run(true, async () => {
        await this.upgrade();
        try {
          return await fn();
        } finally {
          if (!this.closed && this.handle) await this.reconnect('leave', 'shared').catch(() => undefined);
        }
      }),
    );
  }

  private async upgrade(): Promise<void> {
    const deadline = Date.now() + this.transactionWaitMs;
    let delay = 20;
    for (;;) {
      try {
        await this.reconnect('leave', 'exclusive');
        return;
      } catch (err) {
        if (!(err instanceof SharingViolationError) || Date.now() + delay > deadline) {
          // Get back a shared handle so the transport stays usable.
          if (!this.handle && !this.closed) await this.reconnect('leave', 'shared').catch(() => undefined);
          throw err;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(200, delay * 2);
      }
    }
  }

  /** Disconnects ('leave' by default: a card left in the reader keeps its power). Safe to call twice. */
  async close(disposition: Disposition = 'leave'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const h = this.handle;
    this.handle = undefined;
    if (h) await h.disconnect(disposition);
  }
}
