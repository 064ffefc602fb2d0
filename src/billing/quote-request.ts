import { z } from 'zod';
import { categoryIdSchema } from './category';
import { isoDateSchema } from '../common/calendar-date';
import { InvalidInputError, MalformedJsonError } from '../common/errors';
import { zodIssues } from '../common/zod-issues';

/**
 * The quote request `chifa quote` reads on stdin (and the counter's HTTP API will accept):
 * a dispensing date, the patient's category, and lines that either name a catalogue `code` or
 * carry their own prices (given prices win over the catalogue's). Amounts are integer centimes.
 */

const centimes = z
  .number({ message: 'expected an amount in integer centimes' })
  .int({ message: 'expected an integer number of centimes (250.00 DA is 25000)' })
  .min(0, { message: 'an amount cannot be negative' });
const flag = z.boolean({ message: 'expected true or false' });
const wholeNumber = (min: number, max: number, what: string) =>
  z
    .number({ message: `expected ${what}` })
    .int({ message: `expected a whole number of ${what}` })
    .min(min, { message: `at least ${min}` })
    .max(max, { message: `at most ${max}` });
const code = (what: string) =>
  z
    .string({ message: `expected ${what}` })
    .min(1, { message: 'must not be empty' })
    .max(32);
const reference = z.string({ message: 'expected a prescription reference' }).min(1, { message: 'must not be empty' }).max(32);

export const quoteLineSchema = z
  .strictObject({
    code: code('a product code').optional(),
    quantity: z
      .number({ message: 'expected an integer quantity ≥ 1' })
      .int({ message: 'expected a whole number of units' })
      .min(1, { message: 'expected a quantity of at least 1' }),
    unitPrice: centimes.optional(),
    /** null: no reference tariff (the sale price is the base), even if the catalogue has one. */
    referencePrice: centimes.nullable().optional(),
    reimbursable: flag.optional(),
    priorApproval: flag.optional(),
    /** The fund's prior-approval reference for this line. */
    approval: z.string({ message: 'expected an approval reference' }).min(1, { message: 'must not be empty' }).max(64).optional(),
    /** Treatment duration in days (checked against the category's duration limit). */
    durationDays: wholeNumber(1, 3660, 'days').optional(),
    /** Units the prescription orders of this product, and units dispensed against it before (the quantity limit). */
    prescribed: z
      .strictObject({ quantity: wholeNumber(0, 100_000, 'units'), alreadyDispensed: wholeNumber(0, 1_000_000, 'units').default(0) })
      .optional(),
    /** Generic substitution: the product prescribed, which this line's product replaces (a catalogue code, or its reference tariff). */
    replaces: z
      .strictObject({ code: code('the prescribed product code').optional(), referencePrice: centimes.nullable().optional() })
      .refine((p) => p.code !== undefined || p.referencePrice !== undefined, { message: 'give the prescribed code or its referencePrice' })
      .optional(),
  })
  .superRefine((line, ctx) => {
    if (line.code === undefined && line.unitPrice === undefined) {
      ctx.addIssue({ code: 'custom', path: ['unitPrice'], message: 'required when the line has no code' });
    }
  });

const rights = z.strictObject({ category: categoryIdSchema, rightsEnd: isoDateSchema.optional() });

export const quoteRequestSchema = z.strictObject({
  date: isoDateSchema,
  /** A category id of the rules in force on `date` (e.g. "ordinary", "chronic"). */
  category: categoryIdSchema,
  lines: z
    .array(quoteLineSchema, { message: 'expected an array of lines' })
    .min(1, { message: 'a prescription needs at least one line' })
    .max(500),
  /** Card and rights facts (optional; the counter reads them from the card). */
  cardExpiry: isoDateSchema.optional(),
  rightsEnd: isoDateSchema.optional(),
  blacklisted: flag.optional(),
  /** The beneficiary's own rights, when the card gives them; otherwise the insured's apply. */
  beneficiary: rights.optional(),
  /** The prescription's reference, and the prescriptions served earlier to the beneficiary (the per-period limit). */
  prescription: reference.optional(),
  prescriptionHistory: z
    .array(z.strictObject({ reference, date: isoDateSchema }), { message: 'expected an array of {reference, date}' })
    .max(1000)
    .optional(),
});

/** One line of a quote request: a catalogue `code`, or prices of its own. */
export type QuoteLine = z.infer<typeof quoteLineSchema>;
/** What `quote` prices (validated by parseQuoteRequest): the date, the category, the lines and the card facts. */
export type QuoteRequest = z.infer<typeof quoteRequestSchema>;

/** Validates an already-parsed value; throws InvalidInputError naming each bad field. */
export function parseQuoteRequest(value: unknown): QuoteRequest {
  const r = quoteRequestSchema.safeParse(value);
  if (!r.success) throw new InvalidInputError(zodIssues(r.error), 'quote request');
  return r.data;
}

/** Parses JSON text and validates it; MalformedJsonError if it is not JSON at all. */
export function parseQuoteRequestJson(text: string): QuoteRequest {
  if (text.trim() === '') throw new MalformedJsonError('the input is empty', 'the quote request');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MalformedJsonError((err as Error).message, 'the quote request');
  }
  return parseQuoteRequest(value);
}
