// @ts-check
import { daysInMonth } from './calendar.js';

/**
 * GS1 barcodes on medicine packs, as a keyboard-wedge scanner types them: an EAN-13 (a GTIN-13,
 * the linear barcode) or the element string of a GS1 DataMatrix (the 2D code with the GTIN, the
 * expiry date, the lot and the serial number). One implementation for the server (compiled with
 * the TypeScript sources) and for the counter page (the browser loads this very file as an ES
 * module, served at /assets/gs1.js): so it imports nothing but its neighbour calendar.js (served
 * beside it) and uses nothing but the language.
 *
 * The rules are those of the GS1 General Specifications: the Application Identifier table (§3.2),
 * the element strings of predefined length that need no separator (the table "Element strings
 * with predefined length using GS1 Application Identifiers"), the standard check digit (§7.9.1),
 * the century of a two-digit year (§7.12), and FNC1 between a variable-length element and the
 * next, which scanners transmit as the ASCII GS character (0x1D). A scanner may prefix the data
 * with its symbology identifier (ISO/IEC 15424): `]d2` GS1 DataMatrix, `]C1` GS1-128, `]Q3` GS1
 * QR Code, `]e0` GS1 DataBar, `]E0` EAN-13.
 *
 * Results are values, not exceptions: a bad scan is an everyday event at a counter, not a bug.
 * `parseScan` answers `{ ok: true, scan }` or `{ ok: false, error: { code, message, offset } }`
 * (the page shows the code's text in its language; the server turns it into a 400 naming the field).
 */

/** ASCII GS (group separator): FNC1 between elements, as scanners transmit it. */
export const GS = '\x1d';

/**
 * @typedef {object} AiSpec
 * @property {string} title    GS1 data title
 * @property {number} [fixed]  exact length of the data, when fixed
 * @property {number} [max]    longest data, when variable
 * @property {'N' | 'X' | 'date'} kind  N digits; X the GS1 character set 82; date YYMMDD
 */

/** @type {(title: string, fixed: number) => AiSpec} */
const n = (title, fixed) => ({ title, fixed, kind: 'N' });
/** @type {(title: string) => AiSpec} */
const date = (title) => ({ title, fixed: 6, kind: 'date' });
/** @type {(title: string, max: number) => AiSpec} */
const x = (title, max) => ({ title, max, kind: 'X' });

/**
 * The Application Identifiers this parser knows (GS1 General Specifications §3.2): those a
 * medicine pack or its case carries. An AI outside this table stops the parse: its length is
 * unknown, so nothing after it could be read safely.
 * @type {Readonly<Record<string, AiSpec>>}
 */
const AIS = Object.freeze({
  '00': n('SSCC', 18),
  '01': n('GTIN', 14),
  '02': n('CONTENT', 14),
  10: x('BATCH/LOT', 20),
  11: date('PROD DATE'),
  12: date('DUE DATE'),
  13: date('PACK DATE'),
  15: date('BEST BEFORE or BEST BY'),
  16: date('SELL BY'),
  17: date('USE BY OR EXPIRY'),
  20: n('VARIANT', 2),
  21: x('SERIAL', 20),
  22: x('CPV', 20),
  30: { title: 'VAR. COUNT', max: 8, kind: 'N' },
  37: { title: 'COUNT', max: 8, kind: 'N' },
  240: x('ADDITIONAL ID', 30),
  241: x('CUST. PART No.', 30),
  250: x('SECONDARY SERIAL', 30),
  251: x('REF. TO SOURCE', 30),
  400: x('ORDER NUMBER', 30),
  // National Healthcare Reimbursement Numbers (Germany, France, Spain, Brazil, Portugal).
  710: x('NHRN PZN', 20),
  711: x('NHRN CIP', 20),
  712: x('NHRN CN', 20),
  713: x('NHRN DRN', 20),
  714: x('NHRN AIM', 20),
  7003: n('EXPIRY TIME', 10),
  90: x('INTERNAL', 30),
  91: x('INTERNAL', 90),
  92: x('INTERNAL', 90),
  93: x('INTERNAL', 90),
  94: x('INTERNAL', 90),
  95: x('INTERNAL', 90),
  96: x('INTERNAL', 90),
  97: x('INTERNAL', 90),
  98: x('INTERNAL', 90),
  99: x('INTERNAL', 90),
});

