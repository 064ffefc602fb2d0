/**
 * The Chifa-style card layout: the one module that both the reader side (src/card/chifa) and the
 * emulator (src/emulator) import. It holds only constants — application identifiers, file
 * identifiers, short file identifiers, record sizes, capacities, data-object tags, key and PIN
 * references and access rules. It holds no codec: the emulator encodes records with its own code
 * and the reader decodes them with its own, and golden hex vectors in fixtures/golden pin the
 * bytes, so a bug in one side cannot hide behind the same bug in the other.
 *
 * The real specification of the Chifa card is not public; this is our own layout, documented in
 * docs/card-layout.md.
 */

/**
 * Registered application provider identifier. 'D' means national registration (ISO/IEC 7816-5
 * §4.1), followed by the country code 213 (Algeria) and a provider number; the PIX spells CHIFA.
 */
export const RID = Buffer.from('D213000001', 'hex');
/** AID of the insured person's application (DF name, ISO 7816-4 §5.3.1.1). */
export const INSURED_AID = Buffer.from('D2130000014348494641' + '01', 'hex');
/** AID of the health professional's (pharmacist's) application. */
export const PROFESSIONAL_AID = Buffer.from('D2130000014348494641' + '02', 'hex');

/** ISO 7816-4 §7.1.1 FCP file descriptor byte values used by this layout. */
export const FileDescriptor = {
  transparent: 0x01,
  linearFixed: 0x02,
  cyclic: 0x06,
  df: 0x38,
} as const;

/** Who may perform an operation on a file (the emulator enforces it, the reader plans with it). */
export type AccessRule = 'always' | 'pin' | 'pin+professional' | 'never';

/** The structure of an elementary file (ISO/IEC 7816-4 §7.3.1). */
export type FileKind = 'transparent' | 'linear-fixed' | 'cyclic';

/** An elementary file of the layout: identifiers, structure, size and access rules (docs/card-layout.md). */
export interface FileSpec {
  readonly name: string;
  readonly fid: number;
  /** Short EF identifier (1..30), usable in READ BINARY P1 and READ RECORD P2 (ISO 7816-4 §7.2.2, §7.3.3); 0: none. */
  readonly sfi: number;
  readonly kind: FileKind;
  /** Transparent files: size in bytes. Record files: fixed record length in bytes. */
  readonly size: number;
  /** Record files: maximum number of records (the ring capacity for cyclic files). */
  readonly maxRecords?: number;
  readonly read: AccessRule;
  readonly update: AccessRule;
  /** Record files only: who may APPEND RECORD. */
  readonly append?: AccessRule;
}

/** Elementary files of the insured person's application. */
export const InsuredFiles = {
  holder: { name: 'EF.HOLDER', fid: 0x0101, sfi: 1, kind: 'transparent', size: 256, read: 'always', update: 'never' },
  beneficiaries: {
    name: 'EF.BENEFICIARIES',
    fid: 0x0102,
    sfi: 2,
    kind: 'linear-fixed',
    size: 128,
    maxRecords: 10,
    read: 'pin',
    update: 'never',
    append: 'never',
  },
  rights: { name: 'EF.RIGHTS', fid: 0x0103, sfi: 3, kind: 'transparent', size: 256, read: 'pin', update: 'never' },
  emergency: { name: 'EF.EMERGENCY', fid: 0x0104, sfi: 4, kind: 'transparent', size: 256, read: 'pin', update: 'never' },
  prescriptions: {
    name: 'EF.PRESCRIPTIONS',
    fid: 0x0105,
    sfi: 5,
    kind: 'cyclic',
    size: 128,
    maxRecords: 40,
    read: 'pin',
    update: 'never',
    append: 'pin+professional',
  },
  dispensations: {
    name: 'EF.DISPENSATIONS',
    fid: 0x0106,
    sfi: 6,
    kind: 'cyclic',
    size: 64,
    maxRecords: 400,
    read: 'pin',
    update: 'never',
    append: 'pin+professional',
  },
} as const satisfies Record<string, FileSpec>;

/** Elementary files of the professional's application. */
export const ProfessionalFiles = {
  identity: { name: 'EF.PHARMACY', fid: 0x0201, sfi: 1, kind: 'transparent', size: 256, read: 'always', update: 'never' },
  certificate: { name: 'EF.CERTIFICATE', fid: 0x0202, sfi: 2, kind: 'transparent', size: 1024, read: 'always', update: 'never' },
} as const satisfies Record<string, FileSpec>;

/**
 * Reference data qualifiers for VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER P2
 * (ISO 7816-4 §7.5.6 table: b8=1 means a specific, DF-local reference).
 */
export const PIN_REF = 0x81;
/** Reference of the PUK (RESET RETRY COUNTER P2). */
export const PUK_REF = 0x82;
export const PIN_LENGTH = 4;
export const PIN_MAX_TRIES = 3;
export const PUK_LENGTH = 8;
export const PUK_MAX_TRIES = 10;
/**
 * PIN blocks are the ASCII digits padded with 0xFF to 8 bytes (the usual format-2-like layout of
 * many national cards), so a PIN is never sent with its length in clear inside a length byte only.
 */
export const PIN_BLOCK_LENGTH = 8;

/** The professional card's private signing key reference (PSO / INTERNAL AUTHENTICATE P2). */
export const PRO_SIGN_KEY_REF = 0x01;
/** Length of the challenge the insured card issues for professional authentication. */
export const CHALLENGE_LENGTH = 16;

