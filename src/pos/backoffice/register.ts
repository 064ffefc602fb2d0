import type Database from 'better-sqlite3';
import type { IsoDate } from '../../common/calendar-date';
import { maskId } from '../../common/log';

/**
 * The psychotropics register page: the entries of a period, in the order they were written, as
 * the law has the register kept (executive decree 19-379, amended by 21-196: a serial-numbered
 * counterfoil prescription for each dispensing of a listed product). The entries are append-only
 * in the journal (src/sync/journal/register.ts); an invoice later cancelled by a credit note
 * keeps its entry, marked with the credit note. The patient is named, as the register requires;
 * the social-security number and the card serial are masked, which the register does not need.
 */

export interface RegisterEntry {
  seq: number;
  day: IsoDate;
  invoice: number;
  counterfoil: string;
  cardSerial: string;
  insuredId: string | null;
  rank: number;
  insuredName: string | null;
  beneficiaryName: string | null;
  prescriber: string | null;
  speciality: string | null;
  prescriptionRef: string | null;
  prescriptionDate: string | null;
  code: string;
  brand: string;
  dci: string;
  strength: string;
  form: string;
  table: string;
  quantity: number;
  lot: string | null;
  cancelledBy: number | null;
}

/** Most entries one page shows (a period of a chain's register); the rest is in the next period. */
export const REGISTER_LIMIT = 5000;

interface Row {
  seq: number;
  day: string;
  invoice_number: number;
  counterfoil: string;
  card_serial: string;
  insured_id: string | null;
  rank: number;
  insured_name: string | null;
  beneficiary_name: string | null;
  prescriber: string | null;
  speciality: string | null;
  prescription_ref: string | null;
  prescription_date: string | null;
  code: string;
  brand: string;
  dci: string;
  strength: string;
  form: string;
  controlled_table: string;
  quantity: number;
  lot: string | null;
  cancelled_by: number | null;
}

export class RegisterQueries {
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      period: db.prepare(
        `SELECT r.*, (SELECT c.number FROM invoices c WHERE c.ref_number = r.invoice_number AND c.kind = 'credit-note' ORDER BY c.number LIMIT 1) AS cancelled_by
           FROM psychotropic_register r WHERE r.day BETWEEN ? AND ? ORDER BY r.day, r.seq LIMIT ?`,
      ),
    };
  }

  entries(from: IsoDate, to: IsoDate): { entries: RegisterEntry[]; truncated: boolean } {
    const rows = this.st.period.all(from, to, REGISTER_LIMIT + 1) as Row[];
    return {
      entries: rows.slice(0, REGISTER_LIMIT).map((r) => ({
        seq: r.seq,
        day: r.day,
        invoice: r.invoice_number,
        counterfoil: r.counterfoil,
        cardSerial: maskId(r.card_serial),
        insuredId: r.insured_id === null ? null : maskId(r.insured_id),
        rank: r.rank,
        insuredName: r.insured_name,
        beneficiaryName: r.beneficiary_name,
        prescriber: r.prescriber,
        speciality: r.speciality,
        prescriptionRef: r.prescription_ref,
        prescriptionDate: r.prescription_date,
        code: r.code,
        brand: r.brand,
        dci: r.dci,
        strength: r.strength,
        form: r.form,
        table: r.controlled_table,
        quantity: r.quantity,
        lot: r.lot,
        cancelledBy: r.cancelled_by,
      })),
      truncated: rows.length > REGISTER_LIMIT,
    };
  }
}
