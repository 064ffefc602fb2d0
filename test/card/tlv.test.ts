import fc from 'fast-check';
import { fromHex, toHex } from '../../src/card/apdu';
import {
  decodeOne,
  decodeTlv,
  encodeTlv,
  findAllTags,
  findPath,
  findTag,
  hexTag,
  readTlvHeader,
  tagLength,
  TlvError,
  type TlvInput,
  type TlvNode,
  toInput,
} from '../../src/card/tlv';

const RUNS = Number(process.env.CHIFA_FUZZ_RUNS ?? 100_000);

describe('decode — vectors', () => {
  test('primitive and constructed, multi-byte tags, long lengths', () => {
    const bytes = fromHex('6F 10 84 03 A00001 A5 09 9F65 01 FF 5F2D 02 6672');
    const [fci] = decodeTlv(bytes);
    expect(fci!.tag).toBe(0x6f);
    expect(fci!.children!.map((c) => hexTag(c.tag))).toEqual(['84', 'A5']);
    expect(toHex(findPath([fci!], [0x6f, 0xa5, 0x5f2d])!.value)).toBe('6672');
    expect(findPath([fci!], [0x6f, 0xa5, 0x9f65])!.value[0]).toBe(0xff);
    expect(findPath([fci!], [0x6f, 0x99])).toBeUndefined();
  });

  test('3-byte tags and 4-byte lengths', () => {
    const value = Buffer.alloc(0x1000000, 1);
    const enc = encodeTlv({ tag: 0xdf8101, value });
    expect(toHex(enc.subarray(0, 7))).toBe('DF810184010000');
    const [n] = decodeTlv(enc);
    expect(n!.tag).toBe(0xdf8101);
    expect(n!.value.length).toBe(0x1000000);
  });

  test('find helpers', () => {
    const nodes = decodeTlv(fromHex('8001 01 8001 02 8101 03'));
    expect(findTag(nodes, 0x80)!.value[0]).toBe(1);
    expect(findAllTags(nodes, 0x80).map((n) => n.value[0])).toEqual([1, 2]);
    expect(findTag(nodes, 0x82)).toBeUndefined();
  });

  test('padding only when allowed, and only padding after it', () => {
    expect(decodeTlv(fromHex('800101 0000'), { allowTrailing: true })).toHaveLength(1);
    expect(() => decodeTlv(fromHex('800101 0000'))).toThrow(expect.objectContaining({ code: 'invalid-tag', offset: 3 }));
    expect(() => decodeTlv(fromHex('800101 00 80'), { allowTrailing: true })).toThrow(
      expect.objectContaining({ code: 'trailing-bytes', offset: 4 }),
    );
    expect(() => decodeOne(fromHex('800101 800101'))).toThrow(expect.objectContaining({ code: 'trailing-bytes', offset: 3 }));
  });
});

describe('decode — every malformation gets its typed error and offset', () => {
  test.each([
    ['truncated value (beyond buffer)', '8005 0102', 'length-beyond-buffer', 1],
    ['child beyond its parent', 'E1 04 8005 0102', 'value-truncated', 3],
    ['indefinite length', 'E1 80 800101 0000', 'indefinite-length', 1],
    ['non-minimal length 81 05', '80 81 05 0102030405', 'non-minimal-length', 1],
    ['non-minimal length 82 00 80', '80 82 0080', 'non-minimal-length', 1],
    ['length field of 5 bytes', '80 85 0000000001 00', 'length-too-long', 1],
    ['tlv@1.1.1 killer 84 80 00 00 00', '80 84 80000000 00000000', 'length-beyond-buffer', 1],
    ['runaway tag bytes', '9F 81 81 81 81 01 00', 'tag-too-long', 0],
    ['truncated multi-byte tag', '9F', 'truncated-tag', 1],
    ['tag with 80 subsequent byte', '9F 80 01 01 00', 'non-minimal-tag', 1],
    ['low tag number in long form', '9F 05 01 00', 'non-minimal-tag', 0],
    ['missing length', '80', 'truncated-length', 1],
    ['truncated length field', '80 82 01', 'truncated-length', 2],
    ['tag 00', '00 00', 'invalid-tag', 0],
  ])('%s', (_name, h, code, offset) => {
    let err: unknown;
    try {
      decodeTlv(fromHex(h));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TlvError);
    expect(err).toMatchObject({ code, offset });
    expect((err as Error).message).toContain(`offset ${offset}`);
  });

  test('nesting depth is bounded', () => {
    let b = fromHex('800100');
    for (let i = 0; i < 40; i++) b = encodeTlv({ tag: 0xa0, children: decodeTlv(b, { maxDepth: 64 }).map(toInput) });
    expect(() => decodeTlv(b)).toThrow(expect.objectContaining({ code: 'too-deep' }));
    expect(decodeTlv(b, { maxDepth: 64 })).toHaveLength(1);
  });
});

