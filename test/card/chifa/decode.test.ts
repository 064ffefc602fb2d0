import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { sdkRights } from './helpers';
import {
  CardDataError,
  decodeBeneficiary,
  decodeDispensation,
  decodeEmergency,
  decodeHolder,
  decodePrescription,
  decodeRights,
  encodeDispensation,
  encodePrescription,
  RecordInputError,
  type Dispensation,
} from '../../../src/card/chifa';

/** Decoders against golden vectors: the emulator's (fixtures/golden) and hand-built ones here. */

const GOLDEN = path.join(__dirname, '../../../fixtures/golden');
const golden = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(GOLDEN, `${name}.json`), 'utf8')) as { fields: unknown; padded: string; file: { record?: number } };
/** Hex with spaces, newlines and `#` comments. */
const hex = (s: string) =>
  Buffer.from(
    s
      .split('\n')
      .map((l) => l.replace(/#.*$/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
const pad = (b: Buffer, n: number) => Buffer.concat([b, Buffer.alloc(n - b.length)]);

// Hand-built from docs/card-layout.md (tags of src/card/layout.ts): one dispensation, 44 bytes.
const DISPENSATION = hex(`
  E5 2C
     80 04 20250314            # date 2025-03-14 (BCD)
     81 06 504830303031        # pharmacyId "PH0001"
     82 01 02                  # rank 2
     83 07 4E303242453031      # productCode "N02BE01"
     84 01 02                  # quantity 2
     85 01 1E                  # durationDays 30
     86 02 04D2                # invoiceNumber 1234
     87 06 525830303432        # prescriptionRef "RX0042"`);

describe('Chifa decoders: golden vectors', () => {
  it.each([
    ['holder', (b: Buffer) => decodeHolder(b)],
    ['beneficiary', (b: Buffer, r: number) => decodeBeneficiary(b, r)],
    ['rights', (b: Buffer) => decodeRights(b)],
    ['emergency', (b: Buffer) => decodeEmergency(b)],
    ['prescription', (b: Buffer, r: number) => decodePrescription(b, r)],
    ['dispensation', (b: Buffer, r: number) => decodeDispensation(b, r)],
  ] as const)('%s decodes to the golden fields', (name, decode) => {
    const g = golden(name);
    expect(decode(hex(g.padded), g.file.record ?? 1)).toEqual(name === 'rights' ? sdkRights(g.fields) : g.fields);
  });

  it('decodes the hand-built dispensation', () => {
    expect(decodeDispensation(pad(DISPENSATION, 64), 1)).toEqual({
      date: '2025-03-14',
      pharmacyId: 'PH0001',
      rank: 2,
      productCode: 'N02BE01',
      quantity: 2,
      durationDays: 30,
      invoiceNumber: 1234,
      prescriptionRef: 'RX0042',
    });
  });

  it('decodes a record cut out of a READ RECORD(S) answer, offsets counted from the record', () => {
    const answer = Buffer.concat([Buffer.alloc(64, 0x5a), pad(DISPENSATION, 64), Buffer.alloc(64, 0x5a)]);
    const record = answer.subarray(64, 128);
    expect(decodeDispensation(record, 2)).toEqual(decodeDispensation(pad(DISPENSATION, 64), 2));
    answer[64 + 10] = 0xc3; // pharmacyId's second byte
    expect(() => decodeDispensation(record, 2)).toThrow(
      expect.objectContaining({ record: 2, field: 'pharmacyId', offset: 10 }) as unknown as Error,
    );
    answer[64 + 10] = 0x48;
    answer[64 + 1] = 0x50; // template longer than the record: the bytes after it do not count
    expect(() => decodeDispensation(record, 2)).toThrow(
      /record 2 \(byte 1\): malformed TLV: length 80 exceeds the 62 bytes left at offset 1$/,
    );
  });

  it('our append encoder writes the same bytes as the golden templates', () => {
    const d = golden('dispensation');
    expect(
      encodeDispensation(d.fields as Dispensation)
        .toString('hex')
        .toUpperCase(),
    ).toBe((d as unknown as { template: string }).template);
    const p = golden('prescription');
    expect(
      encodePrescription(p.fields as never)
        .toString('hex')
        .toUpperCase(),
    ).toBe((p as unknown as { template: string }).template);
    expect(encodeDispensation(decodeDispensation(pad(DISPENSATION, 64), 1))).toEqual(DISPENSATION);
  });
});

describe('Chifa decoders: bad card data names file, record, field and offset', () => {
  const bad = (bytes: Buffer, record = 7): CardDataError => {
    try {
      decodeDispensation(pad(bytes, 64), record);
    } catch (err) {
      expect(err).toBeInstanceOf(CardDataError);
      return err as CardDataError;
    }
    throw new Error('decoded without error');
  };
  const patch = (at: number, value: number) => {
    const b = Buffer.from(DISPENSATION);
    b[at] = value;
    return b;
  };

  it('a date that is not BCD', () => {
    const e = bad(patch(5, 0x3a));
    expect(e).toMatchObject({ code: 'bad-card-data', file: 'EF.DISPENSATIONS', record: 7, field: 'date', offset: 4 });
    expect(e.message).toBe('EF.DISPENSATIONS record 7 field date (byte 4): byte 3a is not BCD');
  });

  it('a date that is not in the calendar', () => {
    const b = patch(6, 0x02);
    b[7] = 0x31;
    expect(bad(b).message).toMatch(/field date \(byte 4\): 20250231 is not a calendar date/);
  });

  it('a missing field', () => {
    // Drop "84 01 02" (quantity) and fix the template length.
    const b = Buffer.concat([DISPENSATION.subarray(0, 28), DISPENSATION.subarray(31)]);
    b[1] = b.length - 2;
    expect(bad(b)).toMatchObject({ field: 'quantity' });
    expect(bad(b).message).toMatch(/field quantity: missing \(tag 84\)/);
  });

  it('an integer with a leading zero byte, or out of range', () => {
    const b = Buffer.from(DISPENSATION);
    b.writeUInt16BE(0x0004, 36); // invoiceNumber 00 04 → non-minimal
    expect(bad(b)).toMatchObject({ field: 'invoiceNumber', offset: 36 });
    expect(bad(patch(18, 0x00))).toMatchObject({ field: 'rank', offset: 18 }); // rank 0
  });

  it('a code-table value the layout does not know', () => {
    const g = golden('beneficiary');
    const b = hex(g.padded);
    const at = b.indexOf(Buffer.from([0x81, 0x01])); // relationship: tag 81, one byte
    expect(at).toBeGreaterThan(0);
    b[at + 2] = 7;
    expect(() => decodeBeneficiary(b, 3)).toThrow(
      expect.objectContaining({ file: 'EF.BENEFICIARIES', record: 3, field: 'relationship', offset: at + 2 }) as unknown as Error,
    );
    expect(() => decodeBeneficiary(b, 3)).toThrow(/field relationship \(byte \d+\): unknown code 7$/);
  });

  it('a code with a non-ASCII byte', () => {
    expect(bad(patch(10, 0xc3))).toMatchObject({ field: 'pharmacyId', offset: 10 });
  });

  it('a repeated single-valued field', () => {
    const b = Buffer.concat([DISPENSATION, hex('840103')]);
    b[1] = b.length - 2;
    expect(bad(b)).toMatchObject({ field: 'quantity' });
  });

  it('malformed TLV: the offset of the bad byte', () => {
    const b = Buffer.from(DISPENSATION);
    b[1] = 0x50; // template longer than the record
    const e = bad(b);
    expect(e.field).toBeUndefined();
    expect(e.offset).toBe(1);
    expect(e.message).toMatch(/^EF.DISPENSATIONS record 7 \(byte 1\): malformed TLV/);
  });

  it('the wrong template, garbage after padding, an empty record', () => {
    expect(bad(patch(0, 0xe4)).message).toMatch(/expected template E5, found tag E4/);
    const garbage = pad(DISPENSATION, 64);
    garbage[60] = 0x41;
    expect(() => decodeDispensation(garbage, 2)).toThrow(/EF.DISPENSATIONS record 2 \(byte 60\)/);
    expect(() => decodeDispensation(Buffer.alloc(64), 3)).toThrow(/EF.DISPENSATIONS record 3: empty/);
  });

  it('a nested field is named by its path', () => {
    const g = golden('prescription');
    const b = hex(g.padded);
    // Corrupt the first line's quantity (81 01 01 → 81 01 00).
    const at = b.indexOf(hex('810101'));
    b[at + 2] = 0;
    expect(() => decodePrescription(b, 4)).toThrow(/EF.PRESCRIPTIONS record 4 field lines\[0\]\.quantity/);
  });

  it('holder text that is not UTF-8 names the holder file', () => {
    const g = golden('holder');
    const b = hex(g.padded);
    const at = b.indexOf(Buffer.from('Karim'));
    b[at] = 0xff;
    expect(() => decodeHolder(b)).toThrow(/^EF.HOLDER field firstName \(byte \d+\): not valid UTF-8/);
  });

  it('dates: every BCD day decodes as the calendar says, every impossible one is refused', () => {
    const withDate = (bcd: Buffer) => {
      const b = pad(DISPENSATION, 64);
      bcd.copy(b, 4);
      return b;
    };
    fc.assert(
      fc.property(fc.integer({ min: 1900, max: 2099 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
        const digits = `${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
        const js = new Date(Date.UTC(y, m - 1, d));
        const valid = m >= 1 && m <= 12 && d >= 1 && js.getUTCMonth() === m - 1 && js.getUTCDate() === d;
        const decode = () => decodeDispensation(withDate(Buffer.from(digits, 'hex')), 1).date;
        if (valid) expect(decode()).toBe(`${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6)}`);
        else expect(decode).toThrow(/is not a calendar date/);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but CardDataError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
        try {
          decodeDispensation(Buffer.from(bytes), 1);
        } catch (err) {
          if (!(err instanceof CardDataError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: DISPENSATION.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const b = pad(DISPENSATION, 64);
        b[i] = v;
        try {
          decodeDispensation(b, 1);
        } catch (err) {
          if (!(err instanceof CardDataError)) throw err;
        }
      }),
    );
  });
});

describe('Append encoder', () => {
  const arb = fc.record({
    date: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    pharmacyId: fc.stringMatching(/^[A-Z0-9-]{1,16}$/),
    rank: fc.integer({ min: 1, max: 15 }),
    productCode: fc.stringMatching(/^[A-Z0-9-]{1,16}$/),
    quantity: fc.integer({ min: 1, max: 999 }),
    durationDays: fc.integer({ min: 0, max: 365 }),
    invoiceNumber: fc.integer({ min: 0, max: 0xffffffff }),
    prescriptionRef: fc.option(fc.stringMatching(/^[A-Z0-9]{1,12}$/), { nil: undefined }),
  });

  it('round-trips through the decoder, or refuses a record too long for 64 bytes before sending it', () => {
    fc.assert(
      fc.property(arb, (d) => {
        let bytes: Buffer;
        try {
          bytes = encodeDispensation(d);
        } catch (err) {
          // Every field at its maximum does not fit the layout's 64-byte record.
          expect(err).toBeInstanceOf(RecordInputError);
          expect((err as RecordInputError).field).toBe('dispensation');
          return;
        }
        expect(bytes.length).toBeLessThanOrEqual(64);
        expect(decodeDispensation(pad(bytes, 64), 1)).toEqual(d);
      }),
    );
  });

  it('fits every dispensation with codes of the sizes the system uses', () => {
    // Pharmacy ids like DZ16-PH-00001 (13), product codes like N02BE01-08 (10), references like RX000124 (8).
    const realistic = arb.map((d) => ({
      ...d,
      pharmacyId: d.pharmacyId.slice(0, 13),
      productCode: d.productCode.slice(0, 10),
      prescriptionRef: d.prescriptionRef?.slice(0, 8),
    }));
    fc.assert(
      fc.property(realistic, (d) => {
        expect(decodeDispensation(pad(encodeDispensation(d), 64), 1)).toEqual(d);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects bad input naming the field, before anything is sent', () => {
    const ok = decodeDispensation(pad(DISPENSATION, 64), 1);
    expect(() => encodeDispensation({ ...ok, quantity: 0 })).toThrow(RecordInputError);
    expect(() => encodeDispensation({ ...ok, date: '2025-02-30' })).toThrow(/^date: /);
    expect(() => encodeDispensation({ ...ok, productCode: 'é' })).toThrow(/^productCode: /);
  });
});
