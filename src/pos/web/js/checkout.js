// @ts-check
/**
 * Validating a dispensing: the basket with the totals the pharmacist saw (the server refuses the
 * checkout if its split differs) and a request id (a double click or a retry signs once); then
 * the receipt. And the card writes left pending: finish them, or cancel the invoice with a
 * signed credit note.
 */
import { api, errorText } from './api.js';
import { t, tn } from './i18n.js';
import { dispatch, notify, state } from './store.js';
import { basketBody, controlledLine, renderTotals, scheduleQuote, warningText } from './basket.js';
import { loadCard } from './card-panel.js';
import { showReceipt } from './receipt.js';
import { refreshStatus } from './status.js';

/** @typedef {import('./types.js').CheckoutOutcome} CheckoutOutcome */
/** @typedef {import('./types.js').WriteOutcome} WriteOutcome */

function newRequestId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function checkout() {
  if (!state.quote || state.busy || !state.lines.length) return;
  // A product of a controlled table is dispensed on a counterfoil prescription only.
  const controlled = controlledLine() !== undefined;
  if (controlled && !state.counterfoil) {
    notify('warn', () => t('checkout.counterfoilMissing'));
    document.getElementById('counterfoil-input')?.focus();
    return;
  }
  const allergies = state.warnings.filter((w) => w.code === 'allergy');
  if (allergies.length) {
    const list = allergies.map(warningText).join('\n');
    if (!window.confirm(t('checkout.allergyConfirm', { list }))) return;
  }
  state.busy = true;
  renderTotals();
  const q = state.quote.quote;
  try {
    const r = /** @type {CheckoutOutcome} */ (
      await api('POST', '/checkout', {
        ...basketBody(),
        expect: { total: q.total, fund: q.fund, patient: q.patient },
        requestId: newRequestId(),
        // Only with a controlled product (a serial typed for one since removed is not sent: the server refuses it).
        ...(state.counterfoil && controlled ? { counterfoil: state.counterfoil } : {}),
        ...(state.counterfoil && controlled && state.prescriber ? { prescriber: state.prescriber } : {}),
      })
    );
    const n = r.invoice.number;
    const w = r.cardWrite;
    if (w.state === 'done') notify('ok', () => t('checkout.done', { n, records: tn('records.count', w.records) }));
    else notify('warn', () => t('checkout.pending', { n, error: w.error ? w.error.message : t('common.error') }));
    state.lines = [];
    state.quote = null;
    state.warnings = [];
    state.prescription = '';
    state.counterfoil = '';
    state.prescriber = '';
    state.lastLine = null;
    state.busy = false;
    dispatch({ type: 'basket' });
    dispatch({ type: 'beneficiary' });
    await showReceipt(n);
    void loadCard();
    void refreshStatus();
  } catch (e) {
    notify('error', () => t('checkout.refused', { error: errorText(e) }));
    if (e instanceof Error && 'code' in e && e.code === 'quote-changed') scheduleQuote();
  } finally {
    state.busy = false;
    renderTotals();
  }
}

/** @param {number} n */
export async function completeWrite(n) {
  try {
    const r = /** @type {WriteOutcome} */ (await api('POST', `/card-writes/${n}/complete`));
    const error = r.error ? r.error.message : '';
    notify(r.state === 'done' ? 'ok' : 'warn', () => (r.state === 'done' ? t('write.done', { n }) : t('write.stillPending', { error })));
    void loadCard();
  } catch (e) {
    notify('error', () => errorText(e));
  }
  await refreshStatus();
}

/** @param {number} n */
export async function cancelWrite(n) {
  if (!window.confirm(t('write.cancelConfirm', { n }))) return;
  try {
    // Signed with the credit note: NFC, as the API requires of signed text.
    const r = /** @type {{ creditNote: number }} */ (
      await api('POST', `/card-writes/${n}/cancel`, { reason: t('write.cancelReason').normalize('NFC') })
    );
    notify('info', () => t('write.cancelled', { n, credit: r.creditNote }));
  } catch (e) {
    notify('error', () => errorText(e));
  }
  await refreshStatus();
}
