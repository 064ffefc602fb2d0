/**
 * Small rules files for tests: the shipped shape (docs/split.md) with the fewest fields, so a
 * test states only what it changes.
 */

const src = { source: 'docs/field-notes.md#categories', certainty: 'good' } as const;

export function category(id: string, cardCode: number, rateBp: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, cardCode, label: { fr: id, ar: id }, rateBp, thresholdExempt: false, limits: [], ...src, ...extra };
}

/** A rules file: ordinary 80 %, chronic 100 % without ceiling, retiree 100 %; no limits, no items. */
export function ruleFile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 'v1',
    effectiveFrom: '2020-01-01',
    thresholdCentimes: 300000,
    categories: [category('ordinary', 1, 8000), category('chronic', 2, 10000, { thresholdExempt: true }), category('retiree', 3, 10000)],
    limits: [],
    amountItems: [],
    substitution: { tariff: 'lower', ...src },
    ...extra,
  };
}
