import { parseCsv } from '../../billing/catalogue/csv';
import { isIsoDate, type IsoDate } from '../../common/calendar-date';
import { InvalidInputError } from '../../common/errors';
import { parseMoney } from '../../common/format';
import type { BankPaymentInput } from '../../sync/journal/journal';

/**
 * A bank statement exported as CSV, matched against the fund's transfers. Statements differ from
 * bank to bank, so the file needs only a header row naming three columns, in any order and case,
 * in French or English: the value date (`date`, `date valeur`, `value date`), the amount
 * (`montant`, `amount`, `crédit`, `credit`), and the text that carries the transfer's reference
 * (`libellé`, `libelle`, `label`, `référence`, `reference`; several may be given, they are read
 * together). Amounts as people write them (`12 345,67`, `12345.67`: src/common/format.js
 * parseMoney), dates `YYYY-MM-DD` or `DD/MM/YYYY`. A line is a batch's payment when its text
 * holds the transfer reference of the batch's payment notice (`CHIFA-<pharmacy>-B<batch>`);
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

const COLUMNS: Record<'date' | 'amount' | 'text', readonly string[]> = {
  date: ['date', 'date valeur', 'value date', 'date de valeur'],
  amount: ['montant', 'amount', 'crédit', 'credit'],
  text: ['libellé', 'libelle', 'label', 'référence', 'reference', 'description'],
};

const bad = (message: string): never => {
  throw new InvalidInputError([{ field: 'csv', message }], 'bank statement');
};

function dateOf(raw: string): IsoDate | undefined {
  const s = raw.trim();
  const dmy = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  const iso = dmy ? `${dmy[3]}-${dmy[2]}-${dmy[1]}` : s;
  return isIsoDate(iso) ? iso : undefined;
}

/** The statement's lines; a file that cannot be read is refused whole (400 naming `csv` and the line). */
export function parseStatement(csv: string): StatementLine[] {
  const { records, errors } = parseCsv(csv);
  if (errors.length > 0) bad(`line ${errors[0]!.line}, column ${errors[0]!.column}: ${errors[0]!.message}`);
  const header = records[0];
  if (!header) return bad('the statement is empty (no header row)');
  const names = header.fields.map((f) => f.trim().toLowerCase().normalize('NFC'));
  const find = (k: keyof typeof COLUMNS) => names.flatMap((n, i) => (COLUMNS[k].includes(n) ? [i] : []));
  const [date] = find('date');
  const [amount] = find('amount');
  const text = find('text');
  if (date === undefined || amount === undefined || text.length === 0)
    bad(`line ${header.line}: the header must name a date, an amount and a label or reference column (e.g. date,montant,libellé)`);
  return records.slice(1).map((r) => {
    const valueDate = dateOf(r.fields[date!] ?? '');
    if (valueDate === undefined) return bad(`line ${r.line}: the value date is not a date (YYYY-MM-DD or DD/MM/YYYY)`);
    const centimes = parseMoney(r.fields[amount!] ?? '');
    if (centimes === undefined) return bad(`line ${r.line}: the amount is not an amount in dinars`);
    return {
      line: r.line,
      valueDate,
      amount: centimes,
      text: text
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
