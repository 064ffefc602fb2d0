import { formatDa, formatRate } from './money';
import type { Quote } from './quote';
import { REASONS } from './split';
import { renderTable } from '../common/text-table';

/** The readable form of a quote that `chifa quote` prints without `--json`. */
export function formatQuote(q: Quote): string {
  const rows = q.lines.map((l) => [
    String(l.index + 1),
    l.code ?? '-',
    described(l.description ?? '(priced by the request)', l.prescribedCode),
    String(l.quantity),
    formatDa(l.unitPrice),
    l.tariff === null ? '-' : formatDa(l.tariff),
    formatDa(l.total),
    formatDa(l.base),
    formatDa(l.fund),
    formatDa(l.patient),
    l.reason ?? '',
  ]);
  for (const it of q.items) {
    if (it.amount === 0) continue;
    const how = it.rateBp !== null ? `${formatRate(it.rateBp)} of ${it.base}` : 'per invoice';
    rows.push([
      '',
      it.id,
      truncate(`${it.label.fr} (${how})`, 44),
      '',
      '',
      '',
      formatDa(it.amount),
      '',
      formatDa(it.fund),
      formatDa(it.patient),
      '',
    ]);
  }
  rows.push(['', 'Total', '', '', '', '', formatDa(q.total), formatDa(q.base), formatDa(q.fund), formatDa(q.patient), '']);
  const table = renderTable(
    ['#', 'Code', 'Product', 'Qty', 'Unit price', 'Ref. tariff', 'Total', 'Base', 'Fund', 'Patient', 'Reason'],
    rows,
    ['r', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
  const threshold = q.thresholdApplies ? `threshold ${formatDa(q.thresholdCentimes)}` : 'no threshold for this category';
  const head = `Quote for ${q.date}: category ${q.category} — ${q.categoryLabel.fr} (${formatRate(q.rateBp)}), rules ${q.ruleVersion}, ${threshold}\n\n`;
  const why = q.reason !== null ? `${q.reason}: ${REASONS[q.reason]}${q.detail !== null ? ` (${q.detail})` : ''}` : '';
  const verdict = q.thirdPartyPayment
    ? `Third-party payment: yes. The fund pays ${formatDa(q.fund)}; the patient pays ${formatDa(q.patient)}.\n`
    : `Third-party payment: no (${why}). The patient pays ${formatDa(q.patient)}.\n`;
  // Each line refusal once per reason, with the numbers of every line a limit refused.
  const explained = new Set<string>();
  let reasons = '';
  for (const l of q.lines) {
    if (l.reason === null || l.reason === q.reason) continue;
    if (!explained.has(l.reason)) {
      explained.add(l.reason);
      reasons += `  ${l.reason}: ${REASONS[l.reason]}\n`;
    }
    if (l.detail !== null) reasons += `    line ${l.index + 1}: ${l.detail}\n`;
  }
  return head + table + '\n' + verdict + reasons;
}

/** A substituted line says for which product, whatever the description's length. */
function described(description: string, prescribedCode: string | null): string {
  if (prescribedCode === null) return truncate(description, 44);
  const suffix = ` (for ${prescribedCode})`;
  return truncate(description, Math.max(8, 44 - [...suffix].length)) + suffix;
}

function truncate(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}
