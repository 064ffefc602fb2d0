import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type PcscBackend, type PcscContext, type ReaderStatus, type ReaderWatch, cardPresent, readerGone, ReaderState } from './backend';
import { pcscliteBackend } from './binding';
import { isServiceLoss, PcscUnavailableError } from './errors';

/** A card inserted into a reader. */
export interface CardEvent {
  readonly reader: string;
  /** The card's ATR (empty for a mute card). */
  readonly atr: Buffer;
}

/** The ReaderMonitor's events and their arguments. */
export interface MonitorEvents {
  'reader-attached': [reader: string];
  'reader-detached': [reader: string];
  'card-inserted': [event: CardEvent];
  'card-removed': [event: { readonly reader: string }];
  /** The PC/SC service is absent or stopped; the monitor keeps retrying. */
  'service-lost': [event: { readonly error: Error }];
  /** The PC/SC service is back (a context was established after a loss). */
  'service-restored': [];
}

/** A reader as last seen. */
export interface ReaderInfo {
  readonly name: string;
  readonly cardPresent: boolean;
  /** Present card's ATR, else undefined. */
  readonly atr: Buffer | undefined;
  /** Raw SCARD_STATE_* bits of the last status. */
  readonly state: number;
}

/** Options of ReaderMonitor. */
export interface MonitorOptions {
  /** The PC/SC binding; the pcsclite adapter by default. */
  backend?: PcscBackend;
  /** Backoff while the service is absent: first delay, doubled up to maxMs. Defaults 250 ms → 5 s. */
  retry?: { initialMs?: number; maxMs?: number };
  logger?: Logger;
}

interface Entry {
  readonly name: string;
  watch: ReaderWatch | undefined;
  present: boolean;
  atr: Buffer | undefined;
  state: number;
  /** Whether the first status has arrived (for ready()). */
  seen: boolean;
  rewatchTimer: NodeJS.Timeout | undefined;
  rewatchDelay: number;
}

type ServiceState = 'unknown' | 'available' | 'lost';

/**
 * Follows PC/SC readers and cards: reader attached/detached, card inserted/removed (with its
 * ATR), and the PC/SC service itself (lost / restored). It is built to survive what breaks the
 * usual node PC/SC wrappers:
 * - readers and cards already present at start-up are reported like any later arrival;
 * - a reader that is unplugged and plugged back is watched again (its old watch is replaced);
 * - when pcscd is absent it retries with exponential backoff (no busy loop), and when pcscd
 *   stops and restarts it re-establishes the context, rescans, and says so with
 *   'service-lost' / 'service-restored' — it never dies silently;
 * - it never emits 'error' (an unhandled 'error' event kills a Node process);
 * - close() releases every native thread and timer, so the process can exit.
 */
export class ReaderMonitor extends EventEmitter<MonitorEvents> {
  private readonly backend: PcscBackend;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly logger: Logger | undefined;
  private readonly entries = new Map<string, Entry>();
  private context: PcscContext | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private service: ServiceState = 'unknown';
  private started = false;
  private closed = false;
  /** Generation of the current context: callbacks of an older one are ignored. */
  private generation = 0;
  private listed = false;
  private readyWaiters: (() => void)[] = [];
  private readyFallback: NodeJS.Timeout | undefined;

  constructor(options: MonitorOptions = {}) {
    super();
    this.backend = options.backend ?? pcscliteBackend();
    this.initialMs = options.retry?.initialMs ?? 250;
    this.maxMs = options.retry?.maxMs ?? 5000;
    this.retryDelay = this.initialMs;
    this.logger = options.logger;
  }

  /** Whether a PC/SC context is currently established. */
  get serviceAvailable(): boolean {
    return this.service === 'available';
  }

  /** A snapshot of the readers known now. */
  readers(): ReaderInfo[] {
    return [...this.entries.values()].map((e) => ({ name: e.name, cardPresent: e.present, atr: e.atr, state: e.state }));
  }

