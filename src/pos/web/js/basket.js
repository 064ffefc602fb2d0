// @ts-check
/**
 * The sale's side: the beneficiary and prescription the dispensing is for, the product search,
 * the basket lines (quantity, treatment duration, prior-approval reference, and the pack's lot,
 * expiry and serial when it was scanned), the split the server computes for them (per line and in
 * total), third-party payment, and the warnings. Prices and the split always come from the
 * server's quote; the page only shows them.
 */
import { api, errorText } from './api.js';
import { $, $button, $input, $select, clear, h } from './dom.js';
import { date, hasText, money, rate, t, tn } from './i18n.js';
import { dispatch, notify, state, subscribe } from './store.js';
import { beneficiaries, beneficiaryName, ensureProducts, relationText } from './card-panel.js';
import { displayGtin } from '../assets/gs1.js';

/** @typedef {import('./types.js').Product} Product */
/** @typedef {import('./types.js').PrescriptionRecord} PrescriptionRecord */
/** @typedef {import('./types.js').QuoteOutcome} QuoteOutcome */
/** @typedef {import('./store.js').Line} Line */

/** @param {string | null | undefined} r */
export function reasonText(r) {
  if (!r) return '';
  const key = `reason.${r}`;
  return hasText(key) ? t(key) : r;
}

/** @param {Product} p */
const displayName = (p) => p.brand + (p.strength ? ` ${p.strength}` : '');

/** The basket as the API takes it (quote and checkout). */
export function basketBody() {
  /** @type {{ beneficiary: number, prescription?: string, lines: Record<string, string | number>[] }} */
  const body = {
    beneficiary: state.beneficiary,
    lines: state.lines.map((l) => {
      /** @type {Record<string, string | number>} */
      const line = { code: l.code, quantity: l.quantity, durationDays: l.durationDays };
      if (l.approval) line.approval = l.approval;
      if (l.lot !== undefined) line.lot = l.lot;
      if (l.expiry !== undefined) line.expiry = l.expiry;
      if (l.serial !== undefined) line.serial = l.serial;
      return line;
    }),
  };
  if (state.prescription) body.prescription = state.prescription;
  return body;
}

// ------------------------------------------------------------------ search

/** @type {ReturnType<typeof setTimeout> | undefined} */
let searchTimer;
let searchSeq = 0;
/** The query the results on screen answer ('' when none are shown). */
let shownQuery = '';

function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void runSearch(), 150);
}

/** Hides the results and forgets a search under way (a scan has just cleaned the field). */
export function cancelSearch() {
  clearTimeout(searchTimer);
  searchSeq++;
  shownQuery = '';
  $('search-results').hidden = true;
}

async function runSearch() {
  const q = $input('search-input').value.trim();
  const list = $('search-results');
  if (q.length < 2) {
    list.hidden = true;
    shownQuery = '';
    return;
  }
  const seq = ++searchSeq;
  try {
    const r = /** @type {{ products: Product[] }} */ (await api('GET', `/catalogue?q=${encodeURIComponent(q)}&limit=12`));
    if (seq !== searchSeq) return;
    clear(list);
    for (const p of r.products) {
      state.catalogue.set(p.code, p);
      list.append(
        h(
          'li',
          {
            role: 'option',
            tabindex: '0',
            onclick: () => addFromSearch(p),
            onkeydown: (e) => {
              if (/** @type {KeyboardEvent} */ (e).key === 'Enter') addFromSearch(p);
            },
          },
          h('span', { class: 'pname' }, h('bdi', null, displayName(p))),
          h('span', { class: 'pdci' }, h('bdi', null, `${p.dci} — ${p.form}`)),
          h('span', { class: 'pcode' }, h('bdi', null, p.code)),
          h(
            'span',
            { class: 'pprice' },
            money(p.unitPrice),
            p.reimbursable ? null : h('span', { class: 'nr' }, ` ${t('search.notReimbursable')}`),
          ),
        ),
      );
    }
    if (!r.products.length) list.append(h('li', { class: 'none' }, t('search.none', { q })));
    list.hidden = false;
    shownQuery = q;
  } catch {
    list.hidden = true;
  }
}

