import type { RuleBook } from '../billing/rules/load';
import type { Split } from '../billing/split';
import type { InvoiceDocument } from '../sync/invoice';
import { maskId } from '../common/log';
import { REJECT_REASONS, type InvoiceResult, type RejectCode } from '../sync/protocol';
import { compareSplit, recomputeSplit } from '../sync/split-check';

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
    split = recomputeSplit(doc, ctx.rules, blacklisted);
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
