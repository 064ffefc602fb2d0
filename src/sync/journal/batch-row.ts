import type { CloseReason } from '../manifest';

/**
 * A `batches` row as SQLite returns it, and the `BatchInfo` the journal hands out. One shape for
 * the journal's modules and for `journal verify`, which reads the same table from the bytes.
 */

export type BatchState = 'open' | 'closed' | 'sent' | 'acknowledged' | 'settled';

export interface BatchInfo {
  id: number;
  state: BatchState;
  openedAt: string;
  from: number;
  to: number;
  count: number;
  closedAt: string | null;
  closeReason: CloseReason | null;
  signed: boolean;
  idempotencyKey: string | null;
  sentAt: string | null;
  acknowledgedAt: string | null;
  settledAt: string | null;
  accepted: number | null;
  rejected: number | null;
  paid: number | null;
  attempts: number;
  lastError: string | null;
}

export interface BatchRow {
  id: number;
  state: BatchState;
  opened_at: string;
  first_number: number;
  last_number: number;
  count: number;
  closed_at: string | null;
  close_reason: string | null;
  manifest_jws: string | null;
  idempotency_key: string | null;
  sent_at: string | null;
  acknowledged_at: string | null;
  settled_at: string | null;
  accepted: number | null;
  rejected: number | null;
  paid: number | null;
  attempts: number;
  last_error: string | null;
}

export const toBatchInfo = (r: BatchRow): BatchInfo => ({
  id: r.id,
  state: r.state,
  openedAt: r.opened_at,
  from: r.first_number,
  to: r.last_number,
  count: r.count,
  closedAt: r.closed_at,
  closeReason: r.close_reason as CloseReason | null,
  signed: r.manifest_jws !== null,
  idempotencyKey: r.idempotency_key,
  sentAt: r.sent_at,
  acknowledgedAt: r.acknowledged_at,
  settledAt: r.settled_at,
  accepted: r.accepted,
  rejected: r.rejected,
  paid: r.paid,
  attempts: r.attempts,
  lastError: r.last_error,
});
