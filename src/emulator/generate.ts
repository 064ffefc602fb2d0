import { mulberry32 } from '../common/prng';
import type { Dispensation, Prescription } from './image-schema';

/**
 * Deterministic synthetic history for card images that need many records (full rings): a seeded
 * PRNG (mulberry32) walks back in time from `until`, so the same seed always gives the same
 * bytes. Product codes come from the sample catalogue (fixtures/catalogue/catalogue.csv) so a
 * counter can look them up.
 */

export const SAMPLE_PRODUCTS = [
  'N02BE01-01',
  'N02BE01-05',
  'M01AE01-02',
  'M01AB05-02',
  'J01CA04-01',
  'A02BC01-01',
  'C09AA02-01',
  'C10AA05-01',
  'A10BA02-01',
  'C07AB07-01',
  'R06AE07-01',
  'N02BA01-02',
  'C08CA01-01',
  'R03AC02-01',
] as const;
const PHARMACIES = ['DZ16-PH-00001', 'DZ31-PH-00002', 'DZ09-PH-00417'];
const PRESCRIBERS = ['DZ16-MD-10231', 'DZ16-MD-20877', 'DZ31-MD-00412'];
const SPECIALITIES = ['Médecine générale', 'Cardiologie', 'Pédiatrie', 'Endocrinologie'];
const DURATIONS = [5, 7, 10, 14, 28, 30, 90];

export { mulberry32 };

function daysBefore(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

export interface GenerateSpec {
  prescriptions: number;
  dispensations: number;
  seed: number;
  until: string;
}

/** Newest first, like the image lists. */
export function generateHistory(
  spec: GenerateSpec,
  ranks: readonly number[],
): { prescriptions: Prescription[]; dispensations: Dispensation[] } {
  const rnd = mulberry32(spec.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const prescriptions: Prescription[] = [];
  let date = spec.until;
  for (let i = 0; i < spec.prescriptions; i++) {
    const lines = 1 + Math.floor(rnd() * 3);
    prescriptions.push({
      date,
      prescriberId: pick(PRESCRIBERS),
      speciality: pick(SPECIALITIES),
      rank: pick(ranks),
      reference: `RX${String(900000 - i).padStart(6, '0')}`,
      lines: Array.from({ length: lines }, () => ({
        productCode: pick(SAMPLE_PRODUCTS),
        quantity: 1 + Math.floor(rnd() * 3),
        durationDays: pick(DURATIONS),
      })),
    });
    date = daysBefore(date, 3 + Math.floor(rnd() * 20));
  }
  const dispensations: Dispensation[] = [];
  date = spec.until;
  let invoice = 500000 + spec.dispensations;
  for (let i = 0; i < spec.dispensations; i++) {
    dispensations.push({
      date,
      pharmacyId: pick(PHARMACIES),
      rank: pick(ranks),
      productCode: pick(SAMPLE_PRODUCTS),
      quantity: 1 + Math.floor(rnd() * 3),
      durationDays: pick(DURATIONS),
      invoiceNumber: invoice--,
      prescriptionRef: `RX${String(900000 - Math.floor(i / 3)).padStart(6, '0')}`,
    });
    if (rnd() < 0.4) date = daysBefore(date, 1 + Math.floor(rnd() * 10));
  }
  return { prescriptions, dispensations };
}
