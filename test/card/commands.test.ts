import { encodeCommand, ResponseApdu, toHex } from '../../src/card/apdu';
import * as C from '../../src/card/commands';
import { StatusWordError } from '../../src/card/status';

const enc = (c: { apdu: Parameters<typeof encodeCommand>[0] }) => toHex(encodeCommand(c.apdu));
const resp = (hex: string, sw: number) => ResponseApdu.of(Buffer.from(hex, 'hex'), sw);
const AID = Buffer.from('D213000001434849464101', 'hex');

describe('commands encode byte-exact (ISO 7816-4 §7)', () => {
  test.each([
    ['SELECT AID, FCI', C.selectAid(AID), '00A404000BD21300000143484946410100'],
    ['SELECT AID next, no data', C.selectAid(AID, 'none', true), '00A4040E0BD213000001434849464101'],
    ['SELECT FID, FCP', C.selectFid(0x0105), '00A40004020105' + '00'],
    ['SELECT EF under DF', C.selectFid(0x0105, 'none', true), '00A4020C020105'],
    ['SELECT MF', C.selectMf(), '00A4000C023F00'],
    ['SELECT path from MF', C.selectPath([0x5000, 0x0105]), '00A408040450000105' + '00'],
    ['READ BINARY SFI 1', C.readBinary({ sfi: 1, offset: 0x10, ne: 32 }), '00B0811020'],
    ['READ BINARY 15-bit offset', C.readBinary({ offset: 0x1234, ne: 256 }), '00B0123400'],
    ['READ BINARY extended', C.readBinary({ sfi: 2, ne: 1024 }), '00B08200000400'],
    ['UPDATE BINARY', C.updateBinary({ offset: 2, data: Buffer.from([1]) }), '00D600020101'],
    ['READ RECORD single', C.readRecord({ record: 3, sfi: 5 }), '00B2032C00'],
    ['READ RECORDS P1 to last', C.readRecord({ record: 1, sfi: 6, mode: 'fromP1ToLast', ne: 65536 }), '00B20135000000'],
    ['READ RECORDS last to P1', C.readRecord({ record: 1, sfi: 6, mode: 'fromLastToP1' }), '00B2013600'],
    ['READ RECORD current EF', C.readRecord({ record: 1, mode: 'first' }), '00B2010000'],
    ['UPDATE RECORD', C.updateRecord({ record: 2, sfi: 2, data: Buffer.from([7]) }), '00DC021401' + '07'],
    ['APPEND RECORD', C.appendRecord({ sfi: 6, data: Buffer.from([7, 8]) }), '00E200300207' + '08'],
    ['VERIFY', C.verify(0x81, Buffer.from('31323334FFFFFFFF', 'hex')), '002000810831323334FFFFFFFF'],
    ['VERIFY status (empty)', C.verifyStatus(0x81), '00200081'],
    ['CHANGE REFERENCE DATA', C.changeReferenceData(0x81, Buffer.from([1]), Buffer.from([2])), '00240081020102'],
    ['RESET RETRY COUNTER PUK+new', C.resetRetryCounter(0x81, Buffer.from([9]), Buffer.from([2])), '002C0081020902'],
    ['RESET RETRY COUNTER PUK only', C.resetRetryCounter(0x81, Buffer.from([9])), '002C01810109'],
    ['GET CHALLENGE', C.getChallenge(16), '0084000010'],
    ['INTERNAL AUTHENTICATE', C.internalAuthenticate(Buffer.from([1, 2]), 1), '008800010201' + '0200'],
    ['EXTERNAL AUTHENTICATE', C.externalAuthenticate(Buffer.from([1])), '008200000101'],
    ['PSO CDS', C.computeDigitalSignature(Buffer.alloc(32, 0xee)), '002A9E9A20' + 'EE'.repeat(32) + '00'],
    ['PSO VERIFY CERTIFICATE', C.verifyCertificate(Buffer.from([0x30, 0])), '002A00BE023000'],
    ['GET DATA', C.getData(0x5f52), '00CA5F5200'],
    ['GET RESPONSE', C.getResponse(16), '00C0000010'],
  ])('%s', (_n, cmd, hex) => expect(enc(cmd)).toBe(hex));

  test('parameter ranges are checked', () => {
    expect(() => C.readBinary({ sfi: 31 })).toThrow(RangeError);
    expect(() => C.readBinary({ sfi: 1, offset: 256 })).toThrow(RangeError);
    expect(() => C.readRecord({ record: 255 })).toThrow(RangeError);
    expect(() => C.verify(0x81, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => C.getData(0x10000)).toThrow(RangeError);
  });
});

describe('status words map to typed results', () => {
  test.each([
    [C.verify(0x81, Buffer.alloc(8)), '', 0x9000, { kind: 'ok' }],
    [C.verify(0x81, Buffer.alloc(8)), '', 0x63c2, { kind: 'wrongPin', retriesLeft: 2 }],
    [C.verify(0x81, Buffer.alloc(8)), '', 0x63c0, { kind: 'blocked' }],
    [C.verify(0x81, Buffer.alloc(8)), '', 0x6983, { kind: 'blocked' }],
    [C.verifyStatus(0x81), '', 0x63c3, { kind: 'retries', retriesLeft: 3 }],
    [C.verifyStatus(0x81), '', 0x9000, { kind: 'verified' }],
    [C.verifyStatus(0x81), '', 0x6983, { kind: 'blocked' }],
    [C.selectAid(AID), '6F00', 0x9000, { kind: 'selected', fci: Buffer.from('6F00', 'hex') }],
    [C.selectAid(AID), '', 0x6a82, { kind: 'notFound' }],
    [
      C.readRecord({ record: 1, sfi: 5 }),
      'AA',
      0x9000,
      { kind: 'ok', data: Buffer.from('AA', 'hex'), endOfRecords: false, chained: false },
    ],
    [C.readRecord({ record: 9, sfi: 5 }), '', 0x6a83, { kind: 'recordNotFound' }],
    [
      C.readRecord({ record: 253, sfi: 6, mode: 'fromP1ToLast' }),
      'AA',
      0x6100,
      { kind: 'ok', data: Buffer.from('AA', 'hex'), endOfRecords: false, chained: true },
    ],
    [C.getResponse(64), 'BB', 0x6140, { kind: 'ok', data: Buffer.from('BB', 'hex'), chained: true }],
    [C.getResponse(64), 'CC', 0x9000, { kind: 'ok', data: Buffer.from('CC', 'hex'), chained: false }],
    [C.getResponse(64), '', 0x6985, { kind: 'nothingPending' }],
    [C.readRecord({ record: 1, sfi: 5 }), '', 0x6982, { kind: 'securityNotSatisfied' }],
    [C.readBinary({ sfi: 1 }), '01', 0x6282, { kind: 'ok', data: Buffer.from('01', 'hex'), endOfFile: true }],
    [C.appendRecord({ sfi: 6, data: Buffer.alloc(1) }), '', 0x6a84, { kind: 'fileFull' }],
    [C.externalAuthenticate(Buffer.alloc(64)), '', 0x6300, { kind: 'failed' }],
    [C.externalAuthenticate(Buffer.alloc(64)), '', 0x6985, { kind: 'noChallenge' }],
    [C.computeDigitalSignature(Buffer.alloc(32)), '', 0x6982, { kind: 'securityNotSatisfied' }],
    [C.getChallenge(16), '00'.repeat(16), 0x9000, { kind: 'ok', challenge: Buffer.alloc(16) }],
  ])('%#', (cmd, data, sw, expected) => {
    expect((cmd as C.Command<unknown>).decode(resp(data, sw))).toEqual(expected);
  });

  test('an unexpected status word throws StatusWordError with the command name', () => {
    expect(() => C.readRecord({ record: 1, sfi: 5 }).decode(resp('', 0x6581))).toThrow(StatusWordError);
    expect(() => C.appendRecord({ sfi: 6, data: Buffer.alloc(1) }).decode(resp('', 0x6f00))).toThrow(
      'APPEND RECORD: card answered 6F00 (no precise diagnosis)',
    );
  });
});
