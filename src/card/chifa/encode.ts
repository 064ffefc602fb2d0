import { CALENDAR_DATE_MESSAGE, isIsoDate } from '../../common/calendar-date';
import { InsuredFiles, MAX_PRESCRIPTION_LINES, Tags } from '../layout';
import { encodeTlv, type TlvInput } from '../tlv';
import { RecordInputError } from './errors';
import type { Dispensation, Prescription } from './types';

/**
 * The terminal's encoder for what it writes to the card (APPEND RECORD): dispensations and
 * prescriptions. Inputs are checked before a byte is sent, so a bad value is a RecordInputError
 * naming the field and the card is never half-written by our mistake.
 */

/** A date as 4 BCD bytes YYYYMMDD (docs/card-layout.md). */
function date(field: string, iso: string): Buffer {
  if (!isIsoDate(iso)) throw new RecordInputError(field, CALENDAR_DATE_MESSAGE);
  return Buffer.from(iso.replace(/-/g, ''), 'hex');
}

function uint(field: string, n: number, min: number, max: number): Buffer {
  if (!Number.isInteger(n) || n < min || n > max) throw new RecordInputError(field, `expected an integer ${min}..${max}`);
  const out: number[] = [];
  let v = n;
  do {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return Buffer.from(out);
}

function code(field: string, s: string, max: number): Buffer {
  if (typeof s !== 'string' || s.length === 0 || s.length > max || !/^[\x20-\x7e]+$/.test(s)) {
    throw new RecordInputError(field, `expected 1..${max} printable ASCII characters`);
  }
  return Buffer.from(s, 'latin1');
}

function text(field: string, s: string, maxBytes: number): Buffer {
  // eslint-disable-next-line no-control-regex
  if (typeof s !== 'string' || s.length === 0 || /[\u0000-\u001f\u007f]/.test(s))
    throw new RecordInputError(field, 'expected non-empty text');
  const b = Buffer.from(s, 'utf8');
  if (b.length > maxBytes) throw new RecordInputError(field, `at most ${maxBytes} bytes of UTF-8`);
  return b;
}

const p = (tag: number, value: Buffer): TlvInput => ({ tag, value });

function fit(bytes: Buffer, size: number, what: string): Buffer {
  if (bytes.length > size) throw new RecordInputError(what, `the record needs ${bytes.length} bytes; the card's records hold ${size}`);
  return bytes;
}

/** A dispensation to append (the same shape as one read back). */
export type NewDispensation = Omit<Dispensation, 'prescriptionRef'> & { readonly prescriptionRef?: string | undefined };

export function encodeDispensation(d: NewDispensation): Buffer {
  const t = Tags.dispensation;
  const bytes = encodeTlv({
    tag: t.template,
    children: [
      p(t.date, date('date', d.date)),
      p(t.pharmacyId, code('pharmacyId', d.pharmacyId, 16)),
      p(t.rank, uint('rank', d.rank, 1, 15)),
      p(t.productCode, code('productCode', d.productCode, 16)),
      p(t.quantity, uint('quantity', d.quantity, 1, 0xffff)),
      p(t.durationDays, uint('durationDays', d.durationDays, 0, 0xffff)),
      p(t.invoiceNumber, uint('invoiceNumber', d.invoiceNumber, 0, 0xffffffff)),
      ...(d.prescriptionRef !== undefined ? [p(t.prescriptionRef, code('prescriptionRef', d.prescriptionRef, 16))] : []),
    ],
  });
  return fit(bytes, InsuredFiles.dispensations.size, 'dispensation');
}

export function encodePrescription(rx: Prescription): Buffer {
  const t = Tags.prescription;
  const l = Tags.prescriptionLine;
  if (!Array.isArray(rx.lines) || rx.lines.length === 0 || rx.lines.length > MAX_PRESCRIPTION_LINES) {
    throw new RecordInputError('lines', `a prescription has 1..${MAX_PRESCRIPTION_LINES} lines`);
  }
  const bytes = encodeTlv({
    tag: t.template,
    children: [
      p(t.date, date('date', rx.date)),
      p(t.prescriberId, code('prescriberId', rx.prescriberId, 16)),
      p(t.speciality, text('speciality', rx.speciality, 48)),
      p(t.rank, uint('rank', rx.rank, 1, 15)),
      p(t.reference, code('reference', rx.reference, 16)),
      ...rx.lines.map((line, i) => ({
        tag: t.line,
        children: [
          p(l.productCode, code(`lines[${i}].productCode`, line.productCode, 16)),
          p(l.quantity, uint(`lines[${i}].quantity`, line.quantity, 1, 0xffff)),
          p(l.durationDays, uint(`lines[${i}].durationDays`, line.durationDays, 0, 0xffff)),
        ],
      })),
    ],
  });
  return fit(bytes, InsuredFiles.prescriptions.size, 'prescription');
}
