import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { listReaders } from '../../src/card/pcsc';

/**
 * The minimum the SDK's pcscd tests need (test/pcsc/harness.ts, the emulator's harness, may
 * replace it): a check that pcscd and the vpcd readers are there, a bridge that puts an emulated
 * card behind a vpcd reader (and can be pulled mid-APDU), and a pcscd restart that always leaves
 * pcscd running.
 */
export const READER_0 = 'Virtual PCD 00 00';
export const READER_1 = 'Virtual PCD 00 01';
export const PORT_0 = 35963;
export const PORT_1 = 35964;

const ROOT = path.join(__dirname, '../..');

let availability: Promise<string | undefined> | undefined;

/** Why the pcscd tests cannot run here, or undefined when they can. */
export function pcscUnavailableReason(): Promise<string | undefined> {
  availability ??= (async () => {
    try {
      const readers = await listReaders({ timeoutMs: 3000 });
      for (const r of [READER_0, READER_1]) if (!readers.some((x) => x.name === r)) return `pcscd has no "${r}" reader (vsmartcard-vpcd)`;
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  })();
  return availability;
}

/**
 * A describe block for tests that need the real pcscd + vpcd: under CI=true a missing pcscd is a
 * failure; elsewhere the block is skipped with a loud warning.
 */
export function describePcsc(name: string, fn: () => void): void {
  describe(name, () => {
    let reason: string | undefined;
    beforeAll(async () => {
      reason = await pcscUnavailableReason();
      if (reason && process.env.CI === 'true') throw new Error(`pcscd tests cannot run under CI: ${reason}`);
      if (reason) process.stderr.write(`\n*** SKIPPING "${name}": ${reason} — start pcscd (scripts/pcscd.sh start) to run them ***\n`);
    });
    fn();
  });
}

/** Runs `fn` unless the pcscd tests are being skipped (see describePcsc). */
export function itPcsc(name: string, fn: () => Promise<void>, timeout?: number): void {
  it(
    name,
    async () => {
      if (await pcscUnavailableReason()) return;
      await fn();
    },
    timeout,
  );
}

export interface BridgeCard {
  readonly atr: Buffer;
  transmitSync(apdu: Buffer): Buffer;
  powerOn(): Buffer;
  powerOff(): void;
  reset(): Buffer;
}

/**
 * An emulated card in a vpcd reader: a TCP client to 127.0.0.1:port with vpcd's framing (2-byte
 * length, then a 1-byte control code or an APDU). It reconnects by itself when pcscd restarts.
 * `pullOn(pred)` pulls the card when an APDU matches — before the card sees it ('before') or after
 * it ran but before the answer goes back ('during'); the bridge then stays out until `insert()`.
 */
export class VpcdBridge {
  private socket: net.Socket | undefined;
  private closed = false;
  private inserted = true;
  private retry: NodeJS.Timeout | undefined;
  private trap: { pred: (apdu: Buffer) => boolean; phase: 'before' | 'during' } | undefined;
  apdus = 0;

  constructor(
    readonly card: BridgeCard,
    readonly port: number,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closed || !this.inserted) return;
    const s = net.connect({ host: '127.0.0.1', port: this.port });
    this.socket = s;
    s.setNoDelay(true);
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const payload = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        this.handle(s, payload);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
      if (!this.closed && this.inserted) this.retry = setTimeout(() => this.connect(), 200);
    });
  }

  private handle(s: net.Socket, payload: Buffer): void {
    const send = (out: Buffer): void => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(out.length);
      s.write(Buffer.concat([head, out]));
    };
    if (payload.length === 1) {
      const code = payload[0];
      if (code === 0x04) send(this.card.atr);
      else if (code === 0x00) this.card.powerOff();
      else if (code === 0x01) this.card.powerOn();
      else if (code === 0x02) this.card.reset();
      return;
    }
    this.apdus++;
    const trap = this.trap;
    if (trap && trap.pred(payload)) {
      this.trap = undefined;
      if (trap.phase === 'during') {
        try {
          this.card.transmitSync(payload);
        } catch {
          // the card's own failure does not matter: the answer is lost anyway
        }
      }
      this.remove();
      return;
    }
    let resp: Buffer;
    try {
      resp = this.card.transmitSync(payload);
    } catch {
      resp = Buffer.from([0x6f, 0x00]);
    }
    send(resp);
  }

  pullOn(pred: (apdu: Buffer) => boolean, phase: 'before' | 'during' = 'before'): void {
    this.trap = { pred, phase };
  }

  /** Pulls the card: the TCP connection goes, vpcd reports the reader empty. */
  remove(): void {
    this.inserted = false;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.destroy();
    this.socket = undefined;
    this.card.powerOff();
  }

  insert(): void {
    if (this.inserted) return;
    this.inserted = true;
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) {
      await new Promise<void>((r) => {
        s.once('close', () => r());
        s.destroy();
      });
    }
  }
}

/** Waits until `reader` shows a card (or no card). vpcd polls about every 400 ms. */
export async function waitForReader(reader: string, cardPresent: boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'unknown';
  for (;;) {
    try {
      const r = (await listReaders({ timeoutMs: 2000 })).find((x) => x.name === reader);
      last = r ? (r.cardPresent ? 'card' : 'empty') : 'no such reader';
      if (r && r.cardPresent === cardPresent) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`"${reader}" did not become ${cardPresent ? 'card' : 'empty'} within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pcscdRunning(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'pcscd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Stops pcscd with scripts/pcscd.sh, runs `whileDown` (if given), and starts it again. Only a
 * pcscd that the script started can be restarted (it never kills a pcscd it does not own); pcscd
 * is running again when this returns or throws.
 */
export async function restartPcscd(whileDown?: () => Promise<void>): Promise<void> {
  const script = path.join(ROOT, 'scripts', 'pcscd.sh');
  if (!fs.existsSync(script)) throw new Error('scripts/pcscd.sh is missing: cannot restart pcscd');
  const run = (cmd: string): void => void execFileSync(script, [cmd], { stdio: 'ignore' });
  try {
    run('stop');
    if (!(await until(() => !pcscdRunning(), 5000))) {
      throw new Error('pcscd is still running: it was not started by scripts/pcscd.sh (stop it and run `scripts/pcscd.sh start`)');
    }
    if (whileDown) await whileDown();
  } finally {
    run('start');
    await until(() => fs.existsSync('/run/pcscd/pcscd.comm') && pcscdRunning(), 5000);
  }
}
