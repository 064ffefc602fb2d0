import type { Product } from '../../billing/catalogue/product';
import type { IsoDate } from '../../common/calendar-date';
import { draftFromSplit, type InvoiceDraft } from '../../sync/invoice';
import type { RegisterLine } from '../../sync/journal/journal';
import type { CardRead } from './card-data';
import { controlledLines, registerLines, requireCounterfoil } from './controlled';
import type { CounterQuote } from './pricing';
import type { CheckoutRequest } from './request';

/**
 * The invoice a checkout signs, built from the basket as priced (the quote the pharmacist
 * validated) and what the PIN opened, with the register entries of its controlled products —
 * both committed in the journal's transaction. Nothing here touches a card or the journal.
 */
export function checkoutDraft(
  request: CheckoutRequest,
  priced: CounterQuote,
  read: CardRead,
  lookup: (code: string) => Product | undefined,
): { draft: InvoiceDraft; register: RegisterLine[] } {
  const q = priced.quote;
  // A product of a controlled table needs its counterfoil prescription's serial (controlled.ts).
  const controlled = controlledLines(
    request.lines.map((l) => l.code),
    lookup,
  );
  requireCounterfoil(controlled, request.counterfoil);
  const prescription = prescriptionFor(read, request);
  const draft = draftFromSplit({
    split: q,
    basket: priced.basket,
    context: priced.context,
    fund: read.rights.fund,
    beneficiary: { cardSerial: read.holder.cardSerial, rank: priced.beneficiary.rank, insuredId: read.holder.ssn },
    ...(prescription !== undefined ? { prescription } : {}),
    details: request.lines.map((l, i) => ({
      label: q.lines[i]!.description ?? l.code,
      durationDays: l.durationDays!,
      ...(l.lot !== undefined ? { lot: l.lot } : {}),
      ...(l.expiry !== undefined ? { expiry: l.expiry } : {}),
      ...(l.serial !== undefined ? { serial: l.serial } : {}),
    })),
    itemLabels: Object.fromEntries(q.items.map((it) => [it.id, it.label.fr])),
  });
  const register =
    request.counterfoil !== undefined
      ? registerLines(draft, controlled, read, { counterfoil: request.counterfoil, prescriber: request.prescriber })
      : [];
  return { draft, register };
}

function prescriptionOf(read: CardRead, reference: string): { reference: string; date?: IsoDate; prescriber?: string } {
  const p = read.prescriptions.find((x) => x.reference === reference);
  if (!p) return { reference };
  return { reference, date: p.date, prescriber: `${p.prescriberId} (${p.speciality})` };
}

/**
 * The invoice's prescription: the card's e-prescription named, or a paper one; a counterfoil
 * prescription without another reference is referenced by its serial.
 */
function prescriptionFor(read: CardRead, request: CheckoutRequest): InvoiceDraft['prescription'] {
  const reference = request.prescription ?? request.counterfoil;
  if (reference === undefined) return undefined;
  const p = prescriptionOf(read, reference);
  return {
    ...p,
    ...(p.prescriber === undefined && request.prescriber !== undefined ? { prescriber: request.prescriber } : {}),
    ...(request.counterfoil !== undefined ? { counterfoil: request.counterfoil } : {}),
  };
}
