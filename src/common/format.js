// @ts-check
/**
 * How the counter shows amounts, rates, dates and masked identifiers to people, in French and in
 * Arabic. One implementation for the server (compiled with the TypeScript sources) and for the
 * counter page (the browser loads this very file as an ES module, served at /assets/format.js):
 * so it imports nothing and uses nothing but the language itself — no DOM, no Node, no Intl.
 *
 * Money is integer centimes (docs/split.md) and is formatted by slicing the decimal string of the
 * integer: no float ever touches an amount. Dates are `YYYY-MM-DD` strings and are formatted by
 * slicing too, so no time zone can move a day.
 *
 * Digits are the Western Arabic digits 0-9 in both languages: they are what Algerian
 * prescriptions, invoices and the fund's forms print in Arabic text too (CLDR's `ar-DZ` locale
 * uses them, the `latn` numbering system). In Arabic, groups of digits are separated by U+00A0
 * NO-BREAK SPACE rather than a space: a space is a neutral character that the bidirectional
 * algorithm (UAX #9, rule N1) gives the right-to-left direction between two numbers in an Arabic
 * paragraph, which would show `1 234` as `234 1`; U+00A0 is a common number separator (rule W4)
 * that keeps the whole amount one left-to-right run. French keeps the plain space that the CLI's
 * tables and the server's messages have always printed.
 */

/** @typedef {'fr' | 'ar'} Lang */

/** The languages the counter speaks, the first is the default. */
export const LANGS = /** @type {const} */ (['fr', 'ar']);

/**
 * @param {unknown} s
 * @returns {s is Lang}
 */
export function isLang(s) {
  return s === 'fr' || s === 'ar';
}

/** @typedef {{ group: string, decimal: string, currency: string, beforeUnit: string }} NumberStyle */

/** @type {Readonly<Record<Lang, NumberStyle>>} */
const NUMBER_STYLE = Object.freeze({
  fr: { group: ' ', decimal: ',', currency: 'DA', beforeUnit: ' ' },
  // د.ج: the usual abbreviation of دينار جزائري (Algerian dinar) in Arabic text.
  ar: { group: '\u00a0', decimal: ',', currency: 'د.ج', beforeUnit: '\u00a0' },
});

/**
 * `digits` grouped by three from the right with `sep` ("1234567" → "1 234 567").
 * @param {string} digits
 * @param {string} sep
 */
function group(digits, sep) {
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += sep;
    out += digits[i];
  }
  return out;
}

/**
 * Centimes for people: `123456` → `1 234,56 DA` in French, `1 234,56 د.ج` in Arabic.
 * Throws RangeError for anything but a safe integer: an amount is never guessed.
 * @param {number} centimes
 * @param {Lang} [lang]
 * @returns {string}
 */
export function formatMoney(centimes, lang = 'fr') {
  if (!Number.isSafeInteger(centimes)) throw new RangeError(`formatMoney: not an integer amount: ${centimes}`);
  const style = NUMBER_STYLE[lang];
  const neg = centimes < 0;
  const digits = String(neg ? -centimes : centimes).padStart(3, '0');
  const units = group(digits.slice(0, -2), style.group);
  return `${neg ? '-' : ''}${units}${style.decimal}${digits.slice(-2)}${style.beforeUnit}${style.currency}`;
}

/**
 * A rate in basis points as a percentage: 8000 → `80 %`, 8250 → `82,5 %`, 8205 → `82,05 %`.
 * @param {number} bp
 * @param {Lang} [lang]
 * @returns {string}
 */
export function formatRate(bp, lang = 'fr') {
  if (!Number.isSafeInteger(bp)) throw new RangeError(`formatRate: not an integer rate: ${bp}`);
  const style = NUMBER_STYLE[lang];
  const neg = bp < 0;
  const abs = neg ? -bp : bp;
  const whole = (abs - (abs % 100)) / 100;
  const frac = abs % 100;
  const sign = neg ? '-' : '';
  if (frac === 0) return `${sign}${whole}${style.beforeUnit}%`;
  return `${sign}${whole}${style.decimal}${String(frac).padStart(2, '0').replace(/0$/, '')}${style.beforeUnit}%`;
}

