import fc from 'fast-check';
import { buildElementString, checkDigit, displayGtin, GS, gs1Date, normalizeGtin, parseScan, type ScanResult } from '../../src/common/gs1';

/**
 * Reading GS1 barcodes as a keyboard-wedge scanner types them (GS1 General Specifications): the
 * check digit, GTINs of every length, element strings with and without separators and symbology
 * identifiers, the century of two-digit years, DD = 00, and the refusals.
 */

const TODAY = '2025-06-15';
const ok = (r: ScanResult) => {
  if (!r.ok) throw new Error(`expected a scan, got ${r.error.code}: ${r.error.message}`);
  return r.scan;
};
const err = (r: ScanResult) => {
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
};

describe('check digits and GTINs', () => {
  test.each([
    ['400638133393', 1], // EAN-13 4006381333931
    ['629104150021', 3], // GS1's example GTIN-13 6291041500213
    ['9638507', 4], // EAN-8 96385074
    ['03600029145', 2], // UPC-A 036000291452
    ['1061414100041', 5], // GS1's example GTIN-14 10614141000415
  ])('checkDigit(%s) = %d', (body, digit) => {
    expect(checkDigit(body)).toBe(digit);
  });

  test('normalizeGtin: 8, 12, 13 or 14 digits with the right check digit, as 14 digits', () => {
    expect(normalizeGtin('4006381333931')).toBe('04006381333931');
    expect(normalizeGtin('96385074')).toBe('00000096385074');
    expect(normalizeGtin('036000291452')).toBe('00036000291452');
    expect(normalizeGtin('10614141000415')).toBe('10614141000415');
    for (const bad of ['4006381333932', '400638133393', '40063813339311', 'abcdefghijklm', '', '4006381333931 '])
      expect(normalizeGtin(bad)).toBeUndefined();
    expect(displayGtin('04006381333931')).toBe('4006381333931');
    expect(displayGtin('10614141000415')).toBe('10614141000415');
  });

  test('property: any one digit typed wrong is caught', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{12}$/), fc.nat(12), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const gtin = body + checkDigit(body);
        const wrong = gtin.slice(0, at) + String((Number(gtin[at]) + delta) % 10) + gtin.slice(at + 1);
        expect(normalizeGtin(wrong)).toBeUndefined();
        expect(err(parseScan(wrong, TODAY)).code).toBe('bad-gtin');
      }),
    );
  });
});

describe('linear barcodes (EAN-13, EAN-8, UPC-A, ITF-14)', () => {
  test('the digits, with or without the symbology identifier', () => {
    expect(ok(parseScan('4006381333931', TODAY))).toEqual({
      source: 'gtin',
      gtin: '04006381333931',
      elements: [{ ai: '01', value: '04006381333931' }],
    });
    expect(ok(parseScan(']E04006381333931', TODAY)).gtin).toBe('04006381333931');
    expect(ok(parseScan('96385074', TODAY)).gtin).toBe('00000096385074');
  });

  test('a wrong check digit is refused with where it is', () => {
    expect(err(parseScan('4006381333932', TODAY))).toMatchObject({
      code: 'bad-gtin',
      offset: 12,
      message: expect.stringContaining('expected 1'),
    });
    expect(err(parseScan(']E040063813339', TODAY)).code).toBe('bad-length');
    expect(err(parseScan('', TODAY)).code).toBe('empty');
    expect(err(parseScan(']d1ABC', TODAY)).code).toBe('bad-symbology');
  });
});

