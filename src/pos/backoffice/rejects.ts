import type Database from 'better-sqlite3';
import { maskId } from '../../common/log';

/**
 * The rejects page: every invoice the fund rejected, with its reason code and text, and where its
 * recycling stands — to correct (nothing yet), corrected (a corrected invoice references it, not
 * yet sent), sent (its batch is at the fund, not acknowledged yet), accepted, or rejected again
 * (then the correction is itself on the list, to be corrected in turn).
 */

export type RecyclingState = 'to-correct' | 'corrected' | 'sent' | 'accepted' | 'rejected-again';

export interface RejectRow {
  number: number;
  kind: string;
  batchId: number;
  date: string;
  cardSerial: string;
  total: number;
  fund: number;
  code: string | null;
  reason: string | null;
  receivedAt: string;
  state: RecyclingState;
  correction: { number: number; batchId: number | null; batchState: string | null; status: string | null; code: string | null } | null;
}

interface Row {
  number: number;
  kind: string;
  batch_id: number;
  date: string;
  card_serial: string;
  total: number;
  fund_amount: number;
  code: string | null;
  reason: string | null;
  received_at: string;
  corrected_by: number | null;
  c_status: string | null;
  c_code: string | null;
  c_batch: number | null;
  c_batch_state: string | null;
}

export class Rejects {
  private readonly st;

  constructor(db: Database.Database) {
    const select = (where: string) =>
      db.prepare(
        `SELECT r.*, ca.status AS c_status, ca.code AS c_code, cb.id AS c_batch, cb.state AS c_batch_state FROM (
           SELECT a.invoice_number AS number, i.kind, a.batch_id, i.date, i.card_serial, i.total, i.fund_amount, a.code, a.reason,
                  a.received_at,
                  (SELECT c.number FROM invoices c WHERE c.ref_number = a.invoice_number AND c.kind = 'corrected-invoice'
                    ORDER BY c.number LIMIT 1) AS corrected_by
             FROM acks a JOIN invoices i ON i.number = a.invoice_number
            WHERE a.status = 'rejected' AND a.invoice_number < ? ORDER BY a.invoice_number DESC) r
           LEFT JOIN acks ca ON ca.invoice_number = r.corrected_by
           LEFT JOIN batches cb ON cb.id = (SELECT id FROM batches WHERE first_number <= r.corrected_by ORDER BY id DESC LIMIT 1)
          ${where} LIMIT ?`,
      );
    this.st = {
      all: select(''),
      pending: select('WHERE r.corrected_by IS NULL'),
      counts: db.prepare(
        `SELECT COUNT(*) AS rejected, COALESCE(SUM(corrected IS NULL), 0) AS toCorrect, COALESCE(SUM(CASE WHEN corrected IS NULL THEN fund_amount END), 0) AS fundToCorrect
           FROM (SELECT i.fund_amount, (SELECT 1 FROM invoices c WHERE c.ref_number = a.invoice_number AND c.kind = 'corrected-invoice' LIMIT 1) AS corrected
                   FROM acks a JOIN invoices i ON i.number = a.invoice_number WHERE a.status = 'rejected')`,
      ),
    };
  }

  /** Rejected invoices, newest first (`limit` below invoice `before`); `pending`: only those not corrected. */
  list(options: { pending?: boolean; limit?: number; before?: number } = {}): {
    rejects: RejectRow[];
    counts: { rejected: number; toCorrect: number; fundToCorrect: number };
    next: number | null;
  } {
    const limit = options.limit ?? 200;
    const rows = (options.pending ? this.st.pending : this.st.all).all(options.before ?? Number.MAX_SAFE_INTEGER, limit + 1) as Row[];
    const rejects = rows.slice(0, limit).map(toReject);
    return {
      rejects,
      counts: this.st.counts.get() as { rejected: number; toCorrect: number; fundToCorrect: number },
      next: rows.length > limit ? rejects[rejects.length - 1]!.number : null,
    };
  }
}

function toReject(r: Row): RejectRow {
  let state: RecyclingState = 'to-correct';
  if (r.corrected_by !== null) {
    if (r.c_status === 'accepted') state = 'accepted';
    else if (r.c_status === 'rejected') state = 'rejected-again';
    else if (r.c_batch_state === 'open' || r.c_batch_state === 'closed' || r.c_batch_state === null) state = 'corrected';
    else state = 'sent';
  }
  return {
    number: r.number,
    kind: r.kind,
    batchId: r.batch_id,
    date: r.date,
    cardSerial: maskId(r.card_serial),
    total: r.total,
    fund: r.fund_amount,
    code: r.code,
    reason: r.reason,
    receivedAt: r.received_at,
    state,
    correction:
      r.corrected_by === null
        ? null
        : { number: r.corrected_by, batchId: r.c_batch, batchState: r.c_batch_state, status: r.c_status, code: r.c_code },
  };
}
