import { InvalidInputError } from '../../common/errors';
import type { Product } from '../../billing/catalogue/product';
import type { InvoiceDraft } from '../../sync/invoice';
import type { RegisterLine } from '../../sync/journal/journal';
import type { CardRead } from './card-data';

/**
 * Products of a controlled table at the counter (executive decree 19-379, as amended by 21-196):
 * such a product is dispensed only on a counterfoil prescription, whose serial number the
 * pharmacist types in; the serial goes on the signed invoice (`prescription.counterfoil`) and,
 * with what the card and the catalogue say, into the psychotropics register
 * (src/sync/journal/register.ts), in the transaction that appends the invoice.
 */

/** The basket's lines whose product the catalogue lists in a controlled table, by line index. */
export function controlledLines(codes: readonly string[], lookup: (code: string) => Product | undefined): Map<number, Product> {
  const out = new Map<number, Product>();
  codes.forEach((code, i) => {
    const p = lookup(code);
    if (p?.controlled !== undefined) out.set(i, p);
  });
  return out;
}

/**
 * Refuses a basket with a controlled product and no counterfoil serial (400 naming `counterfoil`),
 * before anything is signed; and a serial with no controlled product: the register's entries are
 * written exactly for the invoices that carry one, which is how `journal verify` sees an entry
 * deleted (src/sync/journal/register.ts).
 */
export function requireCounterfoil(controlled: ReadonlyMap<number, Product>, counterfoil: string | undefined): void {
  if (controlled.size === 0 && counterfoil !== undefined)
    throw new InvalidInputError(
      [{ field: 'counterfoil', message: 'no product of a controlled table in the basket: leave the counterfoil serial out' }],
      'checkout request',
    );
  if (controlled.size === 0 || counterfoil !== undefined) return;
  const p = [...controlled.values()][0]!;
  throw new InvalidInputError(
    [
      {
        field: 'counterfoil',
        message: `required: ${p.brand} (${p.dci}) is in controlled table ${p.controlled}; enter the serial number of the counterfoil prescription`,
      },
    ],
    'checkout request',
  );
}

/** The register entries of a checkout's controlled lines. */
export function registerLines(
  draft: InvoiceDraft,
  controlled: ReadonlyMap<number, Product>,
  read: CardRead,
  paper: { counterfoil: string; prescriber?: string | undefined },
): RegisterLine[] {
  const rank = draft.beneficiary.rank;
  const b = read.beneficiaries.find((x) => x.rank === rank);
  const rx = draft.prescription ? read.prescriptions.find((p) => p.reference === draft.prescription!.reference) : undefined;
  const out: RegisterLine[] = [];
  for (const [i, p] of controlled) {
    const l = draft.lines[i]!;
    out.push({
      line: i,
      counterfoil: paper.counterfoil,
      code: p.code,
      brand: p.brand,
      dci: p.dci,
      strength: p.strength,
      form: p.form,
      controlledTable: p.controlled!,
      quantity: l.quantity,
      lot: l.lot,
      insuredName: `${read.holder.lastName} ${read.holder.firstName}`,
      beneficiaryName: b ? `${b.lastName} ${b.firstName}` : undefined,
      prescriber: rx?.prescriberId ?? paper.prescriber,
      speciality: rx?.speciality,
      prescriptionRef: draft.prescription?.reference,
      prescriptionDate: rx?.date ?? draft.prescription?.date,
    });
  }
  return out;
}