/** @type {Readonly<Record<Lang, readonly string[]>>} */
const MONTHS = Object.freeze({
  fr: ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'],
  // The month names used in Algeria (and Tunisia), from the French ones; CLDR's ar-DZ has them.
  ar: ['جانفي', 'فيفري', 'مارس', 'أفريل', 'ماي', 'جوان', 'جويلية', 'أوت', 'سبتمبر', 'أكتوبر', 'نوفمبر', 'ديسمبر'],
});

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})/;

/**
 * A calendar date `YYYY-MM-DD` (or the date part of an ISO instant) for people:
 * `short` (default) → `15/06/2025` in both languages (day first, as in Algeria; `/` is a number
 * separator, so the date stays one left-to-right run in Arabic text); `long` → `15 juin 2025` /
 * `15 جوان 2025`. Returns `—` for anything that is not such a date (a missing field on the page).
 * @param {string | null | undefined} iso
 * @param {Lang} [lang]
 * @param {'short' | 'long'} [style]
 * @returns {string}
 */
export function formatDate(iso, lang = 'fr', style = 'short') {
  const m = typeof iso === 'string' ? ISO_DAY.exec(iso) : null;
  if (!m) return '—';
  const [, y = '', mo = '', d = ''] = m;
  if (style === 'short') return `${d}/${mo}/${y}`;
  const month = MONTHS[lang][Number(mo) - 1];
  return month === undefined ? '—' : `${Number(d)} ${month} ${y}`;
}

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/;

/**
 * An ISO 8601 instant's date and minute, as written (`2025-06-15T10:00:00Z` → `15/06/2025 10:00`):
 * the zone is the caller's to name (the journal writes UTC).
 * @param {string | null | undefined} instant
 * @param {Lang} [lang]
 * @returns {string}
 */
export function formatInstant(instant, lang = 'fr') {
  const m = typeof instant === 'string' ? ISO_INSTANT.exec(instant) : null;
  if (!m) return '—';
  return `${formatDate(m[1], lang)} ${m[2]}:${m[3]}`;
}

/**
 * Masks an insured person's identifier (social-security number, card serial) for logs, receipts
 * and the page: every character but the last four becomes `*` (`123456789012` → `********9012`).
 * @param {string} id
 * @returns {string}
 */
export function maskId(id) {
  if (id.length <= 4) return '*'.repeat(id.length);
  return '*'.repeat(id.length - 4) + id.slice(-4);
}

/**
 * An amount in dinars as people and bank statements write it, back to centimes, by string
 * arithmetic only: `1 234,56`, `1234.56`, `1.234,56`, `-12`, `12 345,6 DA`. The last `,` or `.`
 * followed by one or two digits at the end is the decimal separator; spaces (plain, no-break,
 * narrow no-break), `'` and the other `.` / `,` separate groups of three digits; a currency
 * (`DA`, `DZD`, `د.ج`) may follow. Returns undefined for anything else: an amount is never guessed.
 * @param {string} text
 * @returns {number | undefined}
 */
export function parseMoney(text) {
  if (typeof text !== 'string') return undefined;
  let s = text.trim().replace(/\s*(?:DA|DZD|د\.ج)$/iu, '');
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('−')) {
    sign = -1;
    s = s.slice(1);
  } else if (s.startsWith('+')) s = s.slice(1);
  const m = /^([0-9][0-9 \u00a0\u202f'.,]*?)(?:[.,]([0-9]{1,2}))?$/.exec(s);
  if (!m) return undefined;
  const groups = (m[1] ?? '').split(/[ \u00a0\u202f'.,]/);
  // Digit groups are thousands: 1 to 3 digits, then exactly 3 each (`12,3.4` is not an amount).
  if (groups.length > 1 && (!/^[0-9]{1,3}$/.test(groups[0] ?? '') || groups.slice(1).some((g) => !/^[0-9]{3}$/.test(g)))) return undefined;
  const units = groups.join('');
  if (!/^[0-9]+$/.test(units)) return undefined;
  const cents = (m[2] ?? '').padEnd(2, '0');
  const n = Number(units + cents);
  return Number.isSafeInteger(n) ? sign * n : undefined;
}
