import fc from 'fast-check';
import {
  ApduFormatError,
  encodeCommand,
  fromHex,
  parseCommand,
  parseResponse,
  ResponseApdu,
  toHex,
  type CommandApdu,
} from '../../src/card/apdu';
import { ChifaError } from '../../src/common/errors';

const hex = (b: Uint8Array) => toHex(b);
const RUNS = Number(process.env.CHIFA_FUZZ_RUNS ?? 100_000);

describe('encodeCommand — ISO 7816-4 §5.1 cases, byte-exact', () => {
  const d = (n: number) => Buffer.alloc(n, 0xab);
  test.each([
    ['case 1', { cla: 0, ins: 0xa4, p1: 0, p2: 0x0c }, '00A4000C'],
    ['case 2S Ne=1', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 1 }, '00B0000001'],
    ['case 2S Ne=256 → Le 00', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 256 }, '00B0000000'],
    ['case 3S', { cla: 0, ins: 0xd6, p1: 0, p2: 0, data: Buffer.from([1, 2]) }, '00D60000020102'],
    ['case 4S', { cla: 0x80, ins: 0x88, p1: 0, p2: 1, data: Buffer.from([9]), ne: 256 }, '808800010109' + '00'],
    ['case 2E Ne=257', { cla: 0, ins: 0xb2, p1: 1, p2: 0x2d, ne: 257 }, '00B2012D000101'],
    ['case 2E Ne=65536 → 0000', { cla: 0, ins: 0xb2, p1: 1, p2: 0x2d, ne: 65536 }, '00B2012D000000'],
    ['case 2E forced', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 5, extended: true }, '00B00000000005'],
    ['case 3E', { cla: 0, ins: 0x2a, p1: 0, p2: 0xbe, data: d(256) }, '002A00BE000100' + 'AB'.repeat(256)],
    ['case 4E', { cla: 0, ins: 0x2a, p1: 0x9e, p2: 0x9a, data: d(300), ne: 65536 }, '002A9E9A00012C' + 'AB'.repeat(300) + '0000'],
    ['case 4E with short data, long Ne', { cla: 0, ins: 0x88, p1: 0, p2: 0, data: d(2), ne: 1000 }, '00880000000002ABAB03E8'],
  ])('%s', (_name, apdu, expected) => {
    const bytes = encodeCommand(apdu);
    expect(hex(bytes)).toBe(expected);
    const back = parseCommand(bytes);
    const sent: CommandApdu = apdu;
    expect(back.ne).toBe(sent.ne);
    expect(hex(back.data)).toBe(hex(sent.data ?? Buffer.alloc(0)));
  });

  test.each([
    ['CLA FF', { cla: 0xff, ins: 0xa4, p1: 0, p2: 0 }, 'invalid-cla'],
    ['INS 6x', { cla: 0, ins: 0x61, p1: 0, p2: 0 }, 'invalid-ins'],
    ['INS 9x', { cla: 0, ins: 0x9f, p1: 0, p2: 0 }, 'invalid-ins'],
    ['P1 not a byte', { cla: 0, ins: 0xa4, p1: 256, p2: 0 }, 'invalid-p1'],
    ['P2 negative', { cla: 0, ins: 0xa4, p1: 0, p2: -1 }, 'invalid-p2'],
    ['Ne 0', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 0 }, 'invalid-le'],
    ['Ne 65537', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 65537 }, 'invalid-le'],
    ['Ne fractional', { cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 1.5 }, 'invalid-le'],
    ['Nc 65536', { cla: 0, ins: 0xd6, p1: 0, p2: 0, data: Buffer.alloc(65536) }, 'invalid-lc'],
  ])('rejects %s with a typed error', (_n, apdu, code) => {
    let err: unknown;
    try {
      encodeCommand(apdu);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApduFormatError);
    expect((err as ApduFormatError).code).toBe(code);
  });
});

