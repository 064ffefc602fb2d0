import { clip } from '../../src/common/echo';

describe('clip: client input shown in an error', () => {
  test('short printable text is shown as is', () => {
    expect(clip('NOPE-01')).toBe('NOPE-01');
    expect(clip('x'.repeat(40))).toBe('x'.repeat(40));
  });

  test('long text is cut at 40 code points with an ellipsis', () => {
    expect(clip('x'.repeat(70_000))).toBe('x'.repeat(40) + '…');
    expect(clip('😀'.repeat(41))).toBe('😀'.repeat(40) + '…');
    expect(clip('abcdef', 3)).toBe('abc…');
  });

  test('unprintable characters become U+FFFD', () => {
    expect(clip('a\u0000b\u202ec\ud800d\u001b')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFD');
  });
});
