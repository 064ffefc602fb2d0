import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { VirtualCard } from '../src/emulator/virtual-card';
import { medianOps, printTable } from './table';

/**
 * The card emulator in-process: APDUs per second for the commands a counter uses, and what the
 * write-through state file (fsync per write) costs an APPEND RECORD. Through pcscd + vpcd see
 * bench/card-read.ts (the floor there is the stack, not the emulator).
 */

const root = path.resolve(__dirname, '..', '..');
const cards = path.join(root, 'fixtures', 'cards');
const keys = path.join(root, 'fixtures', 'keys');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const SELECT = hex('00A4040C0BD213000001434849464101');
const SELECT_PRO = hex('00A4040C0BD213000001434849464102');
const VERIFY = hex('002000810831323334FFFFFFFF');
const VERIFY_PRO = hex('002000810830303030FFFFFFFF');
const clock = new Date('2025-06-15T10:00:00Z');

function sw(r: Buffer): number {
  return r.readUInt16BE(r.length - 2);
}

function ok(c: VirtualCard, a: Buffer): Buffer {
  const r = c.transmitSync(a);
  if (sw(r) !== 0x9000) throw new Error(`${a.toString('hex')} → ${sw(r).toString(16)}`);
  return r.subarray(0, r.length - 2);
}

function apdu(cla: number, ins: number, p1: number, p2: number, data: Buffer, le?: number): Buffer {
  return Buffer.concat([Buffer.from([cla, ins, p1, p2, data.length]), data, le === undefined ? Buffer.alloc(0) : Buffer.from([le])]);
}

function authenticate(insured: VirtualCard, pro: VirtualCard): void {
  ok(insured, SELECT);
  ok(insured, VERIFY);
  const cert = fs.readFileSync(path.join(keys, 'pharmacy-1.cert.der'));
  for (let off = 0; off < cert.length; off += 255) {
    const part = cert.subarray(off, off + 255);
    ok(insured, apdu(off + 255 < cert.length ? 0x10 : 0x00, 0x2a, 0x00, 0xbe, part));
  }
  const challenge = ok(insured, hex('0084000010'));
  ok(pro, SELECT_PRO);
  ok(pro, VERIFY_PRO);
  const sig = ok(pro, apdu(0, 0x88, 0, 1, challenge, 0));
  ok(insured, apdu(0, 0x82, 0, 0, sig));
}

function record(i: number): Buffer {
  const body = Buffer.concat([
    hex('800420250615 810D'),
    Buffer.from('DZ16-PH-00001'),
    hex('820101 830A'),
    Buffer.from('N02BE01-01'),
    hex('840101 850107 8604'),
    Buffer.from([0, 0, i >> 8, i & 0xff]),
  ]);
  return Buffer.concat([Buffer.from([0xe5, body.length]), body]);
}

export async function run(): Promise<void> {
  const insured = VirtualCard.fromImage(path.join(cards, 'full-rings.json'), { clock });
  const pro = VirtualCard.fromImage(path.join(cards, 'pharmacist-1.json'), { clock });
  authenticate(insured, pro);
  const readOne = hex('00B2013400');
  const readAllExt = hex('00B20135000000');
  const readShort = hex('00B2013500');
  let n = 0;
  const digest = createHash('sha256').update('invoice').digest();
  const rows: (string | number)[][] = [
    ['SELECT by AID', medianOps(() => ok(insured, SELECT))],
    ['READ RECORD (one 64-byte record)', medianOps(() => ok(insured, readOne))],
    ['READ RECORDS short (4 records, 256 bytes)', medianOps(() => ok(insured, readShort))],
    ['READ RECORDS extended (400 records, 25,600 bytes)', medianOps(() => ok(insured, readAllExt))],
  ];
  authenticate(insured, pro);
  rows.push(['VERIFY (right PIN: two NVM transactions)', medianOps(() => ok(insured, VERIFY))]);
  rows.push(['APPEND RECORD (full ring, in memory)', medianOps(() => ok(insured, apdu(0, 0xe2, 0, 0x30, record(n++))))]);
  ok(pro, SELECT_PRO);
  ok(pro, VERIFY_PRO);
  rows.push(['INTERNAL AUTHENTICATE (node:crypto ECDSA)', medianOps(() => ok(pro, apdu(0, 0x88, 0, 1, digest.subarray(0, 16), 0)), 3)]);
  rows.push([
    'PSO: COMPUTE DIGITAL SIGNATURE (@noble/curves, RFC 6979)',
    medianOps(() => ok(pro, apdu(0, 0x2a, 0x9e, 0x9a, digest, 0)), 3),
  ]);
  rows.push(['full professional authentication (8 + 3 APDUs)', medianOps(() => authenticate(insured, pro), 3)]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-bench-'));
  try {
    const persisted = VirtualCard.fromImage(path.join(cards, 'full-rings.json'), { clock, statePath: path.join(dir, 'state.json') });
    authenticate(persisted, pro);
    rows.push(['APPEND RECORD, write-through state file (fsync)', medianOps(() => ok(persisted, apdu(0, 0xe2, 0, 0x30, record(n++))), 3)]);
    rows.push(['READ RECORD, write-through state file (no write)', medianOps(() => ok(persisted, readOne))]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  printTable('card emulator, in-process (full-rings card)', ['operation', 'per second'], rows);
}
