import * as path from 'node:path';
import { readSources } from '../support/import-rules';

/**
 * Elliptic-curve work belongs to node:crypto and @noble/curves (src/common/p256.ts), never to
 * hand-written bigint code. A curve implementation cannot do without its field prime or group
 * order: a bigint literal of 128 bits or more is the tell.
 */
const WIDE_BIGINT = /\b0x[0-9a-f]{32,}n\b/i;

test('no file under src/ holds curve constants (no hand-written elliptic-curve arithmetic)', () => {
  const files = readSources(path.resolve(__dirname, '../../src'));
  expect(files.filter((f) => WIDE_BIGINT.test(f.text)).map((f) => f.path)).toEqual([]);
});

test('the check itself sees a curve constant', () => {
  expect(WIDE_BIGINT.test('const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;')).toBe(true);
  expect(WIDE_BIGINT.test('const MAX = 0xffffffffn;')).toBe(false);
});
