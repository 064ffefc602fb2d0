import fc from 'fast-check';
import { formatDate, formatInstant, formatMoney, formatRate, isLang, maskId } from '../../src/common/format';
import { formatDa } from '../../src/billing/money';

/**
 * The formatting the server and the counter page share (the page loads this very module): amounts
 * by integer and string arithmetic only, per language; dates by slicing; identifiers masked.
 */

describe('formatMoney', () => {
  test.each([
    [0, '0,00 DA', '0,00\u00a0د.ج'],
    [5, '0,05 DA', '0,05\u00a0د.ج'],
    [99, '0,99 DA', '0,99\u00a0د.ج'],
    [100, '1,00 DA', '1,00\u00a0د.ج'],
    [123456, '1 234,56 DA', '1\u00a0234,56\u00a0د.ج'],
    [100000000, '1 000 000,00 DA', '1\u00a0000\u00a0000,00\u00a0د.ج'],
    [Number.MAX_SAFE_INTEGER, '90 071 992 547 409,91 DA', '90\u00a0071\u00a0992\u00a0547\u00a0409,91\u00a0د.ج'],
    [-250, '-2,50 DA', '-2,50\u00a0د.ج'],
  ])('%d → %s / %s', (c, fr, ar) => {
    expect(formatMoney(c, 'fr')).toBe(fr);
    expect(formatMoney(c, 'ar')).toBe(ar);
  });

  test('French is the default, and what the server has always printed (formatDa)', () => {
    expect(formatMoney(123456)).toBe('1 234,56 DA');
    expect(formatDa(123456)).toBe(formatMoney(123456, 'fr'));
  });

  test.each([1.5, NaN, Infinity, 2 ** 53])('refuses %p rather than guess', (c) => {
    expect(() => formatMoney(c, 'fr')).toThrow(RangeError);
  });

  test('property: the digits read back are the amount, exactly, in both languages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom('fr' as const, 'ar' as const),
        (c, lang) => {
          const s = formatMoney(c, lang);
          expect(BigInt(s.replace(/[^\d-]/g, ''))).toBe(BigInt(c));
          // Groups of three digits, two decimals, the unit at the end.
          expect(s).toMatch(lang === 'fr' ? /^-?\d{1,3}( \d{3})*,\d\d DA$/ : /^-?\d{1,3}(\u00a0\d{3})*,\d\d\u00a0د\.ج$/);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

test.each([
  [8000, '80 %', '80\u00a0%'],
  [10000, '100 %', '100\u00a0%'],
  [8250, '82,5 %', '82,5\u00a0%'],
  [8205, '82,05 %', '82,05\u00a0%'],
  [0, '0 %', '0\u00a0%'],
])('formatRate(%d) = %s / %s', (bp, fr, ar) => {
  expect(formatRate(bp, 'fr')).toBe(fr);
  expect(formatRate(bp, 'ar')).toBe(ar);
});

describe('formatDate and formatInstant', () => {
  test('short dates are day/month/year in both languages; long ones name the month (Algerian names in Arabic)', () => {
    expect(formatDate('2025-06-15', 'fr')).toBe('15/06/2025');
    expect(formatDate('2025-06-15', 'ar')).toBe('15/06/2025');
    expect(formatDate('2025-06-05', 'fr', 'long')).toBe('5 juin 2025');
    expect(formatDate('2025-06-05', 'ar', 'long')).toBe('5 جوان 2025');
    expect(formatDate('2024-07-31', 'ar', 'long')).toBe('31 جويلية 2024');
    expect(formatDate('2025-08-01T12:00:00Z', 'fr', 'long')).toBe('1 août 2025');
  });

  test.each([null, undefined, '', '15/06/2025', '2025-13-01'])('%p is shown as a dash', (v) => {
    expect(formatDate(v, 'fr', v === '2025-13-01' ? 'long' : 'short')).toBe('—');
  });

  test('an instant keeps its own time of day, as written', () => {
    expect(formatInstant('2025-06-15T10:00:00.123Z', 'fr')).toBe('15/06/2025 10:00');
    expect(formatInstant('bad', 'ar')).toBe('—');
  });
});

test('maskId keeps the last four characters', () => {
  expect(maskId('123456789012')).toBe('********9012');
  expect(maskId('1234')).toBe('****');
  expect(maskId('')).toBe('');
});

test('isLang', () => {
  expect(['fr', 'ar', 'en', 'AR', null].map(isLang)).toEqual([true, true, false, false, false]);
});
