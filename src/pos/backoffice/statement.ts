import { parseCsv, type CsvError, type CsvRecord } from '../../billing/catalogue/csv';
import { isIsoDate, type IsoDate } from '../../common/calendar-date';
import { InvalidInputError } from '../../common/errors';
import { parseMoney } from '../../common/format';
import type { BankPaymentInput } from '../../sync/journal/journal';
import { MAX_BANK_PAYMENT } from '../../sync/journal/payments';

/**
 * A bank statement exported as CSV, matched against the fund's transfers. Statements differ from
 * bank to bank, so the file needs only a header row naming three columns, in any order and case,
 * in French or English (a unit in brackets after the name, `Crédit (DZD)`, is allowed): the value
 * date (`date`, `date valeur`, `value date`), the amount — one signed column (`montant`, `amount`)
 * or a credit column (`crédit`, `credit`) with or without a debit column beside it (`débit`,
 * `debit`) — and the text that carries the transfer's reference (`libellé`, `libelle`, `label`,
 * `référence`, `reference`; several may be given, they are read together). Lines before the
 * header (an account number, a period: what banks print above the table) are skipped.
 *
 * The fields are separated by `,` or by `;` — the separator of spreadsheets and bank exports in
 * French-speaking locales, where `,` is the decimal separator — found from the header line (the
 * one that splits into the named columns) or given by the caller. Amounts as people write them
 * (`12 345,67`, `12345.67`: src/common/format.js parseMoney), dates `YYYY-MM-DD` or `DD/MM/YYYY`.
 * A line with more cells than the header is refused rather than read (in a `,` file an unquoted
 * `12,50` is two cells: reading one would record 12 dinars). A line is a batch's payment when its
 * text holds the transfer reference of the batch's payment notice (`CHIFA-<pharmacy>-B<batch>`);
 * debits and lines that name no batch are reported, not recorded.
 */

export interface StatementLine {
  line: number;
  valueDate: IsoDate;
  amount: number;
  text: string;
}

export interface UnmatchedLine {
  line: number;
  reason: 'not-a-credit' | 'no-batch';
  text: string;
}

export const STATEMENT_DELIMITERS = [',', ';'] as const;
export type StatementDelimiter = (typeof STATEMENT_DELIMITERS)[number];

const COLUMNS: Record<'date' | 'amount' | 'credit' | 'debit' | 'text', readonly string[]> = {
  date: ['date', 'date valeur', 'value date', 'date de valeur'],
  amount: ['montant', 'amount'],
  credit: ['crédit', 'credit'],
  debit: ['débit', 'debit'],
  text: ['libellé', 'libelle', 'label', 'référence', 'reference', 'description'],
};

/** How many lines may come before the header. */
const PREAMBLE_LINES = 20;

const bad = (message: string): never => {
  throw new InvalidInputError([{ field: 'csv', message }], 'bank statement');
};

function dateOf(raw: string): IsoDate | undefined {
  const s = raw.trim();
  const dmy = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  const iso = dmy ? `${dmy[3]}-${dmy[2]}-${dmy[1]}` : s;
  return isIsoDate(iso) ? iso : undefined;
}

/** A header cell as compared with COLUMNS: trimmed, lower case, composed, without `(unit)`. */
const columnName = (f: string) =>
  f
    .trim()
    .toLowerCase()
    .normalize('NFC')
    .replace(/\s*\([^()]*\)$/, '');

interface Layout {
  delimiter: StatementDelimiter;
  records: CsvRecord[];
  errors: CsvError[];
  /** Index in `records` of the header. */
  at: number;
  date: number;
  amount?: number;
  credit?: number;
  debit?: number;
  text: number[];
}

/** The header among the first records read with `delimiter`, if one names the columns needed. */
function layoutWith(csv: string, delimiter: StatementDelimiter): Layout | undefined {
  const { records, errors } = parseCsv(csv, { delimiter });
  for (let at = 0; at < Math.min(records.length, PREAMBLE_LINES); at++) {
    const names = records[at]!.fields.map(columnName);
    const find = (k: keyof typeof COLUMNS) => names.flatMap((n, i) => (COLUMNS[k].includes(n) ? [i] : []));
    const [date] = find('date');
    const [amount] = find('amount');
    const [credit] = find('credit');
    const [debit] = find('debit');
    const text = find('text');
    if (date === undefined || (amount === undefined && credit === undefined) || text.length === 0) continue;
    return { delimiter, records, errors, at, date, text, ...(amount !== undefined ? { amount } : { credit, debit }) };
  }
  return undefined;
}

const cellLabel = (layout: Layout, index: number) => `column ${index + 1} (${layout.records[layout.at]!.fields[index]!.trim()})`;

