import { normalizeName } from '../../billing/catalogue/names';
import type { Product } from '../../billing/catalogue/product';
import { formatDate } from '../../common/format';
import { addDays, daysBetween, type IsoDate } from '../../common/calendar-date';
import type { DispensationRecord } from './card-data';

/**
 * Warnings the counter shows before a dispensing. They never block it — the pharmacist decides —
 * but they are computed on the server so the page, the API and a future kiosk all agree.
 */

export type WarningCode = 'allergy' | 'possible-duplicate';

export interface CounterWarning {
  code: WarningCode;
  /** Index of the basket line concerned. */
  line: number;
  /** French, for the pharmacist; `details` holds the same facts for programs. */
  message: string;
  details: Record<string, string | number | boolean>;
}

/** True when one name contains the other as whole words ("amoxicilline" in "amoxicilline sodique"). */
function wordsContain(a: string, b: string): boolean {
  return b !== '' && ` ${a} `.includes(` ${b} `);
}

/**
 * The recorded allergy a product's DCI matches, if any. A combination (`Codéine + paracétamol`)
 * matches an allergy to any of its components. Names are compared without accents or case, and
 * as whole words either way round. Drug classes (an allergy to "pénicillines" for amoxicillin)
 * are not known to the catalogue and are not matched.
 */
export function allergyMatch(dci: string, allergies: readonly string[]): string | undefined {
  const components = dci
    .split('+')
    .map(normalizeName)
    .filter((c) => c !== '');
  for (const allergy of allergies) {
    const a = normalizeName(allergy);
    if (a === '') continue;
    if (components.some((c) => wordsContain(c, a) || wordsContain(a, c))) return allergy;
  }
  return undefined;
}

export interface WarningInput {
  today: IsoDate;
  rank: number;
  lines: readonly { code: string }[];
  products: readonly Product[];
  allergies: readonly string[];
  dispensations: readonly DispensationRecord[];
  lookup: (code: string) => Product | undefined;
}

/**
 * - `allergy`: the product's DCI matches an allergy in the card's emergency data;
 * - `possible-duplicate`: the same product (same code), or another brand of the same DCI, was
 *   dispensed to the same beneficiary and its supply has not run out yet
 *   (dispensing date + treatment duration is after today).
 */
export function computeWarnings(input: WarningInput): CounterWarning[] {
  const out: CounterWarning[] = [];
  input.lines.forEach((line, i) => {
    const p = input.products[i]!;
    const allergy = allergyMatch(p.dci, input.allergies);
    if (allergy !== undefined) {
      out.push({
        code: 'allergy',
        line: i,
        message: `Allergie enregistrée sur la carte : ${allergy} — ${p.brand} contient ${p.dci}.`,
        details: { allergy, dci: p.dci, code: p.code },
      });
    }
    const dci = normalizeName(p.dci);
    let best: { record: DispensationRecord; until: IsoDate; same: boolean } | undefined;
    for (const r of input.dispensations) {
      if (r.rank !== input.rank) continue;
      const until = addDays(r.date, r.durationDays);
      if (until <= input.today) continue; // the supply has run out
      const same = r.productCode === line.code;
      if (!same) {
        const other = input.lookup(r.productCode);
        if (!other || normalizeName(other.dci) !== dci) continue;
      }
      if (!best || until > best.until) best = { record: r, until, same };
    }
    if (best) {
      const left = daysBetween(input.today, best.until);
      const what = best.same ? 'Le même produit' : `La même DCI (${p.dci})`;
      out.push({
        code: 'possible-duplicate',
        line: i,
        message: `${what} a été délivré le ${formatDate(best.record.date, 'fr')} pour ${best.record.durationDays} jours (encore ${left} jour${left > 1 ? 's' : ''} de traitement) : délivrance en double possible.`,
        details: {
          productCode: best.record.productCode,
          dispensedOn: best.record.date,
          durationDays: best.record.durationDays,
          daysLeft: left,
          sameProduct: best.same,
        },
      });
    }
  });
  return out;
}
