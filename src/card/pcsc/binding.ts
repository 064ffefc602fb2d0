import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as pcsclite from 'pcsclite';
import { CardRemovedError } from '../transport/transport';
import {
  type CardHandle,
  type ConnectRequest,
  type Disposition,
  type PcscBackend,
  type PcscContext,
  type Protocol,
  type ReaderStatus,
  type ReaderWatch,
  cardPresent,
  readerGone,
  ReaderState,
} from './backend';
import { CardUnresponsiveError, NoCardError, PcscError, PcscUnavailableError, ReaderUnavailableError, SCARD, toPcscError } from './errors';

/**
 * The adapter over the `pcsclite` native module — the only file that touches it. It drives the
 * native classes directly (see types/pcsclite.d.ts for what they do and their traps), not the
 * library's wrapper, because the wrapper is where the known failures live: it emits 'error'
 * and stops for good when pcscd goes away (a monitor that dies silently, or kills the process if
 * nobody listens for 'error'), it can close before its own thread starts (a process that never
 * exits), and it loses a reader that is replugged before its old watch ended. Policy (backoff,
 * rescans, typed errors) lives in monitor.ts and transport.ts; this file only makes the native
 * calls safe:
 * - every CardReader gets get_status() and, later, close() — never from inside its own callback
 *   (the native handler holds the reader's mutex while calling us: closing there deadlocks);
 * - nothing is closed before its thread has reported once;
 * - callbacks arriving after close() are swallowed.
 */

type Native = pcsclite.Native;

/** Response buffer for SCardTransmit: the largest extended response (65536) + SW1 SW2. */
const MAX_RESPONSE = 65536 + 2;

/**
 * Loads pcsclite (Node's module cache makes a second load the same native module); throws
 * PcscUnavailableError (code 'pcsc-unavailable') with what to install.
 */
export function loadPcsclite(moduleName = 'pcsclite'): Native {
  try {
    const req = createRequire(__filename);
    const entry = req.resolve(moduleName);
    // The library module patches EventEmitter into the native prototypes (the native code emits
    // '_end' through this.emit); load it first, then reach the same cached native module.
    req(entry);
    const root = path.dirname(req.resolve(`${moduleName}/package.json`));
    const bindings = createRequire(entry)('bindings') as (opts: { bindings: string; module_root: string }) => unknown;
    const native = bindings({ bindings: 'pcsclite', module_root: root }) as Partial<Native>;
    if (typeof native.PCSCLite !== 'function' || typeof native.CardReader !== 'function') {
      throw new Error('the pcsclite native module does not export PCSCLite and CardReader (expected pcsclite 1.0.x)');
    }
    if (typeof native.CardReader.prototype.emit !== 'function' || typeof native.CardReader.prototype._transmit !== 'function') {
      throw new Error('the pcsclite native module has an unexpected shape (expected pcsclite 1.0.x)');
    }
    return native as Native;
  } catch (err) {
    throw new PcscUnavailableError(err);
  }
}

/** Splits a PC/SC multi-string ("A\0B\0\0") into names. */
export function parseMultiString(data: Buffer | undefined): string[] {
  if (!data || data.length === 0) return [];
  return data
    .toString('utf8')
    .split('\0')
    .filter((s) => s.length > 0);
}

function later(fn: () => void): void {
  setImmediate(fn);
}

/**
 * How long after a status thread's last report we wait before closing it. The native close()
 * sets a stop flag and cancels SCardGetStatusChange; if the thread has just reported and not yet
 * re-entered that call, it sees the flag, ends without its final report, and its libuv handle is
 * never closed — the process can then never exit (or, if the cancel comes too early, close()
 * blocks on a thread stuck in an endless wait). A thread that has been quiet for this long is
 * back in SCardGetStatusChange, where the cancel reaches it.
 */
const QUIET_MS = 30;

/** Runs `fn` once the thread whose last report was at `lastReport` (ms) has been quiet for QUIET_MS. */
function whenQuiet(lastReport: number, fn: () => void): void {
  const wait = lastReport + QUIET_MS - performance.now();
  if (wait <= 0) later(fn);
  else setTimeout(fn, Math.ceil(wait));
}

