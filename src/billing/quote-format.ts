import { formatDa, formatRate } from './money';
import type { Quote } from './quote';
import { REASONS } from './split';
import { renderTable } from '../common/text-table';

/** The readable form of a quote that `chifa quote` prints without `--json`. */
export function formatQuote(q: Quote): string {
  const rows = q.lines.map((l) => [
    String(l.index + 1),
    l.code ?? '-',
    truncate(l.description ?? '(priced by the request)', 44),
    String(l.quantity),
    formatDa(l.unitPrice),
    l.referencePrice === null ? '-' : formatDa(l.referencePrice),
    formatDa(l.total),
    formatDa(l.base),
    formatDa(l.fund),
    formatDa(l.patient),
    l.reason ?? '',
  ]);
  rows.push(['', 'Total', '', '', '', '', formatDa(q.total), formatDa(q.base), formatDa(q.fund), formatDa(q.patient), '']);
  const table = renderTable(
    ['#', 'Code', 'Product', 'Qty', 'Unit price', 'Ref. tariff', 'Total', 'Base', 'Fund', 'Patient', 'Reason'],
    rows,
    ['r', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
  const threshold = q.thresholdApplies ? `threshold ${formatDa(q.thresholdCentimes)}` : 'no threshold for this category';
  const head = `Quote for ${q.date}: category ${q.category} (${formatRate(q.rateBp)}), rules ${q.ruleVersion}, ${threshold}\n\n`;
  const verdict = q.thirdPartyPayment
    ? `Third-party payment: yes. The fund pays ${formatDa(q.fund)}; the patient pays ${formatDa(q.patient)}.\n`
    : `Third-party payment: no (${q.reason}: ${REASONS[q.reason!]}). The patient pays ${formatDa(q.patient)}.\n`;
  const reasons = [...new Set(q.lines.map((l) => l.reason).filter((r) => r !== null))]
    .filter((r) => r !== q.reason)
    .map((r) => `  ${r}: ${REASONS[r!]}\n`)
    .join('');
  return head + table + '\n' + verdict + reasons;
}

function truncate(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}
