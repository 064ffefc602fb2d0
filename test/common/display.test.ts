import { capLines, clip, quoteClipped } from '../../src/common/display';

describe('clip', () => {
  test('short text is unchanged; long text keeps its first code points and gains …', () => {
    expect(clip('Café', 40)).toBe('Café');
    expect(clip('x'.repeat(40))).toBe('x'.repeat(40));
    expect(clip('x'.repeat(41))).toBe('x'.repeat(40) + '…');
    expect(clip('abcdef', 3)).toBe('abc…');
  });

  test('counts code points and never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(10); // 20 UTF-16 units
    expect(clip(emoji, 10)).toBe(emoji);
    expect(clip(emoji, 3)).toBe('😀😀😀…');
  });

  test('a 30 MB value costs a prefix', () => {
    const huge = 'é'.repeat(30_000_000);
    expect(quoteClipped(huge)).toBe(JSON.stringify('é'.repeat(40) + '…'));
  });
});

test('capLines: the first N, then how many more', () => {
  expect(capLines(['a', 'b'], 2)).toEqual(['a', 'b']);
  expect(capLines(['a', 'b', 'c', 'd'], 2)).toEqual(['a', 'b', '… and 2 more']);
});

test('clip: unprintable characters become U+FFFD', () => {
  expect(clip('a\u0000b\u202ec\ud800d\u001b')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFD');
});
