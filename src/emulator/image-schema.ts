import { z } from 'zod';
import { ChifaError } from '../common/errors';
import { CategoryCode, MAX_PRESCRIPTION_LINES, PIN_LENGTH, PUK_LENGTH } from '../card/layout';
import { isoDateSchema } from '../common/calendar-date';
import { firstZodIssue } from '../common/zod-issues';

/**
 * Card images: human-readable JSON descriptions of an emulated card (fixtures/cards/*.json),
 * validated here and turned into file-system bytes by personalize.ts. Key and certificate paths
 * are relative to the image file. Dates are YYYY-MM-DD. See docs/emulator.md for the format.
 */

const text = (max: number) =>
  z
    .string()
    .min(1, { message: 'must not be empty' })
    .max(max, { message: `at most ${max} characters` });
/** Codes are printable ASCII without spaces at the ends (they are stored as ASCII). */
const code = (max: number) =>
  z
    .string()
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, { message: 'expected printable ASCII' })
    .max(max, { message: `at most ${max} characters` });
const int = (min: number, max: number) =>
  z
    .number()
    .int({ message: 'expected an integer' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

export const optionsSchema = z
  .strictObject({
    extendedLength: z.boolean().default(true),
    protocol: z.enum(['T=0', 'T=1']).default('T=1'),
    chaining: z.boolean().default(true),
    antiTearing: z.boolean().default(true),
  })
  .prefault({});

const names = {
  lastName: text(40),
  firstName: text(40),
  lastNameAr: text(40),
  firstNameAr: text(40),
};

const relationship = z.enum(['insured', 'spouse', 'child', 'ascendant', 'other']);
/** A category by its name in the layout's table (`CategoryCode`), or any card code 1..255 (the rules map codes to categories). */
const category = z.union([z.enum(Object.keys(CategoryCode) as [keyof typeof CategoryCode, ...(keyof typeof CategoryCode)[]]), int(1, 255)]);

const beneficiary = z.strictObject({ rank: int(1, 15), relationship, ...names, birthDate: isoDateSchema });

const rights = z.strictObject({
  fund: z.enum(['CNAS', 'CASNOS']),
  category,
  rateBp: int(0, 10000),
  rightsEnd: isoDateSchema,
  /** The fund's version of these rights (a signed update must be newer); default 0. */
  sequence: int(0, 0xffffffff).optional(),
  issuedOn: isoDateSchema.optional(),
  /** The fund lets the card be used until this day, past its printed expiry. */
  cardValidUntil: isoDateSchema.optional(),
  chronic: z
    .array(z.strictObject({ code: code(12), validUntil: isoDateSchema }))
    .max(8)
    .default([]),
  beneficiaryRights: z
    .array(z.strictObject({ rank: int(1, 15), category, rateBp: int(0, 10000), rightsEnd: isoDateSchema }))
    .max(10)
    .default([]),
});

const emergency = z.strictObject({
  bloodGroup: z.enum(['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-']).optional(),
  allergies: z.array(text(40)).max(10).default([]),
  conditions: z.array(text(40)).max(10).default([]),
});

export const prescriptionSchema = z.strictObject({
  date: isoDateSchema,
  prescriberId: code(16),
  speciality: text(24),
  rank: int(1, 15),
  reference: code(12),
  lines: z
    .array(z.strictObject({ productCode: code(16), quantity: int(1, 999), durationDays: int(1, 365) }))
    .min(1, { message: 'a prescription has at least one line' })
    .max(MAX_PRESCRIPTION_LINES, { message: `at most ${MAX_PRESCRIPTION_LINES} lines` }),
});

export const dispensationSchema = z.strictObject({
  date: isoDateSchema,
  pharmacyId: code(16),
  rank: int(1, 15),
  productCode: code(16),
  quantity: int(1, 999),
  durationDays: int(1, 365),
  invoiceNumber: int(0, 0xffffffff),
  prescriptionRef: code(12).optional(),
});

const pinFields = {
  pin: z.string().regex(new RegExp(`^\\d{${PIN_LENGTH}}$`), { message: `expected ${PIN_LENGTH} digits` }),
  puk: z.string().regex(new RegExp(`^\\d{${PUK_LENGTH}}$`), { message: `expected ${PUK_LENGTH} digits` }),
  /** Tries left; 0 makes a blocked card. Default: the maximum. */
  pinRetriesLeft: int(0, 3).optional(),
  pukRetriesLeft: int(0, 10).optional(),
};

export const insuredImageSchema = z
  .strictObject({
    $comment: z.string().optional(),
    kind: z.literal('insured'),
    description: z.string().optional(),
    options: optionsSchema,
    ...pinFields,
    /** The fund CA certificate (PEM or DER); the card keeps its public key. */
    fundCa: z.string().min(1),
    holder: z.strictObject({
      ssn: z.string().regex(/^\d{12}$/, { message: 'expected 12 digits' }),
      cardSerial: z.string().regex(/^[A-Z0-9-]{4,20}$/, { message: 'expected 4 to 20 of A-Z, 0-9, -' }),
      ...names,
      birthDate: isoDateSchema,
      issueDate: isoDateSchema,
      expiryDate: isoDateSchema,
      cardType: z.enum(['family', 'individual']),
    }),
    beneficiaries: z.array(beneficiary).min(1).max(10),
    rights,
    emergency: emergency.prefault({}),
    /** Newest first, as READ RECORD numbers them. */
    prescriptions: z.array(prescriptionSchema).max(40).default([]),
    dispensations: z.array(dispensationSchema).max(400).default([]),
    /** Generated history, older than the listed records (keeps full-ring images small). */
    generate: z
      .strictObject({
        prescriptions: int(0, 1000).default(0),
        dispensations: int(0, 5000).default(0),
        seed: int(0, 0x7fffffff),
        /** Date of the newest generated record. */
        until: isoDateSchema.default('2025-06-30'),
      })
      .optional(),
  })
  .superRefine((img, ctx) => {
    const ranks = new Set<number>();
    img.beneficiaries.forEach((b, i) => {
      if (ranks.has(b.rank)) ctx.addIssue({ code: 'custom', path: ['beneficiaries', i, 'rank'], message: `rank ${b.rank} is used twice` });
      ranks.add(b.rank);
      if ((b.rank === 1) !== (b.relationship === 'insured')) {
        ctx.addIssue({
          code: 'custom',
          path: ['beneficiaries', i, 'relationship'],
          message: 'rank 1 is the insured person, and only rank 1',
        });
      }
    });
    if (!ranks.has(1)) ctx.addIssue({ code: 'custom', path: ['beneficiaries'], message: 'rank 1 (the insured person) is missing' });
    img.rights.beneficiaryRights.forEach((r, i) => {
      if (!ranks.has(r.rank))
        ctx.addIssue({ code: 'custom', path: ['rights', 'beneficiaryRights', i, 'rank'], message: `no beneficiary has rank ${r.rank}` });
    });
    const checkRank = (list: { rank: number }[], field: string) =>
      list.forEach((r, i) => {
        if (!ranks.has(r.rank)) ctx.addIssue({ code: 'custom', path: [field, i, 'rank'], message: `no beneficiary has rank ${r.rank}` });
      });
    checkRank(img.prescriptions, 'prescriptions');
    checkRank(img.dispensations, 'dispensations');
    if (img.holder.expiryDate < img.holder.issueDate) {
      ctx.addIssue({ code: 'custom', path: ['holder', 'expiryDate'], message: 'is before issueDate' });
    }
  });

export const professionalImageSchema = z.strictObject({
  $comment: z.string().optional(),
  kind: z.literal('professional'),
  description: z.string().optional(),
  options: optionsSchema,
  ...pinFields,
  pharmacy: z.strictObject({
    pharmacyId: code(16),
    name: text(60),
    pharmacist: text(40),
    wilaya: int(1, 58),
    agreement: code(20),
  }),
  /** The professional's X.509 certificate (PEM or DER), issued by the fund CA. */
  certificate: z.string().min(1),
  /** Its private key (PKCS#8 PEM). TEST keys only. */
  privateKey: z.string().min(1),
});

export const cardImageSchema = z.discriminatedUnion('kind', [insuredImageSchema, professionalImageSchema]);

/** An insured card image (`kind: "insured"`), as validated: docs/emulator.md describes the fields. */
export type InsuredImage = z.infer<typeof insuredImageSchema>;
/** A professional card image (`kind: "professional"`), as validated. */
export type ProfessionalImage = z.infer<typeof professionalImageSchema>;
/** A card image of either kind. */
export type CardImage = z.infer<typeof cardImageSchema>;
export type Prescription = z.infer<typeof prescriptionSchema>;
export type Dispensation = z.infer<typeof dispensationSchema>;

/** A card image that does not validate or cannot be built; `field` is a path like `holder.ssn`. */
export class CardImageError extends ChifaError {
  declare readonly field: string;
  readonly source: string;
  constructor(source: string, field: string, message: string) {
    super('invalid-card-image', `${source}: ${field ? `${field}: ` : ''}${message}`, { field });
    this.source = source;
  }
}

/** Validates parsed JSON; throws CardImageError naming the first bad field (and how many more). */
export function parseCardImage(json: unknown, source: string): CardImage {
  const r = cardImageSchema.safeParse(json);
  if (r.success) return r.data;
  const first = firstZodIssue(r.error);
  throw new CardImageError(source, first.field, first.message);
}
