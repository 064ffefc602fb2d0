import { createHash } from 'node:crypto';
import { z } from '../../common/openapi-zod';
import { InvalidInputError } from '../../common/errors';
import { freeText } from '../../common/free-text';
import { isoDateSchema } from '../../common/calendar-date';
import { zodIssues } from '../../common/zod-issues';
import { canonicalize } from '../../sync/canonical';

/**
 * Bodies the counter accepts for a quote and a checkout. Prices always come from the catalogue
 * (a dispensing record on the card needs a product code); the card gives the rights. Unknown
 * fields are refused, as everywhere else (a misspelt field must not be silently ignored). Text a
 * person types that ends up signed (an approval reference, a cancel reason) is free text under
 * the rule of src/common/free-text.ts — the invoice schema applies it again — trimmed first.
 */

const printable = (max: number, what: string) =>
  z
    .string({ message: `expected ${what}` })
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, { message: 'expected printable ASCII without spaces at the ends' })
    .max(max, { message: `at most ${max} characters` });
const centimes = z
  .number({ message: 'expected an amount in integer centimes' })
  .int({ message: 'expected integer centimes' })
  .min(0, { message: 'an amount cannot be negative' });

export const MAX_COUNTER_LINES = 20;

export const counterLineSchema = z.strictObject({
  code: printable(16, 'a product code'),
  quantity: z
    .number({ message: 'expected an integer quantity ≥ 1' })
    .int({ message: 'expected a whole number of units' })
    .min(1, { message: 'expected a quantity of at least 1' })
    .max(999, { message: 'at most 999 units per line' }),
  /** Treatment duration in days, written on the card's dispensing record. */
  durationDays: z
    .number({ message: 'expected a number of days' })
    .int({ message: 'expected a whole number of days' })
    .min(1, { message: 'at least 1 day' })
    .max(365, { message: 'at most 365 days' })
    .optional(),
  /** The fund's prior-approval reference, for products that need one. */
  approval: freeText({ max: 64 }, { expected: 'expected an approval reference', trim: true }).optional(),
  /** The pack's lot (GS1 AI 10), expiry date (AI 17) and serial number (AI 21), when it was scanned. */
  lot: freeText({ max: 20 }, { expected: 'expected a lot number' }).optional(),
  expiry: isoDateSchema.optional(),
  serial: freeText({ max: 20 }, { expected: 'expected a serial number' }).optional(),
  /**
   * Generic substitution: the product prescribed, which `code` (same DCI, form and strength)
   * replaces. The invoice names both; the card records `code`, the product dispensed.
   */
  replaces: printable(16, 'the prescribed product code').optional(),
});

const basketShape = {
  /** Beneficiary rank on the card: 1, the default, is the insured person. */
  beneficiary: z
    .number({ message: 'expected a beneficiary rank' })
    .int({ message: 'expected a whole rank' })
    .min(1, { message: 'ranks start at 1' })
    .max(15, { message: 'at most rank 15' })
    .default(1),
  /** The prescription's reference (one of the card's e-prescriptions, or a paper one). */
  prescription: printable(12, 'a prescription reference').optional(),
  lines: z
    .array(counterLineSchema, { message: 'expected an array of lines' })
    .min(1, { message: 'the basket is empty' })
    .max(MAX_COUNTER_LINES, { message: `at most ${MAX_COUNTER_LINES} lines per dispensing` }),
};

export const counterQuoteSchema = z.strictObject(basketShape);

export const checkoutSchema = z
  .strictObject({
    ...basketShape,
    /** The totals the pharmacist saw: the checkout is refused if the split now differs. */
    expect: z.strictObject({ total: centimes, fund: centimes, patient: centimes }).optional(),
    /**
     * The serial number of the counterfoil prescription (ordonnance à souche), required when a
     * product of a controlled table is in the basket; it goes on the invoice and in the register.
     */
    counterfoil: freeText({ max: 32 }, { expected: 'expected the serial number of the counterfoil prescription', trim: true }).optional(),
    /** The prescriber of a paper prescription (the card's e-prescriptions name theirs). */
    prescriber: freeText({ max: 120 }, { expected: 'expected the prescriber', trim: true }).optional(),
    /** A client-chosen key: the same checkout sent twice (a double click, a retry) is done once. */
    requestId: z
      .string({ message: 'expected a request identifier' })
      .regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'expected 8 to 64 characters A-Z a-z 0-9 _ -' })
      .optional(),
  })
  .superRefine((v, ctx) => {
    v.lines.forEach((l, i) => {
      if (l.durationDays === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['lines', i, 'durationDays'],
          message: 'the treatment duration is required at checkout (it is written on the card)',
        });
    });
  });

export type CounterLine = z.infer<typeof counterLineSchema>;
export type CounterQuoteRequest = z.infer<typeof counterQuoteSchema>;
export type CheckoutRequest = z.infer<typeof checkoutSchema>;

/**
 * What makes two checkouts with one requestId the same request: SHA-256 of the basket's canonical
 * JSON (beneficiary, prescription, lines). `expect` is left out: it guards the first attempt, and
 * a replay answers with the invoice's own totals.
 */
export function basketFingerprint(request: CounterQuoteRequest): string {
  const basket = { beneficiary: request.beneficiary, prescription: request.prescription, lines: request.lines };
  return createHash('sha256').update(canonicalize(basket)).digest('hex');
}

export const pinSchema = z.strictObject({
  pin: z.string({ message: 'expected the PIN as a string of digits' }).regex(/^\d{4,8}$/, { message: 'expected 4 to 8 digits' }),
});

export const cancelSchema = z.strictObject({
  reason: freeText({ max: 200 }, { expected: 'expected a reason', trim: true }).optional(),
});

/** `GET /api/catalogue/:code`: a catalogue code (the catalogue import allows 32 characters). */
export const productCodeSchema = z.strictObject({ code: printable(32, 'a product code') });

/**
 * Validates with `schema`; throws InvalidInputError naming each bad field (never echoing values);
 * a body that is not an object at all (a JSON array) is named `body`.
 */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw new InvalidInputError(
      zodIssues(r.error).map((i) => (i.field === '' ? { ...i, field: 'body' } : i)),
      what,
    );
  return r.data;
}