describe('parseCommand — ISO 7816-3 §12.1.3 decoding', () => {
  test.each([
    ['00A4', 'malformed-command'],
    ['00D6000003AABB', 'malformed-command'],
    ['00B0000000', undefined],
    ['00B00000000001', undefined],
    ['00D600000000', 'malformed-command'],
    ['00D6000000000001AA00', 'malformed-command'],
    ['00D60000000000', undefined], // case 2E with Ne = 65536
  ])('%s', (h, code) => {
    if (code === undefined) expect(() => parseCommand(fromHex(h))).not.toThrow();
    else expect(() => parseCommand(fromHex(h))).toThrow(expect.objectContaining({ code }));
  });

  test('round trip: parse(encode(x)) = x for every valid command', () => {
    const apdu = fc.record({
      cla: fc.integer({ min: 0, max: 0xfe }),
      ins: fc.integer({ min: 0, max: 0xff }).filter((i) => (i & 0xf0) !== 0x60 && (i & 0xf0) !== 0x90),
      p1: fc.integer({ min: 0, max: 0xff }),
      p2: fc.integer({ min: 0, max: 0xff }),
      data: fc.option(fc.uint8Array({ minLength: 1, maxLength: 600 }), { nil: undefined }),
      ne: fc.option(fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 65536 })), { nil: undefined }),
      extended: fc.boolean(),
    });
    fc.assert(
      fc.property(apdu, (a) => {
        const p = parseCommand(encodeCommand(a));
        expect([p.cla, p.ins, p.p1, p.p2]).toEqual([a.cla, a.ins, a.p1, a.p2]);
        expect(Buffer.from(p.data).equals(Buffer.from(a.data ?? []))).toBe(true);
        expect(p.ne).toBe(a.ne);
        const ext = a.extended || (a.data?.length ?? 0) > 255 || (a.ne ?? 0) > 256;
        if (a.data !== undefined || a.ne !== undefined) expect(p.extended).toBe(ext);
      }),
      { numRuns: 5_000 },
    );
  });

  test(`any byte string gives a command or an ApduFormatError (${RUNS} inputs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const c = parseCommand(bytes);
          expect(4 + (c.data.length ? c.data.length + (c.extended ? 3 : 1) : 0)).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          if (!(e instanceof ApduFormatError)) throw e;
        }
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

describe('parseResponse', () => {
  test('data and status', () => {
    const r = parseResponse(fromHex('0102 9000'));
    expect(hex(r.data)).toBe('0102');
    expect(r.sw).toBe(0x9000);
    expect(r.ok).toBe(true);
    expect(parseResponse(fromHex('63C2')).ok).toBe(false);
    expect(hex(ResponseApdu.of(Buffer.from([7]), 0x6282).toBytes())).toBe('076282');
  });

  test.each([[''], ['90'], ['0100'], ['12345678']])('rejects %p', (h) => {
    expect(() => parseResponse(fromHex(h))).toThrow(ApduFormatError);
  });

  test(`random and mutated responses give a value or a typed error (${RUNS} inputs)`, () => {
    const valid = fc
      .tuple(fc.uint8Array({ maxLength: 260 }), fc.constantFrom(0x90, 0x61, 0x6c, 0x63, 0x6a), fc.integer({ min: 0, max: 255 }))
      .map(([d, s1, s2]) => Uint8Array.from([...d, s1, s2]));
    const mutated = fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
      const c = Uint8Array.from(b);
      if (c.length) c[i % c.length] = v;
      return c.subarray(0, i % (c.length + 1));
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), valid, mutated), (bytes) => {
        try {
          const r = parseResponse(bytes);
          expect(r.data.length).toBe(bytes.length - 2);
        } catch (e) {
          if (!(e instanceof ChifaError)) throw e;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

test('fromHex names the offset of a bad digit', () => {
  expect(() => fromHex('00 A4 0G')).toThrow(/at byte 2/);
  expect(() => fromHex('ABC')).toThrow(/odd number/);
});