class PcscliteWatch implements ReaderWatch {
  private readonly reader: pcsclite.CardReader;
  private started = false;
  private lastReport = 0;
  private closed = false;
  private nativeClosed = false;
  private lastError: Error | undefined;

  constructor(
    native: Native,
    private readonly name: string,
    onStatus: (status: ReaderStatus) => void,
    onEnd: (err?: Error) => void,
    private readonly forget: (w: PcscliteWatch) => void,
  ) {
    this.reader = new native.CardReader(name);
    this.reader.once('_end', () => {
      // The status thread has ended (by itself or after close()); join it, outside the handler.
      later(() => this.closeNative());
      this.forget(this);
      if (!this.closed) {
        this.closed = true;
        onEnd(this.lastError);
      }
    });
    this.reader.get_status((err, state, atr) => {
      const first = !this.started;
      this.started = true;
      this.lastReport = performance.now();
      if (this.closed) {
        if (first) whenQuiet(this.lastReport, () => this.closeNative());
        return;
      }
      if (err) {
        // The thread stops after an error; '_end' follows and reports it.
        this.lastError = toPcscError(err, this.name, 'SCardGetStatusChange');
        return;
      }
      onStatus({ state: state ?? 0, atr: atr ? Buffer.from(atr) : Buffer.alloc(0) });
    });
  }

  private closeNative(): void {
    if (this.nativeClosed) return;
    this.nativeClosed = true;
    this.reader.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this);
    // Before the first report the thread may not be in its loop yet: close after that report.
    if (this.started) whenQuiet(this.lastReport, () => this.closeNative());
  }
}

class PcscliteContext implements PcscContext {
  private readonly pnp: pcsclite.PCSCLite;
  private readonly watches = new Set<PcscliteWatch>();
  private watching = false;
  private started = false;
  private closed = false;
  private failed = false;
  private nativeClosed = false;
  private lastReport = 0;

  constructor(private readonly native: Native) {
    try {
      this.pnp = new native.PCSCLite();
    } catch (err) {
      throw toPcscError(err, undefined, 'SCardEstablishContext');
    }
  }

  watchReaders(onReaders: (names: readonly string[]) => void, onError: (err: Error) => void): void {
    if (this.watching) throw new PcscError('pcsc-error', 'watchReaders() may be called once per context');
    this.watching = true;
    this.pnp.start((err, data) => {
      const first = !this.started;
      this.started = true;
      this.lastReport = performance.now();
      if (this.closed) {
        if (first) whenQuiet(this.lastReport, () => this.closeNative());
        return;
      }
      if (this.failed) return;
      if (err) {
        this.failed = true;
        later(() => this.closeNative());
        onError(toPcscError(err, undefined, 'SCardGetStatusChange'));
        return;
      }
      onReaders(parseMultiString(data));
    });
  }

  watchReader(name: string, onStatus: (status: ReaderStatus) => void, onEnd: (err?: Error) => void): ReaderWatch {
    if (this.closed) throw new PcscError('pcsc-error', 'the PC/SC context is closed');
    const w = new PcscliteWatch(this.native, name, onStatus, onEnd, (x) => this.watches.delete(x));
    this.watches.add(w);
    return w;
  }

  private closeNative(): void {
    if (this.nativeClosed) return;
    this.nativeClosed = true;
    this.pnp.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    this.watches.clear();
    // No thread yet (never watched) or thread already reported: safe to close now. Otherwise the
    // first report closes it (closing earlier would leave the thread running for ever).
    if (!this.watching) this.closeNative();
    else if (this.started) whenQuiet(this.lastReport, () => this.closeNative());
  }
}

const PROTOCOL_BITS: Record<Protocol, number> = { T0: 0x0001, T1: 0x0002 };

class PcscliteCardHandle implements CardHandle {
  private disconnected = false;
  constructor(
    private readonly reader: pcsclite.CardReader,
    private readonly name: string,
    readonly protocol: Protocol,
    private readonly protocolBits: number,
    readonly atr: Buffer,
  ) {}

