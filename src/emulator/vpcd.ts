import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { CardRemovedError } from '../card/transport/transport';
import type { VirtualCard } from './virtual-card';

/**
 * The bridge to pcscd's virtual reader driver, vsmartcard's vpcd (Debian `vsmartcard-vpcd`).
 *
 * vpcd listens (TCP 35963 for "Virtual PCD 00 00", 35964 for "Virtual PCD 00 01"); the *card*
 * connects to it as a client, and the connection existing is the card being in the reader.
 * Every message is a 2-byte big-endian length and a payload. A 1-byte payload is a control code:
 * 00 power off, 01 power on, 02 reset, 04 get ATR (the only one answered: with the framed ATR).
 * Any longer payload is a command APDU, answered with the framed response APDU. vpcd polls with
 * 04 about every 400 ms.
 *
 * `card.remove()` closes the connection (pcscd sees the card leave within ~400 ms);
 * `card.insert()` connects again. A power loss inside a command (a tear) looks like a quick
 * removal and re-insertion: the connection is dropped and re-established, and pcscd powers the
 * card on again, which runs its recovery. If pcscd is not there (yet), the bridge retries with
 * backoff. TCP_NODELAY is set on our side (vpcd's own side needs scripts/nodelay.so, see
 * docs/pcsc.md), and tests connect to 127.0.0.1 only.
 *
 * With a timing profile on the card, every answer leaves after the exchange's modelled time and
 * a power-on or reset holds the next message back for the ATR and PPS time (timing.ts). vpcd is
 * a virtual reader: pcscd sends it no PPS and there is no line whose rate could change, so the
 * delay is computed at the rate the profile says the card and a real reader would agree on.
 */

export const VPCD_PORT = 35963;
const CTRL_POWER_OFF = 0x00;
const CTRL_POWER_ON = 0x01;
const CTRL_RESET = 0x02;
const CTRL_GET_ATR = 0x04;
const MAX_FRAME = 0xffff;

/** The reader name pcscd gives the vpcd slot listening on `port` (per /etc/reader.conf.d/vpcd). */
export function vpcdReaderName(port: number): string {
  const n = port - VPCD_PORT;
  return n >= 0 && n < 100 ? `Virtual PCD 00 ${String(n).padStart(2, '0')}` : `vpcd on port ${port}`;
}

/** Options of VpcdBridge. */
export interface VpcdBridgeOptions {
  readonly host?: string;
  readonly port?: number;
  /** First retry delay after a failed or lost connection; doubles up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /**
   * After the card left (removal, power loss), how long before a connection may be made again,
   * so that pcscd, which polls every ~400 ms, surely sees the card gone. Default 1000 ms.
   */
  readonly reinsertDelayMs?: number;
  /** Human-readable progress lines (the CLI prints them on stderr). Never given APDU data. */
  readonly log?: (line: string) => void;
}

/** Splits a byte stream into vpcd frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      out.push(Buffer.from(this.buf.subarray(2, 2 + len)));
      this.buf = this.buf.subarray(2 + len);
    }
    return out;
  }
}

export function frame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME) throw new RangeError(`a vpcd frame holds at most ${MAX_FRAME} bytes`);
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  payload.copy(out, 2);
  return out;
}

/**
 * Puts a VirtualCard into pcscd's virtual reader: connects to vsmartcard's vpcd (the connection is the
 * card's presence) and answers its frames. Events: `connected`, `disconnected`.
 */
export class VpcdBridge extends EventEmitter {
  readonly host: string;
  readonly port: number;
  private socket: net.Socket | undefined;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private queue: Promise<void> = Promise.resolve();
  /** Not before this time (ms since epoch): see reinsertDelayMs. */
  private notBefore = 0;
  // Deferred: when the card leaves right *after* a command, its response goes out first.
  private readonly onRemoved = (): void => {
    setImmediate(() => this.disconnect('card removed'));
  };
  private readonly onInserted = (): void => this.connectSoon(0);

