import fc from 'fast-check';
import { freeText, textProblem } from '../../src/common/free-text';

describe('free text that gets signed', () => {
  const limits = { max: 10 };

  test('accepts printable NFC text in any script, within the bounds', () => {
    for (const ok of ['AP-2025-17', 'délivrance', 'بن علي', 'کتاب‌ها' /* ZWNJ */, '😀😀😀😀😀😀😀😀😀😀' /* 10 code points, 20 units */])
      expect({ ok, problem: textProblem(ok, limits) }).toEqual({ ok, problem: undefined });
  });

  test('refuses controls, bidi controls, line breaks, lone surrogates and noncharacters, naming the code point and position', () => {
    expect(textProblem('a\u0000b', limits)).toBe('contains a control character (U+0000) at character 2');
    expect(textProblem('\u001b[2J', limits)).toBe('contains a control character (U+001B) at character 1');
    expect(textProblem('a\u0085', limits)).toBe('contains a control character (U+0085) at character 2');
    expect(textProblem('😀\u202eab', limits)).toBe('contains a bidirectional control (U+202E) at character 2');
    for (const c of ['\u061c', '\u200e', '\u200f', '\u202a', '\u202d', '\u2066', '\u2069'])
      expect(textProblem(`x${c}`, limits)).toMatch(/^contains a bidirectional control/);
    expect(textProblem('a\u2028b', limits)).toMatch(/^contains a line break \(U\+2028\)/);
    expect(textProblem('ab\ud800', limits)).toBe('contains a lone UTF-16 surrogate (U+D800) at character 3');
    expect(textProblem('\udc00', limits)).toMatch(/lone UTF-16 surrogate \(U\+DC00\)/);
    expect(textProblem('x\ufffe', limits)).toMatch(/noncharacter \(U\+FFFE\)/);
  });

  test('refuses text that is not NFC (never normalises it)', () => {
    expect(textProblem('de\u0301ja', limits)).toMatch(/NFC/);
    expect(textProblem('d\u00e9j\u00e0', limits)).toBeUndefined();
  });

  test('bounds count code points; empty is refused unless min is 0', () => {
    expect(textProblem('x'.repeat(11), limits)).toBe('at most 10 characters');
    expect(textProblem('é'.repeat(11), limits)).toBe('at most 10 characters');
    expect(textProblem('😀'.repeat(11), limits)).toBe('at most 10 characters');
    expect(textProblem('x'.repeat(70_000), limits)).toBe('at most 10 characters');
    expect(textProblem('', limits)).toBe('must not be empty');
    expect(textProblem('', { max: 10, min: 0 })).toBeUndefined();
  });

  test('the zod form: same verdicts, trims when asked, its own message for a non-string', () => {
    const s = freeText({ max: 5 }, { expected: 'expected a reason', trim: true });
    expect(s.parse('  abc ')).toBe('abc');
    expect(s.safeParse('   ').error?.issues[0]?.message).toBe('must not be empty');
    expect(s.safeParse(3).error?.issues[0]?.message).toBe('expected a reason');
    expect(s.safeParse('a\u202eb').error?.issues[0]?.message).toMatch(/bidirectional/);
  });

  test('property: whatever the input, accepted text is well-formed, NFC, printable and bounded', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.nat(20), (s, max) => {
        const ok = textProblem(s, { max }) === undefined;
        const cps = [...s];
        const printable = !/[\p{Cc}\p{Cs}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\p{Noncharacter_Code_Point}]/u.test(s);
        expect(ok).toBe(printable && s.normalize('NFC') === s && cps.length >= 1 && cps.length <= max);
      }),
      { numRuns: 5000, seed: 11 },
    );
  });
});
