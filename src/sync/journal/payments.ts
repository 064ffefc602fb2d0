import type Database from 'better-sqlite3';
import type { IsoDate } from '../../common/calendar-date';
import { JournalError } from '../errors';
import type { PaymentAdjustment, PaymentNotice } from '../protocol';
import type { SignedProof } from './outbox';
import type { JournalQueries } from './queries';

/**
 * What a batch (bordereau) was paid: the fund's signed payment notice (what it transferred and
 * the amounts it kept back, invoice by invoice), and the payments the pharmacy saw arrive on its
 * bank account, typed in or imported from a statement. Both tables are append-only
 * (backoffice-schema.ts): a notice is recorded once per batch, and a bank entry typed wrong is
 * corrected by another entry, never edited, so the page's reconciliation can always be retraced.
 */

/** A payment notice as the journal keeps it (the signed JWS itself stays in `payment_notices`). */
export interface RecordedNotice {
  batchId: number;
  receivedAt: string;
  settledAt: string;
  /** What the fund's acknowledgement accepted for the batch, centimes. */
  accepted: number;
  /** What it transferred: accepted − Σ adjustments. */
  paid: number;
  transferReference: string;
  adjustments: PaymentAdjustment[];
}

/**
 * The largest bank entry the journal records for a batch, centimes (1,000,000,000 DA: far above
 * any one bordereau's payment), and the largest the entries of one batch may add up to, either
 * way. Amounts stay exact: sums of entries stay well within 2^53, so the gap explained invoice by
 * invoice still adds up to the centime.
 */
export const MAX_BANK_PAYMENT = 100_000_000_000;
export const MAX_BANK_TOTAL = 100 * MAX_BANK_PAYMENT;

/** How a bank payment was recorded: typed in, or imported from a statement. */
export type PaymentSource = 'manual' | 'statement';

/** A payment seen on the bank account for a batch, to record. */
export interface BankPaymentInput {
  batchId: number;
  /** Centimes; negative for an entry that corrects an earlier one. */
  amount: number;
  valueDate: IsoDate;
  reference: string;
  source: PaymentSource;
}

/** A payment recorded against a batch: its place in the append-only table, and when. */
export interface BankPayment extends BankPaymentInput {
  seq: number;
  recordedAt: string;
}

interface NoticeRow {
  batch_id: number;
  received_at: string;
  settled_at: string;
  accepted_amount: number;
  paid: number;
  transfer_reference: string;
  adjustments_json: string;
}

interface PaymentRow {
  seq: number;
  batch_id: number;
  amount: number;
  value_date: string;
  reference: string;
  source: PaymentSource;
  recorded_at: string;
}

const toPayment = (r: PaymentRow): BankPayment => ({
  seq: r.seq,
  batchId: r.batch_id,
  amount: r.amount,
  valueDate: r.value_date,
  reference: r.reference,
  source: r.source,
  recordedAt: r.recorded_at,
});

/** @internal (the Journal class is the API) */
export class Payments {
  private readonly db: Database.Database;
  private readonly st;

