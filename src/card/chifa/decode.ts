import { CardType, FundCode, InsuredFiles, ProfessionalFiles, Relationship, Tags } from '../layout';
import { enumOf, readCode, readTemplate, readText, type Template } from './fields';
import type {
  Beneficiary,
  BeneficiaryRights,
  ChronicEntry,
  Dispensation,
  Emergency,
  Holder,
  PharmacyIdentity,
  Prescription,
  PrescriptionLine,
  Rights,
} from './types';

/**
 * Decoders from card bytes to domain objects, one per file type. `record` is the record number
 * as the card numbers it, for error messages; error offsets count from the first byte of `bytes`.
 * Unknown context tags inside a template are ignored (a later card version may add fields);
 * missing, repeated or malformed known fields are errors.
 */

/** Ranks: 1 is the insured person, beneficiaries up to 15 (a 4-bit field on the first card). */
const MAX_RANK = 15;
const MAX_RATE_BP = 10000;

function names(t: Template, tags: { lastName: number; firstName: number; lastNameAr: number; firstNameAr: number }) {
  return {
    lastName: t.text(tags.lastName, 'lastName', 80),
    firstName: t.text(tags.firstName, 'firstName', 80),
    lastNameAr: t.text(tags.lastNameAr, 'lastNameAr', 80),
    firstNameAr: t.text(tags.firstNameAr, 'firstNameAr', 80),
  };
}

export function decodeHolder(bytes: Buffer): Holder {
  const tags = Tags.holder;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.holder.name });
  return {
    ssn: t.code(tags.ssn, 'ssn', 20),
    cardSerial: t.code(tags.cardSerial, 'cardSerial', 20),
    ...names(t, tags),
    birthDate: t.date(tags.birthDate, 'birthDate'),
    issueDate: t.date(tags.issueDate, 'issueDate'),
    expiryDate: t.date(tags.expiryDate, 'expiryDate'),
    cardType: enumOf(CardType, t, t.one(tags.cardType, 'cardType'), 'cardType'),
  };
}

export function decodeBeneficiary(bytes: Buffer, record: number): Beneficiary {
  const tags = Tags.beneficiary;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.beneficiaries.name, record });
  return {
    rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
    relationship: enumOf(Relationship, t, t.one(tags.relationship, 'relationship'), 'relationship'),
    ...names(t, tags),
    birthDate: t.date(tags.birthDate, 'birthDate'),
  };
}

export function decodeRights(bytes: Buffer): Rights {
  const tags = Tags.rights;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.rights.name });
  const chronic: ChronicEntry[] = t.all(tags.chronic).map((node, i) => {
    const c = t.nested(node, 'chronic', i);
    return { code: c.code(0x80, 'code', 16), validUntil: c.date(0x81, 'validUntil') };
  });
  const beneficiaryRights: BeneficiaryRights[] = t.all(tags.beneficiaryRights).map((node, i) => {
    const b = t.nested(node, 'beneficiaryRights', i);
    return {
      rank: b.uint(0x80, 'rank', 1, MAX_RANK),
      categoryCode: b.uint(0x81, 'category', 1, 0xff),
      rateBp: b.uint(0x82, 'rateBp', 0, MAX_RATE_BP),
      rightsEnd: b.date(0x83, 'rightsEnd'),
    };
  });
  return {
    fund: enumOf(FundCode, t, t.one(tags.fund, 'fund'), 'fund'),
    categoryCode: t.uint(tags.category, 'category', 1, 0xff),
    rateBp: t.uint(tags.rateBp, 'rateBp', 0, MAX_RATE_BP),
    rightsEnd: t.date(tags.rightsEnd, 'rightsEnd'),
    sequence: t.opt(tags.sequence, 'sequence') !== undefined ? t.uint(tags.sequence, 'sequence') : 0,
    issuedOn: t.opt(tags.issuedOn, 'issuedOn') !== undefined ? t.date(tags.issuedOn, 'issuedOn') : undefined,
    cardValidUntil: t.opt(tags.cardValidUntil, 'cardValidUntil') !== undefined ? t.date(tags.cardValidUntil, 'cardValidUntil') : undefined,
    chronic,
    beneficiaryRights,
  };
}

export function decodeEmergency(bytes: Buffer): Emergency {
  const tags = Tags.emergency;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.emergency.name });
  const blood = t.opt(tags.bloodGroup, 'bloodGroup');
  return {
    bloodGroup: blood !== undefined ? readCode(t, blood, 'bloodGroup', 3) : undefined,
    allergies: t.all(tags.allergy).map((n, i) => readText(t, n, `allergies[${i}]`, 80)),
    conditions: t.all(tags.condition).map((n, i) => readText(t, n, `conditions[${i}]`, 80)),
  };
}

export function decodePrescription(bytes: Buffer, record: number): Prescription {
  const tags = Tags.prescription;
  const lt = Tags.prescriptionLine;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.prescriptions.name, record });
  const lines: PrescriptionLine[] = t.all(tags.line).map((node, i) => {
    const l = t.nested(node, 'lines', i);
    return {
      productCode: l.code(lt.productCode, 'productCode', 16),
      quantity: l.uint(lt.quantity, 'quantity', 1, 0xffff),
      durationDays: l.uint(lt.durationDays, 'durationDays', 0, 0xffff),
    };
  });
  if (lines.length === 0) t.fail('lines', 'a prescription has at least one line');
  return {
    date: t.date(tags.date, 'date'),
    prescriberId: t.code(tags.prescriberId, 'prescriberId', 16),
    speciality: t.text(tags.speciality, 'speciality', 48),
    rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
    reference: t.code(tags.reference, 'reference', 16),
    lines,
  };
}

export function decodeDispensation(bytes: Buffer, record: number): Dispensation {
  const tags = Tags.dispensation;
  const t = readTemplate(bytes, tags.template, { file: InsuredFiles.dispensations.name, record });
  const ref = t.opt(tags.prescriptionRef, 'prescriptionRef');
  return {
    date: t.date(tags.date, 'date'),
    pharmacyId: t.code(tags.pharmacyId, 'pharmacyId', 16),
    rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
    productCode: t.code(tags.productCode, 'productCode', 16),
    quantity: t.uint(tags.quantity, 'quantity', 1, 0xffff),
    durationDays: t.uint(tags.durationDays, 'durationDays', 0, 0xffff),
    invoiceNumber: t.uint(tags.invoiceNumber, 'invoiceNumber'),
    prescriptionRef: ref !== undefined ? readCode(t, ref, 'prescriptionRef', 16) : undefined,
  };
}

export function decodePharmacy(bytes: Buffer): PharmacyIdentity {
  const tags = Tags.pharmacy;
  const t = readTemplate(bytes, tags.template, { file: ProfessionalFiles.identity.name });
  return {
    pharmacyId: t.code(tags.pharmacyId, 'pharmacyId', 16),
    name: t.text(tags.name, 'name', 120),
    pharmacist: t.text(tags.pharmacist, 'pharmacist', 80),
    wilaya: t.uint(tags.wilaya, 'wilaya', 1, 58),
    agreement: t.code(tags.agreement, 'agreement', 20),
  };
}
