// @ts-check
/**
 * The psychotropics register of a period, as the law has it kept (executive decree 19-379,
 * amended by 21-196): each dispensing of a product of a controlled table with its counterfoil
 * prescription's serial, the patient, the prescriber, the product, the quantity and the lot; an
 * entry whose invoice was cancelled stays, marked. Printable per period, exportable as CSV.
 */
import { api, errorText } from '../api.js';
import { $, $input, clear, h } from '../dom.js';
import { date, t } from '../i18n.js';
import { downloadCsv } from './export.js';
import { notify } from './notice.js';

/** @typedef {import('./types.js').RegisterEntry} RegisterEntry */

/** @type {{ entries: RegisterEntry[], truncated: boolean } | null} */
let data = null;

/** Defaults: the month up to the counter's day. @param {string} today */
export function setToday(today) {
  if (!$input('register-from').value) $input('register-from').value = `${today.slice(0, 8)}01`;
  if (!$input('register-to').value) $input('register-to').value = today;
}

function query() {
  return new URLSearchParams({ from: $input('register-from').value, to: $input('register-to').value }).toString();
}

export async function load() {
  if (!$input('register-from').value || !$input('register-to').value) return;
  try {
    data = /** @type {typeof data} */ (await api('GET', `/backoffice/register?${query()}`));
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  render();
}

export function render() {
  $('register-title').textContent = t('bo.register.title', {
    from: date($input('register-from').value),
    to: date($input('register-to').value),
  });
  const body = clear(/** @type {HTMLTableElement} */ ($('register-table')).tBodies[0] ?? $('register-table'));
  if (!data) return;
  $('register-empty').hidden = data.entries.length > 0;
  for (const e of data.entries) {
    const patient = e.beneficiaryName ?? e.insuredName ?? '—';
    body.append(
      h(
        'tr',
        { 'data-invoice': e.invoice, class: e.cancelledBy !== null ? 'cancelled' : null },
        h('td', { class: 'num' }, String(e.seq)),
        h('td', { class: 'nowrap' }, date(e.day)),
        h(
          'td',
          { class: 'num' },
          String(e.invoice),
          e.cancelledBy !== null ? h('div', { class: 'sub' }, t('bo.register.cancelled', { n: e.cancelledBy })) : null,
        ),
        h('td', { class: 'counterfoil' }, h('bdi', null, e.counterfoil)),
        h(
          'td',
          null,
          h('bdi', null, patient),
          h('div', { class: 'sub' }, t('bo.register.insured', { name: e.insuredName ?? '—', id: e.insuredId ?? '—', rank: e.rank })),
        ),
        h('td', null, h('bdi', null, e.prescriber ?? '—'), e.speciality ? h('div', { class: 'sub' }, h('bdi', null, e.speciality)) : null),
        h(
          'td',
          null,
          h('bdi', null, `${e.brand} ${e.strength}`),
          h('div', { class: 'sub' }, h('bdi', null, `${e.dci} — ${e.form} · ${e.code}`)),
        ),
        h('td', null, h('bdi', null, e.table)),
        h('td', { class: 'num' }, String(e.quantity)),
        h('td', null, h('bdi', null, e.lot ?? '—')),
      ),
    );
  }
  if (data.truncated) notify('warn', () => t('bo.register.truncated'));
}

export function wire() {
  $('register-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  $('register-csv').addEventListener(
    'click',
    () => void downloadCsv(`/backoffice/register?${query()}`).catch((e) => notify('error', () => errorText(e))),
  );
}
