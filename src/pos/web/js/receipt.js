// @ts-check
/**
 * The receipt of an invoice, rendered from what was signed (GET /api/invoices/N/receipt: codes,
 * numbers and dates) in the page's language, and printed from the page (an A5 print stylesheet
 * shows only the receipt). Identifiers of the insured person come masked from the server.
 */
import { api, errorText } from './api.js';
import { $, $button, clear, h } from './dom.js';
import { date, instant, lang, money, rate, t, tn } from './i18n.js';
import { notify, state, subscribe } from './store.js';
import { reasonText } from './basket.js';
import { categoryText, fundText } from './card-panel.js';

/** @typedef {import('./types.js').Receipt} Receipt */

/** @type {Receipt | null} */
let shown = null;

/**
 * Opens the receipt of invoice `n` and puts the focus on "Print".
 * @param {number} n
 */
export async function showReceipt(n) {
  try {
    shown = /** @type {Receipt} */ (await api('GET', `/invoices/${n}/receipt`));
  } catch (e) {
    notify('error', () => t('receipt.unavailable', { error: errorText(e) }));
    return;
  }
  state.lastReceipt = n;
  render();
  $('receipt').hidden = false;
  $button('print-btn').focus();
}

export function closeReceipt() {
  $('receipt').hidden = true;
}

export function isReceiptOpen() {
  return !$('receipt').hidden;
}

/** Prints the receipt on screen, or opens the last one first. */
export async function printReceipt() {
  if (!isReceiptOpen()) {
    if (state.lastReceipt === null) return;
    await showReceipt(state.lastReceipt);
  }
  window.print();
}

