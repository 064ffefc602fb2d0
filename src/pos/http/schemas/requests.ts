import { cancelSchema, checkoutSchema, counterQuoteSchema, pinSchema, productCodeSchema as productCode } from '../../counter/request';
import { z } from '../../../common/openapi-zod';

/**
 * What the API accepts: the counter's request bodies (src/pos/counter/request.ts, named here for
 * the API description), and the path parameters and queries of the HTTP layer.
 */

export const pinRequest = pinSchema.openapi('PinRequest', { description: 'Never logged, stored or echoed.' });
export const quoteRequest = counterQuoteSchema.openapi('QuoteRequest', {
  description: 'A basket; `beneficiary` is the rank on the card (default 1, the insured person).',
});
export const checkoutRequest = checkoutSchema.openapi('CheckoutRequest', {
  description: 'A basket with the treatment durations, the totals the pharmacist saw (`expect`) and a retry key (`requestId`).',
});
export const cancelRequest = cancelSchema.openapi('CancelRequest');
export const productCodeSchema = productCode;

const one = (what: string) => z.string({ message: `expected one ${what}` });

export const catalogueQuery = z.object({
  q: one('value')
    .max(64, { message: 'at most 64 characters' })
    .default('')
    .openapi({ description: 'a code prefix, or a prefix of a word of the DCI or the brand; accents and case ignored' }),
  limit: one('value')
    .regex(/^(?:[1-9]\d?|100)$/, { message: 'expected a whole number from 1 to 100' })
    .default('20')
    .transform(Number)
    .openapi({ description: 'at most this many products (1 to 100, default 20)' }),
});

export const invoiceNumberParams = z.strictObject({
  number: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, { message: 'expected an invoice number (a whole number ≥ 1)' })
    .transform(Number)
    .openapi({ description: 'invoice number' }),
});

export const jobIdParams = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, { message: 'expected a job id' })
    .openapi({ description: 'from POST /api/batches/close' }),
});

export const demoParams = z.strictObject({
  which: z.enum(['insured', 'professional'], { message: 'expected insured or professional' }),
  action: z.enum(['remove', 'insert'], { message: 'expected remove or insert' }),
});
