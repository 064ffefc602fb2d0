import type { RuleBook } from '../billing/rules/load';
import { computeSplit, type Split } from '../billing/split';
import type { InvoiceDocument } from '../sync/invoice';
import { maskId } from '../common/log';
import { REJECT_REASONS, type InvoiceResult, type RejectCode } from '../sync/protocol';

/**
 * The fund's business checks on one invoice whose signature, chain link and shape are already
 * verified: recompute the split with the rules in force on the dispensing date and the fund's own
 * blacklist, compare to the centime, check references and duplicates. The outcome is per invoice
 * (accepted, or rejected with a reason code): a rejected invoice still counts in the chain.
 */

export interface CheckContext {
  rules: RuleBook;
  isBlacklisted(cardSerial: string, date: string): boolean;
  /** The stored (or earlier in this batch) invoice `number` of this pharmacy. */
  lookup(number: number): { hash: string; kind: string; status: 'accepted' | 'rejected'; total: number; fund: number } | undefined;
  /** Amounts already credited against `number` (accepted credit notes, stored or in this batch). */
  credited(number: number): { total: number; fund: number };
  /** Number of an accepted corrected invoice that already recycles `number`, if any. */
  correctedBy(number: number): number | undefined;
  /** True when an accepted invoice with this dispensing fingerprint exists. */
  isDuplicate(fingerprint: string): boolean;
}

type Outcome = Pick<InvoiceResult, 'status' | 'code' | 'reason'>;

const reject = (code: RejectCode, detail: string): Outcome => ({ status: 'rejected', code, reason: `${REJECT_REASONS[code]}: ${detail}` });
const ACCEPTED: Outcome = { status: 'accepted' };

export function assessInvoice(doc: InvoiceDocument, fingerprint: string, ctx: CheckContext): Outcome {
  const ref = doc.references;
  if (doc.kind === 'credit-note') {
    const orig = ref ? ctx.lookup(ref.number) : undefined;
    if (!ref || !orig || orig.hash !== ref.hash)
      return reject('INVALID_REFERENCE', `invoice ${ref?.number ?? '?'} is unknown or has another hash`);
    if (orig.kind === 'credit-note' || orig.status !== 'accepted')
      return reject('INVALID_REFERENCE', `invoice ${ref.number} is not an accepted invoice`);
    const done = ctx.credited(ref.number);
    if (done.total + doc.totals.total > orig.total || done.fund + doc.totals.fund > orig.fund) {
      return reject(
        'CREDIT_EXCEEDS_ORIGINAL',
        `invoice ${ref.number} totals ${orig.total} (fund ${orig.fund}); already credited ${done.total} (fund ${done.fund})`,
      );
    }
    return ACCEPTED;
  }
  if (doc.kind === 'corrected-invoice') {
    const orig = ref ? ctx.lookup(ref.number) : undefined;
    if (!ref || !orig || orig.hash !== ref.hash)
      return reject('INVALID_REFERENCE', `invoice ${ref?.number ?? '?'} is unknown or has another hash`);
    if (orig.status !== 'rejected')
      return reject('INVALID_REFERENCE', `invoice ${ref.number} was not rejected; cancel it with a credit note instead`);
    const by = ctx.correctedBy(ref.number);
    if (by !== undefined) return reject('INVALID_REFERENCE', `invoice ${ref.number} was already corrected by invoice ${by}`);
  }

  const rule = ctx.rules.find(doc.date);
  if (!rule) return reject('NO_RULES_IN_FORCE', `dispensing date ${doc.date}`);
  if (rule.version !== doc.ruleVersion)
    return reject('RULE_VERSION_MISMATCH', `the invoice names ${doc.ruleVersion}, ${rule.version} is in force on ${doc.date}`);

  const blacklisted = ctx.isBlacklisted(doc.beneficiary.cardSerial, doc.date);
  let split: Split;
  try {
    split = computeSplit(
      {
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
      },
      ctx.rules,
      { ...doc.context, blacklisted },
    );
  } catch (err) {
    return reject('SPLIT_MISMATCH', `the split cannot be recomputed: ${(err as Error).message}`);
  }
  if (blacklisted && doc.totals.fund > 0) return reject('BLACKLISTED_CARD', `card ${maskId(doc.beneficiary.cardSerial)}`);

  const diff = compareSplit(doc, split);
  if (diff !== null) return reject('SPLIT_MISMATCH', `${diff} (rules ${split.ruleVersion})`);
  if (ctx.isDuplicate(fingerprint))
    return reject('DUPLICATE_INVOICE', `same beneficiary, date, prescription and lines as an accepted invoice`);
  return ACCEPTED;
}

/** The first field where the invoice and the recomputed split differ, or null. */
function compareSplit(doc: InvoiceDocument, s: Split): string | null {
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
