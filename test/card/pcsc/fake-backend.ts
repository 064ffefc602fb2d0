import {
  type CardHandle,
  type ConnectRequest,
  type Disposition,
  type PcscBackend,
  type PcscContext,
  type ReaderStatus,
  type ReaderWatch,
  ReaderState,
  type ShareMode,
} from '../../../src/card/pcsc/backend';
import {
  CardResetError,
  NoCardError,
  PcscNoServiceError,
  ReaderUnavailableError,
  SCARD,
  SharingViolationError,
} from '../../../src/card/pcsc/errors';
import { CardRemovedError } from '../../../src/card/transport/transport';

/**
 * A scripted PC/SC stack for unit tests of the monitor and the transport: readers come and go,
 * cards are inserted and pulled, the service stops and starts, other applications hold or reset
 * cards. Callbacks are asynchronous (setImmediate), as they are with the native binding.
 */
export type CardFn = (command: Buffer) => Buffer;

interface FakeCard {
  atr: Buffer;
  respond: CardFn;
  /** Bumped on reset: handles from before see SCARD_W_RESET_CARD once. */
  resets: number;
}

interface FakeReader {
  name: string;
  card: FakeCard | undefined;
  events: number;
  /** Handles currently connected, with their mode. */
  holders: Set<FakeHandle>;
  /** Another application holding the card exclusively. */
  foreignExclusive: boolean;
}

const tick = (fn: () => void): void => {
  setImmediate(fn);
};

class FakeWatch implements ReaderWatch {
  closed = false;
  constructor(
    readonly backend: FakeBackend,
    readonly name: string,
    readonly onStatus: (s: ReaderStatus) => void,
    readonly onEnd: (err?: Error) => void,
  ) {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backend.watches.delete(this);
  }
}

class FakeContext implements PcscContext {
  closed = false;
  onReaders: ((names: readonly string[]) => void) | undefined;
  onError: ((err: Error) => void) | undefined;
  constructor(readonly backend: FakeBackend) {}
  watchReaders(onReaders: (names: readonly string[]) => void, onError: (err: Error) => void): void {
    this.onReaders = onReaders;
    this.onError = onError;
    tick(() => {
      if (!this.closed) onReaders(this.backend.readerNames());
    });
  }
  watchReader(name: string, onStatus: (s: ReaderStatus) => void, onEnd: (err?: Error) => void): ReaderWatch {
    const w = new FakeWatch(this.backend, name, onStatus, onEnd);
    this.backend.watches.add(w);
    tick(() => {
      if (w.closed) return;
      const r = this.backend.readers.get(name);
      if (!r) {
        w.close();
        onEnd();
        return;
      }
      onStatus(this.backend.statusOf(r));
    });
    return w;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backend.contexts.delete(this);
  }
}

class FakeHandle implements CardHandle {
  readonly protocol = 'T1' as const;
  disconnected = false;
  constructor(
    readonly backend: FakeBackend,
    readonly reader: FakeReader,
    readonly card: FakeCard,
    readonly share: ShareMode,
    private seenResets: number,
  ) {}
  get atr(): Buffer {
    return this.card.atr;
  }
  async transmit(command: Buffer): Promise<Buffer> {
    await new Promise((r) => setImmediate(r));
    this.backend.transmits.push({ reader: this.reader.name, share: this.share, command: Buffer.from(command) });
    if (this.backend.hang) return new Promise<Buffer>(() => undefined);
    if (!this.backend.serviceUp) throw new PcscNoServiceError(SCARD.F_COMM_ERROR);
    if (this.disconnected) throw new Error('disconnected');
    if (this.reader.card !== this.card) throw new CardRemovedError(`the card was removed from "${this.reader.name}"`);
    if (this.card.resets !== this.seenResets) {
      this.seenResets = this.card.resets;
      throw new CardResetError(this.reader.name);
    }
    return this.card.respond(command);
  }
  async disconnect(disposition: Disposition): Promise<void> {
    if (this.disconnected) return;
    this.disconnected = true;
    this.reader.holders.delete(this);
    this.backend.disconnects.push(disposition);
    if (disposition === 'reset') this.card.resets++;
  }
}

export class FakeBackend implements PcscBackend {
  readonly name = 'fake';
  serviceUp = true;
  hang = false;
  readonly readers = new Map<string, FakeReader>();
  readonly contexts = new Set<FakeContext>();
  readonly watches = new Set<FakeWatch>();
  establishCalls = 0;
  readonly connects: { reader: string; share: ShareMode }[] = [];
  readonly disconnects: Disposition[] = [];
  readonly transmits: { reader: string; share: ShareMode; command: Buffer }[] = [];

