import type Database from 'better-sqlite3';
import type { InvoiceDocument } from '../invoice';
import { parseCompact } from '../jws';
import type { AppendedInvoice } from './append';

/**
 * The register of psychotropic products (executive decree 19-379, amended by 21-196): one entry
 * per invoice line of a product of a controlled table, with the counterfoil prescription's serial
 * number. Entries are written by the counter inside the transaction that appends the invoice
 * (an InCommitHook) and are append-only in the database: the trigger refuses an entry that does
 * not name the invoice being appended (backoffice-schema.ts), so the register cannot be completed
 * or altered after the fact. The invoice itself carries the serial (`prescription.counterfoil`),
 * signed.
 */

/** What the counter knows of a controlled line beyond the signed invoice: the catalogue, the card. */
export interface RegisterLine {
  /** Index of the line in the invoice. */
  line: number;
  counterfoil: string;
  code: string;
  brand: string;
  dci: string;
  strength: string;
  form: string;
  /** The controlled table the catalogue lists the product in. */
  controlledTable: string;
  quantity: number;
  lot?: string | undefined;
  insuredName?: string | undefined;
  beneficiaryName?: string | undefined;
  prescriber?: string | undefined;
  speciality?: string | undefined;
  prescriptionRef?: string | undefined;
  prescriptionDate?: string | undefined;
}

/**
 * @internal (the Journal class is the API)
 *
 * Inside the invoice's commit transaction (InCommitHook): the register entries of `invoice`.
 */
export function writeRegisterEntries(db: Database.Database, invoice: AppendedInvoice, lines: readonly RegisterLine[], at: string): void {
  if (lines.length === 0) return;
  const insert = db.prepare(
    `INSERT INTO psychotropic_register (invoice_number, line, day, recorded_at, card_serial, insured_id, rank, insured_name,
       beneficiary_name, prescriber, speciality, prescription_ref, prescription_date, counterfoil, code, brand, dci, strength, form,
       controlled_table, quantity, lot)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const d = invoice.document;
  for (const l of lines) {
    insert.run(
      invoice.number,
      l.line,
      d.date,
      at,
      d.beneficiary.cardSerial,
      d.beneficiary.insuredId ?? null,
      d.beneficiary.rank,
      l.insuredName ?? null,
      l.beneficiaryName ?? null,
      l.prescriber ?? null,
      l.speciality ?? null,
      l.prescriptionRef ?? null,
      l.prescriptionDate ?? null,
      l.counterfoil,
      l.code,
      l.brand,
      l.dci,
      l.strength,
      l.form,
      l.controlledTable,
      l.quantity,
      l.lot ?? null,
    );
  }
}

/**
 * @internal (the Journal class is the API)
 *
 * `journal verify`'s look at the register: every entry must agree with its signed invoice — an
 * invoice of kind `invoice`, the same day, card and rank, the same counterfoil serial
 * (`prescription.counterfoil`), and at its line the same product and quantity. The triggers keep
 * the register from being changed; this finds it changed anyway (triggers dropped, file edited):
 * an entry edited, deleted (a gap in the entries' numbers), or added for an older invoice.
 *
 * And the other way round, so that no deletion goes unseen (the very last entry deleted leaves no
 * gap): the counter writes entries exactly when an invoice carries a counterfoil serial, one per
 * line of a controlled product. So every invoice of kind `invoice` with a counterfoil serial
 * (`withCounterfoil`: verify collects them as it checks each signature) must have entries; and
 * when the catalogue's controlled products are known (`controlled`), an entry for each of its
 * lines of such a product.
 */
export function registerProblems(
  db: Database.Database,
  withCounterfoil: ReadonlyMap<number, InvoiceDocument>,
  controlled?: ReadonlySet<string>,
): { seq: number; number: number; message: string }[] {
  const out: { seq: number; number: number; message: string }[] = [];
  const invoice = db.prepare('SELECT kind, jws FROM invoices WHERE number = ?');
  const entries = db
    .prepare(
      'SELECT seq, invoice_number, line, day, card_serial, rank, counterfoil, code, quantity FROM psychotropic_register ORDER BY seq',
    )
    .all() as {
    seq: number;
    invoice_number: number;
    line: number;
    day: string;
    card_serial: string;
    rank: number;
    counterfoil: string;
    code: string;
    quantity: number;
  }[];
  let previous: { seq: number; invoice_number: number } = { seq: 0, invoice_number: 0 };
  for (const e of entries) {
    const bad = (message: string) => out.push({ seq: e.seq, number: e.invoice_number, message: `register entry ${e.seq}: ${message}` });
    // Entries are only ever appended, with their invoice: numbered 1, 2, 3… in invoice order. A gap
    // is an entry deleted; an entry for an older invoice after a newer one's was slipped in later.
    if (e.seq !== previous.seq + 1)
      bad(
        e.seq === previous.seq + 2
          ? `entry ${previous.seq + 1} is missing (deleted)`
          : `entries ${previous.seq + 1} to ${e.seq - 1} are missing (deleted)`,
      );
    else if (e.invoice_number < previous.invoice_number)
      bad(`written for invoice ${e.invoice_number} after entry ${previous.seq} of invoice ${previous.invoice_number}`);
    previous = e;
    const inv = invoice.get(e.invoice_number) as { kind: string; jws: string } | undefined;
    if (!inv) {
      bad(`invoice ${e.invoice_number} is not in the journal`);
      continue;
    }
    let d: InvoiceDocument;
    try {
      d = parseCompact(inv.jws).payload as InvoiceDocument;
    } catch {
      continue; // the invoice's own check reports it
    }
    const l = d.lines[e.line];
    const checks: [string, unknown, unknown][] = [
      ['kind', inv.kind, 'invoice'],
      ['day', e.day, d.date],
      ['card', e.card_serial, d.beneficiary.cardSerial],
      ['rank', e.rank, d.beneficiary.rank],
      ['counterfoil', e.counterfoil, d.prescription?.counterfoil],
      ['product', e.code, l?.code],
      ['quantity', e.quantity, l?.quantity],
    ];
    const diff = checks.find(([, a, b]) => a !== b);
    if (diff) bad(`${diff[0]} ${JSON.stringify(diff[1])}, but invoice ${e.invoice_number} says ${JSON.stringify(diff[2])}`);
  }
  const written = new Map<number, Set<number>>();
  for (const e of entries) written.set(e.invoice_number, (written.get(e.invoice_number) ?? new Set()).add(e.line));
  const last = entries.at(-1)?.seq ?? 0;
  for (const [number, d] of withCounterfoil) {
    const counterfoil = d.prescription?.counterfoil ?? '';
    const lines = written.get(number);
    const missing = (what: string) =>
      out.push({
        seq: last,
        number,
        message: `invoice ${number} (counterfoil ${JSON.stringify(counterfoil)}): ${what} (deleted)`,
      });
    if (!lines) missing('no register entry');
    else if (controlled)
      for (const [i, l] of d.lines.entries())
        if (controlled.has(l.code) && !lines.has(i)) missing(`no register entry for line ${i} (${l.code}, a controlled product)`);
  }
  return out;
}
