import type Database from 'better-sqlite3';
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

/** Inside the invoice's commit transaction (InCommitHook): the register entries of `invoice`. */
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
