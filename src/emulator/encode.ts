import { CardType, CategoryCode, FundCode, Relationship, Tags } from '../card/layout';
import { encodeTlv, type TlvInput } from '../card/tlv';
import type { Dispensation, InsuredImage, Prescription, ProfessionalImage } from './image-schema';

/**
 * The emulator's own encoder for the Chifa data objects (the "personalization" side). It shares
 * nothing with the reader's decoder in src/card/chifa except the tag numbers in layout.ts; golden
 * vectors in fixtures/golden pin the bytes both must agree on.
 *
 * Encodings (docs/card-layout.md): dates 4-byte BCD YYYYMMDD; integers unsigned big-endian in the
 * fewest bytes (1 to 4; zero is one 00 byte); text UTF-8; codes ASCII. Optional or empty fields
 * are left out; repeated fields keep the image's order.
 */

export function bcdDate(iso: string): Buffer {
  const digits = iso.replace(/-/g, '');
  if (!/^\d{8}$/.test(digits)) throw new Error(`not a date: ${iso}`);
  return Buffer.from(digits, 'hex');
}

export function uint(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`not an unsigned 32-bit integer: ${n}`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  return Buffer.from(bytes);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const p = (tag: number, value: Buffer): TlvInput => ({ tag, value });

type Names = { lastName: string; firstName: string; lastNameAr: string; firstNameAr: string };
function names(t: { lastName: number; firstName: number; lastNameAr: number; firstNameAr: number }, n: Names): TlvInput[] {
  return [
    p(t.lastName, utf8(n.lastName)),
    p(t.firstName, utf8(n.firstName)),
    p(t.lastNameAr, utf8(n.lastNameAr)),
    p(t.firstNameAr, utf8(n.firstNameAr)),
  ];
}

export function encodeHolder(h: InsuredImage['holder']): Buffer {
  const t = Tags.holder;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.ssn, ascii(h.ssn)),
      p(t.cardSerial, ascii(h.cardSerial)),
      ...names(t, h),
      p(t.birthDate, bcdDate(h.birthDate)),
      p(t.issueDate, bcdDate(h.issueDate)),
      p(t.expiryDate, bcdDate(h.expiryDate)),
      p(t.cardType, uint(CardType[h.cardType])),
    ],
  });
}

export function encodeBeneficiary(b: InsuredImage['beneficiaries'][number]): Buffer {
  const t = Tags.beneficiary;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.rank, uint(b.rank)),
      p(t.relationship, uint(Relationship[b.relationship])),
      ...names(t, b),
      p(t.birthDate, bcdDate(b.birthDate)),
    ],
  });
}

/**
 * EF.RIGHTS in the card's own codes: what personalization writes from a card image
 * (`rightsOfImage`) and what a fund-signed rights update carries (put-data.ts).
 */
export interface CardRights {
  fund: number;
  category: number;
  rateBp: number;
  rightsEnd: string;
  /** The fund's version of these rights; 0 (left out) as personalised. */
  sequence?: number;
  issuedOn?: string;
  cardValidUntil?: string;
  chronic: readonly { code: string; validUntil: string }[];
  beneficiaryRights: readonly { rank: number; category: number; rateBp: number; rightsEnd: string }[];
}

/** A card image's rights, names turned into the card's codes. */
export function rightsOfImage(r: InsuredImage['rights']): CardRights {
  const category = (c: string | number): number => (typeof c === 'number' ? c : CategoryCode[c as keyof typeof CategoryCode]);
  return {
    fund: FundCode[r.fund],
    category: category(r.category),
    rateBp: r.rateBp,
    rightsEnd: r.rightsEnd,
    ...(r.sequence !== undefined ? { sequence: r.sequence } : {}),
    ...(r.issuedOn !== undefined ? { issuedOn: r.issuedOn } : {}),
    ...(r.cardValidUntil !== undefined ? { cardValidUntil: r.cardValidUntil } : {}),
    chronic: r.chronic,
    beneficiaryRights: r.beneficiaryRights.map((b) => ({ ...b, category: category(b.category) })),
  };
}

