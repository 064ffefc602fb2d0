import type Database from 'better-sqlite3';
import { addDays, type IsoDate } from '../../common/calendar-date';
import { maskId } from '../../common/log';
import type { Product } from '../../billing/catalogue/product';
import type { RuleBook } from '../../billing/rules/load';
import { dispensingFingerprint, type InvoiceDocument } from '../../sync/invoice';
import { parseCompact } from '../../sync/jws';
import { REJECT_REASONS } from '../../sync/protocol';
import { compareSplit, recomputeSplit } from '../../sync/split-check';

/**
 * The audit of the open batch before it is closed: which of its invoices the fund will reject,
 * and why, so that the pharmacist corrects them first (a corrected invoice in the same batch: the
 * fund rejects the original and accepts the correction). The fund's own checks, run here with the
 * counter's rules and blacklist (src/sync/split-check.ts is the fund's code): rules in force, rule
 * version, blacklist, the split to the centime, an earlier invoice of the same dispensing. Then
 * three warnings the fund does not reject for, which public pharmacy software for this system
 * also raises before a deposit (docs/field-notes.md): a dispensing date after the day the invoice
 * was signed, more than 4 boxes of a product per 30 days of treatment without a prior approval,
 * and a product of a controlled table without its counterfoil prescription's serial.
 */

export type AuditCode =
  | 'NO_RULES_IN_FORCE'
  | 'RULE_VERSION_MISMATCH'
  | 'BLACKLISTED_CARD'
  | 'SPLIT_MISMATCH'
  | 'DUPLICATE_INVOICE'
  | 'DATE_AFTER_ISSUE'
  | 'QUANTITY_OVER_30_DAYS'
  | 'COUNTERFOIL_MISSING';

export interface AuditFinding {
  number: number;
  kind: string;
  date: IsoDate;
  cardSerial: string;
  fund: number;
  code: AuditCode;
  /** `reject`: the fund will reject the invoice; `warning`: worth a look, not a rejection. */
  severity: 'reject' | 'warning';
  message: string;
  /** A corrected invoice can fix it (POST /api/backoffice/invoices/:number/correct). */
  correctable: boolean;
  /** The corrected invoice already issued for it. */
  correctedBy: number | null;
}

export interface AuditReport {
  batch: { id: number; from: number; to: number; count: number; openedAt: string } | null;
  checked: number;
  findings: AuditFinding[];
  /** Fund shares the fund would not pay: invoices it would reject, not yet corrected. */
  atRisk: number;
}

/** More boxes than this per 30 days of treatment is flagged (a vendor's rule, not the fund's). */
export const BOXES_PER_30_DAYS = 4;

const CORRECTABLE: ReadonlySet<AuditCode> = new Set(['RULE_VERSION_MISMATCH', 'BLACKLISTED_CARD', 'SPLIT_MISMATCH', 'COUNTERFOIL_MISSING']);

export interface AuditDeps {
  db: Database.Database;
  rules: RuleBook;
  blacklistedOn(cardSerial: string, date: IsoDate): boolean;
  product(code: string): Product | undefined;
}

export function auditOpenBatch(deps: AuditDeps): AuditReport {
  const { db } = deps;
  const open = db.prepare("SELECT id, first_number, last_number, count, opened_at FROM batches WHERE state = 'open'").get() as
    { id: number; first_number: number; last_number: number; count: number; opened_at: string } | undefined;
  if (!open) return { batch: null, checked: 0, findings: [], atRisk: 0 };
  const rows = db
    .prepare(
      `SELECT i.number, i.jws, (SELECT c.number FROM invoices c WHERE c.ref_number = i.number AND c.kind = 'corrected-invoice' ORDER BY c.number LIMIT 1) AS corrected_by
         FROM invoices i WHERE i.number BETWEEN ? AND ? AND i.kind <> 'credit-note' ORDER BY i.number`,
    )
    .all(open.first_number, open.last_number) as { number: number; jws: string; corrected_by: number | null }[];
  // Earlier invoices of the same card and day the fund will hold as accepted (not rejected, not
  // replaced by a correction): a dispensing identical to one of them is a duplicate.
  const sameDay = db.prepare(
    `SELECT i.number, i.jws FROM invoices i LEFT JOIN acks a ON a.invoice_number = i.number
      WHERE i.card_serial = ? AND i.date = ? AND i.number < ? AND i.kind <> 'credit-note' AND (a.status IS NULL OR a.status = 'accepted')
        AND NOT EXISTS (SELECT 1 FROM invoices c WHERE c.ref_number = i.number AND c.kind = 'corrected-invoice')`,
  );
  const findings: AuditFinding[] = [];
  let atRisk = 0;
  for (const r of rows) {
    const doc = parseCompact(r.jws).payload as InvoiceDocument;
    const add = (code: AuditCode, severity: AuditFinding['severity'], message: string) => {
      findings.push({
        number: doc.number,
        kind: doc.kind,
        date: doc.date,
        cardSerial: maskId(doc.beneficiary.cardSerial),
        fund: doc.totals.fund,
        code,
        severity,
        message,
        correctable: r.corrected_by === null && CORRECTABLE.has(code),
        correctedBy: r.corrected_by,
      });
      if (severity === 'reject' && r.corrected_by === null) atRisk += doc.totals.fund;
    };
    const rejection = fundCheck(doc, deps, sameDay);
    if (rejection) add(rejection.code, 'reject', rejection.message);
    for (const w of warnings(doc, deps)) add(w.code, 'warning', w.message);
  }
  return {
    batch: { id: open.id, from: open.first_number, to: open.last_number, count: open.count, openedAt: open.opened_at },
    checked: rows.length,
    findings,
    atRisk,
  };
}

