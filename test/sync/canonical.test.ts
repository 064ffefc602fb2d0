import fc from 'fast-check';
import { canonicalize, parseCanonical } from '../../src/sync/canonical';
import { CanonicalJsonError } from '../../src/sync/errors';

describe('RFC 8785 canonical JSON', () => {
  test('RFC 8785 §3.2.2 example (numbers, strings, literals)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('RFC 8785 §3.2.3 sorting by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    // Compare text: re-parsing into a JS object would move "1" first again.
    const order = [...canonicalize(input).matchAll(/"([^"]*)":"[^"]*"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(order).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  test('RFC 8785 appendix B number vectors', () => {
    const f = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['41b3de4355555555', '333333333.3333333'],
    ];
    for (const [hex, out] of vectors) expect(canonicalize(f(hex))).toBe(out);
    expect(() => canonicalize(f('7fffffffffffffff'))).toThrow(CanonicalJsonError);
    expect(() => canonicalize(f('7ff0000000000000'))).toThrow(CanonicalJsonError);
  });

  test('refuses what has no JSON form, naming the field', () => {
    expect(() => canonicalize({ a: [1, undefined] })).toThrow(/a\[1\]/);
    expect(() => canonicalize({ d: new Date(0) })).toThrow(/d: only plain objects/);
    expect(() => canonicalize({ s: 'x\ud800y' })).toThrow(/lone surrogate/);
    expect(() => canonicalize({ s: '\udc00' })).toThrow(/lone surrogate/);
    expect(() => canonicalize(10n)).toThrow(CanonicalJsonError);
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  test('parseCanonical accepts canonical text and refuses other forms and duplicate names', () => {
    expect(parseCanonical('{"a":1,"b":[true]}')).toEqual({ a: 1, b: [true] });
    expect(() => parseCanonical('{"b":1,"a":2}')).toThrow(/canonical form/);
    expect(() => parseCanonical('{"a": 1}')).toThrow(/offset 5/);
    expect(() => parseCanonical('{"a":1,"a":1}')).toThrow(/canonical form/);
    expect(() => parseCanonical('{"a":1.0}')).toThrow(/canonical form/);
    expect(() => parseCanonical('{"a":"\\u0041"}')).toThrow(/canonical form/);
    expect(() => parseCanonical('{"a":')).toThrow(/not valid JSON/);
  });

  const json = fc.jsonValue({ noUnicodeString: false }) as fc.Arbitrary<unknown>;

  test('property: parse(canonicalize(x)) deep-equals x (up to -0), and canonical text is a fixpoint', () => {
    fc.assert(
      fc.property(json, (v) => {
        const c = canonicalize(v);
        const back = JSON.parse(c) as unknown;
        expect(canonicalize(back)).toBe(c);
        expect(parseCanonical(c)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
  });

  test('property: member order in the input does not matter', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(obj));
      }),
      { numRuns: 300 },
    );
  });

  test('property: same as JSON.stringify with members sorted, for strings and integers', () => {
    // Independent oracle. (Object.fromEntries cannot be used to sort: integer-like keys always
    // come first in a JS object, while JCS puts "" before "0".)
    const sortDeep = (v: unknown): string =>
      Array.isArray(v)
        ? '[' + v.map(sortDeep).join(',') + ']'
        : v !== null && typeof v === 'object'
          ? '{' +
            Object.keys(v)
              .sort()
              .map((k) => JSON.stringify(k) + ':' + sortDeep((v as Record<string, unknown>)[k]))
              .join(',') +
            '}'
          : JSON.stringify(v);
    const leaf = fc.oneof(
      fc.string({ unit: 'binary' }).filter((s) => !/[\ud800-\udfff]/.test(s)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string(), tie('node'))),
    })).node;
    fc.assert(
      fc.property(tree, (v) => expect(canonicalize(v)).toBe(sortDeep(v))),
      { numRuns: 300 },
    );
  });
});
