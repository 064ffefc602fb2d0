// @ts-check
/**
 * What the counter page and the back office share around their content: the links between the
 * two pages, the language buttons, the token screen (shown when the page has no token, or the
 * server refused it). Built here into the pages' empty placeholders — static pages have no
 * include — so that both take a token and switch language the same way, from one markup. Texts
 * are named by data-i18n like the pages' own (test/pos/web/messages.test.ts reads this file too).
 */
import { $, $input, h } from './dom.js';
import { initialLanguage, setLanguage } from './i18n.js';
import { isLang } from '../assets/format.js';
import { setToken, whenUnauthorized } from './api.js';

/**
 * Fills the placeholders: `<nav class="page-nav" data-page="counter|backoffice">`, `<div
 * class="lang-switch">`, `<section id="token-screen">`. Before wireLanguages, which translates them.
 */
export function mountShell() {
  const nav = document.querySelector('nav.page-nav');
  if (nav instanceof HTMLElement) {
    const page = nav.dataset.page;
    nav.append(
      h('a', { href: 'index.html', id: 'nav-counter', 'aria-current': page === 'counter' ? 'page' : null, 'data-i18n': 'nav.counter' }),
      h('a', {
        href: 'backoffice.html',
        id: 'nav-backoffice',
        'aria-current': page === 'backoffice' ? 'page' : null,
        'data-i18n': 'nav.backoffice',
      }),
    );
  }
  document
    .querySelector('.lang-switch')
    ?.append(
      h('button', { type: 'button', class: 'small ghost', 'data-lang': 'fr', lang: 'fr', dir: 'ltr', 'data-i18n': 'lang.fr' }),
      h('button', { type: 'button', class: 'small ghost', 'data-lang': 'ar', lang: 'ar', dir: 'rtl', 'data-i18n': 'lang.ar' }),
    );
  $('token-screen').append(
    h('h2', { 'data-i18n': 'token.title' }),
    h('p', { 'data-i18n': 'token.text' }),
    h(
      'form',
      { id: 'token-form', class: 'row' },
      h('label', { for: 'token-input', class: 'sr', 'data-i18n': 'token.label' }),
      h('input', { id: 'token-input', type: 'password', autocomplete: 'off', 'data-i18n-placeholder': 'token.label', required: true }),
      h('button', { type: 'submit', class: 'primary', 'data-i18n': 'token.submit' }),
    ),
  );
}

/** Hides the page behind the token screen. */
export function showTokenScreen() {
  $('token-screen').hidden = false;
  $('app').hidden = true;
}

/**
 * The token form: the token typed is kept for this tab (api.js), the field emptied, the page
 * shown, then `onToken` runs. A 401 from the API brings the screen back.
 * @param {() => void} onToken
 */
export function wireTokenScreen(onToken) {
  whenUnauthorized(showTokenScreen);
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $input('token-input');
    const value = input.value.trim();
    input.value = '';
    if (!value) return;
    setToken(value);
    $('token-screen').hidden = true;
    $('app').hidden = false;
    onToken();
  });
}

/** The page in the language chosen before (or the browser's), and the buttons that change it. */
export function wireLanguages() {
  setLanguage(initialLanguage());
  for (const b of document.querySelectorAll('[data-lang]'))
    b.addEventListener('click', () => {
      const l = b.getAttribute('data-lang');
      if (isLang(l)) setLanguage(l, { remember: true });
    });
}
