import { z } from '../../../common/openapi-zod';
import { PERIODS } from '../../backoffice/statistics';
import { CLOSE_REASONS } from '../../../sync/manifest';
import { centimes, instant, isoDate } from './common';

/**
 * What the back office's routes answer (src/pos/backoffice, docs/backoffice.md). Amounts are
 * integer centimes; those that can go below zero (a gap, a bank entry correcting an earlier one)
 * are `signedCentimes`.
 */

const signedCentimes = z.number().int().openapi({ description: 'integer centimes of dinar, may be negative' });
const count = z.number().int().min(0);
const invoiceNumber = z.number().int().min(1);
const batchState = z.enum(['open', 'closed', 'sent', 'acknowledged', 'settled']);

export const batchSummarySchema = z
  .strictObject({
    id: z.number().int().min(1),
    state: batchState,
    openedAt: instant,
    closedAt: instant.nullable(),
    closeReason: z.enum(CLOSE_REASONS).nullable(),
    from: invoiceNumber,
    to: z.number().int().min(0),
    count,
    claim: z
      .strictObject({
        invoices: count,
        total: centimes,
        fund: centimes,
        patient: centimes,
        credits: count,
        creditFund: centimes,
        claimed: signedCentimes.openapi({ description: 'what the batch asks the fund for: fund − creditFund' }),
      })
      .openapi({ description: "the batch's totals, from the summary kept with every invoice" }),
    acknowledgedAt: instant.nullable(),
    accepted: count.nullable().openapi({ description: 'invoices the fund accepted (null before its acknowledgement)' }),
    rejected: count.nullable(),
    settledAt: instant.nullable(),
    due: signedCentimes
      .nullable()
      .openapi({ description: "what the fund says it pays: its acknowledgement's amount, then its payment notice's" }),
    transferReference: z.string().nullable().openapi({ description: "the reference the fund's bank transfer carries" }),
    received: signedCentimes.openapi({ description: 'Σ of the payments recorded against the batch' }),
    payments: count,
    gap: signedCentimes.openapi({ description: 'claimed − received' }),
  })
  .openapi('BatchSummary', { description: 'A bordereau: its state, totals, what the fund accepted and paid, and the gap.' });

export const batchListSchema = z.strictObject({
  batches: z.array(batchSummarySchema).openapi({ description: 'newest first' }),
  next: z.number().int().nullable().openapi({ description: '`before` for the next page, or null' }),
});

const gapLine = z
  .strictObject({
    kind: z.enum(['rejected', 'rejected-credit', 'adjustment', 'unexplained', 'awaiting-ack', 'not-received', 'bank-difference']),
    amount: signedCentimes.openapi({ description: 'how much less than claimed it makes the bank receive' }),
    number: invoiceNumber.optional(),
    code: z.string().nullable().optional(),
    reason: z.string().nullable().optional(),
  })
  .openapi('GapLine');

const paymentAdjustment = z.strictObject({
  number: invoiceNumber,
  hash: z.string(),
  amount: centimes,
  code: z.string(),
  reason: z.string(),
});

export const bankPaymentSchema = z
  .strictObject({
    seq: z.number().int().min(1),
    batchId: z.number().int().min(1),
    amount: signedCentimes,
    valueDate: isoDate,
    reference: z.string(),
    source: z.enum(['manual', 'statement']),
    recordedAt: instant,
  })
  .openapi('BankPayment', { description: 'A payment seen on the bank account for a batch (append-only).' });

const bankPaymentInput = z.strictObject({
  batchId: z.number().int().min(1),
  amount: signedCentimes,
  valueDate: isoDate,
  reference: z.string(),
  source: z.enum(['manual', 'statement']),
});

