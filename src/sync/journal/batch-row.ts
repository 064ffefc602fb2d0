import type { CloseReason } from '../manifest';

/**
 * A `batches` row as SQLite returns it, and the `BatchInfo` the journal hands out. One shape for
 * the journal's modules and for `journal verify`, which reads the same table from the bytes.
 * A batch's current manifest is the newest of its history (schema.ts): `CURRENT_BATCHES` reads
 * the rows with that one in place of the first.
 */

/** A batch's state, in the order it goes through them. */
export type BatchState = 'open' | 'closed' | 'sent' | 'acknowledged' | 'settled';

/** A batch as the journal knows it. */
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
  /** Of the current manifest (the one uploaded). */
  idempotencyKey: string | null;
  /** Manifests signed for this batch: 1, more once a refused one was signed again. */
  manifests: number;
  /**
   * The fund refused the current manifest for its certificate, and stored nothing: the next
   * signer-holding call whose certificate the fund accepts signs a new one (Batches).
   */
  manifestRefused: { code: string; reason: string } | null;
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

/** A row of `CURRENT_BATCHES`: `manifest_jws` and `idempotency_key` are the current manifest's. */
export interface CurrentBatchRow extends BatchRow {
  manifests: number;
  refusal_code: string | null;
  refusal_reason: string | null;
}

/** Batches (alias `b`; filter on `b.` columns) with their current manifest and its refusal, if any. */
export const CURRENT_BATCHES = `
SELECT b.id, b.state, b.opened_at, b.first_number, b.last_number, b.count, b.closed_at, b.close_reason,
       COALESCE(m.manifest_jws, b.manifest_jws) AS manifest_jws, COALESCE(m.idempotency_key, b.idempotency_key) AS idempotency_key,
       b.sent_at, b.acknowledged_at, b.settled_at, b.accepted, b.rejected, b.paid, b.attempts, b.last_error,
       COALESCE(m.seq, b.manifest_jws IS NOT NULL) AS manifests, r.code AS refusal_code, r.reason AS refusal_reason
  FROM batches b
  LEFT JOIN resigned_manifests m ON m.batch_id = b.id AND m.seq = (SELECT MAX(seq) FROM resigned_manifests WHERE batch_id = b.id)
  LEFT JOIN manifest_refusals r ON r.idempotency_key = COALESCE(m.idempotency_key, b.idempotency_key)`;

export const toBatchInfo = (r: CurrentBatchRow): BatchInfo => ({
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
  manifests: r.manifests,
  manifestRefused: r.refusal_code !== null ? { code: r.refusal_code, reason: r.refusal_reason ?? '' } : null,
  sentAt: r.sent_at,
  acknowledgedAt: r.acknowledged_at,
  settledAt: r.settled_at,
  accepted: r.accepted,
  rejected: r.rejected,
  paid: r.paid,
  attempts: r.attempts,
  lastError: r.last_error,
});
