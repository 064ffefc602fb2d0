import fc from 'fast-check';
import { addDays, CALENDAR_DATE_MESSAGE, daysBetween, isIsoDate, isoDateSchema, today } from '../../src/common/calendar-date';

describe('calendar dates (YYYY-MM-DD)', () => {
  test.each(['2024-02-29', '2000-02-29', '2023-12-31', '0004-02-29', '9999-01-01'])('%s is a calendar date', (s) => {
    expect(isIsoDate(s)).toBe(true);
  });

  test.each(['2023-02-29', '1900-02-29', '2023-04-31', '2023-13-01', '2023-00-10', '2023-01-00', '2023-1-01', ' 2023-01-01', '20230101'])(
    '%s is not',
    (s) => {
      expect(isIsoDate(s)).toBe(false);
    },
  );

  test('non-strings are not dates', () => {
    expect(isIsoDate(20230101)).toBe(false);
    expect(isIsoDate(undefined)).toBe(false);
  });

  test('property: agrees with the JavaScript Date calendar for years 1000–9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
        const s = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        const t = new Date(Date.UTC(y, m - 1, d));
        const real = m >= 1 && m <= 12 && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
        expect(isIsoDate(s)).toBe(real);
      }),
      { numRuns: 2000 },
    );
  });

  test('the zod schema says what is wrong', () => {
    expect(isoDateSchema.safeParse('2024-02-29').success).toBe(true);
    expect(isoDateSchema.safeParse('2023-02-29').error?.issues[0]?.message).toBe(CALENDAR_DATE_MESSAGE);
    expect(isoDateSchema.safeParse(5).error?.issues[0]?.message).toBe('expected a date string YYYY-MM-DD');
  });

  test('today is the local calendar day', () => {
    expect(today(new Date(2025, 0, 5, 23, 59))).toBe('2025-01-05');
    expect(isIsoDate(today())).toBe(true);
  });

  test('date arithmetic crosses months, years and leap days', () => {
    expect(addDays('2024-02-25', 5)).toBe('2024-03-01');
    expect(addDays('2023-12-31', 1)).toBe('2024-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('0004-02-28', 1)).toBe('0004-02-29');
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(daysBetween('2024-03-01', '2024-02-28')).toBe(-2);
  });

  test('property: daysBetween undoes addDays', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
        fc.integer({ min: -40_000, max: 40_000 }),
        (t, n) => {
          const d = t.toISOString().slice(0, 10);
          expect(isIsoDate(addDays(d, n))).toBe(true);
          expect(daysBetween(d, addDays(d, n))).toBe(n);
        },
      ),
    );
  });
});