describe('encode', () => {
  test('minimal lengths at each boundary', () => {
    expect(toHex(encodeTlv({ tag: 0x80, value: Buffer.alloc(127) }).subarray(0, 2))).toBe('807F');
    expect(toHex(encodeTlv({ tag: 0x80, value: Buffer.alloc(128) }).subarray(0, 3))).toBe('808180');
    expect(toHex(encodeTlv({ tag: 0x80, value: Buffer.alloc(255) }).subarray(0, 3))).toBe('8081FF');
    expect(toHex(encodeTlv({ tag: 0x80, value: Buffer.alloc(256) }).subarray(0, 4))).toBe('80820100');
    expect(toHex(encodeTlv({ tag: 0x7f21, children: [{ tag: 0x5f20, value: Buffer.from('A') }] }))).toBe('7F21045F200141');
  });

  test.each([
    [{ tag: 0xe1, value: Buffer.alloc(1) }, /constructed/],
    [{ tag: 0x80, children: [] }, /primitive/],
    [{ tag: 0x9f05, value: Buffer.alloc(1) }, /not minimal/],
    [{ tag: 0x1f, value: Buffer.alloc(1) }, /subsequent/],
    [{ tag: 0x9f0181, value: Buffer.alloc(1) }, /continuation/],
    [{ tag: 0, value: Buffer.alloc(1) }, /out of range/],
  ])('rejects malformed input %#', (node, msg) => {
    expect(() => encodeTlv(node as TlvInput)).toThrow(msg);
  });
});

/** Arbitrary well-formed tags: 1 to 3 bytes, primitive or constructed. */
const tagArb = (constructed: boolean) =>
  fc.oneof(
    fc
      .integer({ min: 0x01, max: 0x1e })
      .chain((n) => fc.constantFrom(0x00, 0x40, 0x80, 0xc0).map((cls) => cls | (constructed ? 0x20 : 0) | n)),
    fc
      .integer({ min: 0x1f, max: 0x7f })
      .chain((n) => fc.constantFrom(0x1f, 0x5f, 0x9f, 0xdf).map((f) => ((f | (constructed ? 0x20 : 0)) << 8) | n)),
    fc
      .tuple(fc.integer({ min: 0x81, max: 0xff }), fc.integer({ min: 0, max: 0x7f }))
      .map(([a, b]) => (((0x9f | (constructed ? 0x20 : 0)) << 16) | (a << 8) | b) >>> 0),
  );

const treeArb: fc.Arbitrary<TlvInput> = fc.letrec<{ node: TlvInput }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ tag: tagArb(false), value: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ tag: tagArb(true), children: fc.array(tie('node'), { maxLength: 4 }) }),
  ),
})).node;

function plain(n: TlvNode): unknown {
  return n.children ? { tag: n.tag, children: n.children.map(plain) } : { tag: n.tag, value: Buffer.from(n.value).toString('hex') };
}
function plainInput(n: TlvInput): unknown {
  return 'children' in n
    ? { tag: n.tag, children: n.children.map(plainInput) }
    : { tag: n.tag, value: Buffer.from(n.value).toString('hex') };
}

