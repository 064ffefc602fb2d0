// @ts-check
/**
 * The patient's side: the Chifa card in the reader (holder, PIN), then what the PIN opens —
 * rights, emergency data, the insured person and the beneficiaries, the prescriptions and the
 * dispensations on the card. It follows the store's `status` events (the event stream asks for
 * the status when a card changes) and dispatches `card` and `beneficiary` for the basket. What
 * the PIN opened arrives in the order the counter reads it (docs/counter.md, "Reading the card");
 * the dispensations past what the duplicate check needed are read when their tab is opened, with
 * the read's progress shown.
 */
import { api, errorText } from './api.js';
import { $, $button, $input, clear, fact, h } from './dom.js';
import { date, lang, rate, t, tn } from './i18n.js';
import { maskId } from '../assets/format.js';
import { dispatch, notify, state, subscribe } from './store.js';
import { loadPrescription } from './basket.js';
import { refreshStatus } from './status.js';

/** @typedef {import('./types.js').Status} Status */
/** @typedef {import('./types.js').Holder} Holder */
/** @typedef {import('./types.js').CardRead} CardRead */
/** @typedef {import('./types.js').Product} Product */
/** @typedef {import('./types.js').Beneficiary} Beneficiary */
/** @typedef {import('./types.js').WriteOutcome} WriteOutcome */
/** @typedef {import('./types.js').VerifyOutcome} VerifyOutcome */
/** @typedef {import('./types.js').OpenOutcome} OpenOutcome */

/**
 * A category as the rules label it, in the page's language (the rules files carry French and
 * Arabic labels); else the page's own name for the three first categories; else the id, or the
 * card's code when the rules do not know it.
 * @param {{ category: string | null, categoryLabel?: { fr: string, ar: string } | null, categoryCode?: number }} x
 */
export const categoryText = (x) => {
  if (x.categoryLabel) return x.categoryLabel[lang()];
  if (x.category === null) return t('category.unknown', { code: x.categoryCode ?? '?' });
  const key = `category.${x.category}`;
  return key === 'category.ordinary' || key === 'category.chronic' || key === 'category.retiree' ? t(key) : x.category;
};

/** @param {Beneficiary['relationship']} r */
export const relationText = (r) => t(`relation.${r}`);

/** @param {'CNAS' | 'CASNOS' | string} fund */
export const fundText = (fund) => (fund === 'CNAS' || fund === 'CASNOS' ? t(`fund.${fund}`) : fund);

/** What the holder's card says about the patient before the PIN (from the status or /card/open). */
/** @type {{ holder: Holder, pinRetriesLeft: number | null, verified: boolean } | null} */
let seen = null;
/** @type {string | null} the "no card" text shown, as a message key */
let emptyKey = null;

/** @param {Status | null} st */
function onStatus(st) {
  if (!st) return;
  const ins = st.insured;
  if (!ins.present) {
    if (state.cardSerial || state.card) resetPatient(() => t('card.removed'));
    seen = null;
    showCardEmpty(st.serviceAvailable ? 'card.insert' : 'card.readersDown');
    return;
  }
  if (!ins.opened || !ins.holder) {
    if (state.card) resetPatient(() => t('card.other'));
    if (!state.opening) void openCard();
    return;
  }
  if (state.cardSerial && ins.holder.cardSerial !== state.cardSerial) resetPatient(() => t('card.other'));
  state.cardSerial = ins.holder.cardSerial;
  seen = { holder: ins.holder, pinRetriesLeft: ins.pinRetriesLeft, verified: ins.verified };
  renderHolder();
  if (ins.verified && !state.card) void loadCard();
  if (!ins.verified && state.card) {
    state.card = null;
    dispatch({ type: 'card' });
  }
}

/** @param {'card.insert' | 'card.readersDown' | null} key */
function showCardEmpty(key, detail = '') {
  emptyKey = key;
  $('card-empty').hidden = false;
  $('card-holder').hidden = true;
  $('card-empty-text').textContent = key ? t(key) : t('card.unreadable', { error: detail });
  $('card-state').textContent = t('card.none');
  $('card-state').className = 'tag';
}

async function openCard() {
  state.opening = true;
  try {
    const r = /** @type {OpenOutcome} */ (await api('POST', '/card/open'));
    state.cardSerial = r.holder.cardSerial;
    seen = { holder: r.holder, pinRetriesLeft: r.pinRetriesLeft, verified: r.verified };
    renderHolder();
    if (r.verified) await loadCard();
    else $input('pin-input').focus();
  } catch (e) {
    showCardEmpty(null, errorText(e));
  } finally {
    state.opening = false;
  }
}

