import * as path from 'node:path';
import { VirtualCard, type VirtualCardOptions } from '../../src/emulator/virtual-card';
import { INSURED_AID, PROFESSIONAL_AID } from '../../src/card/layout';

export const ROOT = path.resolve(__dirname, '../..');
export const CARDS = path.join(ROOT, 'fixtures/cards');
export const KEYS = path.join(ROOT, 'fixtures/keys');
export const cardPath = (name: string): string => path.join(CARDS, `${name}.json`);

/** A fixed card clock inside the test certificates' validity. */
export const CLOCK = new Date('2025-06-15T10:00:00Z');

export function card(name: string, opts: VirtualCardOptions = {}): VirtualCard {
  return VirtualCard.fromImage(cardPath(name), { clock: CLOCK, ...opts });
}

export const h = (hex: string): Buffer => Buffer.from(hex.replace(/[\s:]/g, ''), 'hex');
export const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

/** Response split into data and SW. */
export function rsp(b: Buffer): { data: Buffer; sw: number } {
  return { data: b.subarray(0, b.length - 2), sw: b.readUInt16BE(b.length - 2) };
}

export function tx(c: VirtualCard, command: string | Buffer): { data: Buffer; sw: number } {
  return rsp(c.transmitSync(typeof command === 'string' ? h(command) : command));
}

export function pinBlock(pin: string): Buffer {
  const b = Buffer.alloc(8, 0xff);
  b.write(pin, 'ascii');
  return b;
}

export function apdu(cla: number, ins: number, p1: number, p2: number, data?: Buffer, le?: number): Buffer {
  const parts: Buffer[] = [Buffer.from([cla, ins, p1, p2])];
  if (data && data.length > 0) parts.push(Buffer.from([data.length]), data);
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}

/** Extended-length APDU. */
export function apduExt(cla: number, ins: number, p1: number, p2: number, data?: Buffer, ne?: number): Buffer {
  const parts: Buffer[] = [Buffer.from([cla, ins, p1, p2])];
  const hasData = data && data.length > 0;
  if (hasData) parts.push(Buffer.from([0, data!.length >> 8, data!.length & 0xff]), data!);
  if (ne !== undefined) {
    const le = ne === 65536 ? 0 : ne;
    parts.push(Buffer.from(hasData ? [le >> 8, le & 0xff] : [0, le >> 8, le & 0xff]));
  }
  return Buffer.concat(parts);
}

export const selectInsured = (): Buffer => apdu(0, 0xa4, 0x04, 0x0c, INSURED_AID);
export const selectProfessional = (): Buffer => apdu(0, 0xa4, 0x04, 0x0c, PROFESSIONAL_AID);
export const verifyPin = (pin: string): Buffer => apdu(0, 0x20, 0x00, 0x81, pinBlock(pin));

import * as fs from 'node:fs';
import { createHash } from 'node:crypto';

export function keyFile(name: string): Buffer {
  return fs.readFileSync(path.join(KEYS, name));
}

/** Splits a long command into chained short APDUs (CLA b5 on all but the last). */
export function chained(ins: number, p1: number, p2: number, data: Buffer, chunk = 255, le?: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const part = data.subarray(off, off + chunk);
    const last = off + chunk >= data.length;
    out.push(apdu(last ? 0x00 : 0x10, ins, p1, p2, part, last ? le : undefined));
  }
  return out;
}

/** The APDUs, in order, of the professional authentication on the insured card (before the signature). */
export function certificateApdus(cert = keyFile('pharmacy-1.cert.der')): Buffer[] {
  return chained(0x2a, 0x00, 0xbe, cert);
}

/**
 * Full professional authentication: PSO VERIFY CERTIFICATE (chained), GET CHALLENGE, the
 * professional card signs it (INTERNAL AUTHENTICATE, after its PIN), EXTERNAL AUTHENTICATE.
 * Expects the insured application selected. Returns the EXTERNAL AUTHENTICATE status word.
 */
export function authenticateProfessional(insured: VirtualCard, pro: VirtualCard, proPin = '0000', cert?: Buffer): number {
  const certDer = cert ?? certificateOf(pro);
  for (const a of certificateApdus(certDer)) {
    const r = tx(insured, a);
    if (r.sw !== 0x9000) return r.sw;
  }
  const challenge = tx(insured, '0084000010');
  if (challenge.sw !== 0x9000) return challenge.sw;
  expect(tx(pro, selectProfessional()).sw).toBe(0x9000);
  expect(tx(pro, verifyPin(proPin)).sw).toBe(0x9000);
  const sig = tx(pro, apdu(0, 0x88, 0x00, 0x01, challenge.data, 0));
  expect(sig.sw).toBe(0x9000);
  return tx(insured, apdu(0, 0x82, 0, 0, sig.data)).sw;
}

/** The DER certificate a professional card holds (EF.CERTIFICATE without its padding). */
export function certificateOf(pro: VirtualCard): Buffer {
  const ef = pro.os.mf.dfs[0]!.efByFid(0x0202)!;
  if (ef.kind !== 'transparent') throw new Error('EF.CERTIFICATE');
  const d = ef.data;
  const len = 4 + d.readUInt16BE(2);
  return Buffer.from(d.subarray(0, len));
}

export const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** A dispensation template as the reader side would build it (hand-written TLV). */
export function dispensationTemplate(invoice: number): Buffer {
  const inv = Buffer.alloc(4);
  inv.writeUInt32BE(invoice);
  const body = Buffer.concat([
    h('800420250615'),
    h('810D'),
    Buffer.from('DZ16-PH-00001'),
    h('820101'),
    h('830A'),
    Buffer.from('N02BE01-01'),
    h('840101'),
    h('850107'),
    h('8604'),
    inv,
  ]);
  return Buffer.concat([Buffer.from([0xe5, body.length]), body]);
}
