import { ITEM_BASES, PAYERS } from '../../../billing/rules/schema';
import { REASONS, type DocumentReason, type LineReason } from '../../../billing/split';
import { z } from '../../../common/openapi-zod';
import { beneficiarySchema, rightsUpdateSchema, writeOutcomeShape, writeOutcomeSchema } from './card';
import { categorySchema, centimes, instant, isoDate, labelSchema } from './common';

/** What the API answers about the catalogue, quotes, checkouts, card writes and receipts. */

const reason = z
  .enum(Object.keys(REASONS) as [DocumentReason | LineReason, ...(DocumentReason | LineReason)[]])
  .openapi({ description: 'why the fund pays nothing (docs/split.md)' });

export const productSchema = z
  .strictObject({
    code: z.string(),
    dci: z.string(),
    brand: z.string(),
    form: z.string(),
    strength: z.string(),
    description: z.string(),
    unitPrice: centimes,
    referencePrice: centimes.nullable(),
    reimbursable: z.boolean(),
    priorApproval: z.boolean(),
    gtin: z.string().optional().openapi({ description: "the pack's GTIN (14 digits), when the catalogue has it" }),
  })
  .openapi('Product');

export const catalogueSearchSchema = z.strictObject({ query: z.string(), products: z.array(productSchema) }).openapi('CatalogueSearch');

const quoteLineSchema = z.strictObject({
  index: z.number().int(),
  code: z.string().nullable().openapi({ description: 'the product dispensed' }),
  prescribedCode: z.string().nullable().openapi({ description: 'the product prescribed, when a generic replaces it' }),
  quantity: z.number().int(),
  unitPrice: centimes,
  referencePrice: centimes.nullable(),
  tariff: centimes.nullable().openapi({ description: 'the unit reference tariff the base was computed with' }),
  total: centimes,
  base: centimes,
  fund: centimes,
  patient: centimes,
  reason: reason.nullable(),
  detail: z.string().nullable().openapi({ description: 'for a refusal by a limit: which limit and the numbers' }),
  description: z.string().nullable(),
});

const quoteItemSchema = z.strictObject({
  id: z.string(),
  kind: z.enum(['markup', 'invoice-fee']),
  payer: z.enum(PAYERS),
  base: z.enum(ITEM_BASES).nullable(),
  baseAmount: centimes.nullable(),
  rateBp: z.number().int().nullable(),
  amount: centimes,
  fund: centimes,
  patient: centimes,
  label: labelSchema,
});

const totals = z.strictObject({ total: centimes, base: centimes, fund: centimes, patient: centimes });

export const prescriptionBalanceSchema = z
  .strictObject({
    reference: z.string(),
    rank: z.number().int(),
    lines: z.array(
      z.strictObject({
        productCode: z.string(),
        prescribed: z.number().int(),
        dispensed: z
          .number()
          .int()
          .openapi({ description: 'already dispensed against this prescription (card records, and records waiting to go on the card)' }),
        remaining: z.number().int().openapi({ description: 'what is left to dispense; more is refused for third-party payment' }),
      }),
    ),
  })
  .openapi('PrescriptionBalance', { description: 'A prescription on the card and what it still allows, per product.' });

export const quoteOutcomeSchema = z
  .strictObject({
    quote: z.strictObject({
      date: isoDate,
      ruleVersion: z.string(),
      category: categorySchema,
      categoryLabel: labelSchema,
      rateBp: z.number().int(),
      thresholdCentimes: centimes,
      thresholdApplies: z.boolean(),
      total: centimes,
      base: centimes,
      fund: centimes,
      patient: centimes,
      thirdPartyPayment: z.boolean(),
      reason: reason.nullable(),
      detail: z.string().nullable(),
      lines: z.array(quoteLineSchema),
      items: z.array(quoteItemSchema).openapi({ description: "the rule version's amount items (markups, per-invoice fee)" }),
    }),
    warnings: z.array(
      z.strictObject({
        code: z.enum(['allergy', 'possible-duplicate']),
        line: z.number().int(),
        message: z.string(),
        details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      }),
    ),
    beneficiary: beneficiarySchema,
    reasonText: z.string().nullable(),
    prescription: prescriptionBalanceSchema
      .nullable()
      .openapi({ description: 'null without a prescription, or with one the card does not hold (paper)' }),
    rights: rightsUpdateSchema.nullable().openapi({ description: "the card's online rights update, when one was needed" }),
  })
  .openapi('Quote');

