import type { Category } from '../../billing/category';
import type { Label } from '../../billing/rules/schema';
import type { IsoDate } from '../../common/calendar-date';

/**
 * What the counter knows about the cards, in the point-of-sale's own terms (no APDU bytes: the
 * counter reaches a card only through the Chifa card application, docs/contributing.md). The card station adapts the SDK's decoded records to these shapes, so the counter's logic,
 * the HTTP API and the page do not change when the SDK's internals do.
 */

export type FundName = 'CNAS' | 'CASNOS';
export type Relationship = 'insured' | 'spouse' | 'child' | 'ascendant' | 'other';

/** Holder identity: readable without the PIN. */
export interface CardHolder {
  /** Social-security number of the insured person. */
  ssn: string;
  cardSerial: string;
  lastName: string;
  firstName: string;
  lastNameAr: string;
  firstNameAr: string;
  birthDate: IsoDate;
  issueDate: IsoDate;
  /** Last valid day of the card (inclusive). */
  expiryDate: IsoDate;
  cardType: 'family' | 'individual';
}

export interface Beneficiary {
  /** 1 is the insured person, 2 and up the beneficiaries (ayants droit). */
  rank: number;
  relationship: Relationship;
  lastName: string;
  firstName: string;
  lastNameAr: string;
  firstNameAr: string;
  birthDate: IsoDate;
}

export interface ChronicEntry {
  code: string;
  validUntil: IsoDate;
}

/**
 * A category as the card holds it: the code in EF.RIGHTS, and what the rules in force call it
 * (`category`, its `label` in French and Arabic) — null when no category of the rules has that
 * code: the counter then cannot price third-party payment for it (it never guesses).
 */
export interface CardCategory {
  categoryCode: number;
  category: Category | null;
  categoryLabel: Label | null;
}

/** A beneficiary's own rights when they differ from the insured's. */
export interface BeneficiaryRights extends CardCategory {
  rank: number;
  rateBp: number;
  rightsEnd: IsoDate;
}

export interface CardRights extends CardCategory {
  fund: FundName;
  rateBp: number;
  /** Last day the rights are valid (inclusive). */
  rightsEnd: IsoDate;
  /** The fund's version of these rights (0 as the card was issued; raised by each online update). */
  sequence: number;
  /** The day the fund issued these rights online, if it did. */
  issuedOn: IsoDate | null;
  /** The fund lets the card be used until this day, past the holder file's expiry date. */
  cardValidUntil: IsoDate | null;
  chronic: ChronicEntry[];
  beneficiaryRights: BeneficiaryRights[];
}

export interface EmergencyData {
  bloodGroup: string | null;
  /** One INN (DCI) or substance name per allergy. */
  allergies: string[];
  conditions: string[];
}

export interface PrescriptionLine {
  productCode: string;
  quantity: number;
  durationDays: number;
}

export interface PrescriptionRecord {
  date: IsoDate;
  prescriberId: string;
  speciality: string;
  rank: number;
  reference: string;
  lines: PrescriptionLine[];
}

/** One dispensed product, as recorded on the card (one record per invoice line). */
export interface DispensationRecord {
  date: IsoDate;
  pharmacyId: string;
  rank: number;
  productCode: string;
  quantity: number;
  durationDays: number;
  /** The pharmacy's invoice number (absent on records written without one). */
  invoiceNumber: number | null;
  prescriptionRef: string | null;
}

/** Everything the PIN opens: what the page shows and the split and warnings use. */
export interface CardRead {
  holder: CardHolder;
  beneficiaries: Beneficiary[];
  rights: CardRights;
  emergency: EmergencyData;
  /** Newest first (cyclic file record 1 is the newest), at most 40. */
  prescriptions: PrescriptionRecord[];
  /** Newest first, at most 400. */
  dispensations: DispensationRecord[];
}

/** The pharmacy behind the professional card. */
export interface PharmacyIdentity {
  pharmacyId: string;
  name: string;
  pharmacist: string;
  /** Wilaya (province) number, 1..58. */
  wilaya: number;
  agreement: string;
}