function renderHolder() {
  if (!seen) return;
  const { holder, pinRetriesLeft, verified } = seen;
  emptyKey = null;
  $('card-empty').hidden = true;
  $('card-holder').hidden = false;
  $('holder-name').textContent = `${holder.lastName} ${holder.firstName}`;
  $('holder-name-ar').textContent = `${holder.lastNameAr} ${holder.firstNameAr}`;
  const dl = clear($('holder-facts'));
  fact(dl, t('holder.serial'), h('bdi', null, holder.cardSerial));
  fact(dl, t('holder.ssn'), h('bdi', null, maskId(holder.ssn)));
  fact(dl, t('holder.birth'), date(holder.birthDate));
  fact(dl, t('holder.expiry'), date(holder.expiryDate), state.status && holder.expiryDate < state.status.today ? 'bad' : null);
  $('pin-form').hidden = verified;
  const tag = $('card-state');
  const blocked = pinRetriesLeft === 0;
  tag.textContent = verified ? t('pin.verified') : blocked ? t('pin.blocked') : t('pin.required');
  tag.className = `tag ${verified ? 'ok' : blocked ? 'bad' : 'warn'}`;
  const msg = $('pin-message');
  if (!verified && typeof pinRetriesLeft === 'number' && (!msg.textContent || msg.dataset.auto === '1')) {
    msg.textContent = tn('pin.retries', pinRetriesLeft);
    msg.dataset.auto = '1';
  }
}

/** @param {string} text */
function pinMessage(text) {
  const msg = $('pin-message');
  msg.textContent = text;
  msg.dataset.auto = '0';
}

/** @param {Event} ev */
async function submitPin(ev) {
  ev.preventDefault();
  const input = $input('pin-input');
  const pin = input.value;
  input.value = ''; // never kept
  if (!/^\d{4,8}$/.test(pin)) {
    pinMessage(t('pin.format'));
    return;
  }
  $button('pin-submit').disabled = true;
  pinMessage(t('pin.checking'));
  try {
    const r = /** @type {VerifyOutcome} */ (await api('POST', '/card/verify', { pin }));
    if (r.result === 'wrong-pin') {
      pinMessage(tn('pin.wrong', r.retriesLeft));
      input.focus();
      return;
    }
    pinMessage('');
    state.card = r.card;
    if (seen) seen.verified = true;
    dispatch({ type: 'card' });
    // The flow goes on at the product search.
    $input('search-input').focus();
    reportRecovery(r.recovery);
    await refreshStatus();
  } catch (e) {
    pinMessage(e instanceof Error && 'code' in e && e.code === 'pin-blocked' ? t('pin.blockedLong') : errorText(e));
  } finally {
    $button('pin-submit').disabled = false;
  }
}

/** @param {WriteOutcome[]} list */
function reportRecovery(list) {
  const done = list.filter((o) => o.state === 'done').map((o) => o.invoiceNumber);
  const still = list.filter((o) => o.state === 'pending');
  if (done.length) notify('ok', () => t('recovery.done', { list: done.map((n) => t('invoice.number', { n })).join(', ') }));
  else if (still[0]) {
    const error = still[0].error?.message;
    notify('warn', () => t('recovery.pending', { error: error ?? t('recovery.retry') }));
  }
}

let cardSeq = 0;
export async function loadCard() {
  const seq = ++cardSeq;
  try {
    const card = /** @type {CardRead} */ (await api('GET', '/card'));
    // Answers arriving out of order, or for a card since pulled out, are dropped.
    if (seq !== cardSeq || state.cardSerial !== card.holder.cardSerial) return;
    state.card = card;
    dispatch({ type: 'card' });
  } catch {
    // the event stream will say why (the card left, the PIN is needed again)
  }
}

/** True while the page has asked the counter for the rest of the history. */
let readingHistory = false;

/** "Show the whole history": the dispensations not read yet, with the read's progress. */
async function readWholeHistory() {
  const c = state.card;
  if (!c || c.reading.history.complete || readingHistory) return;
  readingHistory = true;
  renderHistoryProgress();
  try {
    const card = /** @type {CardRead} */ (await api('POST', '/card/history'));
    if (state.cardSerial === card.holder.cardSerial) {
      cardSeq++;
      state.card = card;
      dispatch({ type: 'card' });
    }
  } catch (e) {
    notify('error', () => errorText(e));
  } finally {
    readingHistory = false;
    state.reading = null;
    renderHistoryProgress();
  }
}

