import { z } from 'zod';
import { isoDateSchema } from '../../common/calendar-date';
import { CATEGORIES, type Category } from '../category';
import { BP_PER_UNIT, type Centimes, type RateBp } from '../money';

const rateBp = z
  .number({ message: 'expected a rate in basis points' })
  .int({ message: 'expected an integer number of basis points' })
  .min(0, { message: 'a rate cannot be negative' })
  .max(BP_PER_UNIT, { message: `a rate cannot exceed ${BP_PER_UNIT} bp (100 %)` });

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
    /** The fund's share of the reimbursable base, per coverage category. */
    rates: z.strictObject(Object.fromEntries(CATEGORIES.map((c) => [c, rateBp])) as Record<Category, typeof rateBp>),
    /**
     * Third-party payment applies when the prescription's total sale amount is at or below this
     * many centimes; above it the patient pays in full at the counter and claims later.
     */
    thresholdCentimes: z
      .number({ message: 'expected an amount in centimes' })
      .int({ message: 'expected an integer number of centimes' })
      .min(0, { message: 'cannot be negative' }),
    /** Categories with no threshold (chronic patients). */
    thresholdExemptCategories: z.array(z.enum(CATEGORIES)).refine((a) => new Set(a).size === a.length, {
      message: 'lists a category twice',
    }),
  })
  .refine((r) => r.effectiveUntil === undefined || r.effectiveUntil >= r.effectiveFrom, {
    message: 'effectiveUntil is before effectiveFrom',
    path: ['effectiveUntil'],
  });

export type RuleFile = z.infer<typeof ruleFileSchema>;

/** A validated rule version, as the split engine uses it. Frozen after loading. */
export interface RuleVersion {
  readonly version: string;
  readonly effectiveFrom: string;
  /** Last day in force (inclusive), or undefined: in force until the next version starts. */
  readonly effectiveUntil: string | undefined;
  readonly description: string | undefined;
  readonly rates: Readonly<Record<Category, RateBp>>;
  readonly thresholdCentimes: Centimes;
  readonly thresholdExemptCategories: readonly Category[];
  /** Where it was loaded from (a file name, or a label given by the caller). */
  readonly source: string;
}