/**
 * A product picked in the search: a barcode waiting for a manual match gives it its lot, expiry
 * and serial.
 * @param {Product} p
 */
function addFromSearch(p) {
  const scan = state.pendingScan;
  if (scan) {
    state.pendingScan = null;
    dispatch({ type: 'scan-pending' });
    addProduct(p, { lot: scan.lot, expiry: scan.expiry, serial: scan.serial });
  } else addProduct(p);
}

// ------------------------------------------------------------------ lines

/**
 * Adds a unit of `p` (on the line holding the same pack, else a new line) and moves the focus to
 * its quantity. A pack with a serial number is one unit: scanned twice, it is refused.
 * @param {Product} p
 * @param {{ lot?: string | undefined, expiry?: string | undefined, serial?: string | undefined }} [pack]
 * @returns {boolean} false when refused
 */
export function addProduct(p, pack = {}) {
  state.catalogue.set(p.code, p);
  if (pack.serial !== undefined && state.lines.some((l) => l.code === p.code && l.serial === pack.serial)) {
    const serial = pack.serial;
    notify('warn', () => t('scan.sameSerial', { serial }));
    return false;
  }
  const same = (/** @type {Line} */ l) =>
    l.code === p.code && l.lot === pack.lot && l.expiry === pack.expiry && l.serial === undefined && pack.serial === undefined;
  let index = state.lines.findIndex(same);
  const existing = state.lines[index];
  if (existing) existing.quantity += 1;
  else {
    /** @type {Line} */
    const line = { code: p.code, quantity: 1, durationDays: defaultDuration(p.code), approval: '', product: p };
    if (pack.lot !== undefined) line.lot = pack.lot;
    if (pack.expiry !== undefined) line.expiry = pack.expiry;
    if (pack.serial !== undefined) line.serial = pack.serial;
    state.lines.push(line);
    index = state.lines.length - 1;
  }
  state.lastLine = index;
  $input('search-input').value = '';
  cancelSearch();
  dispatch({ type: 'basket', focusLine: index });
  return true;
}

/**
 * A prescription on the card for this beneficiary that names the product gives its duration.
 * @param {string} code
 */
function defaultDuration(code) {
  const c = state.card;
  if (c) {
    for (const p of c.prescriptions) {
      if (p.rank !== state.beneficiary) continue;
      const l = p.lines.find((x) => x.productCode === code);
      if (l) return l.durationDays;
    }
  }
  return 30;
}

/** @param {PrescriptionRecord} p */
export async function loadPrescription(p) {
  state.beneficiary = p.rank;
  state.prescription = p.reference;
  state.lines = [];
  await ensureProducts(p.lines.map((l) => l.productCode));
  for (const l of p.lines) {
    const prod = state.catalogue.get(l.productCode);
    if (prod) state.lines.push({ code: prod.code, quantity: l.quantity, durationDays: l.durationDays, approval: '', product: prod });
    else notify('warn', () => t('basket.unknownRx', { code: l.productCode, ref: p.reference }));
  }
  dispatch({ type: 'beneficiary' });
  dispatch({ type: 'basket' });
}

/** @param {number} i */
function removeLine(i) {
  state.lines.splice(i, 1);
  state.lastLine = state.lines.length ? state.lines.length - 1 : null;
  dispatch({ type: 'basket' });
}

/** Focuses the quantity of line `i` (the last added when not given), its text selected. */
export function focusQuantity(i = state.lastLine ?? state.lines.length - 1) {
  const input = document.querySelector(`#basket-table tbody tr[data-line="${i}"] input.qty-units`);
  if (input instanceof HTMLInputElement) {
    input.focus();
    input.select();
  }
}

