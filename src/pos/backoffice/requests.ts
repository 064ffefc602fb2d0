import { z } from 'zod';
import { isoDateSchema } from '../../common/calendar-date';
import { freeText } from '../../common/free-text';
import { MAX_BANK_PAYMENT } from '../../sync/journal/payments';
import { CSV_DELIMITERS } from './csv';
import { STATEMENT_DELIMITERS } from './statement';
import { PERIODS } from './statistics';

/**
 * What the back office's routes accept (src/pos/http/backoffice-routes.ts): query strings and
 * bodies, each field validated and named in a 400 when wrong; unknown fields are refused, as
 * everywhere in the counter's API. Text that ends up signed or recorded (a correction's reason, a
 * counterfoil serial, a payment's reference) is free text under src/common/free-text.ts.
 */

/** A whole number in a query string or a path, from `min` to `max`. */
const wholeParam = (min: number, max: number, what: string) =>
  z
    .string({ message: `expected ${what}` })
    .regex(/^[0-9]{1,15}$/, { message: `expected ${what} (a whole number)` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `at least ${min}` })
        .max(max, { message: `at most ${max}` }),
    );

const format = z.enum(['json', 'csv'], { message: 'expected json or csv' }).optional();
/** A page's query: JSON by default, or CSV with `,` (default) or `;` between fields (csv.ts says why). */
const exportable = {
  format,
  delimiter: z
    .enum(CSV_DELIMITERS, { message: `expected ${CSV_DELIMITERS.join(' or ')}` })
    .optional()
    .meta({ description: 'with `format=csv`: the field separator, `comma` (default) or `semicolon` (Excel in a French or Arabic locale)' }),
};
const flag = z.enum(['0', '1', 'true', 'false'], { message: 'expected 1 or 0' }).optional();

/** Longest range of days a statistics or register query may span (ten years). */
export const MAX_RANGE_DAYS = 3660;

const dateRange = { from: isoDateSchema, to: isoDateSchema };

function checkRange(v: { from: string; to: string }, ctx: z.RefinementCtx): void {
  if (v.from > v.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'from must not be after to' });
  else if (Date.parse(v.to) - Date.parse(v.from) > MAX_RANGE_DAYS * 86_400_000)
    ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_RANGE_DAYS} days` });
}

export const batchesQuery = z.strictObject({
  before: wholeParam(1, Number.MAX_SAFE_INTEGER, 'a batch number').optional(),
  limit: wholeParam(1, 500, 'a count').optional(),
  ...exportable,
});
export const batchQuery = z.strictObject({
  ...exportable,
  table: z.enum(['invoices', 'gap'], { message: 'expected invoices or gap' }).optional(),
});
export const formatQuery = z.strictObject({ ...exportable });
export const rejectsQuery = z.strictObject({
  pending: flag,
  before: wholeParam(1, Number.MAX_SAFE_INTEGER, 'an invoice number').optional(),
  limit: wholeParam(1, 1000, 'a count').optional(),
  ...exportable,
});
export const STAT_TABLES = ['series', 'categories', 'funds', 'refusals', 'products', 'dcis'] as const;
export const statsQuery = z
  .strictObject({
    ...dateRange,
    period: z.enum(PERIODS, { message: `expected ${PERIODS.join(', ')}` }).optional(),
    table: z.enum(STAT_TABLES, { message: `expected ${STAT_TABLES.join(', ')}` }).optional(),
    ...exportable,
  })
  .superRefine(checkRange);
export const registerQuery = z.strictObject({ ...dateRange, ...exportable }).superRefine(checkRange);
export const refillsQuery = z.strictObject({ days: wholeParam(1, 90, 'a number of days').optional(), ...exportable });

export const batchIdParam = z.strictObject({ id: wholeParam(1, Number.MAX_SAFE_INTEGER, 'a batch number') });
export const invoiceNumberParam = z.strictObject({ number: wholeParam(1, Number.MAX_SAFE_INTEGER, 'an invoice number') });
export const patientParams = z.strictObject({
  card: z
    .string({ message: 'expected a card serial' })
    .regex(/^[\x21-\x7e]{1,32}$/, { message: 'expected a card serial (1 to 32 printable ASCII characters)' }),
  rank: wholeParam(1, 99, 'a beneficiary rank'),
});

const centimes = z
  .number({ message: 'expected an amount in integer centimes' })
  .int({ message: 'expected integer centimes' })
  .refine((n) => Number.isSafeInteger(n) && n !== 0, { message: 'expected a non-zero amount in centimes' })
  .refine((n) => Math.abs(n) <= MAX_BANK_PAYMENT, { message: `at most ${MAX_BANK_PAYMENT} centimes either way` });

/** A payment seen on the bank account, typed in; negative to correct an earlier entry. */
export const paymentBody = z.strictObject({
  batchId: z
    .number({ message: 'expected a batch number' })
    .int({ message: 'expected a batch number' })
    .min(1, { message: 'expected a batch number' }),
  amount: centimes,
  valueDate: isoDateSchema,
  reference: freeText({ max: 64 }, { expected: 'expected the transfer reference', trim: true }),
});

/** A bank statement, the CSV file's text (the API's 64 KB body limit: a few hundred lines). */
export const statementBody = z.strictObject({
  csv: z.string({ message: 'expected the statement as CSV text' }).min(1, { message: 'the statement is empty' }),
  delimiter: z.enum(STATEMENT_DELIMITERS, { message: 'expected "," or ";"' }).optional(),
});

export const correctBody = z.strictObject({
  reason: freeText({ max: 200 }, { expected: 'expected a reason', trim: true }).optional(),
  counterfoil: freeText({ max: 32 }, { expected: 'expected the serial number of the counterfoil prescription', trim: true }).optional(),
  prescriber: freeText({ max: 120 }, { expected: 'expected the prescriber', trim: true }).optional(),
});

export type BatchesQuery = z.infer<typeof batchesQuery>;
export type PaymentBody = z.infer<typeof paymentBody>;
export type CorrectBody = z.infer<typeof correctBody>;
