import { CardType, CategoryCode, FundCode, InsuredFiles, ProfessionalFiles, Relationship, Tags } from '../layout';
import { decodeTemplate, enumOf, readCode, readText, type Template } from './fields';
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
 * as the card numbers it, for error messages. A record decoder reads `bytes[start, end)`: one
 * record of a READ RECORD(S) answer, without cutting it out; its error offsets count from
 * `start`. Unknown context tags inside a template are ignored (a later card version may add
 * fields); missing, repeated or malformed known fields are errors.
 */

/** Ranks: 1 is the insured person, beneficiaries up to 15 (a 4-bit field on the first card). */
const MAX_RANK = 15;
const MAX_RATE_BP = 10000;
/** For values that repeat across a ring's records: interned (fields.ts). */
const REPEATS = true;

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
  return decodeTemplate(bytes, tags.template, { file: InsuredFiles.holder.name }, (t) => ({
    ssn: t.code(tags.ssn, 'ssn', 20),
    cardSerial: t.code(tags.cardSerial, 'cardSerial', 20),
    ...names(t, tags),
    birthDate: t.date(tags.birthDate, 'birthDate'),
    issueDate: t.date(tags.issueDate, 'issueDate'),
    expiryDate: t.date(tags.expiryDate, 'expiryDate'),
    cardType: enumOf(CardType, t, t.one(tags.cardType, 'cardType'), 'cardType'),
  }));
}

export function decodeBeneficiary(bytes: Buffer, record: number, start = 0, end = bytes.length): Beneficiary {
  const tags = Tags.beneficiary;
  const at = { file: InsuredFiles.beneficiaries.name, record };
  return decodeTemplate(
    bytes,
    tags.template,
    at,
    (t) => ({
      rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
      relationship: enumOf(Relationship, t, t.one(tags.relationship, 'relationship'), 'relationship'),
      ...names(t, tags),
      birthDate: t.date(tags.birthDate, 'birthDate'),
    }),
    start,
    end,
  );
}

export function decodeRights(bytes: Buffer): Rights {
  const tags = Tags.rights;
  return decodeTemplate(bytes, tags.template, { file: InsuredFiles.rights.name }, (t) => {
    const chronic: ChronicEntry[] = t.all(tags.chronic).map((node, i) => {
      const c = t.nested(node, 'chronic', i);
      return { code: c.code(0x80, 'code', 16), validUntil: c.date(0x81, 'validUntil') };
    });
    const beneficiaryRights: BeneficiaryRights[] = t.all(tags.beneficiaryRights).map((node, i) => {
      const b = t.nested(node, 'beneficiaryRights', i);
      return {
        rank: b.uint(0x80, 'rank', 1, MAX_RANK),
        category: enumOf(CategoryCode, b, b.one(0x81, 'category'), 'category'),
        rateBp: b.uint(0x82, 'rateBp', 0, MAX_RATE_BP),
        rightsEnd: b.date(0x83, 'rightsEnd'),
      };
    });
    return {
      fund: enumOf(FundCode, t, t.one(tags.fund, 'fund'), 'fund'),
      category: enumOf(CategoryCode, t, t.one(tags.category, 'category'), 'category'),
      rateBp: t.uint(tags.rateBp, 'rateBp', 0, MAX_RATE_BP),
      rightsEnd: t.date(tags.rightsEnd, 'rightsEnd'),
      chronic,
      beneficiaryRights,
    };
  });
}

export function decodeEmergency(bytes: Buffer): Emergency {
  const tags = Tags.emergency;
  return decodeTemplate(bytes, tags.template, { file: InsuredFiles.emergency.name }, (t) => {
    const blood = t.opt(tags.bloodGroup, 'bloodGroup');
    return {
      bloodGroup: blood !== undefined ? readCode(t, blood, 'bloodGroup', 3) : undefined,
      allergies: t.all(tags.allergy).map((n, i) => readText(t, n, `allergies[${i}]`, 80)),
      conditions: t.all(tags.condition).map((n, i) => readText(t, n, `conditions[${i}]`, 80)),
    };
  });
}

export function decodePrescription(bytes: Buffer, record: number, start = 0, end = bytes.length): Prescription {
  const tags = Tags.prescription;
  const lt = Tags.prescriptionLine;
  const at = { file: InsuredFiles.prescriptions.name, record };
  return decodeTemplate(
    bytes,
    tags.template,
    at,
    (t) => {
      const lines: PrescriptionLine[] = t.all(tags.line).map((node, i) => {
        const l = t.nested(node, 'lines', i);
        return {
          productCode: l.code(lt.productCode, 'productCode', 16, REPEATS),
          quantity: l.uint(lt.quantity, 'quantity', 1, 0xffff),
          durationDays: l.uint(lt.durationDays, 'durationDays', 0, 0xffff),
        };
      });
      if (lines.length === 0) t.fail('lines', 'a prescription has at least one line');
      return {
        date: t.date(tags.date, 'date', REPEATS),
        prescriberId: t.code(tags.prescriberId, 'prescriberId', 16, REPEATS),
        speciality: t.text(tags.speciality, 'speciality', 48),
        rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
        reference: t.code(tags.reference, 'reference', 16),
        lines,
      };
    },
    start,
    end,
  );
}

export function decodeDispensation(bytes: Buffer, record: number, start = 0, end = bytes.length): Dispensation {
  const tags = Tags.dispensation;
  const at = { file: InsuredFiles.dispensations.name, record };
  return decodeTemplate(
    bytes,
    tags.template,
    at,
    (t) => {
      const ref = t.opt(tags.prescriptionRef, 'prescriptionRef');
      return {
        date: t.date(tags.date, 'date', REPEATS),
        pharmacyId: t.code(tags.pharmacyId, 'pharmacyId', 16, REPEATS),
        rank: t.uint(tags.rank, 'rank', 1, MAX_RANK),
        productCode: t.code(tags.productCode, 'productCode', 16, REPEATS),
        quantity: t.uint(tags.quantity, 'quantity', 1, 0xffff),
        durationDays: t.uint(tags.durationDays, 'durationDays', 0, 0xffff),
        invoiceNumber: t.uint(tags.invoiceNumber, 'invoiceNumber'),
        prescriptionRef: ref !== undefined ? readCode(t, ref, 'prescriptionRef', 16, REPEATS) : undefined,
      };
    },
    start,
    end,
  );
}

export function decodePharmacy(bytes: Buffer): PharmacyIdentity {
  const tags = Tags.pharmacy;
  return decodeTemplate(bytes, tags.template, { file: ProfessionalFiles.identity.name }, (t) => ({
    pharmacyId: t.code(tags.pharmacyId, 'pharmacyId', 16),
    name: t.text(tags.name, 'name', 120),
    pharmacist: t.text(tags.pharmacist, 'pharmacist', 80),
    wilaya: t.uint(tags.wilaya, 'wilaya', 1, 58),
    agreement: t.code(tags.agreement, 'agreement', 20),
  }));
}
