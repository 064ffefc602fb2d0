// @ts-check
/**
 * Keyboard-first work. Function keys the browsers leave to pages (F2, F4, F8, F9 — not F1 help,
 * F3 find, F5 reload, F6 address bar, F7 caret browsing, F10 menu, F11 full screen, F12 tools)
 * and Alt with a letter no browser menu uses, read by key position (`KeyboardEvent.code`) so they
 * work on an Arabic layout too. `?` (outside a text field) shows them all.
 */
import { $, $button, $input, clear, h } from './dom.js';
import { t } from './i18n.js';
import { subscribe } from './store.js';
import { focusQuantity } from './basket.js';
import { checkout } from './checkout.js';
import { closeReceipt, isReceiptOpen, printReceipt } from './receipt.js';

/** @typedef {import('./i18n.js').TextKey} TextKey */

/**
 * @typedef {object} Shortcut
 * @property {string[]} keys   how the help shows them
 * @property {string[]} fkeys  KeyboardEvent.key of function keys
 * @property {string} [alt]    KeyboardEvent.code with Alt
 * @property {TextKey} label
 * @property {() => void} run
 */

function focusPin() {
  if (!$('pin-form').hidden && !$('card-holder').hidden) $input('pin-input').focus();
  else if (!$('pro-panel').hidden) $input('pro-pin').focus();
}

function focusSearch() {
  const s = $input('search-input');
  if (s.disabled) return;
  s.focus();
  s.select();
}

export function openHelp() {
  renderHelp();
  $('help').hidden = false;
  $button('help-close').focus();
}

function closeHelp() {
  $('help').hidden = true;
}

/** @type {Shortcut[]} */
const SHORTCUTS = [
  { keys: ['F2', 'Alt+P'], fkeys: ['F2'], alt: 'KeyP', label: 'help.pin', run: focusPin },
  { keys: ['F4', 'Alt+R'], fkeys: ['F4'], alt: 'KeyR', label: 'help.search', run: focusSearch },
  { keys: ['F8', 'Alt+Q'], fkeys: ['F8'], alt: 'KeyQ', label: 'help.quantity', run: () => focusQuantity() },
  {
    keys: ['F9', 'Alt+V'],
    fkeys: ['F9'],
    alt: 'KeyV',
    label: 'help.validate',
    run: () => {
      if (!$button('checkout-btn').disabled) void checkout();
    },
  },
  { keys: ['Alt+I'], fkeys: [], alt: 'KeyI', label: 'help.print', run: () => void printReceipt() },
  { keys: ['?'], fkeys: [], label: 'help.help', run: openHelp },
  {
    keys: ['Esc'],
    fkeys: [],
    label: 'help.escape',
    run: () => {},
  },
];

function renderHelp() {
  const table = /** @type {HTMLTableElement} */ ($('help-table'));
  const body = clear(table.tBodies[0] ?? table);
  for (const s of SHORTCUTS) {
    const keys = s.keys.flatMap((k, i) => [i > 0 ? ` ${t('help.or')} ` : null, h('kbd', { dir: 'ltr' }, k)]);
    body.append(h('tr', null, h('td', { class: 'nowrap' }, keys), h('td', null, t(s.label))));
  }
}

/** A field where `?` is typed, not a shortcut. */
function typing() {
  const el = document.activeElement;
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
}

export function wireShortcuts() {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    if (e.key === 'Escape') {
      if (!$('help').hidden) closeHelp();
      else if (isReceiptOpen()) {
        closeReceipt();
        focusSearch();
      } else return;
      e.preventDefault();
      return;
    }
    const s = e.altKey
      ? !e.ctrlKey && !e.metaKey
        ? SHORTCUTS.find((x) => x.alt === e.code)
        : undefined
      : e.key === '?' && !typing() && !e.ctrlKey && !e.metaKey
        ? SHORTCUTS.find((x) => x.keys[0] === '?')
        : !e.ctrlKey && !e.metaKey && !e.shiftKey
          ? SHORTCUTS.find((x) => x.fkeys.includes(e.key))
          : undefined;
    if (!s) return;
    e.preventDefault();
    s.run();
  });
  $('help-btn').addEventListener('click', openHelp);
  $('help-close').addEventListener('click', closeHelp);
  $('receipt-close').addEventListener('click', focusSearch);
  subscribe('language', renderHelp);
}
