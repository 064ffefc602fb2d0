import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  ChifaCard,
  decodeBeneficiary,
  decodeDispensation,
  decodeEmergency,
  decodeHolder,
  decodePrescription,
  decodeRights,
} from '../src/card/chifa';
import { InProcessTransport } from '../src/emulator/in-process-transport';
import { VirtualCard } from '../src/emulator/virtual-card';
import { VpcdBridge } from '../src/emulator/vpcd';
import { InsuredFiles, INSURED_AID } from '../src/card/layout';
import { listReaders, PcscTransport, type ReaderInfo } from '../src/card/pcsc';
import type { CardTransport } from '../src/card/transport/transport';
import { packageRoot } from '../src/common/paths';
import { printTable } from './table';

/**
 * A full read of a card with both rings full (holder, beneficiaries, rights, emergency data,
 * 40 prescriptions, 400 dispensations), as ChifaCard.readAll does it, against
 * - the naive way: one READ RECORD per record (past record 254, which P1 cannot name, one GET
 *   RESPONSE per record of the card's chained answer), decoded with the same decoders;
 * - the same APDUs replayed with nothing decoded: what moving the bytes costs;
 * - the floor: the same number of trivial APDUs (GET CHALLENGE, 8 bytes) on the same path;
 * - in-process, the terminal's own CPU time per full read: the readAll time less the time spent
 *   inside the emulator's transmit() (so APDU building, the channel, and decoding 450 records).
 * In-process (the emulator in this process) and, when pcscd is running with a free vpcd reader,
 * through pcscd + vpcd on 127.0.0.1:35963, with the card in its own process (`chifa emulate`,
 * like a real card) and bridged from this one. APDU counts do not depend on
 * latency; times do (stock vpcd costs ~44 ms per APDU from Nagle + delayed ACK, see
 * docs/pcsc.md; with TCP_NODELAY on pcscd's sockets it is ~0.1-0.3 ms).
 * Targets: 11 APDUs with extended length (transparent files are read header first, then only
 * their template: bench/card-timing.ts shows what that saves on a real card's line); with short
 * APDUs ≤ the layout's floor + 5; time through pcscd within 1.2x of the floor for the same APDU
 * count.
 */

const PIN = '1234';
const VPCD_READER = 'Virtual PCD 00 00';
const VPCD_PORT = 35963;

/** The layout's floor for short APDUs: each file's bytes / 256, rounded up, summed. */
export function shortApduFloor(): number {
  let n = 0;
  for (const f of Object.values(InsuredFiles)) n += Math.ceil(('maxRecords' in f ? f.size * f.maxRecords : f.size) / 256);
  return n;
}

/** Counts the time spent inside the inner transport's transmit(): the card's share of a read. */
class Timed implements CardTransport {
  insideMs = 0;
  constructor(private readonly inner: CardTransport & { atr?: Buffer; capabilities?: unknown }) {}
  get atr(): Buffer | undefined {
    return this.inner.atr;
  }
  get capabilities(): unknown {
    return this.inner.capabilities;
  }
  async transmit(command: Buffer): Promise<Buffer> {
    const start = performance.now();
    try {
      return await this.inner.transmit(command);
    } finally {
      this.insideMs += performance.now() - start;
    }
  }
}

/** Median of the terminal's time per full read (open + readAll), the card's time taken out. */
async function terminalMs(t: CardTransport, reps: number): Promise<number> {
  const timed = new Timed(t);
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    timed.insideMs = 0;
    const start = performance.now();
    await smartRead(timed);
    out.push(performance.now() - start - timed.insideMs);
  }
  return out.sort((p, q) => p - q)[Math.floor(out.length / 2)]!;
}

class Counting implements CardTransport {
  count = 0;
  constructor(private readonly inner: CardTransport & { atr?: Buffer; capabilities?: unknown }) {}
  get atr(): Buffer | undefined {
    return this.inner.atr;
  }
  get capabilities(): unknown {
    return this.inner.capabilities;
  }
  readonly commands: Buffer[] = [];
  transmit(command: Buffer): Promise<Buffer> {
    this.count++;
    this.commands.push(Buffer.from(command));
    return this.inner.transmit(command);
  }
}

