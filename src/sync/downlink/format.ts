import { z } from 'zod';
import { isoDateSchema } from '../../common/calendar-date';

/**
 * What the fund sends down to the terminals (docs/sync.md, "Downlink"):
 * - `blacklist`: JSON, the cards frozen for fraud (third-party payment refused from `since`, until
 *   `until` for a temporary freeze);
 * - `catalogue`: the catalogue CSV (the `fixtures/catalogue` format): products and reference tariffs;
 * - `rules`: JSON, every third-party-payment rule version (`fixtures/rules` files, in one list).
 * Each is served with a strong ETag; terminals fetch with If-None-Match and apply atomically.
 */
export const DOWNLINK_NAMES = ['blacklist', 'catalogue', 'rules'] as const;
/** A document the fund publishes for terminals. */
export type DownlinkName = (typeof DOWNLINK_NAMES)[number];

export const DOWNLINK_CONTENT_TYPES: Record<DownlinkName, string> = {
  blacklist: 'application/json',
  catalogue: 'text/csv; charset=utf-8',
  rules: 'application/json',
};

export const blacklistSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Free version label (the ETag is what terminals compare). */
  version: z.string().max(64).optional(),
  cards: z
    .array(
      z
        .strictObject({
          cardSerial: z.string().min(1).max(32),
          /** First dispensing date refused (inclusive); absent: since always. */
          since: isoDateSchema.optional(),
          /** Last dispensing date refused (inclusive): a temporary freeze; absent: permanent. */
          until: isoDateSchema.optional(),
          reason: z.string().max(200).optional(),
        })
        .refine((c) => c.since === undefined || c.until === undefined || c.since <= c.until, {
          message: 'until is before since',
          path: ['until'],
        }),
    )
    .max(5_000_000),
});

/** Whether an entry `{ since?, until? }` refuses dispensing date `date` (both ends inclusive). */
export function blacklistedOn(entry: { since?: string | null; until?: string | null }, date: string): boolean {
  return (entry.since == null || date >= entry.since) && (entry.until == null || date <= entry.until);
}
export type BlacklistDocument = z.infer<typeof blacklistSchema>;

export const rulesDocumentSchema = z.strictObject({
  versions: z.array(z.unknown()).min(1).max(1000),
});
