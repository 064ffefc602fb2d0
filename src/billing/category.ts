import { z } from 'zod';

/**
 * Coverage categories are rules data (`fixtures/rules/*.json`, docs/split.md): each rule version
 * lists its categories — an id, the code the card stores, labels in French and Arabic, the rate,
 * whether the per-prescription ceiling applies, and the limits that apply — so a category the
 * fund adds is a rules file or a downlink away, not a release. Code only knows what an id looks
 * like; whether it exists is the rule version's answer.
 */

/** A category id, e.g. `ordinary`, `chronic`, `work-accident`. */
export type Category = string;

/** Lower-case ASCII letters, digits and inner hyphens, 1 to 32 characters. */
export const CATEGORY_ID_PATTERN = /^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

export function isCategoryId(s: unknown): s is Category {
  return typeof s === 'string' && CATEGORY_ID_PATTERN.test(s);
}

export const categoryIdSchema = z
  .string({ message: 'expected a category id' })
  .regex(CATEGORY_ID_PATTERN, { message: 'expected a category id: lower-case letters, digits and hyphens (e.g. "ordinary")' });