/** A line's amount: the signed amount, or the credit, or minus the debit. */
function amountOf(layout: Layout, r: CsvRecord): number {
  const read = (index: number): number | undefined => {
    const raw = r.fields[index] ?? '';
    if (raw.trim() === '') return undefined;
    const centimes = parseMoney(raw);
    if (centimes !== undefined && Math.abs(centimes) > MAX_BANK_PAYMENT)
      return bad(
        `line ${r.line}, ${cellLabel(layout, index)}: the amount ${JSON.stringify(raw.slice(0, 40))} is more than a bank entry can be`,
      );
    return (
      centimes ??
      bad(`line ${r.line}, ${cellLabel(layout, index)}: the amount ${JSON.stringify(raw.slice(0, 40))} is not an amount in dinars`)
    );
  };
  if (layout.amount !== undefined)
    return read(layout.amount) ?? bad(`line ${r.line}, ${cellLabel(layout, layout.amount)}: the amount is missing`);
  const credit = read(layout.credit!);
  const debit = layout.debit !== undefined ? read(layout.debit) : undefined;
  if (credit !== undefined && debit !== undefined && credit !== 0 && debit !== 0) return bad(`line ${r.line}: both a debit and a credit`);
  if (credit !== undefined && credit !== 0) return credit;
  if (debit !== undefined) return -Math.abs(debit);
  return credit ?? bad(`line ${r.line}, ${cellLabel(layout, layout.credit!)}: neither a credit nor a debit`);
}

/**
 * The statement's lines; a file that cannot be read is refused whole (400 naming `csv`, the line
 * and the column). `delimiter` when the caller knows it; otherwise the one the header splits on.
 */
export function parseStatement(csv: string, options: { delimiter?: StatementDelimiter | undefined } = {}): StatementLine[] {
  const candidates = options.delimiter ? [options.delimiter] : STATEMENT_DELIMITERS;
  const layouts = candidates.flatMap((d) => layoutWith(csv, d) ?? []);
  // The delimiter whose header comes first (a `;` file's header may also hold a comma, in a name).
  const layout = layouts.sort((a, b) => a.records[a.at]!.line - b.records[b.at]!.line)[0];
  if (!layout) {
    const first = parseCsv(csv).records[0];
    if (!first) return bad('the statement is empty (no header row)');
    return bad(
      `line ${first.line}: no header naming a date, an amount (or a credit) and a label or reference column, ` +
        `separated by ${candidates.map((d) => `"${d}"`).join(' or ')} (e.g. date;montant;libellé)`,
    );
  }
  const header = layout.records[layout.at]!;
  const error = layout.errors.find((e) => e.line >= header.line);
  if (error) bad(`line ${error.line}, column ${error.column}: ${error.message}`);
  return layout.records.slice(layout.at + 1).map((r) => {
    const extra = r.fields.slice(header.fields.length);
    if (extra.some((f) => f.trim() !== ''))
      return bad(
        `line ${r.line}: ${r.fields.length} cells where the header has ${header.fields.length}` +
          (layout.delimiter === ',' ? ' (an amount with a decimal comma must be quoted, or the file separated by ";")' : ''),
      );
    const valueDate = dateOf(r.fields[layout.date] ?? '');
    if (valueDate === undefined)
      return bad(
        `line ${r.line}, ${cellLabel(layout, layout.date)}: the value date ${JSON.stringify((r.fields[layout.date] ?? '').slice(0, 40))} is not a date (YYYY-MM-DD or DD/MM/YYYY)`,
      );
    return {
      line: r.line,
      valueDate,
      amount: amountOf(layout, r),
      text: layout.text
        .map((i) => r.fields[i] ?? '')
        .join(' ')
        .trim(),
    };
  });
}

/** True when `text` holds `reference` as a whole (…-B1 is not in …-B12). */
function names(text: string, reference: string): boolean {
  for (let at = text.indexOf(reference); at >= 0; at = text.indexOf(reference, at + 1)) {
    if (!/[0-9A-Za-z]/.test(text[at + reference.length] ?? '')) return true;
  }
  return false;
}

/**
 * The statement's credits that name a batch's transfer reference, as payments to record; the
 * other lines, with why they were left out.
 */
export function matchStatement(
  lines: readonly StatementLine[],
  references: ReadonlyMap<string, number>,
): { payments: BankPaymentInput[]; unmatched: UnmatchedLine[] } {
  const payments: BankPaymentInput[] = [];
  const unmatched: UnmatchedLine[] = [];
  for (const l of lines) {
    if (l.amount <= 0) {
      unmatched.push({ line: l.line, reason: 'not-a-credit', text: l.text.slice(0, 120) });
      continue;
    }
    const ref = [...references.keys()].find((r) => names(l.text, r));
    if (ref === undefined) {
      unmatched.push({ line: l.line, reason: 'no-batch', text: l.text.slice(0, 120) });
      continue;
    }
    payments.push({ batchId: references.get(ref)!, amount: l.amount, valueDate: l.valueDate, reference: ref, source: 'statement' });
  }
  return { payments, unmatched };
}
