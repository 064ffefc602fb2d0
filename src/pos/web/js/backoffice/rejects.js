// @ts-check
/**
 * Rejects: every invoice the fund rejected, with its reason code and text, and its recycling —
 * to correct, corrected (not yet sent), sent, accepted, or rejected again. A correction is signed
 * here on the professional card; "Recycle" closes the open batch and sends it.
 */
import { api, errorText } from '../api.js';
import { $, $input, clear, h } from '../dom.js';
import { date, money, t, textOf, tn } from '../i18n.js';
import { codeText } from './bordereaux.js';
import { downloadCsv } from './export.js';
import { notify } from './notice.js';
import { correctInvoice, recycle } from './recycling.js';

/** @typedef {import('./types.js').RejectRow} RejectRow */

/** @type {{ rejects: RejectRow[], counts: { rejected: number, toCorrect: number, fundToCorrect: number } } | null} */
let data = null;

const STATE_KIND = { 'to-correct': 'bad', corrected: 'warn', sent: 'warn', accepted: 'ok', 'rejected-again': 'bad' };

function path() {
  return `/backoffice/rejects${$input('rejects-pending').checked ? '?pending=1' : ''}`;
}

export async function load() {
  try {
    data = /** @type {typeof data} */ (await api('GET', path()));
  } catch (e) {
    notify('error', () => errorText(e));
  }
  render();
}

export function render() {
  const body = clear(/** @type {HTMLTableElement} */ ($('rejects-table')).tBodies[0] ?? $('rejects-table'));
  if (!data) return;
  const c = data.counts;
  $('rejects-summary').textContent = t('bo.rejects.summary', {
    rejected: tn('invoices.count', c.rejected),
    toCorrect: tn('invoices.count', c.toCorrect),
    amount: money(c.fundToCorrect),
  });
  for (const r of data.rejects) {
    body.append(
      h(
        'tr',
        { 'data-invoice': r.number, 'data-state': r.state },
        h('td', { class: 'num' }, String(r.number)),
        h('td', { class: 'num' }, String(r.batchId)),
        h('td', { class: 'nowrap' }, date(r.date)),
        h('td', { class: 'nowrap' }, h('bdi', null, r.cardSerial)),
        h('td', { class: 'num money fund' }, money(r.fund)),
        h('td', null, h('strong', null, codeText(r.code)), h('div', { class: 'sub' }, h('bdi', null, r.reason ?? ''))),
        h(
          'td',
          null,
          h('span', { class: `tag ${STATE_KIND[r.state]}` }, textOf('bo.recycling', r.state)),
          r.correction ? h('div', { class: 'sub' }, t('bo.correctedBy', { n: r.correction.number })) : null,
        ),
        h(
          'td',
          null,
          r.state === 'to-correct'
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  onclick: () => void correctInvoice(r.number, r.code === 'COUNTERFOIL_MISSING').then(() => load()),
                },
                t('bo.correct'),
              )
            : null,
        ),
      ),
    );
  }
}

export function wire() {
  $input('rejects-pending').addEventListener('change', () => void load());
  $('rejects-recycle').addEventListener('click', () => void recycle().then(() => load()));
  $('rejects-csv').addEventListener('click', () => void downloadCsv(path()).catch((e) => notify('error', () => errorText(e))));
}
