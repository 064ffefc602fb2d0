import { z } from 'zod';
import { isoDateSchema } from '../../common/calendar-date';
import { categoryIdSchema, type Category } from '../category';
import { BP_PER_UNIT, type Centimes, type RateBp } from '../money';

const rateBp = z
  .number({ message: 'expected a rate in basis points' })
  .int({ message: 'expected an integer number of basis points' })
  .min(0, { message: 'a rate cannot be negative' })
  .max(BP_PER_UNIT, { message: `a rate cannot exceed ${BP_PER_UNIT} bp (100 %)` });
const centimes = z
  .number({ message: 'expected an amount in centimes' })
  .int({ message: 'expected an integer number of centimes' })
  .min(0, { message: 'cannot be negative' });
const count = (min: number, max: number, what: string) =>
  z
    .number({ message: `expected ${what}` })
    .int({ message: `expected a whole number of ${what}` })
    .min(min, { message: `at least ${min}` })
    .max(max, { message: `at most ${max}` });
const ruleId = z
  .string({ message: 'expected an id' })
  .regex(/^[a-z](?:[a-z0-9-]{0,46}[a-z0-9])?$/, { message: 'expected an id: lower-case letters, digits and hyphens' });
const label = z.strictObject({
  fr: z.string().min(1, { message: 'must not be empty' }).max(80),
  ar: z.string().min(1, { message: 'must not be empty' }).max(80),
});

/**
 * How sure we are of a fact a rule rests on (docs/field-notes.md): `good` (a current public
 * source), `partial` (a source says part of it), `dated` (a source that may no longer apply),
 * `assumption` (no source: our choice), `unknown` (the value is a placeholder until a source
 * gives it).
 */
export const CERTAINTIES = ['good', 'partial', 'dated', 'assumption', 'unknown'] as const;
export type Certainty = (typeof CERTAINTIES)[number];

/** Every category, limit, amount item and the substitution rule say where they come from. */
const provenance = {
  /** Where the fact is written down: a `docs/field-notes.md#…` anchor. */
  source: z.string().min(1, { message: 'must not be empty' }).max(200),
  certainty: z.enum(CERTAINTIES),
  /** Our reading and what is unknown, for people reading the file. */
  note: z.string().max(1000).optional(),
};

/** The longest rolling window a `prescriptions-per-period` limit may have (a year). */
export const MAX_PRESCRIPTION_WINDOW_DAYS = 366;

/**
 * Limits the split evaluates for the categories that list them; a disabled limit stays in the
 * file (with its source) and is not evaluated.
 * - `prescribed-quantity`: a line's quantity, plus what earlier dispensings of the same
 *   prescription line already gave, may not exceed the quantity prescribed;
 * - `max-treatment-days`: a line's treatment duration may not exceed `days`;
 * - `prescriptions-per-period`: at most `count` prescriptions per beneficiary in a rolling
 *   window of `windowDays` days (the one being dispensed included).
 */
export const limitSchema = z.discriminatedUnion('kind', [
  z.strictObject({ id: ruleId, kind: z.literal('prescribed-quantity'), enabled: z.boolean(), ...provenance }),
  z.strictObject({ id: ruleId, kind: z.literal('max-treatment-days'), days: count(1, 3660, 'days'), enabled: z.boolean(), ...provenance }),
  z.strictObject({
    id: ruleId,
    kind: z.literal('prescriptions-per-period'),
    windowDays: count(1, MAX_PRESCRIPTION_WINDOW_DAYS, 'days'),
    count: count(1, 100, 'prescriptions'),
    enabled: z.boolean(),
    ...provenance,
  }),
]);

/** What a markup is a rate of. */
export const ITEM_BASES = ['sale-total', 'reimbursable-base', 'fund-share'] as const;
export type ItemBase = (typeof ITEM_BASES)[number];
export const PAYERS = ['fund', 'patient'] as const;
export type Payer = (typeof PAYERS)[number];

/**
 * Amounts added to a prescription besides its lines: a `markup` is `rateBp` of a base of the
 * prescription, rounded half up; an `invoice-fee` is a fixed amount per invoice. An item the fund
 * pays is due only on a third-party-payment invoice; one the patient pays, on every invoice.
 */
export const amountItemSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    id: ruleId,
    kind: z.literal('markup'),
    label,
    base: z.enum(ITEM_BASES),
    rateBp,
    payer: z.enum(PAYERS),
    ...provenance,
  }),
  z.strictObject({ id: ruleId, kind: z.literal('invoice-fee'), label, amountCentimes: centimes, payer: z.enum(PAYERS), ...provenance }),
]);

/**
 * Generic substitution: which reference tariff the base of a substituted line uses — the
 * dispensed product's, the prescribed product's, or the lower of the two.
 */
export const SUBSTITUTION_TARIFFS = ['dispensed', 'prescribed', 'lower'] as const;
export type SubstitutionTariff = (typeof SUBSTITUTION_TARIFFS)[number];