export const batchDetailSchema = z
  .strictObject({
    batch: batchSummarySchema,
    invoices: z.array(
      z.strictObject({
        number: invoiceNumber,
        kind: z.string(),
        date: isoDate,
        cardSerial: z.string(),
        total: signedCentimes,
        fund: signedCentimes,
        patient: signedCentimes,
        refNumber: z.number().int().nullable(),
        status: z.enum(['accepted', 'rejected']).nullable(),
        code: z.string().nullable(),
        reason: z.string().nullable(),
        adjustment: centimes.openapi({ description: 'what the payment notice kept back for it' }),
        correctedBy: z.number().int().nullable(),
      }),
    ),
    explanation: z
      .strictObject({ claimed: signedCentimes, lines: z.array(gapLine), received: signedCentimes, gap: signedCentimes })
      .openapi({ description: 'claimed − Σ lines = received, to the centime' }),
    notice: z
      .strictObject({
        batchId: z.number().int().min(1),
        receivedAt: instant,
        settledAt: instant,
        accepted: centimes,
        paid: centimes,
        transferReference: z.string(),
        adjustments: z.array(paymentAdjustment),
      })
      .nullable()
      .openapi({ description: "the fund's signed payment notice, once it paid" }),
    bankPayments: z.array(bankPaymentSchema),
  })
  .openapi('BatchDetail');

export const auditReportSchema = z
  .strictObject({
    batch: z
      .strictObject({ id: z.number().int().min(1), from: invoiceNumber, to: z.number().int().min(0), count, openedAt: instant })
      .nullable(),
    checked: count,
    findings: z.array(
      z.strictObject({
        number: invoiceNumber,
        kind: z.string(),
        date: isoDate,
        cardSerial: z.string(),
        fund: signedCentimes,
        code: z.enum([
          'NO_RULES_IN_FORCE',
          'RULE_VERSION_MISMATCH',
          'BLACKLISTED_CARD',
          'SPLIT_MISMATCH',
          'DUPLICATE_INVOICE',
          'DATE_AFTER_ISSUE',
          'QUANTITY_OVER_30_DAYS',
          'COUNTERFOIL_MISSING',
        ]),
        severity: z.enum(['reject', 'warning']),
        message: z.string(),
        correctable: z.boolean(),
        correctedBy: z.number().int().nullable(),
      }),
    ),
    atRisk: centimes.openapi({ description: 'fund shares the fund would not pay: invoices it would reject, not yet corrected' }),
  })
  .openapi('AuditReport', { description: 'The open batch checked as the fund will check it, before it is closed.' });

export const statementImportSchema = z
  .strictObject({
    recorded: z.array(bankPaymentSchema),
    duplicates: z.array(bankPaymentInput).openapi({ description: 'lines already recorded (a statement imported twice)' }),
    unmatched: z.array(z.strictObject({ line: z.number().int().min(1), reason: z.enum(['not-a-credit', 'no-batch']), text: z.string() })),
  })
  .openapi('StatementImport');

export const rejectListSchema = z
  .strictObject({
    rejects: z.array(
      z.strictObject({
        number: invoiceNumber,
        kind: z.string(),
        batchId: z.number().int().min(1),
        date: isoDate,
        cardSerial: z.string(),
        total: signedCentimes,
        fund: signedCentimes,
        code: z.string().nullable(),
        reason: z.string().nullable(),
        receivedAt: instant,
        state: z.enum(['to-correct', 'corrected', 'sent', 'accepted', 'rejected-again']),
        correction: z
          .strictObject({
            number: invoiceNumber,
            batchId: z.number().int().nullable(),
            batchState: z.string().nullable(),
            status: z.string().nullable(),
            code: z.string().nullable(),
          })
          .nullable(),
      }),
    ),
    counts: z.strictObject({ rejected: count, toCorrect: count, fundToCorrect: centimes }),
    next: z.number().int().nullable(),
  })
  .openapi('Rejects', { description: 'Rejected invoices, newest first, with their recycling state.' });

export const correctionSchema = z
  .strictObject({
    number: invoiceNumber.openapi({ description: 'the corrected invoice' }),
    references: invoiceNumber.openapi({ description: 'the invoice it corrects' }),
    batchId: z.number().int().min(1),
    totals: z.strictObject({ total: centimes, base: centimes, fund: centimes, patient: centimes }),
    beforeSending: z.boolean().openapi({ description: 'it corrects an invoice the fund has not seen yet (the audit)' }),
  })
  .openapi('Correction');