/** "Historique : 120 / 400" while it is read; the button to read the rest while it is not. */
function renderHistoryProgress() {
  const c = state.card;
  const line = $('history-progress');
  const more = $button('history-more');
  if (!c) {
    line.textContent = '';
    more.hidden = true;
    return;
  }
  const p = state.reading ?? c.reading.history;
  line.textContent = t('history.progress', { read: p.read, of: p.of });
  line.classList.toggle('busy', state.reading !== null || readingHistory);
  more.hidden = c.reading.history.complete || readingHistory || state.reading !== null;
}

/** @param {(() => string) | null} reason */
function resetPatient(reason) {
  state.card = null;
  state.cardSerial = null;
  state.lines = [];
  state.quote = null;
  state.warnings = [];
  state.beneficiary = 1;
  state.prescription = '';
  state.pendingScan = null;
  state.reading = null;
  pinMessage('');
  dispatch({ type: 'card' });
  dispatch({ type: 'basket' });
  dispatch({ type: 'scan-pending' });
  if (reason) notify('info', reason);
}

/** @param {string} code */
export function productName(code) {
  const p = state.catalogue.get(code);
  return p ? p.brand + (p.strength ? ` ${p.strength}` : '') : code;
}

/** @param {string[]} codes */
export async function ensureProducts(codes) {
  const missing = [...new Set(codes)].filter((c) => !state.catalogue.has(c));
  await Promise.all(
    missing.map((c) =>
      api('GET', `/catalogue/${encodeURIComponent(c)}`)
        .then((p) => state.catalogue.set(c, /** @type {Product} */ (p)))
        .catch(() => state.catalogue.set(c, null)),
    ),
  );
}

/** The beneficiaries to pick from: those on the card, or the insured person alone. */
export function beneficiaries() {
  const c = state.card;
  if (!c) return [];
  return c.beneficiaries.length
    ? c.beneficiaries
    : [
        {
          rank: 1,
          relationship: /** @type {const} */ ('insured'),
          firstName: c.holder.firstName,
          lastName: c.holder.lastName,
          birthDate: c.holder.birthDate,
        },
      ];
}

/** @param {number} rank */
export function beneficiaryName(rank) {
  const b = beneficiaries().find((x) => x.rank === rank);
  return b ? t('beneficiary.label', { name: b.firstName, relation: relationText(b.relationship) }) : t('beneficiary.rank', { rank });
}

function renderCard() {
  const c = state.card;
  for (const id of ['rights-panel', 'beneficiaries-panel', 'history-panel']) $(id).hidden = !c;
  if (!c) return;
  const today = state.status ? state.status.today : '';
  const r = c.rights;
  const rf = clear($('rights-facts'));
  fact(rf, t('rights.fund'), fundText(r.fund));
  fact(rf, t('rights.category'), categoryText(r));
  fact(rf, t('rights.rate'), rate(r.rateBp));
  fact(rf, t('rights.until'), date(r.rightsEnd), r.rightsEnd < today ? 'bad' : null);
  for (const ch of r.chronic) fact(rf, t('rights.chronic', { code: ch.code }), t('rights.untilDate', { date: date(ch.validUntil) }));
  for (const br of r.beneficiaryRights)
    fact(
      rf,
      t('rights.rank', { rank: br.rank }),
      t('rights.rankValue', { category: categoryText(br), rate: rate(br.rateBp), date: date(br.rightsEnd) }),
    );

  const em = clear($('emergency'));
  em.append(
    h('div', { class: 'blood' }, h('span', null, t('emergency.blood')), h('strong', { dir: 'ltr' }, c.emergency.bloodGroup || '—')),
  );
  em.append(
    h(
      'div',
      { class: `allergies${c.emergency.allergies.length ? ' has' : ''}` },
      h('span', null, t('emergency.allergies')),
      c.emergency.allergies.length
        ? h(
            'ul',
            null,
            c.emergency.allergies.map((a) => h('li', null, '⚠ ', h('bdi', null, a))),
          )
        : h('em', null, t('emergency.none')),
    ),
  );
  if (c.emergency.conditions.length)
    em.append(
      h(
        'div',
        { class: 'conditions' },
        h('span', null, t('emergency.conditions')),
        h(
          'ul',
          null,
          c.emergency.conditions.map((a) => h('li', null, h('bdi', null, a))),
        ),
      ),
    );

  const bl = clear($('beneficiaries'));
  for (const b of beneficiaries()) {
    bl.append(
      h(
        'button',
        {
          type: 'button',
          role: 'radio',
          class: `beneficiary${b.rank === state.beneficiary ? ' selected' : ''}`,
          'aria-checked': b.rank === state.beneficiary ? 'true' : 'false',
          onclick: () => selectBeneficiary(b.rank),
        },
        h('span', { class: 'rank' }, String(b.rank)),
        h('span', { class: 'bname' }, h('bdi', null, `${b.firstName} ${b.lastName}`)),
        h('span', { class: 'brel' }, `${relationText(b.relationship)} · ${date(b.birthDate)}`),
      ),
    );
  }
  $('rx-count').textContent = String(c.prescriptions.length);
  $('disp-count').textContent = String(c.dispensations.length);
  const codes = c.prescriptions.flatMap((p) => p.lines.map((l) => l.productCode)).concat(c.dispensations.map((d) => d.productCode));
  void ensureProducts(codes).then(renderHistory);
  renderHistory();
}

