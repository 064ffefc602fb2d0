import { objectExtent } from '../../../src/card/chifa/files';

/** objectExtent: how far a transparent file's template reaches, from the first bytes read. */

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('objectExtent', () => {
  it.each([
    ['short length', 'E1 03 800100', 5],
    ['short length, value not read yet', 'E1 7F 80', 0x7f + 2],
    ['long length, value not read yet', 'E1 82 0200', 0x200 + 4],
    ['two-byte tag', '7F21 81 80', 0x80 + 4],
    ['a DER certificate header', '30 82 01 F4 30', 0x1f4 + 4],
  ])('a complete header: %s', (_name, h, extent) => {
    expect(objectExtent(hex(h))).toBe(extent);
  });

  it.each([
    ['tag only', 'E1'],
    ['a two-byte tag cut after its first byte', '7F'],
    ['a long length cut short', 'E1 82 02'],
  ])('a header cut short asks for more bytes: %s', (_name, h) => {
    expect(objectExtent(hex(h))).toBeUndefined();
  });

  it.each([
    ['nothing', ''],
    ['padding 00', '00 00'],
    ['padding FF', 'FF FF'],
    ['an indefinite length', 'E1 80 0000'],
    ['a non-minimal length', 'E1 81 05'],
  ])('nothing more to read: %s', (_name, h) => {
    expect(objectExtent(hex(h))).toBe(0);
  });
});