  readerNames(): string[] {
    return [...this.readers.keys()];
  }

  statusOf(r: FakeReader): ReaderStatus {
    const base = r.card ? ReaderState.PRESENT | (r.holders.size ? ReaderState.INUSE : 0) : ReaderState.EMPTY;
    return { state: ((r.events << 16) | base | ReaderState.CHANGED) >>> 0, atr: r.card ? r.card.atr : Buffer.alloc(0) };
  }

  establish(): PcscContext {
    this.establishCalls++;
    if (!this.serviceUp) throw new PcscNoServiceError();
    const ctx = new FakeContext(this);
    this.contexts.add(ctx);
    return ctx;
  }

  async connect(req: ConnectRequest): Promise<CardHandle> {
    await new Promise((r) => setImmediate(r));
    if (!this.serviceUp) throw new PcscNoServiceError();
    const r = this.readers.get(req.reader);
    if (!r) throw new ReaderUnavailableError(req.reader, SCARD.E_UNKNOWN_READER);
    if (!r.card) throw new NoCardError(req.reader);
    if (r.foreignExclusive || [...r.holders].some((h) => h.share === 'exclusive') || (req.share === 'exclusive' && r.holders.size > 0)) {
      throw new SharingViolationError(req.reader);
    }
    this.connects.push({ reader: req.reader, share: req.share });
    const h = new FakeHandle(this, r, r.card, req.share, r.card.resets);
    r.holders.add(h);
    return h;
  }

  // ---- scripting ----

  private notifyList(): void {
    for (const ctx of [...this.contexts]) {
      const names = this.readerNames();
      tick(() => {
        if (!ctx.closed) ctx.onReaders?.(names);
      });
    }
  }

  private notifyReader(r: FakeReader): void {
    const status = this.statusOf(r);
    for (const w of [...this.watches]) {
      if (w.name !== r.name) continue;
      tick(() => {
        if (!w.closed) w.onStatus(status);
      });
    }
  }

  addReader(name: string): void {
    this.readers.set(name, { name, card: undefined, events: 0, holders: new Set(), foreignExclusive: false });
    this.notifyList();
  }

  removeReader(name: string): void {
    const r = this.readers.get(name);
    this.readers.delete(name);
    if (r) r.card = undefined;
    for (const w of [...this.watches]) {
      if (w.name !== name) continue;
      tick(() => {
        if (w.closed) return;
        w.onStatus({ state: ReaderState.UNKNOWN | ReaderState.CHANGED, atr: Buffer.alloc(0) });
        w.close();
        w.onEnd();
      });
    }
    this.notifyList();
  }

  insertCard(reader: string, atr: Buffer, respond: CardFn = () => Buffer.from([0x90, 0x00])): void {
    const r = this.readers.get(reader)!;
    r.card = { atr, respond, resets: 0 };
    r.events++;
    this.notifyReader(r);
  }

  removeCard(reader: string): void {
    const r = this.readers.get(reader)!;
    r.card = undefined;
    r.events++;
    this.notifyReader(r);
  }

  /** Another application resets the card (shared mode). */
  resetCard(reader: string): void {
    this.readers.get(reader)!.card!.resets++;
  }

  setForeignExclusive(reader: string, held: boolean): void {
    this.readers.get(reader)!.foreignExclusive = held;
  }

  /** Ends a reader watch as a driver hiccup would, while the reader stays listed. */
  dropWatches(reader: string): void {
    for (const w of [...this.watches]) {
      if (w.name !== reader) continue;
      w.close();
      tick(() => w.onEnd());
    }
  }

  stopService(): void {
    this.serviceUp = false;
    const err = new PcscNoServiceError(SCARD.F_COMM_ERROR);
    for (const w of [...this.watches]) {
      w.close();
      tick(() => w.onEnd(err));
    }
    for (const ctx of [...this.contexts]) {
      tick(() => {
        if (!ctx.closed) ctx.onError?.(err);
      });
    }
  }

  startService(): void {
    this.serviceUp = true;
  }

  /** Live native-like resources: what close() must release. */
  get openResources(): number {
    return [...this.contexts].filter((c) => !c.closed).length + [...this.watches].filter((w) => !w.closed).length;
  }
}

/** Lets queued setImmediate callbacks run (several rounds). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
