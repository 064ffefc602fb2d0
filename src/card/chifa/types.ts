/**
 * Domain objects of the Chifa card, decoded from its TLV records. Dates are ISO strings
 * (YYYY-MM-DD) because the card stores calendar days, not instants. Identifiers are strings;
 * counts and ranks are numbers. Nothing here knows about money.
 */
import type { IsoDate } from '../../common/calendar-date';

export type { IsoDate };

/** A beneficiary's relationship to the insured person. */
export type Relationship = 'insured' | 'spouse' | 'child' | 'ascendant' | 'other';
/** The insurance fund: CNAS (employees) or CASNOS (self-employed). */
export type Fund = 'CNAS' | 'CASNOS';
/** A family card (with beneficiaries) or an individual one. */
export type CardKind = 'family' | 'individual';

/** EF.HOLDER — readable without PIN. */
export interface Holder {
  /** Social-security number (12 digits). Mask it in logs (maskId). */
  readonly ssn: string;
  readonly cardSerial: string;
  readonly lastName: string;
  readonly firstName: string;
  readonly lastNameAr: string;
  readonly firstNameAr: string;
  readonly birthDate: IsoDate;
  readonly issueDate: IsoDate;
  readonly expiryDate: IsoDate;
  readonly cardType: CardKind;
}

/** One record of EF.BENEFICIARIES. Rank 1 is the insured person. */
export interface Beneficiary {
  readonly rank: number;
  readonly relationship: Relationship;
  readonly lastName: string;
  readonly firstName: string;
  readonly lastNameAr: string;
  readonly firstNameAr: string;
  readonly birthDate: IsoDate;
}

/** A chronic condition that the fund covers in full until `validUntil`. */
export interface ChronicEntry {
  /** Chronic-disease code (ASCII). */
  readonly code: string;
  readonly validUntil: IsoDate;
}

/** Rights of one beneficiary that differ from the insured's. */
export interface BeneficiaryRights {
  readonly rank: number;
  /** The card's category code (1..255); the rules files say which category it is (`cardCode`). */
  readonly categoryCode: number;
  /** Coverage rate in basis points (8000 = 80 %). */
  readonly rateBp: number;
  readonly rightsEnd: IsoDate;
}

/** EF.RIGHTS. */
export interface Rights {
  readonly fund: Fund;
  /** The card's category code (1..255); the rules files say which category it is (`cardCode`). */
  readonly categoryCode: number;
  /** Coverage rate in basis points (8000 = 80 %). */
  readonly rateBp: number;
  readonly rightsEnd: IsoDate;
  /** The fund's version of these rights: 0 as personalised, raised by each signed update. */
  readonly sequence: number;
  /** The day the fund issued these rights (a signed update), if it did. */
  readonly issuedOn: IsoDate | undefined;
  /** The fund lets the card be used until this day, past the holder file's expiry date, if it says so. */
  readonly cardValidUntil: IsoDate | undefined;
  readonly chronic: readonly ChronicEntry[];
  readonly beneficiaryRights: readonly BeneficiaryRights[];
}

/** EF.EMERGENCY. */
export interface Emergency {
  readonly bloodGroup: string | undefined;
  /** INN / DCI names. */
  readonly allergies: readonly string[];
  readonly conditions: readonly string[];
}

/** One product of a prescription. */
export interface PrescriptionLine {
  readonly productCode: string;
  readonly quantity: number;
  readonly durationDays: number;
}

/** One record of EF.PRESCRIPTIONS. */
export interface Prescription {
  readonly date: IsoDate;
  readonly prescriberId: string;
  readonly speciality: string;
  /** Beneficiary rank the prescription is for. */
  readonly rank: number;
  readonly reference: string;
  readonly lines: readonly PrescriptionLine[];
}

/** One record of EF.DISPENSATIONS: one product dispensed. */
export interface Dispensation {
  readonly date: IsoDate;
  readonly pharmacyId: string;
  readonly rank: number;
  readonly productCode: string;
  readonly quantity: number;
  readonly durationDays: number;
  readonly invoiceNumber: number;
  readonly prescriptionRef: string | undefined;
}

/** EF.PHARMACY on the professional card. */
export interface PharmacyIdentity {
  readonly pharmacyId: string;
  readonly name: string;
  readonly pharmacist: string;
  /** Wilaya (province) number, 1..58. */
  readonly wilaya: number;
  readonly agreement: string;
}

/** Everything a full read returns. Lists are newest first. */
export interface CardData {
  readonly holder: Holder;
  readonly beneficiaries: readonly Beneficiary[];
  readonly rights: Rights;
  readonly emergency: Emergency;
  readonly prescriptions: readonly Prescription[];
  readonly dispensations: readonly Dispensation[];
}