function renderBasket() {
  const table = /** @type {HTMLTableElement} */ ($('basket-table'));
  const body = clear(table.tBodies[0] ?? table);
  const q = state.quote;
  state.lines.forEach((l, i) => {
    const ql = q?.quote.lines[i];
    const p = l.product;
    const qty = h('input', {
      type: 'number',
      min: 1,
      max: l.serial !== undefined ? 1 : 999,
      step: 1,
      value: l.quantity,
      class: 'qty qty-units',
      'aria-label': t('basket.qty'),
      dir: 'ltr',
    });
    qty.addEventListener('change', () => {
      const n = Math.trunc(Number(qty.value));
      l.quantity = n >= 1 && n <= (l.serial !== undefined ? 1 : 999) ? n : 1;
      qty.value = String(l.quantity);
      scheduleQuote();
    });
    // Enter in a quantity: done with this line, back to the search for the next product.
    qty.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      qty.dispatchEvent(new Event('change'));
      $input('search-input').focus();
    });
    const days = h('input', {
      type: 'number',
      min: 1,
      max: 365,
      step: 1,
      value: l.durationDays,
      class: 'qty',
      'aria-label': t('basket.days'),
      dir: 'ltr',
    });
    days.addEventListener('change', () => {
      const n = Math.trunc(Number(days.value));
      l.durationDays = n >= 1 && n <= 365 ? n : 30;
      days.value = String(l.durationDays);
    });
    const nameCell = h(
      'td',
      null,
      h('div', { class: 'pname' }, h('bdi', null, displayName(p))),
      h('div', { class: 'sub' }, h('bdi', null, `${p.dci} · ${p.code}`)),
    );
    if (l.lot !== undefined || l.expiry !== undefined || l.serial !== undefined) {
      const parts = [];
      if (l.lot !== undefined || l.expiry !== undefined) parts.push(t('basket.pack', { lot: l.lot ?? '—', expiry: date(l.expiry) }));
      if (l.serial !== undefined) parts.push(t('basket.packSerial', { serial: l.serial }));
      nameCell.append(h('div', { class: 'sub pack' }, parts.join(' · ')));
    }
    if (p.priorApproval) {
      const ap = h('input', { type: 'text', value: l.approval, placeholder: t('basket.approval'), class: 'approval', maxlength: 64 });
      ap.addEventListener('change', () => {
        // The API refuses text that is not NFC (it is signed as sent): compose accents here.
        l.approval = ap.value.trim().normalize('NFC');
        scheduleQuote();
      });
      nameCell.append(ap);
    }
    if (ql && ql.reason) nameCell.append(h('div', { class: 'reason' }, reasonText(ql.reason)));
    // What the card's prescription still allows of this product (partial dispensings carried over).
    if (q?.prescription) {
      const rx = q.prescription.lines.find((x) => x.productCode === p.code);
      nameCell.append(
        h(
          'div',
          { class: 'sub rx-remaining' },
          rx ? t('basket.rxRemaining', { remaining: rx.remaining, prescribed: rx.prescribed }) : t('basket.rxAbsent'),
        ),
      );
    }
    body.append(
      h(
        'tr',
        { 'data-line': i, class: state.warnings.some((w) => w.line === i && w.code === 'allergy') ? 'allergy' : null },
        nameCell,
        h('td', { class: 'num' }, qty),
        h('td', { class: 'num' }, days),
        h('td', { class: 'num money' }, money(p.unitPrice)),
        h('td', { class: 'num money' }, ql ? money(ql.total) : '…'),
        h('td', { class: 'num money fund' }, ql ? money(ql.fund) : '…'),
        h('td', { class: 'num money' }, ql ? money(ql.patient) : '…'),
        h(
          'td',
          null,
          h(
            'button',
            {
              type: 'button',
              class: 'icon',
              title: t('basket.removeLine'),
              'aria-label': t('basket.removeLine'),
              onclick: () => removeLine(i),
            },
            '✕',
          ),
        ),
      ),
    );
  });
  $('basket-empty').hidden = state.lines.length > 0;
  renderCounterfoil();
  renderTotals();
}

