import { z } from 'zod';
import { zodIssues } from '../common/zod-issues';
import { SyncError } from './errors';
import { FUNDS, type Fund } from './invoice';
import { UTC_INSTANT, UTC_INSTANT_MESSAGE } from './invoice-check';

/**
 * A batch (bordereau) manifest: the signed summary of a contiguous range of one pharmacy's
 * invoices, uploaded with them. The invoices' hashes tie it to exactly those documents; the
 * totals (overall and per fund) are what the pharmacy claims for the batch.
 */

export const CLOSE_REASONS = ['count', 'age', 'on-demand'] as const;
/** Why a batch was closed. */
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** One fund's totals in a batch, centimes. */
export interface FundTotals {
  count: number;
  total: number;
  fund: number;
  patient: number;
}

/** A batch's signed manifest: the invoice range, their hashes and the totals. */
export interface BatchManifest {
  v: 1;
  kind: 'batch-manifest';
  pharmacyId: string;
  /** Per-pharmacy batch number, from 1, gapless. */
  batchId: number;
  /** First and last invoice number; the batch holds every number in between. */
  from: number;
  to: number;
  count: number;
  /**
   * Invoices and corrected invoices: total, fund and patient shares, overall and per fund.
   * Credit notes are summed apart in `credits` (they reduce what the fund owes).
   */
  totals: { total: number; fund: number; patient: number; byFund: Partial<Record<Fund, FundTotals>>; credits: FundTotals };
  /** SHA-256 hex of each invoice JWS, in number order. */
  invoices: string[];
  closedAt: string;
  closeReason: CloseReason;
}

const centimes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const fundTotals = z.strictObject({ count: z.number().int().min(0), total: centimes, fund: centimes, patient: centimes });

const manifestSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('batch-manifest'),
  pharmacyId: z.string().min(1).max(64),
  batchId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  from: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  to: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  count: z.number().int().min(1).max(100_000),
  totals: z.strictObject({
    total: centimes,
    fund: centimes,
    patient: centimes,
    byFund: z.strictObject(
      Object.fromEntries(FUNDS.map((f) => [f, fundTotals.optional()])) as Record<Fund, z.ZodOptional<typeof fundTotals>>,
    ),
    credits: fundTotals,
  }),
  invoices: z
    .array(z.string().regex(/^[0-9a-f]{64}$/))
    .min(1)
    .max(100_000),
  closedAt: z.string().regex(UTC_INSTANT, { message: UTC_INSTANT_MESSAGE }),
  closeReason: z.enum(CLOSE_REASONS),
});

export class InvalidManifestError extends SyncError {
  constructor(field: string, message: string) {
    super('invalid-manifest', `invalid batch manifest: ${field || '(root)'}: ${message}`, field);
  }
}

/** Validates a manifest payload; checks its range, count and hash list agree. */
export function checkManifest(input: unknown, field = 'manifest'): BatchManifest {
  const r = manifestSchema.safeParse(input);
  if (!r.success) {
    const f = zodIssues(r.error)[0]!;
    throw new InvalidManifestError(f.field ? `${field}.${f.field}` : field, f.message);
  }
  const m = r.data as BatchManifest;
  if (m.to - m.from + 1 !== m.count)
    throw new InvalidManifestError(`${field}.count`, `from ${m.from} to ${m.to} is ${m.to - m.from + 1} invoices, not ${m.count}`);
  if (m.invoices.length !== m.count)
    throw new InvalidManifestError(`${field}.invoices`, `expected ${m.count} hashes, got ${m.invoices.length}`);
  let total = 0;
  let fund = 0;
  let patient = 0;
  let count = 0;
  for (const t of Object.values(m.totals.byFund)) {
    if (t === undefined) continue;
    total += t.total;
    fund += t.fund;
    patient += t.patient;
    count += t.count;
  }
  count += m.totals.credits.count;
  if (total !== m.totals.total || fund !== m.totals.fund || patient !== m.totals.patient || count !== m.count) {
    throw new InvalidManifestError(`${field}.totals.byFund`, 'the per-fund totals do not add up to the batch totals');
  }
  if (m.totals.fund + m.totals.patient !== m.totals.total)
    throw new InvalidManifestError(`${field}.totals`, 'fund + patient must equal total');
  return m;
}

export function emptyTotals(): BatchManifest['totals'] {
  return { total: 0, fund: 0, patient: 0, byFund: {}, credits: { count: 0, total: 0, fund: 0, patient: 0 } };
}

/** Adds one document's amounts into manifest totals (the journal builds them, the fund checks). */
export function addToTotals(
  t: BatchManifest['totals'],
  fund: Fund,
  credit: boolean,
  amounts: { total: number; fund: number; patient: number },
): void {
  if (credit) {
    t.credits.count += 1;
    t.credits.total += amounts.total;
    t.credits.fund += amounts.fund;
    t.credits.patient += amounts.patient;
    return;
  }
  t.total += amounts.total;
  t.fund += amounts.fund;
  t.patient += amounts.patient;
  const f = (t.byFund[fund] ??= { count: 0, total: 0, fund: 0, patient: 0 });
  f.count += 1;
  f.total += amounts.total;
  f.fund += amounts.fund;
  f.patient += amounts.patient;
}
