// @ts-check
/**
 * The counter's state at a glance: mode, readers and cards (chips), the professional card's
 * pharmacy, banners (notices, PC/SC down, card writes left pending), the sync backlog, an upload
 * under way and the fund's rejections. Fed by `refreshStatus`, which the event stream (events.js)
 * and the page's own actions call, through the store.
 */
import { api } from './api.js';
import { $, $input, clear, fact, h } from './dom.js';
import { date, money, t, tn } from './i18n.js';
import { maskId } from '../assets/format.js';
import { dispatch, notify, state, subscribe } from './store.js';
import { cancelWrite, completeWrite } from './checkout.js';
import { showReceipt } from './receipt.js';

/** @typedef {import('./types.js').RejectedInvoice} RejectedInvoice */

/**
 * @param {string} text
 * @param {string} kind
 * @param {string} [title]
 */
function chip(text, kind, title) {
  return h('span', { class: `chip ${kind}`, title: title ?? null }, text);
}

export function renderBanners() {
  const area = clear($('banner-area'));
  const st = state.status;
  const notice = state.notice;
  if (notice) {
    area.append(
      h(
        'div',
        { class: `banner ${notice.kind}`, role: notice.kind === 'error' ? 'alert' : null },
        h('span', { class: 'banner-text' }, notice.text()),
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              state.notice = null;
              renderBanners();
            },
          },
          t('common.ok'),
        ),
      ),
    );
  }
  if (!st) return;
  if (!st.serviceAvailable) area.append(h('div', { class: 'banner error' }, t('banner.pcscDown')));
  for (const w of st.pendingWrites) {
    const mine = st.insured.holder?.cardSerial === w.cardSerial;
    area.append(
      h(
        'div',
        { class: 'banner warn', 'data-pending': w.invoiceNumber },
        h(
          'span',
          null,
          h('strong', null, t('banner.pendingTitle', { n: w.invoiceNumber })),
          t('banner.pendingText', { card: maskId(w.cardSerial), written: w.written, records: w.records }),
          mine ? t('banner.pendingMine') : t('banner.pendingOther'),
        ),
        h(
          'span',
          { class: 'banner-actions' },
          mine && st.insured.verified
            ? h('button', { type: 'button', class: 'small', onclick: () => void completeWrite(w.invoiceNumber) }, t('banner.retry'))
            : null,
          h('button', { type: 'button', class: 'small ghost', onclick: () => void cancelWrite(w.invoiceNumber) }, t('banner.abandon')),
          h('button', { type: 'button', class: 'small ghost', onclick: () => void showReceipt(w.invoiceNumber) }, t('banner.receipt')),
        ),
      ),
    );
  }
}

export function renderStatus() {
  const st = state.status;
  const chips = clear($('chips'));
  if (!st) {
    chips.append(chip(t('chip.unreachable'), 'bad'));
    renderBanners();
    return;
  }
  if (st.mode === 'demo') chips.append(chip(t('chip.demo'), 'demo', t('chip.demoTitle')));
  chips.append(
    chip(
      tn('chip.readers', st.readers.length),
      st.serviceAvailable ? 'ok' : 'bad',
      st.readers.map((r) => (r.cardPresent ? t('chip.readerWithCard', { name: r.name }) : r.name)).join('\n'),
    ),
  );
  chips.append(chip(st.insured.present ? t('chip.insuredPresent') : t('chip.insuredAbsent'), st.insured.present ? 'ok' : 'idle'));
  const pro = st.professional;
  chips.append(
    chip(
      pro.present ? (pro.unlocked ? t('chip.proUnlocked') : t('chip.proLocked')) : t('chip.proAbsent'),
      pro.present && pro.unlocked ? 'ok' : 'bad',
    ),
  );
  if (st.sync)
    chips.append(
      chip(
        t('chip.toSend', { n: st.sync.openInvoices + st.sync.unsentInvoices }),
        st.sync.unsentInvoices > 0 ? 'warn' : 'idle',
        t('chip.toSendTitle'),
      ),
    );
  const up = state.syncing;
  if (up) chips.append(chip(t('chip.syncing', { done: up.doneInvoices, total: up.totalInvoices }), 'ok sync-progress'));
  const ph = pro.pharmacy;
  $('pharmacy-name').textContent = ph
    ? t('top.pharmacy', { name: ph.name, pharmacist: ph.pharmacist, id: ph.pharmacyId })
    : pro.present
      ? t('top.proInserted')
      : t('top.proAbsent');
  $('pro-panel').hidden = !(pro.present && !pro.unlocked);
  $('demo-panel').hidden = st.mode !== 'demo';
  if (st.mode === 'demo' && st.demo)
    $('demo-hint').textContent = st.demo.professionalPin
      ? t('demo.hintPro', { pin: st.demo.insuredPin, pro: st.demo.professionalPin })
      : t('demo.hint', { pin: st.demo.insuredPin });
  const sf = clear($('sync-facts'));
  if (st.sync) {
    fact(sf, t('sync.last'), st.sync.lastNumber ? t('invoice.number', { n: st.sync.lastNumber }) : '—');
    fact(sf, t('sync.open'), tn('invoices.count', st.sync.openInvoices));
    fact(
      sf,
      t('sync.unsent'),
      t('sync.unsentValue', { batches: st.sync.unsentBatches, invoices: tn('invoices.count', st.sync.unsentInvoices) }),
    );
    fact(sf, t('sync.rejected'), String(st.sync.rejectedPending));
    if (st.sync.rejectedPending !== state.rejectedShown) void loadRejected(st.sync.rejectedPending);
  } else fact(sf, t('sync.journal'), t('sync.unavailable'));
  renderBanners();
}

