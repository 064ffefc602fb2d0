import type { Product } from '../../billing/catalogue/product';
import { substitutionProblem } from '../../billing/catalogue/substitution';
import { addDays, type IsoDate } from '../../common/calendar-date';
import { remainingToDispense, type PastPrescription, type PrescribedQuantity } from '../../billing/split';
import type { CardRead, DispensationRecord } from './card-data';

/**
 * What a prescription on the card still allows, and which prescriptions a beneficiary was served.
 * A prescription may be dispensed in several goes (a partial dispensing, the rest later, here or
 * at another pharmacy); every dispensing record on the card names the prescription it was made
 * against (`prescriptionRef`, docs/card-layout.md), so the card alone tells what was already
 * dispensed — a generic dispensed in place of the prescribed product included (the record names
 * the product dispensed; the catalogue says whether it is an equivalent). Records still waiting to
 * go on the card (a pending card write) count too: the caller passes them in with the card's.
 */

export interface PrescriptionBalanceLine {
  /** The product prescribed. */
  productCode: string;
  /** Units prescribed (the prescription's lines for this product, added up). */
  prescribed: number;
  /** Units already dispensed against this prescription: this product, or an equivalent generic. */
  dispensed: number;
  /** prescribed − dispensed, never below 0. */
  remaining: number;
}

export interface PrescriptionBalance {
  reference: string;
  /** Beneficiary rank the prescription is for. */
  rank: number;
  lines: PrescriptionBalanceLine[];
}

type Lookup = (code: string) => Product | undefined;

/**
 * Units dispensed against prescription `reference` for the prescribed product `code`, per the
 * records given: records of `code` itself, and of an equivalent (same DCI, form and strength)
 * that the prescription does not name itself (`prescribedCodes`).
 */
export function dispensedAgainst(
  records: readonly DispensationRecord[],
  reference: string,
  code: string,
  lookup?: Lookup,
  prescribedCodes: ReadonlySet<string> = new Set([code]),
): number {
  const prescribed = lookup?.(code);
  let n = 0;
  for (const r of records) {
    if (r.prescriptionRef !== reference) continue;
    if (r.productCode === code) n += r.quantity;
    else if (prescribed && !prescribedCodes.has(r.productCode)) {
      const dispensed = lookup!(r.productCode);
      if (dispensed && substitutionProblem(prescribed, dispensed) === null) n += r.quantity;
    }
  }
  return n;
}

/** The balance of prescription `reference` on the card, or null when the card does not hold it (a paper prescription). */
export function prescriptionBalance(card: CardRead, reference: string, lookup?: Lookup): PrescriptionBalance | null {
  const p = card.prescriptions.find((x) => x.reference === reference);
  if (!p) return null;
  const prescribed = new Map<string, number>();
  for (const l of p.lines) prescribed.set(l.productCode, (prescribed.get(l.productCode) ?? 0) + l.quantity);
  const codes = new Set(prescribed.keys());
  return {
    reference,
    rank: p.rank,
    lines: [...prescribed].map(([productCode, quantity]) => {
      const dispensed = dispensedAgainst(card.dispensations, reference, productCode, lookup, codes);
      return { productCode, prescribed: quantity, dispensed, remaining: remainingToDispense({ quantity, alreadyDispensed: dispensed }) };
    }),
  };
}

/**
 * The split's prescription input for each basket line, in order: what the prescription orders of
 * the line's prescribed product (the product itself, or the one a generic replaces; 0 when it is
 * not on the prescription) and what was dispensed before — on the card, and on earlier lines of
 * this basket for the same prescribed product, so two lines cannot share one remainder.
 */
export function prescribedPerLine(
  balance: PrescriptionBalance,
  lines: readonly { code: string; quantity: number }[],
): PrescribedQuantity[] {
  const taken = new Map<string, number>();
  return lines.map((l) => {
    const b = balance.lines.find((x) => x.productCode === l.code);
    const before = taken.get(l.code) ?? 0;
    taken.set(l.code, before + l.quantity);
    return { quantity: b?.prescribed ?? 0, alreadyDispensed: (b?.dispensed ?? 0) + before };
  });
}

/**
 * The prescriptions served to beneficiary `rank` in the `windowDays` days up to `today`, as the
 * card's dispensations show them: one entry per prescription reference, dated by its first
 * dispensing in the window. The per-period limit counts them (docs/split.md).
 */
export function prescriptionHistory(card: CardRead, rank: number, today: IsoDate, windowDays: number): PastPrescription[] {
  const from = addDays(today, -(windowDays - 1));
  const first = new Map<string, IsoDate>();
  for (const r of card.dispensations) {
    if (r.rank !== rank || r.prescriptionRef === null || r.date < from || r.date > today) continue;
    const d = first.get(r.prescriptionRef);
    if (d === undefined || r.date < d) first.set(r.prescriptionRef, r.date);
  }
  return [...first]
    .map(([reference, date]) => ({ reference, date }))
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.reference < b.reference ? -1 : 1));
}