async function smartRead(t: CardTransport): Promise<void> {
  const card = await ChifaCard.open(t);
  const r = await card.readAll({ pin: PIN });
  if (r.kind !== 'ok' || r.data.dispensations.length !== 400 || r.data.prescriptions.length !== 40) {
    throw new Error(`full read failed: ${r.kind}`);
  }
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** One READ RECORD per record, the way a first integration would; returns the records read. */
async function naiveRead(t: CardTransport): Promise<number> {
  const tx = async (cmd: Buffer): Promise<{ data: Buffer; sw: number }> => {
    const r = await t.transmit(cmd);
    return { data: r.subarray(0, r.length - 2), sw: r.readUInt16BE(r.length - 2) };
  };
  const expect9000 = (sw: number, what: string): void => {
    if (sw !== 0x9000) throw new Error(`${what}: ${sw.toString(16)}`);
  };
  expect9000((await tx(Buffer.concat([hex('00A4040C'), Buffer.from([INSURED_AID.length]), INSURED_AID]))).sw, 'SELECT');
  const holder = await tx(hex('00B0810000'));
  expect9000(holder.sw, 'READ BINARY holder');
  decodeHolder(holder.data);
  expect9000((await tx(Buffer.concat([hex('0020008108'), Buffer.from(PIN, 'latin1'), Buffer.alloc(4, 0xff)]))).sw, 'VERIFY');
  let records = 0;
  const decoders = [decodeBeneficiary, decodePrescription, decodeDispensation];
  for (const [i, f] of [InsuredFiles.beneficiaries, InsuredFiles.prescriptions, InsuredFiles.dispensations].entries()) {
    const decode = decoders[i]!;
    const le = f.size & 0xff;
    let n = 1;
    for (; n <= Math.min(f.maxRecords, 254); n++) {
      const r = await tx(Buffer.from([0x00, 0xb2, n, (f.sfi << 3) | 0b100, le]));
      if (r.sw === 0x6a83) break;
      expect9000(r.sw, `READ RECORD ${f.name} ${n}`);
      decode(r.data, ++records);
    }
    if (n > 254 && f.maxRecords > 254) {
      // Records past 254: ask from 254 on with Le = one record; fetch the chained rest one
      // record per GET RESPONSE.
      let r = await tx(Buffer.from([0x00, 0xb2, 254, (f.sfi << 3) | 0b101, le]));
      while (r.sw >> 8 === 0x61) {
        r = await tx(Buffer.from([0x00, 0xc0, 0x00, 0x00, le]));
        decode(r.data, ++records);
      }
      expect9000(r.sw, `READ RECORD(S) ${f.name} tail`);
    }
  }
  const rights = await tx(hex('00B0830000'));
  expect9000(rights.sw, 'READ BINARY rights');
  decodeRights(rights.data);
  const emergency = await tx(hex('00B0840000'));
  expect9000(emergency.sw, 'READ BINARY emergency');
  decodeEmergency(emergency.data);
  return records;
}

async function floor(t: CardTransport, apdus: number): Promise<void> {
  const cmd = hex('0084000008');
  for (let i = 0; i < apdus; i++) {
    const r = await t.transmit(cmd);
    if (r.readUInt16BE(r.length - 2) !== 0x9000) throw new Error('GET CHALLENGE failed');
  }
}

/**
 * Medians of `fns` run in turn, `reps` times each: on a shared machine the per-APDU latency
 * drifts by tens of percent within seconds, and taking turns puts the drift on all of them.
 */
async function medians(reps: number, ...fns: (() => Promise<void>)[]): Promise<number[]> {
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    for (const [k, fn] of fns.entries()) {
      const start = performance.now();
      await fn();
      times[k]!.push(performance.now() - start);
    }
  }
  return times.map((v) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)]!);
}

async function median(reps: number, fn: () => Promise<void>): Promise<number> {
  return (await medians(reps, fn))[0]!;
}

interface Measured {
  method: string;
  apdus: number;
  ms: number;
  floorMs: number;
}

/** Measures the ways on one path; `open` gives a fresh transport onto the same card. */
async function measure(open: () => Promise<CardTransport>, reps: { warmUp: number; smart: number; naive: number }): Promise<Measured[]> {
  const out: Measured[] = [];
  const t = await open();
  const c1 = new Counting(t);
  await smartRead(c1); // count, and keep the APDUs for the replay
  const smartApdus = c1.count;
  const sent = c1.commands;
  for (let i = 0; i < reps.warmUp; i++) await smartRead(t); // warm-up (JIT): a counter reads cards all day
  const replay = async (): Promise<void> => {
    for (const cmd of sent) await t.transmit(cmd);
  };
  const [smartMs, replayMs, smartFloor] = await medians(
    reps.smart,
    () => smartRead(t),
    replay,
    () => floor(t, smartApdus),
  );
  out.push({ method: 'ChifaCard.readAll (READ RECORD(S), extended when offered)', apdus: smartApdus, ms: smartMs!, floorMs: smartFloor! });
  out.push({ method: '  the same APDUs replayed, answers not decoded', apdus: smartApdus, ms: replayMs!, floorMs: smartFloor! });
  const c2 = new Counting(t);
  await naiveRead(c2);
  const naiveApdus = c2.count;
  const [naiveMs, naiveFloor] = await medians(
    reps.naive,
    async () => void (await naiveRead(t)),
    () => floor(t, naiveApdus),
  );
  out.push({ method: 'naive: one READ RECORD per record', apdus: naiveApdus, ms: naiveMs!, floorMs: naiveFloor! });
  return out;
}

function fullRingsCard(root: string, extendedLength: boolean): VirtualCard {
  return VirtualCard.fromImage(path.join(root, 'fixtures', 'cards', 'full-rings.json'), { options: { extendedLength } });
}

/**
 * Puts the full-rings card into the vpcd reader: in its own process (`chifa emulate`, the way an
 * integrator runs it, and like a real card, which computes on its own chip while the terminal
 * decodes), or bridged from this process, where the card and the reader share one JS thread.
 */
