// @ts-check
/**
 * Statistics over a date range, per day, week, month or year: sales (the fund's share and the
 * patients', stacked), the fund against the patients over the range, per patient category,
 * third-party payment refused by reason, the DCIs that sell most; the products in a table. Each
 * table is exportable as CSV; the page prints with its charts.
 */
import { api, errorText } from '../api.js';
import { $, $input, $select, clear, fact, h } from '../dom.js';
import { date, money, t, textOf, tn } from '../i18n.js';
import { barChart, COLORS, doughnutChart } from './charts.js';
import { downloadCsv } from './export.js';
import { notify } from './notice.js';

/** @typedef {import('./types.js').Statistics} Statistics */

/** @type {Statistics | null} */
let data = null;

/** Defaults: the month up to the counter's day. @param {string} today */
export function setToday(today) {
  if (!$input('stats-from').value) $input('stats-from').value = `${today.slice(0, 8)}01`;
  if (!$input('stats-to').value) $input('stats-to').value = today;
}

function query() {
  const p = new URLSearchParams({ from: $input('stats-from').value, to: $input('stats-to').value, period: $select('stats-period').value });
  return p.toString();
}

export async function load() {
  if (!$input('stats-from').value || !$input('stats-to').value) return;
  try {
    data = /** @type {Statistics} */ (await api('GET', `/backoffice/stats?${query()}`));
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  render();
}

/** @param {string} period @param {Statistics['period']} kind */
function periodLabel(period, kind) {
  if (kind === 'day') return date(period);
  if (kind === 'week') return t('bo.weekOf', { date: date(period) });
  if (kind === 'month') return date(`${period}-01`, 'long').replace(/^1 /, '');
  return period;
}

export function render() {
  const s = data;
  if (!s) return;
  const totals = clear($('stats-totals'));
  fact(totals, t('bo.stats.invoices'), tn('invoices.count', s.totals.invoices));
  fact(totals, t('totals.total'), money(s.totals.total));
  fact(totals, t('totals.fund'), money(s.totals.fund), 'fund');
  fact(totals, t('bo.stats.patientShare'), money(s.totals.patient));
  fact(totals, t('bo.stats.credits'), String(s.totals.credits));

  barChart('chart-series', {
    labels: s.series.map((p) => periodLabel(p.period, s.period)),
    series: [
      { label: t('col.fund'), values: s.series.map((p) => p.fund), color: COLORS.fund },
      { label: t('col.patient'), values: s.series.map((p) => p.patient), color: COLORS.patient },
    ],
    stacked: true,
  });
  doughnutChart('chart-shares', {
    labels: [t('totals.fund'), t('bo.stats.patientShare')],
    centimes: [s.totals.fund, s.totals.patient],
    colors: [COLORS.fund, COLORS.patient],
  });
  barChart('chart-categories', {
    labels: s.categories.map((c) => textOf('category', c.category)),
    series: [
      { label: t('col.fund'), values: s.categories.map((c) => c.fund), color: COLORS.fund },
      { label: t('col.patient'), values: s.categories.map((c) => c.patient), color: COLORS.patient },
    ],
    stacked: true,
  });
  barChart('chart-refusals', {
    labels: s.refusals.map((r) => textOf('reason', r.reason)),
    series: [{ label: t('bo.stats.invoices'), values: s.refusals.map((r) => r.invoices), color: COLORS.palette[4] ?? COLORS.patient }],
    counts: true,
  });
  const top = s.dcis.slice(0, 10);
  barChart('chart-dcis', {
    labels: top.map((d) => d.dci),
    series: [{ label: t('col.total'), values: top.map((d) => d.total), color: COLORS.palette[1] ?? COLORS.fund }],
    horizontal: true,
  });

  const body = clear(/** @type {HTMLTableElement} */ ($('products-table')).tBodies[0] ?? $('products-table'));
  for (const p of s.products)
    body.append(
      h(
        'tr',
        { 'data-code': p.code },
        h('td', null, h('bdi', null, p.brand ?? p.code), h('div', { class: 'sub' }, h('bdi', null, p.code))),
        h('td', null, h('bdi', null, p.dci ?? '—')),
        h('td', { class: 'num' }, String(p.quantity)),
        h('td', { class: 'num money' }, money(p.total)),
        h('td', { class: 'num money fund' }, money(p.fund)),
        h('td', { class: 'num money' }, money(p.patient)),
      ),
    );
}

export function wire() {
  $('stats-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  for (const b of document.querySelectorAll('[data-stats-csv]'))
    b.addEventListener('click', () => {
      const table = b.getAttribute('data-stats-csv') ?? 'series';
      void downloadCsv(`/backoffice/stats?${query()}&table=${table}`).catch((e) => notify('error', () => errorText(e)));
    });
}