  /**
   * Starts watching. Attach listeners first: readers and cards present now are reported as
   * events. Throws PcscUnavailableError if the native module is missing (that does not heal).
   */
  start(): this {
    if (this.started) return this;
    if (this.closed) throw new Error('the monitor is closed');
    this.started = true;
    this.establish(true);
    return this;
  }

  /**
   * Resolves once the first picture is complete: every reader listed and its first status known
   * — or the service found absent. Useful before reading readers() once.
   */
  ready(): Promise<void> {
    if (this.isReady()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Resolves with the next card present in `reader` (or in any reader); rejects on timeout. */
  waitForCard(reader?: string, options: { timeoutMs?: number } = {}): Promise<CardEvent> {
    for (const e of this.entries.values()) {
      if ((reader === undefined || e.name === reader) && e.present)
        return Promise.resolve({ reader: e.name, atr: e.atr ?? Buffer.alloc(0) });
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onCard = (ev: CardEvent): void => {
        if (reader !== undefined && ev.reader !== reader) return;
        if (timer) clearTimeout(timer);
        this.off('card-inserted', onCard);
        resolve(ev);
      };
      this.on('card-inserted', onCard);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.off('card-inserted', onCard);
          reject(new Error(`no card in ${reader ? `"${reader}"` : 'any reader'} after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
    });
  }

  /** Stops everything (native threads, timers). Resolves when the native side has been released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.readyFallback) clearTimeout(this.readyFallback);
    this.retryTimer = undefined;
    for (const e of this.entries.values()) {
      if (e.rewatchTimer) clearTimeout(e.rewatchTimer);
      e.watch?.close();
    }
    this.entries.clear();
    this.context?.close();
    this.context = undefined;
    this.generation++;
    this.flushReady();
    // The binding releases native threads on the next turns of the loop.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
  }

  private establish(first: boolean): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    let ctx: PcscContext;
    try {
      ctx = this.backend.establish();
    } catch (err) {
      if (err instanceof PcscUnavailableError) {
        if (first) throw err;
      }
      this.lost(err as Error);
      return;
    }
    const gen = ++this.generation;
    this.context = ctx;
    this.listed = false;
    const wasLost = this.service === 'lost';
    this.service = 'available';
    this.retryDelay = this.initialMs;
    if (wasLost) {
      this.logger?.info('PC/SC service restored');
      this.emit('service-restored');
    }
    ctx.watchReaders(
      (names) => {
        if (gen === this.generation) this.onReaders(names);
      },
      (err) => {
        if (gen === this.generation) this.lost(err);
      },
    );
    this.armReadyFallback();
  }

  private lost(error: Error): void {
    if (this.closed) return;
    this.generation++;
    const ctx = this.context;
    this.context = undefined;
    for (const e of this.entries.values()) {
      if (e.rewatchTimer) clearTimeout(e.rewatchTimer);
      e.watch?.close();
      e.watch = undefined;
    }
    ctx?.close();
    if (this.service !== 'lost') {
      this.service = 'lost';
      this.logger?.warn({ err: error.message }, 'PC/SC service lost; retrying');
      this.emit('service-lost', { error });
    }
    // Readers and cards are gone with the service; report them so listeners' state stays true.
    for (const e of [...this.entries.values()]) this.detach(e);
    this.flushReady();
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.maxMs, this.retryDelay * 2);
    this.retryTimer = setTimeout(() => this.establish(false), delay);
  }

  private onReaders(names: readonly string[]): void {
    const current = new Set(names);
    for (const e of [...this.entries.values()]) if (!current.has(e.name)) this.detach(e);
    for (const name of names) {
      let e = this.entries.get(name);
      if (!e) {
        e = {
          name,
          watch: undefined,
          present: false,
          atr: undefined,
          state: 0,
          seen: false,
          rewatchTimer: undefined,
          rewatchDelay: this.initialMs,
        };
        this.entries.set(name, e);
        this.emit('reader-attached', name);
      }
      // A reader whose watch ended (replugged before we noticed, driver hiccup) is watched again.
      if (!e.watch && !e.rewatchTimer) this.watch(e);
    }
    this.listed = true;
    this.checkReady();
  }

  private watch(e: Entry): void {
    const ctx = this.context;
    if (!ctx || this.closed) return;
    const gen = this.generation;
    // The end callback may run before watchReader returns: a `let` reads as undefined then, where a
    // `const` would throw (temporal dead zone).
    let watch: ReaderWatch | undefined;
    // eslint-disable-next-line prefer-const -- see above: a const would throw if onEnd runs first
    watch = ctx.watchReader(
      e.name,
      (status) => {
        if (gen === this.generation && this.entries.get(e.name) === e) this.onStatus(e, status);
      },
      (err) => {
        if (gen !== this.generation || this.entries.get(e.name) !== e || e.watch !== watch) return;
        e.watch = undefined;
        // The service went away: the reader threads often notice before the context does.
        if (err && isServiceLoss(err)) return this.lost(err);
        // A reader gone is reported by the next reader list; a card in it is gone now.
        if (e.present) this.setAbsent(e);
        e.seen = true;
        this.checkReady();
        if (err) this.logger?.debug({ reader: e.name, err: err.message }, 'reader watch ended');
        // If the reader is still listed, watch it again — later, and less often each time.
        const delay = e.rewatchDelay;
        e.rewatchDelay = Math.min(this.maxMs, e.rewatchDelay * 2);
        e.rewatchTimer = setTimeout(() => {
          e.rewatchTimer = undefined;
          if (this.entries.get(e.name) === e && !e.watch && gen === this.generation) this.watch(e);
        }, delay);
      },
    );
    e.watch = watch;
  }

  private onStatus(e: Entry, status: ReaderStatus): void {
    const state = status.state;
    const firstStatus = !e.seen;
    e.seen = true;
    e.rewatchDelay = this.initialMs;
    if (readerGone(state)) {
      if (e.present) this.setAbsent(e);
      e.state = state;
    } else {
      const present = cardPresent(state) && (state & ReaderState.MUTE) === 0;
      const counter = state >>> 16;
      const previousCounter = e.state >>> 16;
      if (present && e.present && !firstStatus && (counter !== previousCounter || !status.atr.equals(e.atr ?? Buffer.alloc(0)))) {
        // Pulled and inserted again between two reports: the event counter (pcsc-lite and
        // WinSCard count insertions and removals in the high 16 bits) moved, or the ATR changed.
        // Every Chifa card has the same ATR, so the counter is what tells another patient's card.
        this.setAbsent(e);
      }
      e.state = state;
      if (present && !e.present) {
        e.present = true;
        e.atr = Buffer.from(status.atr);
        this.emit('card-inserted', { reader: e.name, atr: e.atr });
      } else if (!present && e.present) {
        this.setAbsent(e);
      }
    }
    if (firstStatus) this.checkReady();
  }

  private setAbsent(e: Entry): void {
    e.present = false;
    e.atr = undefined;
    this.emit('card-removed', { reader: e.name });
  }

  private detach(e: Entry): void {
    if (e.rewatchTimer) clearTimeout(e.rewatchTimer);
    e.watch?.close();
    e.watch = undefined;
    this.entries.delete(e.name);
    if (e.present) this.setAbsent(e);
    this.emit('reader-detached', e.name);
  }

  private isReady(): boolean {
    if (this.closed || this.service === 'lost') return true;
    if (!this.listed) return false;
    for (const e of this.entries.values()) if (!e.seen) return false;
    return true;
  }

  private checkReady(): void {
    if (this.isReady()) this.flushReady();
  }

  private flushReady(): void {
    if (this.readyFallback) clearTimeout(this.readyFallback);
    this.readyFallback = undefined;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  /** Never let ready() hang on a reader that does not report (a stuck driver). */
  private armReadyFallback(): void {
    if (this.readyFallback) clearTimeout(this.readyFallback);
    this.readyFallback = setTimeout(() => this.flushReady(), 3000);
    this.readyFallback.unref();
  }
}
