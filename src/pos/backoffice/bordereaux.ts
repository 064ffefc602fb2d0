import type Database from 'better-sqlite3';
import { maskId } from '../../common/log';
import type { BatchState, BankPayment, Journal, RecordedNotice } from '../../sync/journal/journal';
import type { CloseReason } from '../../sync/manifest';

/**
 * The bordereaux page (docs/backoffice.md): every batch with its state, what it claims (the
 * fund's and the patients' shares, as its manifest sums them), what the fund acknowledged and
 * paid, what reached the bank account, and the gap between claim and bank explained invoice by
 * invoice, to the centime:
 *
 *   claimed (fund shares of the invoices − those of the credit notes)
 *   − each rejected invoice's fund share (+ a rejected credit note's)
 *   − each amount the fund kept back when it paid (its payment notice)
 *   − what the fund has yet to transfer, or transferred differently (the bank's lines)
 *   = received on the bank account.
 *
 * Reads the journal's summary tables (batch_totals, payment_notices, bank_payments) and, for one
 * batch, its invoices by number range: each page is an index walk, whatever the journal's size.
 */

export interface BatchClaim {
  invoices: number;
  total: number;
  fund: number;
  patient: number;
  credits: number;
  creditFund: number;
  /** What the batch asks the fund for: fund − creditFund. */
  claimed: number;
}

export interface BatchSummary {
  id: number;
  state: BatchState;
  openedAt: string;
  closedAt: string | null;
  closeReason: CloseReason | null;
  from: number;
  to: number;
  count: number;
  claim: BatchClaim;
  acknowledgedAt: string | null;
  accepted: number | null;
  rejected: number | null;
  settledAt: string | null;
  /** What the fund says it pays: its acknowledgement's amount, then its payment notice's. */
  due: number | null;
  transferReference: string | null;
  /** Σ of the payments recorded against the batch. */
  received: number;
  payments: number;
  /** claimed − received. */
  gap: number;
}

export type GapKind = 'rejected' | 'rejected-credit' | 'adjustment' | 'unexplained' | 'awaiting-ack' | 'not-received' | 'bank-difference';

/** One line of the explanation: how much less than claimed it makes the bank receive (centimes). */
export interface GapLine {
  kind: GapKind;
  amount: number;
  number?: number;
  code?: string | null;
  reason?: string | null;
}

export interface BatchInvoice {
  number: number;
  kind: string;
  date: string;
  cardSerial: string;
  total: number;
  fund: number;
  patient: number;
  refNumber: number | null;
  status: 'accepted' | 'rejected' | null;
  code: string | null;
  reason: string | null;
  /** Kept back by the fund when it paid (its payment notice). */
  adjustment: number;
  correctedBy: number | null;
}

export interface BatchDetail {
  batch: BatchSummary;
  invoices: BatchInvoice[];
  explanation: { claimed: number; lines: GapLine[]; received: number; gap: number };
  notice: RecordedNotice | null;
  bankPayments: BankPayment[];
}

interface SummaryRow {
  id: number;
  state: BatchState;
  opened_at: string;
  closed_at: string | null;
  close_reason: string | null;
  first_number: number;
  last_number: number;
  count: number;
  acknowledged_at: string | null;
  accepted: number | null;
  rejected: number | null;
  settled_at: string | null;
  paid: number | null;
  invoices: number | null;
  total: number | null;
  fund_amount: number | null;
  patient_amount: number | null;
  credits: number | null;
  credit_fund: number | null;
  transfer_reference: string | null;
  notice_paid: number | null;
  received: number;
  payments: number;
}

const SUMMARY = `
SELECT b.id, b.state, b.opened_at, b.closed_at, b.close_reason, b.first_number, b.last_number, b.count, b.acknowledged_at,
       b.accepted, b.rejected, b.settled_at, b.paid, t.invoices, t.total, t.fund_amount, t.patient_amount, t.credits, t.credit_fund,
       n.transfer_reference, n.paid AS notice_paid,
       (SELECT COALESCE(SUM(p.amount), 0) FROM bank_payments p WHERE p.batch_id = b.id) AS received,
       (SELECT COUNT(*) FROM bank_payments p WHERE p.batch_id = b.id) AS payments
  FROM batches b
  LEFT JOIN batch_totals t ON t.batch_id = b.id
  LEFT JOIN payment_notices n ON n.batch_id = b.id`;

const ACKNOWLEDGED: readonly BatchState[] = ['acknowledged', 'settled'];

function toSummary(r: SummaryRow): BatchSummary {
  const fund = r.fund_amount ?? 0;
  const creditFund = r.credit_fund ?? 0;
  const claimed = fund - creditFund;
  return {
    id: r.id,
    state: r.state,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    closeReason: r.close_reason as CloseReason | null,
    from: r.first_number,
    to: r.last_number,
    count: r.count,
    claim: {
      invoices: r.invoices ?? 0,
      total: r.total ?? 0,
      fund,
      patient: r.patient_amount ?? 0,
      credits: r.credits ?? 0,
      creditFund,
      claimed,
    },
    acknowledgedAt: r.acknowledged_at,
    accepted: r.accepted,
    rejected: r.rejected,
    settledAt: r.settled_at,
    due: r.notice_paid ?? (ACKNOWLEDGED.includes(r.state) ? r.paid : null),
    transferReference: r.transfer_reference,
    received: r.received,
    payments: r.payments,
    gap: claimed - r.received,
  };
}