describe('properties', () => {
  test('decode(encode(tree)) = tree, and encoding is canonical', () => {
    fc.assert(
      fc.property(fc.array(treeArb, { minLength: 1, maxLength: 3 }), (trees) => {
        const bytes = encodeTlv(trees);
        const back = decodeTlv(bytes);
        expect(back.map(plain)).toEqual(trees.map(plainInput));
        expect(encodeTlv(back.map(toInput)).equals(bytes)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  test(`random and mutated bytes decode to a tree or a TlvError (${RUNS} inputs)`, () => {
    const mutated = fc
      .tuple(fc.array(treeArb, { minLength: 1, maxLength: 2 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([trees, i, v, cut]) => {
        const b = Uint8Array.from(encodeTlv(trees));
        if (b.length === 0) return b;
        if (cut) return b.subarray(0, i % b.length);
        b[i % b.length] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutated), fc.boolean(), (bytes, allowTrailing) => {
        try {
          const nodes = decodeTlv(bytes, { allowTrailing });
          let total = 0;
          for (const n of nodes) total += n.value.length;
          expect(total).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          if (!(e instanceof TlvError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(bytes.length);
        }
      }),
      { numRuns: RUNS },
    );
  });

  /** Valid encodings, cut short or with one byte changed: inputs near the edge of the spec. */
  const nearValid = fc
    .tuple(fc.array(treeArb, { minLength: 1, maxLength: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 }))
    .map(([trees, i, v, how]) => {
      const b = Uint8Array.from(encodeTlv(trees));
      if (b.length === 0 || how === 0) return b;
      if (how === 1) return b.subarray(0, i % b.length);
      b[i % b.length] = v;
      return b;
    });

  test(`whatever decodes is the canonical encoding of its tree, up to the padding (${Math.floor(RUNS / 5)} inputs)`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), nearValid), fc.boolean(), (bytes, allowTrailing) => {
        let nodes: TlvNode[];
        try {
          nodes = decodeTlv(bytes, { allowTrailing });
        } catch (e) {
          if (!(e instanceof TlvError)) throw e;
          return;
        }
        // Strict: no byte is skipped, repaired or read two ways, so the minimal encoder gives the
        // input back; with allowTrailing, what follows is '00'/'FF' padding only.
        const again = encodeTlv(nodes.map(toInput));
        expect(Buffer.from(bytes.subarray(0, again.length)).equals(again)).toBe(true);
        if (!allowTrailing) expect(again.length).toBe(bytes.length);
        expect(bytes.subarray(again.length).every((b) => b === 0x00 || b === 0xff)).toBe(true);
      }),
      { numRuns: Math.floor(RUNS / 5) },
    );
  });

  test('every proper prefix of one object is an error, at an offset inside the prefix', () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const bytes = encodeTlv(tree);
        for (let cut = 1; cut < bytes.length; cut++) {
          let err: unknown;
          try {
            decodeTlv(bytes.subarray(0, cut));
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(TlvError);
          expect((err as TlvError).offset).toBeLessThanOrEqual(cut);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('readTlvHeader reads what the encoder wrote, and wants more bytes for a header cut short', () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const bytes = encodeTlv(tree);
        const h = readTlvHeader(bytes);
        const len = 'children' in tree ? encodeTlv(tree.children).length : tree.value.length;
        expect(h).toEqual({
          tag: tree.tag,
          constructed: 'children' in tree,
          lengthAt: tagLength(tree.tag),
          valueStart: bytes.length - len,
          length: len,
        });
        for (let cut = 0; cut < h.valueStart; cut++) {
          expect(() => readTlvHeader(bytes.subarray(0, cut))).toThrow(
            expect.objectContaining({ code: expect.stringMatching(/^truncated-(tag|length)$/) }) as unknown as Error,
          );
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
