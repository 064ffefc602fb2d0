import * as path from 'node:path';
import { VirtualCard, type VirtualCardOptions } from '../../../src/card/emulator/virtual-card';
import { INSURED_AID, PROFESSIONAL_AID } from '../../../src/card/layout';

export const ROOT = path.resolve(__dirname, '../../..');
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
  const parts = [Buffer.from([cla, ins, p1, p2])];
  if (data && data.length > 0) parts.push(Buffer.from([data.length]), data);
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}

/** Extended-length APDU. */
export function apduExt(cla: number, ins: number, p1: number, p2: number, data?: Buffer, ne?: number): Buffer {
  const parts = [Buffer.from([cla, ins, p1, p2])];
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