/** The fund's checks, in the fund's order (src/fund/checks.ts); the first that fails. */
function fundCheck(doc: InvoiceDocument, deps: AuditDeps, sameDay: Database.Statement): { code: AuditCode; message: string } | null {
  const reason = (code: AuditCode & keyof typeof REJECT_REASONS, detail: string) => ({
    code,
    message: `${REJECT_REASONS[code]}: ${detail}`,
  });
  const rule = deps.rules.find(doc.date);
  if (!rule) return reason('NO_RULES_IN_FORCE', `dispensing date ${doc.date}`);
  if (rule.version !== doc.ruleVersion)
    return reason('RULE_VERSION_MISMATCH', `the invoice names ${doc.ruleVersion}, ${rule.version} is in force on ${doc.date}`);
  const blacklisted = deps.blacklistedOn(doc.beneficiary.cardSerial, doc.date);
  let diff: string | null;
  try {
    diff = compareSplit(doc, recomputeSplit(doc, deps.rules, blacklisted));
  } catch (err) {
    return reason('SPLIT_MISMATCH', `the split cannot be recomputed: ${(err as Error).message}`);
  }
  if (blacklisted && doc.totals.fund > 0) return reason('BLACKLISTED_CARD', `card ${maskId(doc.beneficiary.cardSerial)}`);
  if (diff !== null) return reason('SPLIT_MISMATCH', diff);
  const fp = dispensingFingerprint(doc);
  for (const e of sameDay.all(doc.beneficiary.cardSerial, doc.date, doc.number) as { number: number; jws: string }[]) {
    if (dispensingFingerprint(parseCompact(e.jws).payload as InvoiceDocument) === fp)
      return reason('DUPLICATE_INVOICE', `the same dispensing as invoice ${e.number}`);
  }
  return null;
}

function warnings(doc: InvoiceDocument, deps: AuditDeps): { code: AuditCode; message: string }[] {
  const out: { code: AuditCode; message: string }[] = [];
  // The counter's calendar day may be one ahead of the UTC day the journal writes in issuedAt.
  const signedDay = doc.issuedAt.slice(0, 10);
  if (doc.date > addDays(signedDay, 1))
    out.push({ code: 'DATE_AFTER_ISSUE', message: `dispensed on ${doc.date}, after the invoice was signed (${signedDay})` });
  doc.lines.forEach((l, i) => {
    const days = l.durationDays ?? 30;
    if (l.approval === undefined && days > 0 && l.quantity * 30 > BOXES_PER_30_DAYS * days)
      out.push({
        code: 'QUANTITY_OVER_30_DAYS',
        message: `lines[${i}] ${l.code}: ${l.quantity} boxes for ${days} days of treatment, more than ${BOXES_PER_30_DAYS} per 30 days, without a prior approval`,
      });
  });
  if (doc.prescription?.counterfoil === undefined) {
    const p = doc.lines.map((l) => deps.product(l.code)).find((x) => x?.controlled !== undefined);
    if (p)
      out.push({
        code: 'COUNTERFOIL_MISSING',
        message: `${p.brand} (${p.dci}) is in controlled table ${p.controlled}: no counterfoil serial`,
      });
  }
  return out;
}
