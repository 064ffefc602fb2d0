// @ts-check
/**
 * What a scan does: read it (GS1, /assets/gs1.js — the reading the server does too), refuse a
 * pack past its expiry date, find the product by its GTIN and add it with its lot, expiry and
 * serial; a GTIN the catalogue does not know stays on screen until the pharmacist picks the
 * product in the search (the pack's data go with it) or dismisses it.
 */
import { api, errorText } from './api.js';
import { $input } from './dom.js';
import { date, t } from './i18n.js';
import { dispatch, notify, state } from './store.js';
import { addProduct } from './basket.js';
import { displayGtin, parseScan } from '../assets/gs1.js';

/** @typedef {import('./types.js').Product} Product */

/** The counter's calendar day (the server's), or the browser's before the first status. */
function today() {
  if (state.status) return state.status.today;
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** @param {string} text what the scanner typed */
export async function onScan(text) {
  const day = today();
  const r = parseScan(text, day);
  if (!r.ok) {
    const code = r.error.code;
    notify('error', () => t('scan.unreadable', { error: t(`scan.error.${code}`) }));
    return;
  }
  const s = r.scan;
  const expiry = s.expiry;
  if (expiry !== undefined && expiry < day) {
    const lot = s.lot;
    notify('error', () =>
      lot !== undefined ? t('scan.expired', { lot, date: date(expiry) }) : t('scan.expiredNoLot', { date: date(expiry) }),
    );
    return;
  }
  if (!state.card) {
    notify('warn', () => t('scan.noCard', { gtin: displayGtin(s.gtin) }));
    return;
  }
  /** @type {{ product: Product | null }} */
  let found;
  try {
    found = await api('GET', `/catalogue/gtin/${s.gtin}`);
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  if (found.product) {
    addProduct(found.product, { lot: s.lot, expiry: s.expiry, serial: s.serial });
    return;
  }
  state.pendingScan = { gtin: s.gtin };
  if (s.lot !== undefined) state.pendingScan.lot = s.lot;
  if (s.expiry !== undefined) state.pendingScan.expiry = s.expiry;
  if (s.serial !== undefined) state.pendingScan.serial = s.serial;
  dispatch({ type: 'scan-pending' });
  const search = $input('search-input');
  search.focus();
  search.select();
}