function render() {
  const r = shown;
  if (!r) return;
  const body = clear($('receipt-body'));
  body.setAttribute('lang', lang());
  const kind = t(
    r.kind === 'credit-note' ? 'receipt.credit-note' : r.kind === 'corrected-invoice' ? 'receipt.corrected-invoice' : 'receipt.invoice',
  );
  const place = [t('receipt.pharmacy', { id: r.pharmacy.pharmacyId })];
  if (r.pharmacy.agreement) place.push(t('receipt.agreement', { agreement: r.pharmacy.agreement }));
  if (r.pharmacy.wilaya) place.push(t('receipt.wilaya', { wilaya: r.pharmacy.wilaya }));
  body.append(
    h(
      'header',
      { class: 'r-head' },
      h(
        'div',
        null,
        h('div', { class: 'r-pharmacy' }, h('bdi', null, r.pharmacy.name || r.pharmacy.pharmacyId)),
        r.pharmacy.pharmacist ? h('div', null, h('bdi', null, r.pharmacy.pharmacist)) : null,
        h('div', { class: 'sub' }, place.join(' · ')),
      ),
      h(
        'div',
        { class: 'r-title' },
        h('h2', { id: 'receipt-title' }, t('receipt.title', { kind, n: r.number })),
        h('div', null, t('receipt.dated', { date: date(r.date, 'long') })),
        h('div', { class: 'sub' }, t('receipt.issued', { instant: instant(r.issuedAt) })),
      ),
    ),
  );
  body.append(
    h(
      'dl',
      { class: 'facts r-facts' },
      h('dt', null, t('receipt.fund')),
      h('dd', null, fundText(r.fund)),
      h('dt', null, t('receipt.card')),
      h('dd', null, t('receipt.cardValue', { serial: r.beneficiary.cardSerial, rank: r.beneficiary.rank })),
      h('dt', null, t('receipt.insured')),
      h('dd', null, h('bdi', null, r.beneficiary.insuredId || '—')),
      h('dt', null, t('receipt.category')),
      h('dd', null, t('receipt.categoryValue', { category: categoryText(r), rate: rate(r.rateBp) })),
      r.prescription
        ? [
            h('dt', null, t('receipt.prescription')),
            h(
              'dd',
              null,
              [
                r.prescription.reference,
                r.prescription.date ? t('receipt.prescriptionDate', { date: date(r.prescription.date) }) : '',
                r.prescription.prescriber ? `· ${r.prescription.prescriber}` : '',
              ]
                .filter((x) => x !== '')
                .join(' '),
            ),
          ]
        : null,
    ),
  );
  body.append(
    h(
      'table',
      { class: 'grid r-lines' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, t('col.product')),
          h('th', { class: 'num' }, t('col.qty')),
          h('th', { class: 'num' }, t('col.unitPrice')),
          h('th', { class: 'num' }, t('col.refPrice')),
          h('th', { class: 'num' }, t('col.total')),
          h('th', { class: 'num' }, t('col.fund')),
          h('th', { class: 'num' }, t('col.patient')),
        ),
      ),
      h(
        'tbody',
        null,
        r.lines.map((l) => {
          // Each part isolated: a code such as N02BE01-01 keeps its order in an Arabic line.
          const sub = [l.code];
          if (l.durationDays) sub.push(tn('days.count', l.durationDays));
          if (l.reason) sub.push(reasonText(l.reason));
          const parts = sub.flatMap((x, i) => [i > 0 ? ' · ' : null, h('bdi', null, x)]);
          const pack = [];
          if (l.lot !== null || l.expiry !== null) pack.push(t('basket.pack', { lot: l.lot ?? '—', expiry: date(l.expiry) }));
          if (l.serial !== null) pack.push(t('basket.packSerial', { serial: l.serial }));
          return h(
            'tr',
            null,
            h(
              'td',
              null,
              h('bdi', null, l.label),
              h('div', { class: 'sub' }, parts),
              pack.length ? h('div', { class: 'sub pack' }, pack.join(' · ')) : null,
            ),
            h('td', { class: 'num' }, String(l.quantity)),
            h('td', { class: 'num money' }, money(l.unitPrice)),
            h('td', { class: 'num money' }, l.referencePrice === null ? '—' : money(l.referencePrice)),
            h('td', { class: 'num money' }, money(l.total)),
            h('td', { class: 'num money' }, money(l.fund)),
            h('td', { class: 'num money' }, money(l.patient)),
          );
        }),
      ),
      h(
        'tfoot',
        null,
        h(
          'tr',
          null,
          h('th', { colspan: 4 }, t('receipt.totals')),
          h('th', { class: 'num money' }, money(r.totals.total)),
          h('th', { class: 'num money' }, money(r.totals.fund)),
          h('th', { class: 'num money' }, money(r.totals.patient)),
        ),
      ),
    ),
  );
  body.append(
    h(
      'div',
      { class: 'r-pay' },
      h(
        'div',
        null,
        t('receipt.thirdParty'),
        h('strong', null, r.thirdPartyPayment ? t('common.yes') : t('common.no')),
        r.thirdPartyPayment ? '' : ` — ${reasonText(r.reason)}`,
      ),
      h('div', { class: 'r-due' }, t('receipt.due'), h('strong', { id: 'receipt-due' }, money(r.totals.patient))),
    ),
  );
  const notes = [];
  if (r.creditNote) notes.push(t('receipt.cancelledBy', { n: r.creditNote }));
  if (r.references) notes.push(t('receipt.refersTo', { n: r.references.number }));
  if (r.cardWrite && r.cardWrite.state === 'pending')
    notes.push(t('receipt.cardPending', { written: r.cardWrite.written, records: r.cardWrite.records }));
  if (r.cardWrite && r.cardWrite.state === 'done') notes.push(t('receipt.cardDone'));
  body.append(
    h(
      'footer',
      { class: 'r-foot' },
      notes.map((x) => h('div', null, x)),
      h('div', { class: 'sub' }, t('receipt.footer', { rules: r.ruleVersion, hash: r.hashPrefix })),
    ),
  );
}

export function wireReceipt() {
  $('print-btn').addEventListener('click', () => window.print());
  $('receipt-close').addEventListener('click', closeReceipt);
  subscribe('language', render);
}