export class Bordereaux {
  private readonly st;

  constructor(private readonly journal: Journal) {
    const db: Database.Database = journal.db;
    this.st = {
      page: db.prepare(`${SUMMARY} WHERE b.id < ? ORDER BY b.id DESC LIMIT ?`),
      one: db.prepare(`${SUMMARY} WHERE b.id = ?`),
      invoices: db.prepare(
        `SELECT i.number, i.kind, i.date, i.card_serial, i.total, i.fund_amount, i.patient_amount, i.ref_number,
                a.status, a.code, a.reason,
                (SELECT c.number FROM invoices c WHERE c.ref_number = i.number AND c.kind = 'corrected-invoice' ORDER BY c.number LIMIT 1) AS corrected_by
           FROM invoices i LEFT JOIN acks a ON a.invoice_number = i.number
          WHERE i.number BETWEEN ? AND ? ORDER BY i.number`,
      ),
    };
  }

  /** Batches newest first, `limit` of them below `before` (all when not given). */
  list(options: { before?: number; limit?: number } = {}): { batches: BatchSummary[]; next: number | null } {
    const limit = options.limit ?? 100;
    const rows = this.st.page.all(options.before ?? Number.MAX_SAFE_INTEGER, limit + 1) as SummaryRow[];
    const more = rows.length > limit;
    const batches = rows.slice(0, limit).map(toSummary);
    return { batches, next: more ? batches[batches.length - 1]!.id : null };
  }

  summary(id: number): BatchSummary | null {
    const r = this.st.one.get(id) as SummaryRow | undefined;
    return r ? toSummary(r) : null;
  }

  /** Batch `id` with its invoices, the fund's answers, the payments and the gap explained. */
  detail(id: number): BatchDetail | null {
    const batch = this.summary(id);
    if (!batch) return null;
    const notice = this.journal.paymentNotice(id);
    const kept = new Map<number, number>();
    for (const a of notice?.adjustments ?? []) kept.set(a.number, (kept.get(a.number) ?? 0) + a.amount);
    const invoices = (
      this.st.invoices.all(batch.from, batch.to) as {
        number: number;
        kind: string;
        date: string;
        card_serial: string;
        total: number;
        fund_amount: number;
        patient_amount: number;
        ref_number: number | null;
        status: 'accepted' | 'rejected' | null;
        code: string | null;
        reason: string | null;
        corrected_by: number | null;
      }[]
    ).map((r): BatchInvoice => ({
      number: r.number,
      kind: r.kind,
      date: r.date,
      cardSerial: maskId(r.card_serial),
      total: r.total,
      fund: r.fund_amount,
      patient: r.patient_amount,
      refNumber: r.ref_number,
      status: r.status,
      code: r.code,
      reason: r.reason,
      adjustment: kept.get(r.number) ?? 0,
      correctedBy: r.corrected_by,
    }));
    const bankPayments = this.journal.bankPayments(id);
    return { batch, invoices, explanation: explain(batch, invoices, notice), notice, bankPayments };
  }
}

/**
 * The gap between what batch `b` claims and what reached the bank, line by line; the lines add up
 * to `claimed − received` by construction (the last lines take what the fund's and the bank's
 * figures leave).
 */
export function explain(b: BatchSummary, invoices: readonly BatchInvoice[], notice: RecordedNotice | null): BatchDetail['explanation'] {
  const lines: GapLine[] = [];
  const claimed = b.claim.claimed;
  const received = b.received;
  if (b.due === null) {
    if (claimed - received !== 0) lines.push({ kind: 'awaiting-ack', amount: claimed - received });
    return { claimed, lines, received, gap: claimed - received };
  }
  let explained = 0;
  for (const i of invoices) {
    if (i.status === 'rejected' && i.fund !== 0) {
      const amount = i.kind === 'credit-note' ? -i.fund : i.fund;
      lines.push({
        kind: i.kind === 'credit-note' ? 'rejected-credit' : 'rejected',
        amount,
        number: i.number,
        code: i.code,
        reason: i.reason,
      });
      explained += amount;
    }
  }
  for (const a of notice?.adjustments ?? []) {
    lines.push({ kind: 'adjustment', amount: a.amount, number: a.number, code: a.code, reason: a.reason });
    explained += a.amount;
  }
  // What the fund says it pays, against what its answers explain: 0 unless the fund's figures disagree.
  const unexplained = claimed - explained - b.due;
  if (unexplained !== 0) lines.push({ kind: 'unexplained', amount: unexplained });
  const outstanding = b.due - received;
  if (outstanding !== 0) lines.push({ kind: received === 0 ? 'not-received' : 'bank-difference', amount: outstanding });
  return { claimed, lines, received, gap: claimed - received };
}