function renderHistory() {
  const c = state.card;
  if (!c) return;
  const rx = clear(/** @type {HTMLTableElement} */ ($('rx-table')).tBodies[0] ?? $('rx-table'));
  for (const p of c.prescriptions) {
    rx.append(
      h(
        'tr',
        { class: p.rank === state.beneficiary ? 'mine' : null },
        h('td', { class: 'nowrap' }, date(p.date)),
        h('td', { class: 'nowrap' }, h('bdi', null, p.reference)),
        h('td', null, beneficiaryName(p.rank)),
        h('td', null, h('bdi', null, p.speciality), h('div', { class: 'sub' }, h('bdi', null, p.prescriberId))),
        h(
          'td',
          null,
          p.lines.map((l) =>
            h('div', null, t('rx.line', { product: productName(l.productCode), qty: l.quantity, days: tn('days.count', l.durationDays) })),
          ),
        ),
        h('td', null, h('button', { type: 'button', class: 'small ghost', onclick: () => void loadPrescription(p) }, t('rx.dispense'))),
      ),
    );
  }
  if (!c.prescriptions.length)
    rx.append(h('tr', null, h('td', { colspan: 6, class: 'empty small' }, c.reading.prescriptions ? t('rx.none') : t('rx.reading'))));
  const dt = clear(/** @type {HTMLTableElement} */ ($('disp-table')).tBodies[0] ?? $('disp-table'));
  for (const d of c.dispensations) {
    dt.append(
      h(
        'tr',
        null,
        h('td', { class: 'nowrap' }, date(d.date)),
        h('td', null, beneficiaryName(d.rank)),
        h('td', null, h('bdi', null, productName(d.productCode)), h('div', { class: 'sub' }, h('bdi', null, d.productCode))),
        h('td', { class: 'num' }, String(d.quantity)),
        h('td', { class: 'num' }, String(d.durationDays)),
        h(
          'td',
          { class: 'nowrap' },
          h('bdi', null, d.pharmacyId),
          d.prescriptionRef ? h('div', { class: 'sub' }, t('disp.rx', { ref: d.prescriptionRef })) : null,
        ),
        h('td', { class: 'num' }, d.invoiceNumber === null ? '—' : String(d.invoiceNumber)),
      ),
    );
  }
  if (!c.dispensations.length) dt.append(h('tr', null, h('td', { colspan: 7, class: 'empty small' }, t('disp.none'))));
  renderHistoryProgress();
}

/** @param {number} rank */
export function selectBeneficiary(rank) {
  state.beneficiary = rank;
  state.prescription = '';
  dispatch({ type: 'beneficiary' });
}

/** @param {boolean} rx */
function tab(rx) {
  $('tab-rx').classList.toggle('active', rx);
  $('tab-disp').classList.toggle('active', !rx);
  $('tab-rx').setAttribute('aria-selected', String(rx));
  $('tab-disp').setAttribute('aria-selected', String(!rx));
  $('rx-wrap').hidden = !rx;
  $('disp-wrap').hidden = rx;
  // The history is opened: read the rest of it.
  if (!rx) void readWholeHistory();
}

function rerender() {
  if (emptyKey === 'card.insert' || emptyKey === 'card.readersDown') showCardEmpty(emptyKey);
  renderHolder();
  renderCard();
}

export function wireCardPanel() {
  subscribe('status', (e) => onStatus(e.status));
  subscribe('card', renderCard);
  subscribe('beneficiary', renderCard);
  subscribe('language', rerender);
  subscribe('reading', renderHistoryProgress);
  $('pin-form').addEventListener('submit', (e) => void submitPin(e));
  $('history-more').addEventListener('click', () => void readWholeHistory());
  $('tab-rx').addEventListener('click', () => tab(true));
  $('tab-disp').addEventListener('click', () => tab(false));
  showCardEmpty('card.insert');
}