const amounts = { invoices: count, total: signedCentimes, fund: signedCentimes, patient: signedCentimes };

export const statisticsSchema = z
  .strictObject({
    from: isoDate,
    to: isoDate,
    period: z.enum(PERIODS),
    totals: z.strictObject({ ...amounts, credits: count }),
    series: z.array(z.strictObject({ period: z.string(), ...amounts, credits: count })),
    categories: z.array(z.strictObject({ category: z.string(), ...amounts })),
    funds: z.array(z.strictObject({ name: z.string(), ...amounts })),
    refusals: z.array(z.strictObject({ reason: z.string(), invoices: count, total: signedCentimes, patient: signedCentimes })),
    products: z.array(
      z.strictObject({
        code: z.string(),
        brand: z.string().nullable(),
        dci: z.string().nullable(),
        lines: count,
        quantity: z.number().int(),
        total: signedCentimes,
        fund: signedCentimes,
        patient: signedCentimes,
      }),
    ),
    dcis: z.array(
      z.strictObject({
        dci: z.string(),
        products: count,
        lines: count,
        quantity: z.number().int(),
        total: signedCentimes,
        fund: signedCentimes,
        patient: signedCentimes,
      }),
    ),
  })
  .openapi('Statistics');

export const registerSchema = z
  .strictObject({
    entries: z.array(
      z.strictObject({
        seq: z.number().int().min(1),
        day: isoDate,
        invoice: invoiceNumber,
        counterfoil: z.string().openapi({ description: "the counterfoil prescription's serial number" }),
        cardSerial: z.string(),
        insuredId: z.string().nullable(),
        rank: z.number().int().min(1),
        insuredName: z.string().nullable(),
        beneficiaryName: z.string().nullable(),
        prescriber: z.string().nullable(),
        speciality: z.string().nullable(),
        prescriptionRef: z.string().nullable(),
        prescriptionDate: z.string().nullable(),
        code: z.string(),
        brand: z.string(),
        dci: z.string(),
        strength: z.string(),
        form: z.string(),
        table: z.string().openapi({ description: 'the controlled table of the product' }),
        quantity: z.number().int().min(1),
        lot: z.string().nullable(),
        cancelledBy: z.number().int().nullable().openapi({ description: 'the credit note that cancelled the dispensing' }),
      }),
    ),
    truncated: z.boolean().openapi({ description: 'more entries than one page shows: ask for a shorter period' }),
  })
  .openapi('PsychotropicsRegister');

export const refillsSchema = z
  .strictObject({
    today: isoDate,
    days: z.number().int().min(1),
    refills: z.array(
      z.strictObject({
        cardSerial: z.string(),
        rank: z.number().int().min(1),
        code: z.string(),
        brand: z.string().nullable(),
        dci: z.string().nullable(),
        lastInvoice: invoiceNumber,
        lastDay: isoDate,
        quantity: z.number().int(),
        durationDays: z.number().int(),
        runsOut: isoDate,
        daysLeft: z.number().int(),
      }),
    ),
  })
  .openapi('RefillForecast');

export const consumptionSchema = z
  .strictObject({
    cardSerial: z.string(),
    rank: z.number().int().min(1),
    dcis: z.array(
      z.strictObject({
        dci: z.string(),
        quantity: z.number().int(),
        days: z.number().int(),
        first: isoDate,
        last: isoDate,
        lines: z.array(
          z.strictObject({
            day: isoDate,
            invoice: invoiceNumber,
            code: z.string(),
            brand: z.string().nullable(),
            quantity: z.number().int(),
            durationDays: z.number().int(),
            runsOut: isoDate,
            cancelled: z.boolean(),
          }),
        ),
      }),
    ),
  })
  .openapi('ConsumptionHistory');
