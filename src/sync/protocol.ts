import { z } from 'zod';

/**
 * The wire protocol between the uploader and the fund (docs/sync.md, "Protocol").
 *
 *   POST /v1/batches                        upload one batch; header Idempotency-Key
 *   GET  /v1/batches/:pharmacyId/:batchId   the batch's acknowledgement and settlement
 *   GET  /v1/pharmacies/:pharmacyId/batches?from=N   batch summaries (settlement)
 *   GET  /v1/pharmacies/:pharmacyId/chain   the last number and hash the fund holds
 *   GET  /v1/downlink/:name                 blacklist | catalogue | rules, with ETag
 */

export const PROTOCOL_PREFIX = '/v1';

/** Largest upload body the fund accepts, and the largest batch. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
export const MAX_BATCH_INVOICES = 5000;

export interface UploadBody {
  /** base64 (standard) DER certificates the JWS headers' x5t#S256 refer to (usually one). */
  certificates: string[];
  /** The batch manifest, compact JWS (typ chifa-manifest+jws). */
  manifest: string;
  /** The invoices, compact JWS (typ chifa-invoice+jws), in number order. */
  invoices: string[];
}

/** Per-invoice outcome at the fund. */
export interface InvoiceResult {
  number: number;
  /** SHA-256 hex of the invoice JWS. */
  hash: string;
  status: 'accepted' | 'rejected';
  /** Reason code (docs/sync.md) when rejected. */
  code?: string;
  /** Reason text for the pharmacist when rejected. */
  reason?: string;
}

export interface BatchAck {
  pharmacyId: string;
  batchId: number;
  idempotencyKey: string;
  receivedAt: string;
  /** False when `results` lists only part of the batch: fetch the rest with GET. */
  complete: boolean;
  state: 'acknowledged' | 'settled';
  count: number;
  accepted: number;
  rejected: number;
  /** What the fund pays for the batch (accepted fund shares minus credit notes), centimes. */
  paid: number;
  settledAt?: string;
  results: InvoiceResult[];
}

/** A refusal of the whole request: nothing was stored. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; expected?: number };
}

const result = z.object({
  number: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  status: z.enum(['accepted', 'rejected']),
  code: z.string().max(64).optional(),
  reason: z.string().max(1000).optional(),
});

export const batchAckSchema = z.object({
  pharmacyId: z.string(),
  batchId: z.number().int().min(1),
  idempotencyKey: z.string(),
  receivedAt: z.string(),
  complete: z.boolean(),
  state: z.enum(['acknowledged', 'settled']),
  count: z.number().int().min(0),
  accepted: z.number().int().min(0),
  rejected: z.number().int().min(0),
  paid: z.number().int(),
  settledAt: z.string().optional(),
  results: z.array(result),
});

export const batchListSchema = z.object({
  batches: z.array(
    z.object({
      batchId: z.number().int().min(1),
      count: z.number().int(),
      accepted: z.number().int(),
      rejected: z.number().int(),
      paid: z.number().int(),
      state: z.enum(['acknowledged', 'settled']),
      settledAt: z.string().optional(),
    }),
  ),
});

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional(), expected: z.number().int().optional() }),
});

/**
 * Invoice-level reason codes: the invoice is stored at the fund (its chain link counts) but not
 * paid; the pharmacy corrects it with a new document that references it.
 */
export const REJECT_REASONS = {
  SPLIT_MISMATCH: 'the amounts differ from the split recomputed with the rules in force',
  RULE_VERSION_MISMATCH: 'the rule version named is not the one in force on the dispensing date',
  NO_RULES_IN_FORCE: 'no third-party-payment rules are in force on the dispensing date',
  BLACKLISTED_CARD: 'the card is on the fund blacklist: no third-party payment',
  DUPLICATE_INVOICE: 'the same dispensing was already accepted',
  INVALID_REFERENCE: 'the referenced document is unknown or cannot be corrected this way',
  CREDIT_EXCEEDS_ORIGINAL: 'the credit note exceeds what remains of the original invoice',
} as const;
export type RejectCode = keyof typeof REJECT_REASONS;
