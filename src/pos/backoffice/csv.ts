import { csvField } from '../../billing/catalogue/csv';

/**
 * The back office's CSV exports: RFC 4180 (CRLF, fields quoted when they need it), UTF-8 with a
 * byte-order mark so that a spreadsheet opens the Arabic and accented text as UTF-8. Amounts are
 * integer centimes, as in the API: exact, and the same whatever the spreadsheet's locale. A text
 * cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return: card data, a reason the fund wrote) is prefixed with `'` (OWASP, "CSV
 * Injection"); numbers are written as numbers.
 */

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return csvField(FORMULA.test(v) ? `'${v}` : v);
}

/** A whole CSV document: the header row, then the rows. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  const lines = [header.map(cell).join(','), ...rows.map((r) => r.map(cell).join(','))];
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}
