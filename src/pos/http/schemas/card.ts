import { z } from '../../../common/openapi-zod';
import { categorySchema, instant, isoDate, labelSchema } from './common';

/** What the API answers about the cards and their readers (src/pos/counter/card-data.ts, station.ts). */

export const holderSchema = z
  .strictObject({
    ssn: z.string().openapi({ description: "the insured person's social-security number" }),
    cardSerial: z.string(),
    lastName: z.string(),
    firstName: z.string(),
    lastNameAr: z.string(),
    firstNameAr: z.string(),
    birthDate: isoDate,
    issueDate: isoDate,
    expiryDate: isoDate.openapi({ description: 'last valid day of the card (inclusive)' }),
    cardType: z.enum(['family', 'individual']),
  })
  .openapi('CardHolder', { description: 'Holder identity: readable without the PIN.' });

export const beneficiarySchema = z
  .strictObject({
    rank: z.number().int().openapi({ description: '1 is the insured person, 2 and up the beneficiaries' }),
    relationship: z.enum(['insured', 'spouse', 'child', 'ascendant', 'other']),
    lastName: z.string(),
    firstName: z.string(),
    lastNameAr: z.string(),
    firstNameAr: z.string(),
    birthDate: isoDate,
  })
  .openapi('Beneficiary');

/** A category as the card holds it (its code) and what the rules in force call it (null: no category has that code). */
const cardCategory = {
  categoryCode: z.number().int(),
  category: categorySchema.nullable(),
  categoryLabel: labelSchema.nullable(),
};

const rightsSchema = z.strictObject({
  fund: z.enum(['CNAS', 'CASNOS']),
  ...cardCategory,
  rateBp: z.number().int().openapi({ description: 'basis points (8000 = 80 %)' }),
  rightsEnd: isoDate,
  sequence: z.number().int().openapi({ description: "the fund's version of these rights (0 as issued)" }),
  issuedOn: isoDate.nullable(),
  cardValidUntil: isoDate.nullable(),
  chronic: z.array(z.strictObject({ code: z.string(), validUntil: isoDate })),
  beneficiaryRights: z.array(z.strictObject({ rank: z.number().int(), ...cardCategory, rateBp: z.number().int(), rightsEnd: isoDate })),
});

export const rightsUpdateSchema = z
  .strictObject({
    status: z.enum(['updated', 'current', 'failed', 'unavailable']),
    code: z.string().nullable(),
    message: z.string(),
    sequence: z.number().int().nullable(),
    at: instant,
  })
  .openapi('RightsUpdate', { description: "The online update of an expired card's rights from the fund." });

export const prescriptionSchema = z
  .strictObject({
    date: isoDate,
    prescriberId: z.string(),
    speciality: z.string(),
    rank: z.number().int(),
    reference: z.string(),
    lines: z.array(z.strictObject({ productCode: z.string(), quantity: z.number().int(), durationDays: z.number().int() })),
  })
  .openapi('Prescription', { description: 'An e-prescription on the card.' });

export const dispensationSchema = z
  .strictObject({
    date: isoDate,
    pharmacyId: z.string(),
    rank: z.number().int(),
    productCode: z.string(),
    quantity: z.number().int(),
    durationDays: z.number().int(),
    invoiceNumber: z.number().int().nullable(),
    prescriptionRef: z.string().nullable().openapi({ description: 'the prescription this was dispensed against' }),
  })
  .openapi('Dispensation', { description: 'One dispensed product, as recorded on the card.' });

/** What the PIN opened so far, and how far the reading of the card has got. */
export const cardViewSchema = z
  .strictObject({
    holder: holderSchema,
    beneficiaries: z.array(beneficiarySchema),
    rights: rightsSchema,
    emergency: z.strictObject({ bloodGroup: z.string().nullable(), allergies: z.array(z.string()), conditions: z.array(z.string()) }),
    prescriptions: z.array(prescriptionSchema).openapi({ description: 'newest first (empty until `reading.prescriptions`)' }),
    dispensations: z.array(dispensationSchema).openapi({ description: 'newest first, as far as `reading.history` has got' }),
    reading: z.strictObject({
      prescriptions: z.boolean().openapi({ description: 'the prescriptions are read' }),
      history: z.strictObject({ read: z.number().int(), of: z.number().int(), complete: z.boolean() }),
    }),
  })
  .openapi('CardView', { description: "What the holder's PIN opened so far: the card read in the order the screen needs it." });

export const pharmacySchema = z
  .strictObject({
    pharmacyId: z.string(),
    name: z.string(),
    pharmacist: z.string(),
    wilaya: z.number().int(),
    agreement: z.string(),
  })
  .openapi('Pharmacy', { description: 'The pharmacy behind the professional card.' });

const application = z.enum(['insured', 'professional', 'other']).openapi({
  description: 'the Chifa application the card answered to (`other`: not a Chifa card)',
});

export const readerStatusSchema = z
  .strictObject({
    name: z.string(),
    role: z.enum(['insured', 'professional']).nullable(),
    cardPresent: z.boolean(),
    atr: z.string().nullable().openapi({ description: 'hex' }),
    application: application.nullable().openapi({ description: 'null without a card or before the card is identified' }),
  })
  .openapi('ReaderStatus');

export const readersSchema = z
  .strictObject({
    mode: z.enum(['demo', 'pcsc']),
    serviceAvailable: z.boolean().openapi({ description: 'false while pcscd is down (always true in demo mode)' }),
    readers: z.array(
      z.strictObject({
        name: z.string(),
        role: z.enum(['insured', 'professional', 'unassigned']).openapi({ description: 'what the counter uses the reader for' }),
        card: z.strictObject({
          present: z.boolean(),
          atr: z.string().nullable().openapi({ description: "the card's ATR, hex; null without a card" }),
          application: application.nullable().openapi({ description: 'null without a card or before it is identified' }),
        }),
      }),
    ),
  })
  .openapi('Readers');

export const cardOpenSchema = z
  .strictObject({
    holder: holderSchema,
    pinRetriesLeft: z.number().int().nullable(),
    verified: z.boolean(),
    pendingWrites: z.array(z.number().int()).openapi({ description: 'invoices whose records still have to go on this card' }),
  })
  .openapi('CardOpened');

export const writeOutcomeShape = {
  invoiceNumber: z.number().int(),
  state: z.enum(['pending', 'done', 'cancelled']),
  records: z.number().int().openapi({ description: 'records this invoice puts on the card' }),
  written: z.number().int().openapi({ description: 'of which confirmed on the card' }),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
};

export const writeOutcomeSchema = z
  .strictObject(writeOutcomeShape)
  .openapi('CardWriteOutcome', { description: "A card write: the invoice's dispensing records on the insured card." });

export const verifyOutcomeSchema = z
  .discriminatedUnion('result', [
    z.strictObject({
      result: z.literal('ok'),
      card: cardViewSchema,
      recovery: z.array(writeOutcomeSchema),
      rights: rightsUpdateSchema.nullable(),
    }),
    z.strictObject({ result: z.literal('wrong-pin'), retriesLeft: z.number().int() }),
  ])
  .openapi('PinVerified');

export const professionalVerifyOutcomeSchema = z
  .discriminatedUnion('result', [
    z.strictObject({ result: z.literal('ok'), pharmacy: pharmacySchema }),
    z.strictObject({ result: z.literal('wrong-pin'), retriesLeft: z.number().int() }),
  ])
  .openapi('ProfessionalPinVerified');

export const rightsRefreshSchema = z
  .strictObject({ rights: rightsUpdateSchema.nullable(), card: cardViewSchema })
  .openapi('RightsRefreshed');
