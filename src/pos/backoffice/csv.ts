import { csvField } from '../../billing/catalogue/csv';

/**
 * The back office's CSV exports: RFC 4180 (CRLF, fields quoted when they need it), UTF-8 with a
 * byte-order mark so that a spreadsheet opens the Arabic and accented text as UTF-8. Amounts are
 * integer centimes, as in the API: exact, and the same whatever the spreadsheet's locale. A text
 * cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return: card data, a reason the fund wrote) is prefixed with `'` (OWASP, "CSV
 * Injection"); numbers are written as numbers.
 *
 * Fields are separated by `,`, or by `;` on request: Excel opens a `.csv` by splitting on the
 * list separator of Windows' regional settings, `;` in the French and Algerian Arabic (`ar-DZ`)
 * locales, whose decimal separator is the comma; there a `,` file shows as one column. A field
 * holding the separator in use is quoted.
 */

export type CsvCell = string | number | boolean | null | undefined;

/** The separators an export may use, by the name a query gives them (`?delimiter=`). */
export const CSV_DELIMITERS = ['comma', 'semicolon'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];
const SEPARATOR: Readonly<Record<CsvDelimiter, ',' | ';'>> = { comma: ',', semicolon: ';' };

const FORMULA = /^[=+\-@\t\r]/;

function cell(v: CsvCell, separator: ',' | ';'): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return csvField(FORMULA.test(v) ? `'${v}` : v, separator);
}

/** A whole CSV document: the header row, then the rows, fields separated as `delimiter` says. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[], delimiter: CsvDelimiter = 'comma'): string {
  const separator = SEPARATOR[delimiter];
  const line = (r: readonly CsvCell[]) => r.map((v) => cell(v, separator)).join(separator);
  return '\ufeff' + [line(header), ...rows.map(line)].join('\r\n') + '\r\n';
}
