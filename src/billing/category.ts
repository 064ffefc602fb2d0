/**
 * Coverage categories (docs/split.md). The rate each one gets, and which ones are exempt from the
 * per-prescription threshold, are rules data (`fixtures/rules/`), not code.
 * - `ordinary`: an ordinary insured person or beneficiary;
 * - `chronic`: a patient with a recognised chronic disease;
 * - `retiree`: a retiree whose pension is below the national minimum wage.
 */
export const CATEGORIES = ['ordinary', 'chronic', 'retiree'] as const;
export type Category = (typeof CATEGORIES)[number];

export function isCategory(s: unknown): s is Category {
  return typeof s === 'string' && (CATEGORIES as readonly string[]).includes(s);
}