/** @type {RejectedInvoice[]} */
let rejected = [];

/**
 * The fund's rejections still to correct, listed under the sync facts.
 * @param {number} count
 */
async function loadRejected(count) {
  state.rejectedShown = count;
  rejected = [];
  renderRejected();
  if (!count) return;
  try {
    const r = /** @type {{ rejected: RejectedInvoice[] }} */ (await api('GET', '/invoices/rejected'));
    rejected = r.rejected.filter((x) => x.correctedBy === null);
    renderRejected();
  } catch {
    state.rejectedShown = null;
  }
}

function renderRejected() {
  const box = clear($('rejected'));
  if (!rejected.length) return;
  box.append(
    h('h3', null, t('rejected.title')),
    h(
      'table',
      { class: 'grid' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, t('col.invoice')),
          h('th', null, t('col.date')),
          h('th', null, t('col.reason')),
          h('th', { class: 'num' }, t('rejected.amount')),
        ),
      ),
      h(
        'tbody',
        null,
        rejected.map((x) =>
          h(
            'tr',
            null,
            h(
              'td',
              null,
              h(
                'button',
                { type: 'button', class: 'link', onclick: () => void showReceipt(x.number) },
                t('invoice.number', { n: x.number }),
              ),
            ),
            h('td', { class: 'nowrap' }, date(x.date)),
            h('td', null, x.code, h('div', { class: 'sub', dir: 'auto' }, x.reason)),
            h('td', { class: 'num money' }, money(x.fundAmount)),
          ),
        ),
      ),
    ),
  );
}

/**
 * Asks for the status now: when the event stream says something changed (or connects again),
 * and after the page's own actions. Answers arriving out of order are dropped.
 */
let statusSeq = 0;
export async function refreshStatus() {
  const seq = ++statusSeq;
  try {
    const status = /** @type {import('./types.js').Status} */ (await api('GET', '/status'));
    if (seq === statusSeq) dispatch({ type: 'status', status });
  } catch (e) {
    if (seq === statusSeq && !(e instanceof Error && 'status' in e && e.status === 401)) dispatch({ type: 'status', status: null });
  }
}

/** Unlocks the professional card with the pharmacist's PIN (never kept: the field is emptied at once). */
async function submitProPin(/** @type {Event} */ e) {
  e.preventDefault();
  const input = $input('pro-pin');
  const pin = input.value;
  input.value = '';
  try {
    const r = /** @type {{ result: 'ok' } | { result: 'wrong-pin', retriesLeft: number }} */ (
      await api('POST', '/professional/verify', { pin })
    );
    $('pro-message').textContent = r.result === 'ok' ? '' : tn('pin.wrong', r.retriesLeft);
  } catch (err) {
    $('pro-message').textContent = err instanceof Error ? err.message : String(err);
  }
  await refreshStatus();
}

/** @param {'remove' | 'insert'} action */
async function demoCard(action) {
  try {
    await api('POST', `/demo/insured/${action}`);
  } catch (e) {
    notify('error', () => (e instanceof Error ? e.message : String(e)));
  }
  await refreshStatus();
}

export function wireStatus() {
  subscribe('status', renderStatus);
  subscribe('sync-progress', renderStatus);
  subscribe('notice', renderBanners);
  subscribe('language', () => {
    renderStatus();
    renderRejected();
  });
  $('pro-form').addEventListener('submit', (e) => void submitProPin(e));
  $('demo-remove').addEventListener('click', () => void demoCard('remove'));
  $('demo-insert').addEventListener('click', () => void demoCard('insert'));
}