  transmit(command: Buffer): Promise<Buffer> {
    if (this.disconnected) return Promise.reject(new PcscError('pcsc-error', `the connection to "${this.name}" is closed`));
    return new Promise((resolve, reject) => {
      this.reader._transmit(command, MAX_RESPONSE, this.protocolBits, (err, data) => {
        if (err) reject(toPcscError(err, this.name, 'SCardTransmit'));
        else resolve(data ?? Buffer.alloc(0));
      });
    });
  }

  disconnect(disposition: Disposition): Promise<void> {
    if (this.disconnected) return Promise.resolve();
    this.disconnected = true;
    const r = this.reader;
    const d = disposition === 'reset' ? r.SCARD_RESET_CARD : disposition === 'unpower' ? r.SCARD_UNPOWER_CARD : r.SCARD_LEAVE_CARD;
    return new Promise((resolve) => {
      // Best effort: after a removal or a pcscd stop the handle is already dead, and there is
      // nothing more to release on our side.
      r._disconnect(d, () => resolve());
    });
  }
}

/**
 * Reads a reader's current state once through a short-lived status thread, and stops the thread
 * (after it has been quiet for QUIET_MS, see whenQuiet) before answering: connecting on the same
 * CardReader while its status thread is being closed would hold the main thread on their shared
 * mutex for as long as SCardConnect takes.
 */
function readStatusOnce(native: Native, name: string): Promise<{ reader: pcsclite.CardReader; status: ReaderStatus }> {
  return new Promise((resolve, reject) => {
    const reader = new native.CardReader(name);
    let settled = false;
    const settle = (lastReport: number | undefined, fn: () => void): void => {
      if (settled) return;
      settled = true;
      const done = (): void => {
        reader.close();
        fn();
      };
      // A thread that ended by itself ('_end') can be joined at once.
      if (lastReport === undefined) later(done);
      else whenQuiet(lastReport, done);
    };
    reader.once('_end', () => settle(undefined, () => reject(new ReaderUnavailableError(name, SCARD.E_UNKNOWN_READER))));
    reader.get_status((err, state, atr) => {
      const now = performance.now();
      if (err) settle(now, () => reject(toPcscError(err, name, 'SCardGetStatusChange')));
      else settle(now, () => resolve({ reader, status: { state: state ?? 0, atr: atr ? Buffer.from(atr) : Buffer.alloc(0) } }));
    });
  });
}

export class PcscliteBackend implements PcscBackend {
  readonly name = 'pcsclite 1.0.1';
  private nativeModule: Native | undefined;

  constructor(private readonly load: () => Native = loadPcsclite) {}

  private get native(): Native {
    if (!this.nativeModule) this.nativeModule = this.load();
    return this.nativeModule;
  }

  establish(): PcscContext {
    return new PcscliteContext(this.native);
  }

  async connect(request: ConnectRequest): Promise<CardHandle> {
    const native = this.native;
    const { reader, status } = await readStatusOnce(native, request.reader);
    if (readerGone(status.state)) throw new ReaderUnavailableError(request.reader);
    if (!cardPresent(status.state)) throw new NoCardError(request.reader);
    if ((status.state & ReaderState.MUTE) !== 0) throw new CardUnresponsiveError(request.reader, SCARD.W_UNRESPONSIVE_CARD);
    let mask = 0;
    for (const p of request.protocols) mask |= PROTOCOL_BITS[p];
    const share = request.share === 'exclusive' ? reader.SCARD_SHARE_EXCLUSIVE : reader.SCARD_SHARE_SHARED;
    const protocolBits = await new Promise<number>((resolve, reject) => {
      reader._connect(share, mask || PROTOCOL_BITS.T0 | PROTOCOL_BITS.T1, (err, protocol) => {
        if (err) {
          const e = toPcscError(err, request.reader, 'SCardConnect');
          // A card pulled between the status read and the connect.
          reject(e instanceof CardRemovedError ? new NoCardError(request.reader) : e);
        } else resolve(protocol ?? 0);
      });
    });
    const protocol: Protocol = protocolBits === PROTOCOL_BITS.T0 ? 'T0' : 'T1';
    return new PcscliteCardHandle(reader, request.reader, protocol, protocolBits, status.atr);
  }
}

/** A pcsclite backend (the native module is loaded on first use, not at import). */
export function pcscliteBackend(): PcscBackend {
  return new PcscliteBackend();
}