/** The first line whose product is in a controlled table: its counterfoil prescription is needed. */
export function controlledLine() {
  return state.lines.find((l) => l.product.controlled !== undefined);
}

/**
 * A product of a controlled table in the basket: the serial number of the counterfoil prescription
 * (and the prescriber of a paper one) goes with the checkout, onto the invoice and the register.
 */
function renderCounterfoil() {
  const l = controlledLine();
  $('counterfoil-box').hidden = !l;
  if (!l) return;
  $('counterfoil-hint').textContent = t('basket.counterfoilHint', { product: displayName(l.product), table: l.product.controlled ?? '' });
  if ($input('counterfoil-input').value !== state.counterfoil) $input('counterfoil-input').value = state.counterfoil;
  if ($input('prescriber-input').value !== state.prescriber) $input('prescriber-input').value = state.prescriber;
}

/** @param {import('./types.js').Warning} w */
export function warningText(w) {
  const d = w.details;
  if (w.code === 'allergy') {
    const p = state.catalogue.get(String(d.code));
    return t('warning.allergyText', { allergy: String(d.allergy), brand: p ? p.brand : String(d.code), dci: String(d.dci) });
  }
  const what = d.sameProduct ? t('warning.sameProduct') : t('warning.sameDci', { dci: String(state.lines[w.line]?.product.dci ?? '') });
  return t('warning.duplicateText', {
    what,
    date: date(String(d.dispensedOn)),
    days: tn('days.count', Number(d.durationDays)),
    left: tn('days.count', Number(d.daysLeft)),
  });
}