  constructor(
    readonly card: VirtualCard,
    private readonly opts: VpcdBridgeOptions = {},
  ) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? VPCD_PORT;
    this.delay = opts.retryMs ?? 100;
  }

  /** The PC/SC name of the reader the card goes into, e.g. "Virtual PCD 00 00". */
  get readerName(): string {
    return vpcdReaderName(this.port);
  }

  /** Whether vpcd holds the card right now. */
  get connected(): boolean {
    return this.socket !== undefined && !this.socket.connecting && !this.socket.destroyed;
  }

  /** Starts: connects (the card is inserted) if the card is in the reader, and follows insert/remove. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.card.on('removed', this.onRemoved);
    this.card.on('inserted', this.onInserted);
    if (this.card.inserted) this.connectSoon(0);
  }

  /** Stops for good: the card leaves the reader. */
  async stop(): Promise<void> {
    this.running = false;
    this.card.off('removed', this.onRemoved);
    this.card.off('inserted', this.onInserted);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
    await this.queue.catch(() => undefined);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private connectSoon(ms: number): void {
    if (!this.running || this.socket || this.retryTimer || !this.card.inserted) return;
    ms = Math.max(ms, this.notBefore - Date.now());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, ms);
  }

  private connect(): void {
    if (!this.running || this.socket || !this.card.inserted) return;
    const socket = net.createConnection({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader();
    let up = false;
    socket.on('connect', () => {
      up = true;
      this.delay = this.opts.retryMs ?? 100;
      this.log(`card inserted in ${this.readerName} (connected to vpcd at ${this.host}:${this.port})`);
      this.emit('connected');
    });
    socket.on('data', (chunk: Buffer) => {
      for (const payload of reader.push(chunk)) {
        this.queue = this.queue
          .then(() => this.handle(socket, payload))
          .catch((err: unknown) => {
            this.log(`vpcd bridge error: ${(err as Error).message}`);
          });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') return; // 'close' follows: retry
      this.log(`vpcd connection error: ${err.message}`);
    });
    socket.on('close', () => {
      const wasUp = up && this.socket === socket;
      if (this.socket === socket) this.socket = undefined;
      this.emit('disconnected');
      if (!this.running || !this.card.inserted) return;
      if (wasUp) this.log(`vpcd at ${this.host}:${this.port} closed the connection; reconnecting`);
      const d = this.delay;
      this.delay = Math.min(d * 2, this.opts.maxRetryMs ?? 2000);
      this.connectSoon(d);
    });
  }

  /** Drops the connection (the card leaves the reader); connects again if the card is (back) in. */
  private disconnect(reason: string): void {
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      this.log(`${reason}: leaving ${this.readerName}`);
      this.notBefore = Date.now() + (this.opts.reinsertDelayMs ?? 1000);
      // end(), not destroy(): a response written just before still reaches vpcd.
      s.end();
      setTimeout(() => s.destroy(), 200).unref();
    }
    this.connectSoon(0);
  }

  private async handle(socket: net.Socket, payload: Buffer): Promise<void> {
    if (socket.destroyed) return;
    if (payload.length === 1) {
      switch (payload[0]) {
        case CTRL_POWER_OFF:
          this.card.powerOff();
          return;
        case CTRL_POWER_ON:
          if (this.card.inserted) {
            this.card.powerOn();
            await delay(this.card.resetCost().totalMs);
          }
          return;
        case CTRL_RESET:
          if (this.card.inserted) {
            this.card.reset();
            await delay(this.card.resetCost().totalMs);
          }
          return;
        case CTRL_GET_ATR:
          socket.write(frame(this.card.atr));
          return;
        default:
          return; // unknown control codes are ignored, as vpicc does
      }
    }
    let response: Buffer;
    try {
      // vpcd only sends APDUs to a powered card; after a tear it still may: power on first.
      if (!this.card.powered && this.card.inserted) this.card.powerOn();
      const exchange = await this.card.exchange(payload);
      response = exchange.response;
      await delay(exchange.cost.totalMs);
    } catch (err) {
      if (err instanceof CardRemovedError) {
        if (this.card.inserted) {
          // Power lost mid-command, card still in the reader: leave and come back, so pcscd
          // notices and powers the card on again (which runs the anti-tearing recovery).
          this.disconnect('power lost during a command');
        }
        return;
      }
      response = Buffer.from([0x6f, 0x00]);
    }
    if (response.length > MAX_FRAME) response = Buffer.from([0x67, 0x00]);
    if (!socket.destroyed) socket.write(frame(response));
  }
}

/** Waits the modelled time (nothing without a timing profile). */
function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
