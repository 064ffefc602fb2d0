// @ts-check
/**
 * Charts drawn in the page with Chart.js (MIT, canvas), which the counter serves itself at
 * /assets/chart.umd.min.js (src/pos/http/shared-assets.ts): a classic script that defines the
 * global `Chart`, loaded before the modules. Amounts stay integer centimes in the data we keep;
 * the chart gets dinars only to place its bars, and every label and tooltip is formatted from the
 * centimes by the shared formatter. In Arabic the charts are mirrored (legend, tooltips and the
 * time axis run right to left). No animation: a chart is drawn at once, the same every time.
 */
import { lang, money } from '../i18n.js';

/** @typedef {import('chart.js').Chart} ChartInstance */
/** @typedef {import('chart.js').ChartConfiguration} ChartConfiguration */

/** @returns {typeof import('chart.js').Chart} */
function library() {
  const c = /** @type {{ Chart?: typeof import('chart.js').Chart }} */ (/** @type {unknown} */ (globalThis)).Chart;
  if (!c) throw new Error('Chart.js did not load (/assets/chart.umd.min.js)');
  return c;
}

export const COLORS = {
  fund: '#0b7a5a',
  patient: '#d98a00',
  palette: ['#0b7a5a', '#2f6fb0', '#d98a00', '#8e44ad', '#b3261e', '#16a085', '#7f8c8d', '#c0392b', '#2c3e50', '#f39c12'],
};

/** @type {Map<string, ChartInstance>} */
const charts = new Map();

/**
 * Draws (or redraws) the chart on canvas `id`.
 * @param {string} id
 * @param {ChartConfiguration} config
 */
function draw(id, config) {
  const Chart = library();
  charts.get(id)?.destroy();
  const canvas = document.getElementById(id);
  if (!(canvas instanceof window.HTMLCanvasElement)) throw new Error(`#${id}: expected a canvas`);
  const family = window.getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.font.family = family;
  charts.set(id, new Chart(canvas, config));
}

/** @param {number} c centimes */
const dinars = (c) => c / 100;

/**
 * Bars per label, one series per dataset (stacked when asked); values in centimes, or counts
 * with `counts`.
 * @param {string} id
 * @param {{ labels: string[], series: { label: string, values: number[], color: string }[], stacked?: boolean, horizontal?: boolean, counts?: boolean }} spec
 */
export function barChart(id, spec) {
  const rtl = lang() === 'ar';
  const horizontal = spec.horizontal === true;
  const counts = spec.counts === true;
  const show = (/** @type {number} */ v) => (counts ? String(v) : money(v));
  /** @type {any} */
  const valueAxis = {
    stacked: spec.stacked === true,
    beginAtZero: true,
    reverse: rtl && horizontal,
    // In Arabic the amounts' axis stands on the right, where the reading starts.
    position: rtl && !horizontal ? 'right' : undefined,
    ticks: counts ? { precision: 0 } : { callback: (/** @type {number | string} */ v) => money(Math.round(Number(v) * 100)) },
  };
  /** @type {any} */
  const labelAxis = { stacked: spec.stacked === true, reverse: rtl && !horizontal, position: horizontal && rtl ? 'right' : undefined };
  draw(id, {
    type: 'bar',
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s) => ({ label: s.label, data: counts ? s.values : s.values.map(dinars), backgroundColor: s.color })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? 'y' : 'x',
      locale: lang(),
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      plugins: {
        legend: { display: spec.series.length > 1, rtl, textDirection: rtl ? 'rtl' : 'ltr' },
        tooltip: {
          rtl,
          textDirection: rtl ? 'rtl' : 'ltr',
          callbacks: { label: (ctx) => `${ctx.dataset.label ?? ''} : ${show(spec.series[ctx.datasetIndex]?.values[ctx.dataIndex] ?? 0)}` },
        },
      },
    },
  });
}

/**
 * Shares of a whole, values in centimes.
 * @param {string} id
 * @param {{ labels: string[], centimes: number[], colors: string[] }} spec
 */
export function doughnutChart(id, spec) {
  const rtl = lang() === 'ar';
  draw(id, {
    type: 'doughnut',
    data: { labels: spec.labels, datasets: [{ data: spec.centimes.map(dinars), backgroundColor: spec.colors }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: lang(),
      plugins: {
        legend: { position: 'bottom', rtl, textDirection: rtl ? 'rtl' : 'ltr' },
        tooltip: {
          rtl,
          textDirection: rtl ? 'rtl' : 'ltr',
          callbacks: { label: (ctx) => `${ctx.label} : ${money(spec.centimes[ctx.dataIndex] ?? 0)}` },
        },
      },
    },
  });
}

/** Whether every chart on the page has drawn something (for the tests and the print view). */
export function chartsDrawn() {
  return [...charts.values()].every((c) => c.canvas.width > 0 && c.canvas.height > 0);
}
