// @ts-check
/**
 * The back office's messages to the pharmacist: one banner at a time above the sections (an
 * operation done, or refused and why), re-rendered in the page's language when it changes.
 */
import { $, clear, h } from '../dom.js';
import { t } from '../i18n.js';

/** @typedef {{ kind: 'ok' | 'info' | 'warn' | 'error', text: () => string }} Notice */

/** @type {Notice | null} */
let current = null;

/**
 * @param {Notice['kind']} kind
 * @param {() => string} text  called at each render, so the banner follows a language switch
 */
export function notify(kind, text) {
  current = { kind, text };
  renderNotice();
}

export function renderNotice() {
  const area = clear($('banner-area'));
  if (!current) return;
  const n = current;
  area.append(
    h(
      'div',
      { class: `banner ${n.kind}`, role: n.kind === 'error' ? 'alert' : 'status' },
      h('span', { class: 'banner-text' }, n.text()),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            current = null;
            renderNotice();
          },
        },
        t('common.ok'),
      ),
    ),
  );
}
