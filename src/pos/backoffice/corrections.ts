import type { RuleBook } from '../../billing/rules/load';
import { draftFromSplit, type InvoiceDocument, type InvoiceDraft } from '../../sync/invoice';
import { basketOf, recomputeSplit } from '../../sync/split-check';

/**
 * The corrected invoice that recycles a rejected one (or, from the audit before closing, one the
 * fund would reject): the same dispensing — beneficiary, prescription, products, quantities,
 * prices, packs — priced again exactly as the fund will price it (src/sync/split-check.ts: the
 * rules in force on the dispensing date, the blacklist's verdict for that day), with what the
 * pharmacist adds: the counterfoil prescription's serial, the prescriber of a paper prescription.
 * The journal signs it as a `corrected-invoice` referencing the original.
 */

export interface CorrectionInput {
  /** The serial of the counterfoil prescription, when the original lacked it. */
  counterfoil?: string | undefined;
  /** The prescriber, when the original named none. */
  prescriber?: string | undefined;
}

export function correctedDraft(doc: InvoiceDocument, rules: RuleBook, blacklisted: boolean, input: CorrectionInput = {}): InvoiceDraft {
  let prescription = doc.prescription;
  if (input.counterfoil !== undefined)
    prescription = { ...(prescription ?? { reference: input.counterfoil }), counterfoil: input.counterfoil };
  if (input.prescriber !== undefined && prescription !== undefined && prescription.prescriber === undefined)
    prescription = { ...prescription, prescriber: input.prescriber };
  const priced: InvoiceDocument = prescription === undefined ? doc : { ...doc, prescription };
  const split = recomputeSplit(priced, rules, blacklisted);
  // The amount items' labels as the rule version gives them (src/billing/quote.ts does the same).
  const rule = rules.rulesFor(split.date);
  return draftFromSplit({
    split,
    basket: basketOf(priced),
    context: { ...doc.context, blacklisted },
    fund: doc.fund,
    beneficiary: doc.beneficiary,
    ...(prescription !== undefined ? { prescription } : {}),
    details: doc.lines.map((l) => ({
      ...(l.label !== undefined ? { label: l.label } : {}),
      ...(l.durationDays !== undefined ? { durationDays: l.durationDays } : {}),
      ...(l.lot !== undefined ? { lot: l.lot } : {}),
      ...(l.expiry !== undefined ? { expiry: l.expiry } : {}),
      ...(l.serial !== undefined ? { serial: l.serial } : {}),
    })),
    itemLabels: Object.fromEntries(split.items.map((it, k) => [it.id, rule.amountItems[k]!.label.fr])),
  });
}