describe('GS1 element strings (DataMatrix)', () => {
  const GTIN = '04006381333931';

  test('GTIN, expiry, lot and serial, as a scanner sends them', () => {
    const s = ok(parseScan(`]d201${GTIN}17271231` + `10LOT42${GS}21SN0001`, TODAY));
    expect(s).toEqual({
      source: 'gs1',
      gtin: GTIN,
      expiry: '2027-12-31',
      lot: 'LOT42',
      serial: 'SN0001',
      elements: [
        { ai: '01', value: GTIN },
        { ai: '17', value: '271231' },
        { ai: '10', value: 'LOT42' },
        { ai: '21', value: 'SN0001' },
      ],
    });
  });

  test('any order; FNC1 first, after a fixed-length element, or doubled, is skipped', () => {
    const s = ok(parseScan(`${GS}21ABC${GS}10L1${GS}17260200${GS}01${GTIN}`, TODAY));
    expect([s.gtin, s.serial, s.lot, s.expiry]).toEqual([GTIN, 'ABC', 'L1', '2026-02-28']);
    expect(ok(parseScan(`01${GTIN}${GS}${GS}10L1`, TODAY)).lot).toBe('L1');
  });

  test('DD = 00 is the last day of the month (leap years included)', () => {
    expect(ok(parseScan(`01${GTIN}17280200`, TODAY)).expiry).toBe('2028-02-29');
    expect(ok(parseScan(`01${GTIN}17270400`, TODAY)).expiry).toBe('2027-04-30');
  });

  test('the century: within 49 years back and 50 ahead of today (§7.12)', () => {
    expect(gs1Date('750101', TODAY)).toBe('2075-01-01'); // +50
    expect(gs1Date('760101', TODAY)).toBe('1976-01-01'); // +51 → the century before
    expect(gs1Date('760101', '2060-01-01')).toBe('2076-01-01');
    expect(gs1Date('090101', '2060-01-01')).toBe('2109-01-01'); // −51 → the next century
    expect(gs1Date('230229', TODAY)).toBeUndefined();
    expect(gs1Date('241301', TODAY)).toBeUndefined();
  });

  test('the other AIs of a pack are read past: NHRN, dates, four-digit AIs, measures', () => {
    const s = ok(parseScan(`01${GTIN}11250101` + `7113400930000000${GS}70032506011200${GS}310200150017261231`, TODAY));
    expect(s.expiry).toBe('2026-12-31');
    expect(s.elements.map((e) => e.ai)).toEqual(['01', '11', '711', '7003', '3102', '17']);
  });

  test.each([
    [`01${GTIN}99`, 'bad-length'], // AI 99 with no data
    [`01${GTIN}10${'X'.repeat(21)}`, 'bad-length'],
    [`01${GTIN}8001123`, 'unknown-ai'],
    [`01${GTIN}10LOT 1`, 'bad-character'],
    [`01${GTIN}17ABCDEF`, 'bad-character'],
    [`01${GTIN}17251301`, 'bad-date'],
    [`01${GTIN}10A${GS}10B`, 'duplicate-ai'],
    [`17271231${GS}10L`, 'missing-gtin'],
    [`014006381333931`, 'bad-length'],
    [`0104006381333932`, 'bad-gtin'],
  ])('%j is refused: %s', (text, code) => {
    expect(err(parseScan(text, TODAY)).code).toBe(code);
  });

  test('the offset of a refusal counts the symbology identifier', () => {
    expect(err(parseScan(`]d201${GTIN}10LOT 1`, TODAY))).toMatchObject({ code: 'bad-character', offset: 3 + 16 + 2 + 3 });
  });
});

describe('properties', () => {
  const cset82 = fc.constantFrom(...'!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'.split(''));
  const text20 = fc.array(cset82, { minLength: 1, maxLength: 20 }).map((a) => a.join(''));
  const gtin = fc.stringMatching(/^\d{13}$/).map((b) => b + checkDigit(b));
  // Expiry dates the century rule reads back: from 49 years before 2025 to 50 after.
  const day = fc
    .date({ min: new Date(Date.UTC(1976, 0, 1)), max: new Date(Date.UTC(2075, 11, 31)), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
  const order = fc.shuffledSubarray(['01', '17', '10', '21'] as const, { minLength: 4, maxLength: 4 });

  test('property: an element string built from GTIN, expiry, lot and serial reads back the same', () => {
    fc.assert(
      fc.property(
        gtin,
        fc.option(day, { nil: undefined }),
        fc.option(text20, { nil: undefined }),
        fc.option(text20, { nil: undefined }),
        order,
        fc.constantFrom(undefined, ']d2', ']C1', ']Q3'),
        (g, expiry, lot, serial, ord, symbologyId) => {
          const built = buildElementString({ gtin: g, expiry, lot, serial, order: [...ord], symbologyId });
          const s = ok(parseScan(built, '2025-06-15'));
          expect([s.source, s.gtin, s.expiry, s.lot, s.serial]).toEqual(['gs1', g, expiry, lot, serial]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('property: an expiry written with DD = 00 reads back as the month’s last day', () => {
    fc.assert(
      fc.property(gtin, fc.integer({ min: 2000, max: 2074 }), fc.integer({ min: 1, max: 12 }), (g, y, m) => {
        const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
        const s = ok(parseScan(buildElementString({ gtin: g, expiry: last, expiryDayZero: true }), '2025-06-15'));
        expect(s.expiry).toBe(last);
      }),
    );
  });

  test('property: whatever is typed, parseScan answers (never throws)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789]dEC1Q3\x1dAB-!é'.split('')), maxLength: 60 }), (s) => {
        const r = parseScan(s, '2025-06-15');
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
