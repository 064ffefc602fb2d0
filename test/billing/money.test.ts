import fc from 'fast-check';
import { formatDa, formatRate, mulRateHalfUp } from '../../src/billing/money';

describe('mulRateHalfUp', () => {
  test.each([
    // base, rate bp, expected
    [0, 8000, 0],
    [125, 8000, 100],
    [1, 5000, 1], // 0.5 → 1 (half up)
    [3, 5000, 2], // 1.5 → 2
    [1, 4999, 0], // 0.4999 → 0
    [7, 8000, 6], // 5.6 → 6
    [13, 8000, 10], // 10.4 → 10
    [12345, 10000, 12345],
    [12345, 0, 0],
    [Number.MAX_SAFE_INTEGER, 10000, Number.MAX_SAFE_INTEGER],
    [Number.MAX_SAFE_INTEGER, 8000, Number((BigInt(Number.MAX_SAFE_INTEGER) * 8000n + 5000n) / 10000n)],
  ])('%d × %d bp = %d', (base, rate, expected) => {
    expect(mulRateHalfUp(base, rate)).toBe(expected);
  });

  test.each([
    [-1, 8000],
    [1.5, 8000],
    [Number.MAX_SAFE_INTEGER + 1, 8000],
    [NaN, 8000],
    [100, -1],
    [100, 10001],
    [100, 80.5],
  ])('refuses base %p rate %p', (base, rate) => {
    expect(() => mulRateHalfUp(base, rate)).toThrow(RangeError);
  });

  test('agrees with exact BigInt half-up rounding on any safe base and rate', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 10000 }), (base, rate) => {
        const exact = (BigInt(base) * BigInt(rate) + 5000n) / 10000n;
        expect(mulRateHalfUp(base, rate)).toBe(Number(exact));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('formatDa', () => {
  test.each([
    [0, '0,00 DA'],
    [5, '0,05 DA'],
    [99, '0,99 DA'],
    [100, '1,00 DA'],
    [25000, '250,00 DA'],
    [123456, '1 234,56 DA'],
    [100000000, '1 000 000,00 DA'],
    [-123456, '-1 234,56 DA'],
  ])('%d → %s', (c, s) => {
    expect(formatDa(c)).toBe(s);
  });

  test('refuses a fractional amount', () => {
    expect(() => formatDa(1.5)).toThrow(RangeError);
  });
});

test.each([
  [8000, '80 %'],
  [10000, '100 %'],
  [8250, '82,5 %'],
  [8205, '82,05 %'],
])('formatRate(%d) = %s', (bp, s) => {
  expect(formatRate(bp)).toBe(s);
});
