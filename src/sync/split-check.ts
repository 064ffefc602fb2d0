import type { RuleBook } from '../billing/rules/load';
import { computeSplit, type Basket, type Split } from '../billing/split';
import type { InvoiceDocument } from './invoice';

/**
 * An invoice's split recomputed from the inputs it carries, and compared to what it says: the
 * fund's check (src/fund/checks.ts) and the pharmacy's audit before it closes a batch
 * (src/pos/backoffice/audit.ts) are this one implementation, so the audit predicts exactly what
 * the fund will find.
 */

/** The split engine's basket, as the invoice carries it. */
export function basketOf(doc: InvoiceDocument): Basket {
  return {
    date: doc.date,
    lines: doc.lines.map((l) => ({
      code: l.code,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      referencePrice: l.referencePrice,
      reimbursable: l.reimbursable,
      priorApproval: l.priorApproval,
      ...(l.approval !== undefined ? { approval: l.approval } : {}),
      ...(l.durationDays !== undefined ? { durationDays: l.durationDays } : {}),
      ...(l.prescribed !== undefined ? { prescribed: l.prescribed } : {}),
      ...(l.replaces !== undefined ? { replaces: l.replaces } : {}),
    })),
    ...(doc.prescription !== undefined ? { prescription: doc.prescription.reference } : {}),
  };
}

/**
 * The split of `doc` with the rules in force on its date and the given blacklist verdict, its
 * card context as read at the counter. Throws what computeSplit throws (no rules in force, a
 * line the rules refuse).
 */
export function recomputeSplit(doc: InvoiceDocument, rules: RuleBook, blacklisted: boolean): Split {
  return computeSplit(basketOf(doc), rules, { ...doc.context, blacklisted });
}

/** The first field where the invoice and the recomputed split differ, or null. */
export function compareSplit(doc: InvoiceDocument, s: Split): string | null {
  // Lines first: a wrong line is the most useful thing to tell the pharmacist.
  if (doc.lines.length !== s.lines.length) return `lines: the invoice has ${doc.lines.length}, the fund computes ${s.lines.length}`;
  for (let i = 0; i < s.lines.length; i++) {
    const l = doc.lines[i]!;
    const r = s.lines[i]!;
    const lc: [string, unknown, unknown][] = [
      ['total', l.total, r.total],
      ['base', l.base, r.base],
      ['fund', l.fund, r.fund],
      ['patient', l.patient, r.patient],
      ['reason', l.reason, r.reason],
    ];
    for (const [f, a, b] of lc)
      if (a !== b) return `lines[${i}].${f}: the invoice says ${JSON.stringify(a)}, the fund computes ${JSON.stringify(b)}`;
  }
  // Amount items: the invoice lists the non-zero ones, in the rule version's order.
  const items = s.items.filter((it) => it.amount !== 0);
  const given = doc.items ?? [];
  if (given.length !== items.length)
    return `items: the invoice has ${given.length} non-zero amount items, the fund computes ${items.length} (${items.map((i) => i.id).join(', ') || 'none'})`;
  for (let k = 0; k < items.length; k++) {
    const a = given[k]!;
    const b = items[k]!;
    const ic: [string, unknown, unknown][] = [
      ['id', a.id, b.id],
      ['amount', a.amount, b.amount],
      ['fund', a.fund, b.fund],
      ['patient', a.patient, b.patient],
    ];
    for (const [f, x, y] of ic)
      if (x !== y) return `items[${k}].${f}: the invoice says ${JSON.stringify(x)}, the fund computes ${JSON.stringify(y)}`;
  }
  const cmp: [string, unknown, unknown][] = [
    ['category', doc.category, s.category],
    ['rateBp', doc.rateBp, s.rateBp],
    ['totals.total', doc.totals.total, s.total],
    ['totals.base', doc.totals.base, s.base],
    ['totals.fund', doc.totals.fund, s.fund],
    ['totals.patient', doc.totals.patient, s.patient],
    ['thirdPartyPayment', doc.thirdPartyPayment, s.thirdPartyPayment],
    ['reason', doc.reason, s.reason],
  ];
  for (const [f, a, b] of cmp) if (a !== b) return `${f}: the invoice says ${JSON.stringify(a)}, the fund computes ${JSON.stringify(b)}`;
  return null;
}