  constructor(
    private readonly queries: JournalQueries,
    private readonly now: () => Date,
  ) {
    const db = (this.db = queries.db);
    this.st = {
      notice: db.prepare('SELECT * FROM payment_notices WHERE batch_id = ?'),
      insertNotice: db.prepare(
        `INSERT INTO payment_notices (batch_id, received_at, settled_at, accepted_amount, paid, transfer_reference, adjustments_json, jws, certificate)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      settle: db.prepare(
        "UPDATE batches SET state = 'settled', settled_at = COALESCE(settled_at, ?), paid = ? WHERE id = ? AND state IN ('acknowledged', 'settled')",
      ),
      awaiting: db
        .prepare(
          "SELECT b.id FROM batches b WHERE b.state = 'settled' AND NOT EXISTS (SELECT 1 FROM payment_notices n WHERE n.batch_id = b.id) ORDER BY b.id",
        )
        .pluck(),
      insertPayment: db.prepare(
        `INSERT INTO bank_payments (batch_id, amount, value_date, reference, source, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
      ),
      payments: db.prepare('SELECT * FROM bank_payments WHERE batch_id = ? ORDER BY seq'),
      received: db.prepare('SELECT COALESCE(SUM(amount), 0) FROM bank_payments WHERE batch_id = ?').pluck(),
    };
  }

  /**
   * Records the fund's payment notice of batch `id` (already verified by the caller), once: the
   * batch becomes settled at the amount the notice says was transferred. Refused when the
   * notice is not about this batch's invoices or its amounts do not add up (`ack-mismatch`).
   * Returns false when a notice was already recorded for the batch.
   */
  recordNotice(id: number, notice: PaymentNotice, proof: SignedProof): boolean {
    return this.db
      .transaction(() => {
        const b = this.queries.batchRow(id);
        if (!b) throw new JournalError('unknown-batch', `no batch ${id}`);
        if (this.st.notice.get(id) !== undefined) return false;
        const wrong = (why: string): never => {
          throw new JournalError('ack-mismatch', `the fund's payment notice ${why}`);
        };
        if (notice.batchId !== id) wrong(`is for batch ${notice.batchId}, not ${id}`);
        if (b.state !== 'acknowledged' && b.state !== 'settled') wrong(`is for batch ${id}, which the fund has not acknowledged`);
        let kept = 0;
        const hashes = new Map(this.queries.rangeRows(b.first_number, b.last_number).map((r) => [r.number, r.hash]));
        for (const a of notice.adjustments) {
          if (hashes.get(a.number) !== a.hash) wrong(`keeps back an amount on invoice ${a.number}, which is not in batch ${id}`);
          kept += a.amount;
        }
        if (notice.accepted - kept !== notice.paid)
          wrong(`says ${notice.paid} paid, but ${notice.accepted} accepted less ${kept} kept back is ${notice.accepted - kept}`);
        this.st.insertNotice.run(
          id,
          this.now().toISOString(),
          notice.settledAt,
          notice.accepted,
          notice.paid,
          notice.transferReference,
          JSON.stringify(notice.adjustments),
          proof.jws,
          proof.certificate,
        );
        this.st.settle.run(notice.settledAt, notice.paid, id);
        return true;
      })
      .immediate();
  }

  notice(id: number): RecordedNotice | null {
    const r = this.st.notice.get(id) as NoticeRow | undefined;
    if (!r) return null;
    return {
      batchId: r.batch_id,
      receivedAt: r.received_at,
      settledAt: r.settled_at,
      accepted: r.accepted_amount,
      paid: r.paid,
      transferReference: r.transfer_reference,
      adjustments: JSON.parse(r.adjustments_json) as PaymentAdjustment[],
    };
  }

  /** Settled batches whose payment notice is still to be fetched. */
  awaitingNotice(): number[] {
    return this.st.awaiting.all() as number[];
  }

  /**
   * Records payments seen on the bank account, in one transaction (all or none). A statement line
   * already recorded (same batch, value date, amount and reference) is not recorded twice: it
   * comes back in `duplicates`.
   */
  recordBankPayments(inputs: readonly BankPaymentInput[]): { recorded: BankPayment[]; duplicates: BankPaymentInput[] } {
    const at = this.now().toISOString();
    return this.db
      .transaction(() => {
        const recorded: BankPayment[] = [];
        const duplicates: BankPaymentInput[] = [];
        for (const p of inputs) {
          const b = this.queries.batchRow(p.batchId);
          if (!b) throw new JournalError('unknown-batch', `no batch ${p.batchId}`, 'batchId');
          if (b.state === 'open')
            throw new JournalError('batch-open', `batch ${p.batchId} is still open: nothing is paid for it yet`, 'batchId');
          if (!Number.isSafeInteger(p.amount) || Math.abs(p.amount) > MAX_BANK_PAYMENT)
            throw new JournalError('payment-too-large', `a bank entry is at most ${MAX_BANK_PAYMENT} centimes either way`, 'amount');
          const r = this.st.insertPayment.get(p.batchId, p.amount, p.valueDate, p.reference, p.source, at) as PaymentRow | undefined;
          if (r && Math.abs(this.st.received.get(p.batchId) as number) > MAX_BANK_TOTAL)
            throw new JournalError(
              'payment-too-large',
              `the bank entries of batch ${p.batchId} would add up to more than ${MAX_BANK_TOTAL} centimes either way`,
              'amount',
            );
          if (r) recorded.push(toPayment(r));
          else duplicates.push(p);
        }
        return { recorded, duplicates };
      })
      .immediate();
  }

  bankPayments(id: number): BankPayment[] {
    return (this.st.payments.all(id) as PaymentRow[]).map(toPayment);
  }
}
