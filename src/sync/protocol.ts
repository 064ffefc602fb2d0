import { z } from 'zod';

/**
 * The wire protocol between the uploader and the fund (docs/sync.md, "Protocol").
 *
 *   POST /v1/batches                        upload one batch; header Idempotency-Key
 *   GET  /v1/batches/:pharmacyId/:batchId   the batch's acknowledgement and settlement
 *   GET  /v1/pharmacies/:pharmacyId/batches?from=N   batch summaries (settlement)
 *   GET  /v1/batches/:pharmacyId/:batchId/payment   the payment notice of a settled batch
 *   GET  /v1/pharmacies/:pharmacyId/chain   the last number and hash the fund holds
 *   GET  /v1/downlink/:name                 blacklist | catalogue | rules, with ETag
 *   GET  /v1/rights/:cardSerial             the card's current rights, signed (src/sync/rights.ts)
 *   GET  /v1/health                         the only route without authentication
 *
 * Every request but health carries a request token signed by the pharmacist's card
 * (docs/sync.md, "Authentication"); every answer but errors and health is signed by the fund.
 */

export const PROTOCOL_PREFIX = '/v1';

/** Largest upload body the fund accepts, and the largest batch. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
export const MAX_BATCH_INVOICES = 5000;

/** The body of `POST /v1/batches`. */
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

/** The fund's acknowledgement of a batch, per invoice. */
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

/**
 * An amount the fund kept back when it paid a batch, on one invoice it had accepted (a tariff
 * revised, a line disallowed on control…): the payment notice explains the transfer invoice by
 * invoice.
 */
export interface PaymentAdjustment {
  number: number;
  /** SHA-256 hex of the invoice JWS. */
  hash: string;
  /** Centimes kept back (> 0). */
  amount: number;
  code: string;
  reason: string;
}

/**
 * The payload of `GET /v1/batches/:pharmacyId/:batchId/payment` (typ chifa-payment+jws): what
 * the fund transferred for a settled batch. `accepted` is what its acknowledgement accepted
 * (accepted fund shares minus credit notes); `paid = accepted − Σ adjustments`; the bank transfer
 * carries `transferReference`, so a statement line can be matched to the batch.
 */
export interface PaymentNotice {
  pharmacyId: string;
  batchId: number;
  idempotencyKey: string;
  settledAt: string;
  accepted: number;
  paid: number;
  transferReference: string;
  adjustments: PaymentAdjustment[];
}

export const paymentNoticeSchema = z.object({
  pharmacyId: z.string(),
  batchId: z.number().int().min(1),
  idempotencyKey: z.string(),
  settledAt: z.string(),
  accepted: z.number().int(),
  paid: z.number().int(),
  transferReference: z.string().min(1).max(64),
  adjustments: z.array(
    z.object({
      number: z.number().int().min(1),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      amount: z.number().int().min(1),
      code: z.string().max(64),
      reason: z.string().max(1000),
    }),
  ),
});

/** `Authorization: Chifa <compact JWS>` (RFC 7235 §2.1 syntax; the scheme is matched case-insensitively). */
export const AUTH_SCHEME = 'Chifa';
/** Request header: the pharmacist's certificate (base64 DER) the token is signed with. */
export const CERTIFICATE_HEADER = 'chifa-certificate';
/** Downlink answer headers: the fund's signature over the document, and its certificate (base64 DER). */
export const SIGNATURE_HEADER = 'chifa-signature';
export const FUND_CERTIFICATE_HEADER = 'chifa-fund-certificate';
/** Longest validity of a request token (exp − iat), seconds. */
export const MAX_TOKEN_LIFETIME_S = 300;

/**
 * The payload of a request token (typ chifa-request+jws): what the request is, who sends it and
 * when, so that a token is worth exactly one request (the fund remembers `jti` until `exp`).
 */
export interface RequestToken {
  v: 1;
  pharmacyId: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The request target as sent: path and query string (`/v1/pharmacies/X/batches?from=3`). */
  path: string;
  /** base64url SHA-256 of the request body (of the empty string when there is none). */
  bodySha256: string;
  /** Issued at and expiry, seconds since the epoch (RFC 7519 NumericDate). */
  iat: number;
  exp: number;
  /** 128 random bits, base64url: the replay guard. */
  jti: string;
}

export const requestTokenSchema = z.strictObject({
  v: z.literal(1),
  pharmacyId: z.string().min(1).max(64),
  method: z.string().regex(/^[A-Z]{3,7}$/),
  path: z.string().startsWith('/').max(2048),
  bodySha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  iat: z.number().int().min(0),
  exp: z.number().int().min(0),
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
});

/**
 * A JSON answer signed by the fund: `jws` (compact, ES256) carries the answer as its canonical
 * payload; `certificate` is the fund's signing certificate (base64 DER), which the terminal
 * checks against the fund CA it is configured with.
 */
export interface SignedAnswer {
  jws: string;
  certificate: string;
}

export const signedAnswerSchema = z.strictObject({
  jws: z.string().min(1).max(20_000_000),
  certificate: z.string().min(1).max(8192),
});

/** The payload of `GET /v1/pharmacies/:id/chain` (typ chifa-chain+jws). */
export interface ChainTipAnswer {
  pharmacyId: string;
  lastNumber: number;
  lastHash: string;
  lastBatch: number;
}

/**
 * The payload of a downlink signature (typ chifa-downlink+jws, header `Chifa-Signature`): the
 * document travels as it is (JSON or CSV) and the signature names it and its digest.
 */
export interface DownlinkSignature {
  v: 1;
  name: string;
  etag: string;
  /** base64url SHA-256 of the body. */
  sha256: string;
}

export const downlinkSignatureSchema = z.strictObject({
  v: z.literal(1),
  name: z.string(),
  etag: z.string(),
  sha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

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
  pharmacyId: z.string(),
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