/**
 * Historical-bytes card capabilities (ISO 7816-4 §8.1.1.2.7, compact-TLV tag '7', length 3).
 * Third software function byte: b8 command chaining, b7 extended Lc and Le fields.
 */
export const CAPABILITY_CHAINING = 0x80;
export const CAPABILITY_EXTENDED_LENGTH = 0x40;

/**
 * Data-object tags. Each record or transparent file holds one constructed template; its fields are
 * context-specific primitive objects. Dates are 4-byte BCD YYYYMMDD; integers are unsigned
 * big-endian, minimal length (1 to 4 bytes); text is UTF-8 (ASCII for codes).
 * Record files have fixed-length records: the template followed by 0x00 padding.
 */
export const Tags = {
  holder: {
    template: 0xe0,
    ssn: 0x80,
    cardSerial: 0x81,
    lastName: 0x82,
    firstName: 0x83,
    lastNameAr: 0x84,
    firstNameAr: 0x85,
    birthDate: 0x86,
    issueDate: 0x87,
    expiryDate: 0x88,
    cardType: 0x89,
  },
  beneficiary: {
    template: 0xe1,
    rank: 0x80,
    relationship: 0x81,
    lastName: 0x82,
    firstName: 0x83,
    lastNameAr: 0x84,
    firstNameAr: 0x85,
    birthDate: 0x86,
  },
  rights: {
    template: 0xe2,
    fund: 0x80,
    category: 0x81,
    rateBp: 0x82,
    rightsEnd: 0x83,
    /** The fund's version number of these rights (int); absent: 0, as personalised. A signed update must be newer. */
    sequence: 0x84,
    /** The day the fund issued these rights (date); absent on personalised cards. */
    issuedOn: 0x85,
    /** Last day the fund lets the card be used, past EF.HOLDER's expiry date (date, optional). */
    cardValidUntil: 0x86,
    /** Repeated: a chronic-disease entry { code 0x80, validUntil 0x81 }. */
    chronic: 0xa4,
    /** Repeated: rights of one beneficiary that differ from the insured's { rank 0x80, category 0x81, rateBp 0x82, rightsEnd 0x83 }. */
    beneficiaryRights: 0xa5,
  },
  emergency: {
    template: 0xe3,
    bloodGroup: 0x80,
    /** Repeated, one per allergy (an INN / DCI name). */
    allergy: 0x81,
    /** Repeated, one per chronic condition. */
    condition: 0x82,
  },
  prescription: {
    template: 0xe4,
    date: 0x80,
    prescriberId: 0x81,
    speciality: 0x82,
    rank: 0x83,
    reference: 0x84,
    /** Repeated: a line { productCode 0x80, quantity 0x81, durationDays 0x82 }. */
    line: 0xa5,
  },
  prescriptionLine: { productCode: 0x80, quantity: 0x81, durationDays: 0x82 },
  dispensation: {
    template: 0xe5,
    date: 0x80,
    pharmacyId: 0x81,
    rank: 0x82,
    productCode: 0x83,
    quantity: 0x84,
    durationDays: 0x85,
    invoiceNumber: 0x86,
    prescriptionRef: 0x87,
  },
  pharmacy: {
    template: 0xe6,
    pharmacyId: 0x80,
    name: 0x81,
    pharmacist: 0x82,
    wilaya: 0x83,
    agreement: 0x84,
  },
} as const;

/** Relationship codes of a beneficiary to the insured person. */
export const Relationship = { insured: 1, spouse: 2, child: 3, ascendant: 4, other: 9 } as const;
/** Funds: CNAS covers salaried workers, CASNOS the self-employed. */
export const FundCode = { CNAS: 1, CASNOS: 2 } as const;
/**
 * Category codes as the card images name them. The card stores the number; which category of the
 * rules it means is the rules files' business (`cardCode`, docs/split.md), so a code outside this
 * table is still a valid card.
 */
export const CategoryCode = { ordinary: 1, chronic: 2, retiree: 3, mutualist: 4, invalidity: 5, workAccident: 6, veteran: 7 } as const;
/** Card types of the first Chifa card: a family card or an individual one. */
export const CardType = { family: 1, individual: 2 } as const;

/**
 * The fund's signed rights update (docs/card-layout.md §6a): after PSO: VERIFY CERTIFICATE with
 * the fund's signing certificate, PUT DATA (INS 'DA', ISO 7816-4 §7.4.3) with P1-P2 = '00E2' —
 * the rights template's tag on one byte — and the fund's signed rights document as data: the
 * card replaces EF.RIGHTS only when the signature verifies and the document is for this card,
 * current and newer than the rights it holds. "The nature of the data object induces the
 * management function" (§7.4.3): this one is written only in its signed form.
 */
export const PUT_DATA_INS = 0xda;
export const RIGHTS_DOCUMENT_TAG = 0x00e2;
/** The JWS `typ` of a fund's rights document (src/sync/rights.ts). */
export const RIGHTS_DOCUMENT_TYPE = 'chifa-rights+jws';
/**
 * Extended key usage the card requires of the certificate that signs rights documents: the fund's
 * signing key (the same OID as src/sync/ca-trust.ts FUND_SIGNING_EKU, pinned equal by a test), so
 * a pharmacist's card, issued by the same CA, cannot sign rights.
 */
export const FUND_SIGNING_EKU_OID = '2.25.300306956012372355258226365261619428337';

/** Maximum number of lines a prescription record can hold (bounded by its 128-byte record). */
export const MAX_PRESCRIPTION_LINES = 5;
