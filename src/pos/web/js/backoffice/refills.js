// @ts-check
/**
 * The refill forecast: chronic patients whose last supply of a product runs out in the next N
 * days, from this pharmacy's own invoices; a patient's consumption history by DCI next to it.
 */
import { api, errorText } from '../api.js';
import { $, $input, clear, h } from '../dom.js';
import { date, t, tn } from '../i18n.js';
import { downloadCsv } from './export.js';
import { notify } from './notice.js';

/** @typedef {import('./types.js').Refill} Refill */
/** @typedef {import('./types.js').DciConsumption} DciConsumption */

/** @type {{ today: string, days: number, refills: Refill[] } | null} */
let data = null;
/** @type {{ cardSerial: string, rank: number, dcis: DciConsumption[] } | null} */
let history = null;

function days() {
  const n = Math.trunc(Number($input('refills-days').value));
  return n >= 1 && n <= 90 ? n : 7;
}

export async function load() {
  try {
    data = /** @type {typeof data} */ (await api('GET', `/backoffice/refills?days=${days()}`));
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  render();
}

/** @param {string} card @param {number} rank */
async function openHistory(card, rank) {
  try {
    history = /** @type {typeof history} */ (await api('GET', `/backoffice/patients/${encodeURIComponent(card)}/${rank}/history`));
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  renderHistory();
}

function renderHistory() {
  $('history-panel').hidden = !history;
  if (!history) return;
  $('history-title').textContent = t('bo.history.title', { card: history.cardSerial, rank: history.rank });
  const body = clear($('history-body'));
  for (const d of history.dcis) {
    body.append(
      h(
        'section',
        { class: 'dci-history', 'data-dci': d.dci },
        h('h3', null, h('bdi', null, d.dci)),
        h(
          'p',
          { class: 'hint' },
          t('bo.history.summary', { quantity: d.quantity, days: tn('days.count', d.days), first: date(d.first), last: date(d.last) }),
        ),
        h(
          'table',
          { class: 'grid' },
          h(
            'tbody',
            null,
            d.lines.map((l) =>
              h(
                'tr',
                { class: l.cancelled ? 'cancelled' : null },
                h('td', { class: 'nowrap' }, date(l.day)),
                h('td', null, h('bdi', null, l.brand ?? l.code)),
                h('td', { class: 'num' }, `× ${l.quantity}`),
                h('td', null, tn('days.count', l.durationDays)),
                h('td', { class: 'nowrap' }, t('bo.history.until', { date: date(l.runsOut) })),
                h('td', { class: 'num' }, t('invoice.number', { n: l.invoice })),
              ),
            ),
          ),
        ),
      ),
    );
  }
}

export function render() {
  const body = clear(/** @type {HTMLTableElement} */ ($('refills-table')).tBodies[0] ?? $('refills-table'));
  if (data) {
    $('refills-title').textContent = t('bo.refills.title', { days: tn('days.count', data.days), date: date(data.today) });
    $('refills-empty').hidden = data.refills.length > 0;
    for (const r of data.refills)
      body.append(
        h(
          'tr',
          { 'data-card': r.cardSerial, 'data-code': r.code },
          h('td', { class: 'nowrap' }, h('bdi', null, r.cardSerial)),
          h('td', { class: 'num' }, String(r.rank)),
          h('td', null, h('bdi', null, r.brand ?? r.code), h('div', { class: 'sub' }, h('bdi', null, r.dci ?? ''))),
          h(
            'td',
            { class: 'nowrap' },
            t('bo.refills.last', { date: date(r.lastDay), quantity: r.quantity, days: tn('days.count', r.durationDays) }),
          ),
          h('td', { class: 'nowrap' }, date(r.runsOut)),
          h('td', { class: `num${r.daysLeft <= 2 ? ' soon' : ''}` }, String(r.daysLeft)),
          h(
            'td',
            null,
            h(
              'button',
              { type: 'button', class: 'small ghost', onclick: () => void openHistory(r.cardSerial, r.rank) },
              t('bo.history.open'),
            ),
          ),
        ),
      );
  }
  renderHistory();
}

export function wire() {
  $('refills-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  $('refills-csv').addEventListener(
    'click',
    () => void downloadCsv(`/backoffice/refills?days=${days()}`).catch((e) => notify('error', () => errorText(e))),
  );
  $('history-csv').addEventListener('click', () => {
    if (history)
      void downloadCsv(`/backoffice/patients/${encodeURIComponent(history.cardSerial)}/${history.rank}/history`).catch((e) =>
        notify('error', () => errorText(e)),
      );
  });
}