async function hostCard(root: string, host: 'own process' | 'bench process', extendedLength: boolean): Promise<{ stop(): Promise<void> }> {
  if (host === 'bench process') {
    const bridge = new VpcdBridge(fullRingsCard(root, extendedLength), { port: VPCD_PORT });
    bridge.start();
    return bridge;
  }
  const args = [
    path.join(root, 'bin', 'chifa.js'),
    'emulate',
    '--card',
    path.join(root, 'fixtures', 'cards', 'full-rings.json'),
    '--port',
    String(VPCD_PORT),
  ];
  if (!extendedLength) args.push('--no-extended');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    if (code) process.stderr.write(`chifa emulate exited with ${code}: ${stderr}\n`);
  });
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

async function pcscdUsable(): Promise<{ ok: true } | { ok: false; why: string }> {
  let readers: ReaderInfo[];
  try {
    readers = await listReaders({ timeoutMs: 3000 });
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
  const r = readers.find((x) => x.name === VPCD_READER);
  if (!r) return { ok: false, why: `pcscd has no "${VPCD_READER}" reader (vsmartcard-vpcd not installed?)` };
  if (r.cardPresent) return { ok: false, why: `"${VPCD_READER}" already holds a card (another emulator is running)` };
  return { ok: true };
}

async function waitForCard(present: boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = (await listReaders()).find((x) => x.name === VPCD_READER);
    if (r && r.cardPresent === present) return;
    if (Date.now() > deadline) throw new Error(`vpcd reader did not see the card ${present ? 'arrive' : 'leave'}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function run(): Promise<void> {
  const root = packageRoot();
  const rows: (string | number)[][] = [];
  const add = (pathName: string, card: string, m: Measured): void => {
    rows.push([pathName, card, m.method, m.apdus, m.ms, m.floorMs, m.ms / m.floorMs]);
  };

  const terminal: number[] = [];
  for (const ext of [true, false]) {
    const vc = fullRingsCard(root, ext);
    const card = ext ? 'extended length' : 'short APDUs';
    const ms = await measure(async () => new InProcessTransport(vc), { warmUp: 20, smart: 41, naive: 7 });
    for (const m of ms) add('in-process', card, m);
    const cpu = await terminalMs(new InProcessTransport(vc), 101);
    terminal.push(cpu);
    rows.push(['in-process', card, "  terminal's CPU per full read (decode included, card's time out)", ms[0]!.apdus, cpu, '-', '-']);
  }

  const usable = await pcscdUsable();
  if (!usable.ok) {
    rows.push(['pcscd + vpcd', '-', `skipped: ${usable.why}`, '-', '-', '-', '-']);
  } else {
    for (const host of ['own process', 'bench process'] as const) {
      for (const ext of [true, false]) {
        const card = await hostCard(root, host, ext);
        let transport: PcscTransport | undefined;
        try {
          await waitForCard(true);
          transport = await PcscTransport.connect(VPCD_READER);
          const t = transport;
          // Probe the per-APDU latency to size the repetitions (stock vpcd: ~44 ms per APDU).
          const probe = await median(3, () => floor(t, 5));
          const slow = probe / 5 > 5;
          for (const m of await measure(async () => t, slow ? { warmUp: 1, smart: 1, naive: 1 } : { warmUp: 20, smart: 101, naive: 5 })) {
            add(`pcscd + vpcd, card in ${host}${slow ? ' (stock, Nagle)' : ''}`, ext ? 'extended length' : 'short APDUs', m);
          }
        } finally {
          await transport?.close();
          await card.stop();
          await waitForCard(false).catch(() => undefined);
        }
      }
    }
  }

  printTable(
    'Card read: whole card, both rings full (40 prescriptions, 400 dispensations)',
    ['path', 'card', 'method', 'APDUs', 'ms (median)', 'floor ms (same APDUs)', 'x floor'],
    rows,
  );
  process.stdout.write(
    '\nIn-process times are CPU (the emulator serving the files, then decoding 450 records); the floor ratio\n' +
      'that matters is the one through pcscd, where each APDU crosses the PC/SC stack. There the card runs in its own\n' +
      'process (`chifa emulate`), as a real card computes on its own chip; with the card bridged from the bench\n' +
      'process, card and reader share one JS thread. The replay row sends the same APDUs and decodes nothing: what\n' +
      "moving the bytes costs; the rest is the reader's work. readAll reads every file, then decodes.\n",
  );
  process.stdout.write(
    `Targets: 11 APDUs with extended length; ≤ ${shortApduFloor() + 5} with short APDUs (layout floor ${shortApduFloor()} + 5); ` +
      'through pcscd within 1.2x of the floor. Floor = the same number of GET CHALLENGE (8 bytes) on the same path.\n',
  );
  process.stdout.write(
    `Terminal CPU per full read (in-process, the emulator's time taken out): ${terminal.map((x) => `${x.toFixed(2)} ms`).join(' / ')} ` +
      '(extended / short APDUs; target ≤ 1 ms).\n',
  );
}