export function encodeRights(r: CardRights): Buffer {
  const t = Tags.rights;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.fund, uint(r.fund)),
      p(t.category, uint(r.category)),
      p(t.rateBp, uint(r.rateBp)),
      p(t.rightsEnd, bcdDate(r.rightsEnd)),
      ...(r.sequence !== undefined && r.sequence > 0 ? [p(t.sequence, uint(r.sequence))] : []),
      ...(r.issuedOn !== undefined ? [p(t.issuedOn, bcdDate(r.issuedOn))] : []),
      ...(r.cardValidUntil !== undefined ? [p(t.cardValidUntil, bcdDate(r.cardValidUntil))] : []),
      ...r.chronic.map((c) => ({ tag: t.chronic, children: [p(0x80, ascii(c.code)), p(0x81, bcdDate(c.validUntil))] })),
      ...r.beneficiaryRights.map((b) => ({
        tag: t.beneficiaryRights,
        children: [p(0x80, uint(b.rank)), p(0x81, uint(b.category)), p(0x82, uint(b.rateBp)), p(0x83, bcdDate(b.rightsEnd))],
      })),
    ],
  });
}

export function encodeEmergency(e: InsuredImage['emergency']): Buffer {
  const t = Tags.emergency;
  return encodeTlv({
    tag: t.template,
    children: [
      ...(e.bloodGroup ? [p(t.bloodGroup, ascii(e.bloodGroup))] : []),
      ...e.allergies.map((a) => p(t.allergy, utf8(a))),
      ...e.conditions.map((c) => p(t.condition, utf8(c))),
    ],
  });
}

export function encodePrescription(rx: Prescription): Buffer {
  const t = Tags.prescription;
  const l = Tags.prescriptionLine;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.date, bcdDate(rx.date)),
      p(t.prescriberId, ascii(rx.prescriberId)),
      p(t.speciality, utf8(rx.speciality)),
      p(t.rank, uint(rx.rank)),
      p(t.reference, ascii(rx.reference)),
      ...rx.lines.map((line) => ({
        tag: t.line,
        children: [
          p(l.productCode, ascii(line.productCode)),
          p(l.quantity, uint(line.quantity)),
          p(l.durationDays, uint(line.durationDays)),
        ],
      })),
    ],
  });
}

export function encodeDispensation(d: Dispensation): Buffer {
  const t = Tags.dispensation;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.date, bcdDate(d.date)),
      p(t.pharmacyId, ascii(d.pharmacyId)),
      p(t.rank, uint(d.rank)),
      p(t.productCode, ascii(d.productCode)),
      p(t.quantity, uint(d.quantity)),
      p(t.durationDays, uint(d.durationDays)),
      p(t.invoiceNumber, uint(d.invoiceNumber)),
      ...(d.prescriptionRef ? [p(t.prescriptionRef, ascii(d.prescriptionRef))] : []),
    ],
  });
}

export function encodePharmacy(ph: ProfessionalImage['pharmacy']): Buffer {
  const t = Tags.pharmacy;
  return encodeTlv({
    tag: t.template,
    children: [
      p(t.pharmacyId, ascii(ph.pharmacyId)),
      p(t.name, utf8(ph.name)),
      p(t.pharmacist, utf8(ph.pharmacist)),
      p(t.wilaya, uint(ph.wilaya)),
      p(t.agreement, ascii(ph.agreement)),
    ],
  });
}

/** EF.DIR record (ISO 7816-4 §8.2.1.1): application template 61 { 4F AID, 50 label }. */
export function encodeDirRecord(aid: Buffer, label: string): Buffer {
  return encodeTlv({ tag: 0x61, children: [p(0x4f, aid), p(0x50, ascii(label))] });
}