export function renderTotals() {
  const q = state.quote && state.lines.length ? state.quote.quote : null;
  $('t-total').textContent = q ? money(q.total) : '—';
  $('t-fund').textContent = q ? money(q.fund) : '—';
  $('t-patient').textContent = q ? money(q.patient) : '—';
  const tp = clear($('tp-line'));
  if (q) {
    tp.append(
      h('span', { class: `tag ${q.thirdPartyPayment ? 'ok' : 'warn'}` }, q.thirdPartyPayment ? t('tp.yes') : t('tp.no')),
      ' ',
      q.thirdPartyPayment
        ? t('tp.paid', {
            fund: state.card ? state.card.rights.fund : '',
            amount: money(q.fund),
            rate: rate(q.rateBp),
            version: q.ruleVersion,
          })
        : t('tp.refused', { reason: reasonText(q.reason) }),
    );
  } else if (state.quoteError) tp.append(h('span', { class: 'tag bad' }, t('tp.error')), ` ${state.quoteError}`);
  const w = clear($('warnings'));
  for (const x of state.warnings)
    w.append(
      h(
        'div',
        { class: `warning ${x.code}` },
        h('strong', null, x.code === 'allergy' ? t('warning.allergy') : t('warning.duplicate')),
        ' — ',
        warningText(x),
      ),
    );
  const btn = $button('checkout-btn');
  btn.disabled = !(q && state.card && !state.busy && state.lines.length);
  const writing = state.writing;
  btn.textContent = !state.busy
    ? t('checkout.submit')
    : writing
      ? t('checkout.writing', { written: writing.written, records: writing.records })
      : t('checkout.busy');
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let quoteTimer;
let quoteSeq = 0;

export function scheduleQuote() {
  clearTimeout(quoteTimer);
  state.quote = null;
  renderTotals();
  if (!state.card || !state.lines.length) {
    state.warnings = [];
    state.quoteError = null;
    renderBasket();
    return;
  }
  quoteTimer = setTimeout(() => void runQuote(), 200);
}

async function runQuote() {
  const seq = ++quoteSeq;
  try {
    const r = /** @type {QuoteOutcome} */ (await api('POST', '/quote', basketBody()));
    if (seq !== quoteSeq) return;
    state.quote = r;
    state.quoteError = null;
    state.warnings = r.warnings;
  } catch (e) {
    if (seq !== quoteSeq) return;
    state.quote = null;
    state.quoteError = errorText(e);
    state.warnings = [];
  }
  renderBasket();
}

function renderBasketMeta() {
  const c = state.card;
  $input('search-input').disabled = !c;
  $select('beneficiary-select').disabled = !c;
  $select('prescription-select').disabled = !c;
  const sel = clear($select('beneficiary-select'));
  for (const b of beneficiaries())
    sel.append(
      h(
        'option',
        { value: b.rank, selected: b.rank === state.beneficiary },
        t('beneficiary.option', { rank: b.rank, name: b.firstName, relation: relationText(b.relationship) }),
      ),
    );
  const ps = clear($select('prescription-select'));
  ps.append(h('option', { value: '' }, t('basket.noReference')));
  if (c) {
    for (const p of c.prescriptions.filter((x) => x.rank === state.beneficiary)) {
      ps.append(
        h(
          'option',
          { value: p.reference, selected: p.reference === state.prescription },
          t('basket.rxOption', { ref: p.reference, date: date(p.date), speciality: p.speciality }),
        ),
      );
    }
  }
  $('basket-for').textContent = c ? t('basket.for', { name: beneficiaryName(state.beneficiary) }) : '';
}

/** The barcode waiting for a manual match, above the search. */
function renderPendingScan() {
  const s = state.pendingScan;
  $('scan-pending').hidden = !s;
  if (s) $('scan-pending-text').textContent = t('scan.unknown', { gtin: displayGtin(s.gtin) });
}

export function clearBasket() {
  state.lines = [];
  state.prescription = '';
  state.counterfoil = '';
  state.prescriber = '';
  state.lastLine = null;
  dispatch({ type: 'basket' });
  dispatch({ type: 'beneficiary' });
}

export function wireBasket() {
  subscribe('card', () => {
    renderBasketMeta();
    scheduleQuote();
  });
  subscribe('beneficiary', () => {
    renderBasketMeta();
    scheduleQuote();
  });
  subscribe('basket', (e) => {
    scheduleQuote();
    renderBasket();
    if (e.focusLine !== undefined) focusQuantity(e.focusLine);
  });
  subscribe('quote', renderBasket);
  subscribe('write-progress', renderTotals);
  subscribe('scan-pending', renderPendingScan);
  subscribe('language', () => {
    renderBasketMeta();
    renderBasket();
    renderPendingScan();
  });
  $input('search-input').addEventListener('input', onSearchInput);
  $input('search-input').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') $('search-results').hidden = true;
    // Enter takes the first result, if the results on screen answer what the field holds.
    if (e.key === 'Enter' && !$('search-results').hidden && shownQuery === $input('search-input').value.trim()) {
      const first = $('search-results').querySelector('li[role="option"]');
      if (first instanceof HTMLElement) first.click();
    }
  });
  $select('beneficiary-select').addEventListener('change', (e) => {
    state.beneficiary = Number(/** @type {HTMLSelectElement} */ (e.target).value);
    state.prescription = '';
    dispatch({ type: 'beneficiary' });
  });
  $select('prescription-select').addEventListener('change', (e) => {
    state.prescription = /** @type {HTMLSelectElement} */ (e.target).value;
  });
  $('clear-btn').addEventListener('click', clearBasket);
  // Typed text is signed as sent: NFC, as the API requires.
  $input('counterfoil-input').addEventListener('input', () => {
    state.counterfoil = $input('counterfoil-input').value.trim().normalize('NFC');
  });
  $input('prescriber-input').addEventListener('input', () => {
    state.prescriber = $input('prescriber-input').value.trim().normalize('NFC');
  });
  $('scan-dismiss').addEventListener('click', () => {
    state.pendingScan = null;
    dispatch({ type: 'scan-pending' });
  });
  renderBasketMeta();
  renderBasket();
}