export const checkoutOutcomeSchema = z
  .strictObject({
    invoice: z.strictObject({
      number: z.number().int(),
      hash: z.string(),
      date: isoDate,
      issuedAt: instant,
      totals,
      thirdPartyPayment: z.boolean(),
    }),
    cardWrite: writeOutcomeSchema,
    replayed: z.boolean().openapi({ description: 'true when this requestId was already done: nothing new was signed' }),
  })
  .openapi('Checkout');

export const pendingWriteSchema = z
  .strictObject({
    invoiceNumber: z.number().int(),
    cardSerial: z.string(),
    records: z.number().int(),
    written: z.number().int(),
    attempts: z.number().int(),
    createdAt: instant,
    lastError: z.string().nullable(),
  })
  .openapi('PendingCardWrite');

export const pendingWritesSchema = z.strictObject({ pending: z.array(pendingWriteSchema) });

export const cancelOutcomeSchema = z
  .strictObject({ ...writeOutcomeShape, creditNote: z.number().int().openapi({ description: 'the credit note that cancels the invoice' }) })
  .openapi('CardWriteCancelled');

export const receiptSchema = z
  .strictObject({
    number: z.number().int(),
    kind: z.enum(['invoice', 'corrected-invoice', 'credit-note']),
    date: isoDate,
    issuedAt: instant,
    hashPrefix: z.string(),
    pharmacy: z.strictObject({
      pharmacyId: z.string(),
      name: z.string().nullable(),
      pharmacist: z.string().nullable(),
      wilaya: z.number().int().nullable(),
      agreement: z.string().nullable(),
    }),
    fund: z.enum(['CNAS', 'CASNOS']),
    beneficiary: z.strictObject({ cardSerial: z.string(), insuredId: z.string().nullable(), rank: z.number().int() }),
    prescription: z.strictObject({ reference: z.string(), date: isoDate.nullable(), prescriber: z.string().nullable() }).nullable(),
    category: categorySchema,
    categoryLabel: labelSchema.nullable(),
    rateBp: z.number().int(),
    ruleVersion: z.string(),
    lines: z.array(
      z.strictObject({
        code: z.string(),
        replaces: z.string().nullable().openapi({ description: 'the product prescribed, when a generic replaced it' }),
        label: z.string(),
        quantity: z.number().int(),
        durationDays: z.number().int().nullable(),
        lot: z.string().nullable().openapi({ description: "the pack's lot, when it was scanned" }),
        expiry: isoDate.nullable().openapi({ description: "the pack's expiry date, when it was scanned" }),
        serial: z.string().nullable().openapi({ description: "the pack's serial number, when it was scanned" }),
        unitPrice: centimes,
        referencePrice: centimes.nullable(),
        total: centimes,
        fund: centimes,
        patient: centimes,
        reason: z.string().nullable(),
        reasonText: z.string().nullable(),
      }),
    ),
    items: z.array(z.strictObject({ id: z.string(), label: z.string(), amount: centimes, fund: centimes, patient: centimes })),
    totals,
    thirdPartyPayment: z.boolean(),
    reason: z.string().nullable(),
    reasonText: z.string().nullable(),
    cardWrite: z
      .strictObject({ state: z.enum(['pending', 'done', 'cancelled']), records: z.number().int(), written: z.number().int() })
      .nullable(),
    creditNote: z.number().int().nullable(),
    references: z.strictObject({ number: z.number().int() }).nullable(),
    ack: z.strictObject({ status: z.string(), code: z.string().nullable(), reason: z.string().nullable() }).nullable(),
  })
  .openapi('Receipt', { description: 'What the page prints for an invoice; identifiers of the insured person are masked.' });
