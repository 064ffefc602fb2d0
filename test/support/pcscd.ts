import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Helpers for tests that need the real PC/SC stack (pcscd with the vsmartcard vpcd driver).
 * They run in the `pcsc` jest project, in band (`npm test` runs it as a second pass), because
 * they share the two virtual readers.
 *
 *   describePcsc('…', () => { … })       runs when pcscd is up; otherwise fails in CI
 *                                        (CI=true) and skips loudly elsewhere
 *   const emu = await startEmulator({ card: 'fixtures/cards/demo.json', port: 35963 })
 *   await scriptor(emu.reader, ['00 A4 04 0C 0B D2…'])   an independent client (pcsc-tools)
 *   await python(script, [reader])                       another one (pyscard)
 *   await emu.stop()
 *
 * Start pcscd with `scripts/pcscd.sh start`. The emulator needs `npm run build` (it runs
 * `node bin/chifa.js emulate`).
 */

export const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
export const ROOT = path.resolve(__dirname, '../..');
export const READERS = [
  { name: 'Virtual PCD 00 00', port: 35963 },
  { name: 'Virtual PCD 00 01', port: 35964 },
] as const;
/** Debian's python3 has pyscard; another python3 may come first in PATH. */
export const PYTHON = '/usr/bin/python3';

export function pcscAvailable(): boolean {
  try {
    return fs.statSync(PCSCD_SOCKET).isSocket();
  } catch {
    return false;
  }
}

/** A describe() that needs pcscd: fails in CI without it, skips loudly elsewhere. */
export function describePcsc(name: string, fn: () => void): void {
  if (pcscAvailable()) {
    describe(name, fn);
    return;
  }
  const reason = `pcscd is not running (no ${PCSCD_SOCKET}); start it with scripts/pcscd.sh start`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('pcscd is required in CI', () => {
        throw new Error(`pcscd is required in CI: ${reason}`);
      });
    });
    return;
  }

  console.warn(`SKIPPED "${name}": ${reason}`);
  describe.skip(name, fn);
}

function run(cmd: string, args: string[], input?: string, timeoutMs = 20000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? -1 : 0;
      if (err && (err as { killed?: boolean }).killed) {
        reject(new Error(`${cmd} timed out after ${timeoutMs} ms\n${stderr}`));
        return;
      }
      if (err && code === -1) {
        reject(new Error(`${cmd} failed: ${err.message}`));
        return;
      }
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Readers and whether each has a card, from `pcsc_scan -c -n` (lists and exits). */
export async function scanReaders(): Promise<Map<string, { present: boolean; atr?: string }>> {
  const { stdout } = await run('pcsc_scan', ['-c', '-n'], undefined, 10000);
  const out = new Map<string, { present: boolean; atr?: string }>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const r = /^\s*Reader \d+: (.+?)\s*$/.exec(line);
    if (r) {
      current = r[1]!;
      out.set(current, { present: false });
      continue;
    }
    if (!current) continue;
    if (/Card state: .*Card inserted/.test(line)) out.get(current)!.present = true;
    const atr = /^\s*ATR: ([0-9A-F ]+)$/.exec(line);
    if (atr) out.get(current)!.atr = atr[1]!.replace(/ /g, '');
  }
  return out;
}

/** Polls pcsc_scan until `reader` has (or has no) card. */
export async function waitForCard(reader: string, present: boolean, timeoutMs = 10000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await scanReaders()).get(reader);
    if (state && state.present === present) return state.atr;
    if (Date.now() > deadline) throw new Error(`${reader}: the card did not ${present ? 'appear' : 'leave'} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Emulator {
  readonly reader: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the emulator printed on stderr so far. */
  log(): string;
  /** Sends a signal to the emulator process (SIGUSR2 toggles the card's removal). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, and waits for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** Card image, relative to the repository or absolute. */
  card?: string;
  port?: number;
  state?: string;
  args?: string[];
  timeoutMs?: number;
}

/** Starts `chifa emulate` and waits until it is connected to vpcd and pcscd sees the card. */
export async function startEmulator(opts: StartOptions): Promise<Emulator> {
  if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js'))) throw new Error('the project is not built: run `npm run build` first');
  const port = opts.port ?? READERS[0].port;
  const reader = READERS.find((r) => r.port === port)?.name ?? `vpcd on port ${port}`;
  // A card still in the reader is another emulator, or one that just left and pcscd has not
  // noticed yet (it polls every ~400 ms): wait for the slot to be empty, or say who is there.
  try {
    await waitForCard(reader, false, 5000);
  } catch {
    // No reader at all is pcscd gone (or without vpcd), not a card in the way.
    const listed = (await scanReaders().catch(() => new Map<string, unknown>())).has(reader);
    if (!listed) throw new Error(`pcscd does not list "${reader}": is pcscd running with vpcd? (scripts/pcscd.sh status)`);
    throw new Error(`${reader} already holds a card (another emulator is connected to vpcd port ${port})`);
  }
  const args = [path.join(ROOT, 'bin/chifa.js'), 'emulate', '--port', String(port), '--host', '127.0.0.1'];
  if (opts.card) args.push('--card', path.resolve(ROOT, opts.card));
  if (opts.state) args.push('--state', opts.state);
  args.push(...(opts.args ?? []));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const connected = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/card inserted in/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`chifa emulate exited (${code}) before connecting:\n${stderr}`)));
  });
  const timeoutMs = opts.timeoutMs ?? 15000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`chifa emulate did not connect to vpcd within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
  });
  const emu: Emulator = {
    reader,
    port,
    child,
    log: () => stderr,
    signal: (sig) => {
      child.kill(sig);
    },
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  try {
    await Promise.race([connected, timeout]);
    await waitForCard(reader, true, timeoutMs);
  } catch (err) {
    await emu.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return emu;
}

export interface Exchange {
  command: string;
  /** Response data (hex, no spaces), without the status word. */
  data: string;
  sw: string;
}

/** Sends APDUs (hex, spaces allowed) with pcsc-tools' scriptor in one connection. */
export async function scriptor(reader: string, apdus: string[]): Promise<Exchange[]> {
  const { stdout, stderr, code } = await run('scriptor', ['-r', reader], apdus.join('\n') + '\n');
  if (code !== 0) throw new Error(`scriptor exited ${code}:\n${stdout}\n${stderr}`);
  const out: Exchange[] = [];
  let command: string | undefined;
  let hex = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('> ')) {
      command = line.slice(2).replace(/\s/g, '');
      hex = '';
      continue;
    }
    if (command === undefined) continue;
    const body = line.startsWith('< ') ? line.slice(2) : line;
    const end = body.indexOf(' : ');
    hex += (end >= 0 ? body.slice(0, end) : body).replace(/\s/g, '');
    if (end >= 0) {
      out.push({ command, data: hex.slice(0, -4).toUpperCase(), sw: hex.slice(-4).toUpperCase() });
      command = undefined;
    }
  }
  if (out.length !== apdus.length) throw new Error(`scriptor answered ${out.length} of ${apdus.length} APDUs:\n${stdout}\n${stderr}`);
  return out;
}

/** Runs a Python script with Debian's python3 (pyscard); returns its stdout. */
export async function python(script: string, args: string[] = []): Promise<string> {
  const { stdout, stderr, code } = await run(PYTHON, ['-c', script, ...args], undefined, 30000);
  if (code !== 0) throw new Error(`python exited ${code}:\n${stderr}`);
  return stdout;
}