export const categorySchema = z.strictObject({
  id: categoryIdSchema,
  /** The category code the card stores in EF.RIGHTS (docs/card-layout.md). */
  cardCode: count(1, 255, 'a card category code'),
  label,
  /** The fund's share of the reimbursable base. */
  rateBp,
  /** True: no per-prescription ceiling for this category. */
  thresholdExempt: z.boolean(),
  /** Ids of the limits (`limits`) that apply to this category. */
  limits: z.array(ruleId).refine(unique, { message: 'lists a limit twice' }),
  ...provenance,
});

function unique(a: readonly unknown[]): boolean {
  return new Set(a).size === a.length;
}

function uniqueBy<T>(key: (t: T) => unknown, what: string) {
  return (list: readonly T[], ctx: z.RefinementCtx): void => {
    const seen = new Set<unknown>();
    list.forEach((t, i) => {
      const k = key(t);
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [i], message: `${what} ${JSON.stringify(k)} appears twice` });
      seen.add(k);
    });
  };
}

/**
 * One rules file, `fixtures/rules/<effectiveFrom>.json`: the third-party-payment rules that apply
 * from `effectiveFrom` (inclusive) until the next version starts, or until `effectiveUntil`
 * (inclusive) when given. Amounts are centimes; rates are basis points (8000 = 80 %).
 */
export const ruleFileSchema = z
  .strictObject({
    /** Free text for people reading the file; ignored by the engine. */
    $comment: z.string().optional(),
    /** The name a split reports in `ruleVersion`; unique across all files. */
    version: z.string().min(1, { message: 'must not be empty' }).max(64),
    effectiveFrom: isoDateSchema,
    effectiveUntil: isoDateSchema.optional(),
    description: z.string().optional(),
    /**
     * Third-party payment applies when the prescription's total sale amount is at or below this
     * many centimes (for the categories not exempt); above it the patient pays in full at the
     * counter and claims later.
     */
    thresholdCentimes: centimes,
    categories: z
      .array(categorySchema)
      .min(1, { message: 'a rule version needs at least one category' })
      .superRefine(uniqueBy((c) => c.id, 'category'))
      .superRefine(uniqueBy((c) => c.cardCode, 'card code')),
    limits: z
      .array(limitSchema)
      .default([])
      .superRefine(uniqueBy((l) => l.id, 'limit')),
    amountItems: z
      .array(amountItemSchema)
      .default([])
      .superRefine(uniqueBy((l) => l.id, 'amount item')),
    substitution: z.strictObject({ tariff: z.enum(SUBSTITUTION_TARIFFS), ...provenance }),
  })
  .superRefine((r, ctx) => {
    if (r.effectiveUntil !== undefined && r.effectiveUntil < r.effectiveFrom) {
      ctx.addIssue({ code: 'custom', path: ['effectiveUntil'], message: 'effectiveUntil is before effectiveFrom' });
    }
    const ids = new Set(r.limits.map((l) => l.id));
    r.categories.forEach((c, i) =>
      c.limits.forEach((l, j) => {
        if (!ids.has(l))
          ctx.addIssue({ code: 'custom', path: ['categories', i, 'limits', j], message: `no limit has id ${JSON.stringify(l)}` });
      }),
    );
  });

export type RuleFile = z.infer<typeof ruleFileSchema>;
export type LimitRule = z.infer<typeof limitSchema>;
export type AmountItemRule = z.infer<typeof amountItemSchema>;
/** A text in French and Arabic (the rules' labels of categories and items). */
export type Label = z.infer<typeof label>;

/** A category as a rule version defines it, its limits resolved (enabled ones only). */
export interface CategoryRule {
  readonly id: Category;
  readonly cardCode: number;
  readonly label: Readonly<Label>;
  readonly rateBp: RateBp;
  readonly thresholdExempt: boolean;
  /** The enabled limits that apply to this category, in the order the category lists them. */
  readonly limits: readonly LimitRule[];
  readonly source: string;
  readonly certainty: Certainty;
  readonly note: string | undefined;
}

/** A validated rule version, as the split engine uses it. Frozen after loading. */
export interface RuleVersion {
  readonly version: string;
  readonly effectiveFrom: string;
  /** Last day in force (inclusive), or undefined: in force until the next version starts. */
  readonly effectiveUntil: string | undefined;
  readonly description: string | undefined;
  readonly thresholdCentimes: Centimes;
  /** In the file's order. */
  readonly categories: readonly CategoryRule[];
  readonly categoriesById: ReadonlyMap<Category, CategoryRule>;
  readonly categoriesByCardCode: ReadonlyMap<number, CategoryRule>;
  /** Every limit of the file, enabled or not. */
  readonly limits: readonly LimitRule[];
  readonly amountItems: readonly AmountItemRule[];
  readonly substitution: { readonly tariff: SubstitutionTariff; readonly source: string; readonly certainty: Certainty };
  /** Where it was loaded from (a file name, or a label given by the caller). */
  readonly source: string;
}
