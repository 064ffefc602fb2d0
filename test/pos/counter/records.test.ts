import type { DispensationRecord } from '../../../src/pos/counter/card-data';
import { DEFAULT_DURATION_DAYS, missingRecords, recordsOfInvoice } from '../../../src/pos/counter/records';
import type { InvoiceDocument } from '../../../src/sync/invoice';

const rec = (code: string, invoiceNumber: number | null, pharmacyId = 'DZ16-PH-00001'): DispensationRecord => ({
  date: '2025-06-15',
  pharmacyId,
  rank: 1,
  productCode: code,
  quantity: 1,
  durationDays: 5,
  invoiceNumber,
  prescriptionRef: null,
});

test('an invoice gives one record per line, with its number, pharmacy, rank and prescription', () => {
  const line = {
    quantity: 2,
    unitPrice: 100,
    referencePrice: null,
    reimbursable: true,
    priorApproval: false,
    total: 200,
    base: 200,
    fund: 160,
    patient: 40,
    reason: null,
  };
  const doc = {
    number: 12,
    pharmacyId: 'DZ16-PH-00001',
    date: '2025-06-15',
    beneficiary: { cardSerial: 'C1', rank: 3 },
    prescription: { reference: 'RX1' },
    lines: [
      { ...line, code: 'A', durationDays: 7 },
      { ...line, code: 'B' },
    ],
  } as unknown as InvoiceDocument;
  expect(recordsOfInvoice(doc)).toEqual([
    {
      date: '2025-06-15',
      pharmacyId: 'DZ16-PH-00001',
      rank: 3,
      productCode: 'A',
      quantity: 2,
      durationDays: 7,
      invoiceNumber: 12,
      prescriptionRef: 'RX1',
    },
    {
      date: '2025-06-15',
      pharmacyId: 'DZ16-PH-00001',
      rank: 3,
      productCode: 'B',
      quantity: 2,
      durationDays: DEFAULT_DURATION_DAYS,
      invoiceNumber: 12,
      prescriptionRef: 'RX1',
    },
  ]);
});

describe('missing records', () => {
  test('finds by invoice number and product code', () => {
    const wanted = [rec('A', 7), rec('B', 7), rec('C', 7)];
    expect(missingRecords(wanted, [rec('B', 7), rec('A', 6)])).toEqual([rec('A', 7), rec('C', 7)]);
  });
  test('counts duplicates of the same product in one invoice', () => {
    const wanted = [rec('A', 7), rec('A', 7)];
    expect(missingRecords(wanted, [rec('A', 7)])).toEqual([rec('A', 7)]);
    expect(missingRecords(wanted, [rec('A', 7), rec('A', 7)])).toEqual([]);
  });
  test('another pharmacy with the same invoice number does not count', () => {
    expect(missingRecords([rec('A', 7)], [rec('A', 7, 'DZ31-PH-00002')])).toEqual([rec('A', 7)]);
  });
  test('records without an invoice number never match', () => {
    expect(missingRecords([rec('A', 7)], [rec('A', null)])).toEqual([rec('A', 7)]);
  });
});
