import { z } from '../../../common/openapi-zod';
import { centimes, instant, isoDate } from './common';

/** The journal's backlog, the fund's rejections and the batch close job (src/sync, src/pos/counter/batch-close.ts). */

export const backlogSchema = z
  .strictObject({
    pharmacyId: z.string().nullable(),
    invoices: z.number().int(),
    lastNumber: z.number().int(),
    openInvoices: z.number().int().openapi({ description: 'invoices in the open batch' }),
    openSince: instant.nullable(),
    unsentBatches: z.number().int().openapi({ description: 'closed batches the fund has not acknowledged yet' }),
    unsentInvoices: z.number().int(),
    oldestUnsentClosedAt: instant.nullable(),
    unsignedBatches: z.number().int(),
    acknowledgedBatches: z.number().int(),
    settledBatches: z.number().int(),
    rejectedPending: z.number().int().openapi({ description: 'rejected invoices not yet corrected' }),
  })
  .openapi('Backlog', { description: 'What the journal still has to send to the fund.' });

export const rejectedInvoiceSchema = z
  .strictObject({
    number: z.number().int(),
    hash: z.string(),
    batchId: z.number().int(),
    code: z.string(),
    reason: z.string(),
    receivedAt: instant,
    date: isoDate,
    fund: z.enum(['CNAS', 'CASNOS']),
    cardSerial: z.string(),
    total: centimes,
    fundAmount: centimes,
    correctedBy: z.number().int().nullable(),
  })
  .openapi('RejectedInvoice');

export const rejectedListSchema = z.strictObject({ rejected: z.array(rejectedInvoiceSchema), backlog: backlogSchema });

const problem = z.strictObject({ code: z.string(), message: z.string() });

export const batchJobSchema = z
  .strictObject({
    id: z.string(),
    state: z.enum(['running', 'done', 'failed']),
    startedAt: instant,
    finishedAt: instant.nullable(),
    closed: z
      .strictObject({
        batchId: z.number().int(),
        from: z.number().int(),
        to: z.number().int(),
        count: z.number().int(),
        signed: z.boolean(),
      })
      .nullable()
      .openapi({ description: 'the batch sealed and signed on the professional card; null when the open batch was empty' }),
    fundConfigured: z.boolean().openapi({ description: 'false: no fund configured, the signed batch waits for `chifa sync`' }),
    upload: z
      .strictObject({
        progress: z.strictObject({
          doneInvoices: z.number().int(),
          totalInvoices: z.number().int(),
          doneBatches: z.number().int(),
          totalBatches: z.number().int(),
          retries: z.number().int(),
        }),
        batches: z.number().int(),
        invoices: z.number().int(),
        accepted: z.number().int().openapi({ description: 'invoices the fund accepted in this run' }),
        rejected: z.number().int().openapi({ description: 'invoices the fund rejected in this run (see /api/invoices/rejected)' }),
        replayed: z.number().int(),
        error: problem.nullable(),
      })
      .nullable()
      .openapi({ description: "the upload's progress, then the fund's answer; null without a fund" }),
    error: problem.nullable(),
  })
  .openapi('BatchJob', { description: 'Closing the batch on the professional card and sending it to the fund.' });