/** The AI's spec: from the table, or a trade measure 31nn–36nn (four-digit AI, six digits of data). */
/** @param {string} ai */
function specOf(ai) {
  if (/^3[1-6]\d\d$/.test(ai)) return n('MEASURE', 6);
  return AIS[ai];
}

/** GS1 AI encodable character set 82 (General Specifications, "GS1 AI encodable character set 82"). */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$/;

/**
 * The standard GS1 check digit of `digits` (the data without its check digit): weights 3 and 1
 * alternately from the rightmost digit, and the digit that brings the sum to a multiple of 10.
 * @param {string} digits
 * @returns {number}
 */
export function checkDigit(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? 3 * d : d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * A GTIN-8, -12, -13 or -14 with a correct check digit, as the 14-digit GTIN (left-padded with
 * zeros, as AI 01 carries it); or undefined.
 * @param {string} s
 * @returns {string | undefined}
 */
export function normalizeGtin(s) {
  if (!/^(\d{8}|\d{12,14})$/.test(s)) return undefined;
  const body = s.slice(0, -1);
  if (checkDigit(body) !== Number(s.slice(-1))) return undefined;
  return s.padStart(14, '0');
}

/**
 * The shortest usual form of a 14-digit GTIN: a GTIN-13 (what is printed under an EAN-13) when
 * it begins with a zero, else the GTIN-14.
 * @param {string} gtin14
 */
export function displayGtin(gtin14) {
  return gtin14.length === 14 && gtin14.startsWith('0') ? gtin14.slice(1) : gtin14;
}

/**
 * @typedef {object} Scan
 * @property {'gtin' | 'gs1'} source  a bare GTIN (EAN/UPC linear barcode) or a GS1 element string
 * @property {string} gtin            the GTIN, 14 digits
 * @property {string} [expiry]        AI 17, as the last valid day `YYYY-MM-DD`
 * @property {string} [lot]           AI 10
 * @property {string} [serial]        AI 21
 * @property {{ ai: string, value: string }[]} elements  every element, in the order read
 */

/**
 * @typedef {'empty' | 'bad-symbology' | 'bad-gtin' | 'unknown-ai' | 'bad-length' | 'bad-character'
 *   | 'bad-date' | 'duplicate-ai' | 'missing-gtin'} ScanErrorCode
 */

/** @typedef {{ code: ScanErrorCode, message: string, offset: number }} ScanError */

/** @typedef {{ ok: true, scan: Scan } | { ok: false, error: ScanError }} ScanResult */

/**
 * @param {ScanErrorCode} code
 * @param {string} message
 * @param {number} offset
 * @returns {ScanResult}
 */
const fail = (code, message, offset) => ({ ok: false, error: { code, message, offset } });

const DIGIT_GTIN_LENGTHS = [8, 12, 13, 14];

/** Symbology identifiers whose data is a GS1 element string. */
const ELEMENT_STRING_IDS = [']d2', ']C1', ']Q3', ']e0', ']J1'];
/** Symbology identifiers whose data is a bare GTIN (EAN-13, EAN-8, UPC-A; ITF-14). */
const GTIN_IDS = [']E0', ']E4', ']I1'];

/**
 * Reads what a scanner sent: an EAN-13 / EAN-8 / UPC-A / GTIN-14 (digits only, check digit
 * verified) or a GS1 element string (AI 01 required, its check digit verified; AI 17 turned
 * into a date). `today` (`YYYY-MM-DD`) decides the century of two-digit years (§7.12: within 49
 * years back and 50 years ahead).
 * @param {string} text
 * @param {string} today
 * @returns {ScanResult}
 */
export function parseScan(text, today) {
  let s = text;
  let base = 0;
  let kind = /** @type {'any' | 'gtin' | 'gs1'} */ ('any');
  if (s.startsWith(']')) {
    const id = s.slice(0, 3);
    if (ELEMENT_STRING_IDS.includes(id)) kind = 'gs1';
    else if (GTIN_IDS.includes(id)) kind = 'gtin';
    else return fail('bad-symbology', `symbology identifier ${JSON.stringify(id)} does not carry GS1 data`, 0);
    s = s.slice(3);
    base = 3;
  }
  if (s === '') return fail('empty', 'nothing was scanned', base);
  if (kind !== 'gs1' && /^\d+$/.test(s) && (kind === 'gtin' || DIGIT_GTIN_LENGTHS.includes(s.length))) {
    const gtin = normalizeGtin(s);
    if (gtin === undefined) {
      if (!DIGIT_GTIN_LENGTHS.includes(s.length)) return fail('bad-length', `a GTIN has 8, 12, 13 or 14 digits, not ${s.length}`, base);
      return fail('bad-gtin', `check digit of ${s} is wrong (expected ${checkDigit(s.slice(0, -1))})`, base + s.length - 1);
    }
    return { ok: true, scan: { source: 'gtin', gtin, elements: [{ ai: '01', value: gtin }] } };
  }
  if (kind === 'gtin') return fail('bad-gtin', 'expected the digits of a GTIN', base);
  return parseElementString(s, base, today);
}

/**
 * @param {string} s
 * @param {number} base  offset of `s` in what was scanned (after a symbology identifier)
 * @param {string} today
 * @returns {ScanResult}
 */
function parseElementString(s, base, today) {
  /** @type {{ ai: string, value: string }[]} */
  const elements = [];
  /** @type {Map<string, string>} */
  const seen = new Map();
  let expiry;
  let i = 0;
  while (i < s.length) {
    if (s[i] === GS) {
      i++; // FNC1 in first position, or after an element that did not need it
      continue;
    }
    let ai = '';
    /** @type {AiSpec | undefined} */
    let spec;
    for (const len of [2, 3, 4]) {
      const candidate = s.slice(i, i + len);
      if (!/^\d+$/.test(candidate) || candidate.length < len) break;
      spec = specOf(candidate);
      if (spec) {
        ai = candidate;
        break;
      }
    }
    if (!spec) return fail('unknown-ai', `no known Application Identifier at ${JSON.stringify(s.slice(i, i + 4))}`, base + i);
    const start = i + ai.length;
    let end;
    if (spec.fixed !== undefined) {
      end = start + spec.fixed;
      const gs = s.indexOf(GS, start);
      if (end > s.length || (gs !== -1 && gs < end))
        return fail('bad-length', `AI (${ai}) ${spec.title}: expected ${spec.fixed} characters`, base + start);
    } else {
      const gs = s.indexOf(GS, start);
      end = gs === -1 ? s.length : gs;
      const max = /** @type {number} */ (spec.max);
      if (end === start) return fail('bad-length', `AI (${ai}) ${spec.title}: empty`, base + start);
      if (end - start > max) return fail('bad-length', `AI (${ai}) ${spec.title}: at most ${max} characters`, base + start);
    }
    const value = s.slice(start, end);
    if (spec.kind === 'X' ? !CSET82.test(value) : !/^\d+$/.test(value)) {
      let at = 0;
      while (at < value.length && (spec.kind === 'X' ? CSET82.test(value.charAt(at)) : /\d/.test(value.charAt(at)))) at++;
      return fail(
        'bad-character',
        `AI (${ai}) ${spec.title}: ${spec.kind === 'X' ? 'character not allowed in GS1 data' : 'expected digits'}`,
        base + start + at,
      );
    }
    const before = seen.get(ai);
    if (before !== undefined && before !== value) return fail('duplicate-ai', `AI (${ai}) appears twice with different values`, base + i);
    seen.set(ai, value);
    if (spec.kind === 'date') {
      const day = gs1Date(value, today);
      if (day === undefined) return fail('bad-date', `AI (${ai}) ${spec.title}: ${value} is not a date YYMMDD`, base + start);
      if (ai === '17') expiry = day;
    }
    if (ai === '01' && checkDigit(value.slice(0, -1)) !== Number(value.slice(-1)))
      return fail('bad-gtin', `AI (01) GTIN ${value}: check digit is wrong (expected ${checkDigit(value.slice(0, -1))})`, base + end - 1);
    if (before === undefined) elements.push({ ai, value });
    i = end;
  }
  const gtin = seen.get('01');
  if (gtin === undefined) return fail('missing-gtin', 'the code carries no GTIN (AI 01)', base);
  /** @type {Scan} */
  const scan = { source: 'gs1', gtin, elements };
  if (expiry !== undefined) scan.expiry = expiry;
  const lot = seen.get('10');
  if (lot !== undefined) scan.lot = lot;
  const serial = seen.get('21');
  if (serial !== undefined) scan.serial = serial;
  return { ok: true, scan };
}

/**
 * A GS1 date YYMMDD as `YYYY-MM-DD`, or undefined. The century (§7.12): the year is taken within
 * 49 years before and 50 years after the year of `today`. DD = 00 stands for the last day of the
 * month (GS1 Healthcare asks for a real day on packs labelled from 2025, GSCN 21-040, but packs
 * labelled before are still on the shelves).
 * @param {string} yymmdd
 * @param {string} today
 * @returns {string | undefined}
 */
export function gs1Date(yymmdd, today) {
  if (!/^\d{6}$/.test(yymmdd) || !/^\d{4}-/.test(today)) return undefined;
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  const dd = Number(yymmdd.slice(4, 6));
  const current = Number(today.slice(0, 4));
  const diff = yy - (current % 100);
  let century = current - (current % 100);
  if (diff >= 51) century -= 100;
  else if (diff <= -50) century += 100;
  const year = century + yy;
  if (mm < 1 || mm > 12) return undefined;
  const last = daysInMonth(year, mm);
  if (dd > last) return undefined;
  const day = dd === 0 ? last : dd;
  return `${String(year).padStart(4, '0')}-${String(mm).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * @typedef {object} ElementStringInput
 * @property {string} gtin          14 digits with a correct check digit
 * @property {string} [expiry]      `YYYY-MM-DD`, written YYMMDD
 * @property {boolean} [expiryDayZero]  write the day as 00 (end of month: `expiry` must be the month's last day)
 * @property {string} [lot]
 * @property {string} [serial]
 * @property {('01' | '17' | '10' | '21')[]} [order]  the order of the elements (default 01, 17, 10, 21)
 * @property {string} [symbologyId]  e.g. `]d2`
 */

/**
 * The element string a GS1 DataMatrix carries for these data, as a scanner transmits it (GS after
 * every variable-length element that is not the last). The inverse of `parseScan`, for tests,
 * demos and label printing.
 * @param {ElementStringInput} input
 * @returns {string}
 */
export function buildElementString(input) {
  /** @type {Record<string, string | undefined>} */
  const data = {
    '01': input.gtin,
    17:
      input.expiry === undefined
        ? undefined
        : input.expiry.slice(2, 4) + input.expiry.slice(5, 7) + (input.expiryDayZero ? '00' : input.expiry.slice(8, 10)),
    10: input.lot,
    21: input.serial,
  };
  const order = (input.order ?? ['01', '17', '10', '21']).filter((ai) => data[ai] !== undefined);
  let out = input.symbologyId ?? '';
  order.forEach((ai, k) => {
    out += ai + data[ai];
    const variable = AIS[ai]?.fixed === undefined;
    if (variable && k < order.length - 1) out += GS;
  });
  return out;
}
