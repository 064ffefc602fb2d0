// @ts-check
/**
 * The page's languages: French and Arabic. Every text comes from a message catalogue
 * (i18n/fr.js is the reference, i18n/ar.js must have the same keys and shapes — tsc checks it),
 * amounts, rates and dates from the formatters the server uses too (/assets/format.js).
 *
 * Which language: `?lang=fr` or `?lang=ar` in the address forces one for this page; otherwise the
 * one chosen with the switch (remembered in this browser's localStorage); on a first visit, the
 * browser's preferred languages (Arabic if it lists Arabic before French), else French. Arabic
 * mirrors the whole layout: `dir="rtl"` on <html>, and style.css uses logical properties only.
 */
import fr from './i18n/fr.js';
import ar from './i18n/ar.js';
import { formatDate, formatInstant, formatMoney, formatRate, isLang, LANGS } from '../assets/format.js';

/** @typedef {import('../assets/format.js').Lang} Lang */
/** @typedef {{ zero?: string, one?: string, two?: string, few?: string, many?: string, other: string }} Plural */
/** @typedef {typeof fr} French */
/** @typedef {{ [K in keyof French]: French[K] extends string ? string : Plural }} Catalogue */
/** @typedef {{ [K in keyof French]: French[K] extends string ? K : never }[keyof French]} TextKey */
/** @typedef {{ [K in keyof French]: French[K] extends string ? never : K }[keyof French]} PluralKey */
/** @typedef {Record<string, string | number>} Params */

/** @type {Readonly<Record<Lang, Catalogue>>} */
const CATALOGUES = { fr, ar };

export const LANG_STORAGE_KEY = 'chifa-counter-lang';

/** @type {Lang} */
let current = 'fr';
/** @type {((lang: Lang) => void)[]} */
const listeners = [];

/** The language the page speaks now. */
export function lang() {
  return current;
}

/** @returns {Lang} */
export function initialLanguage() {
  const forced = new URLSearchParams(location.search).get('lang');
  if (isLang(forced)) return forced;
  try {
    const saved = localStorage.getItem(LANG_STORAGE_KEY);
    if (isLang(saved)) return saved;
  } catch {
    // storage refused (private mode): fall through to the browser's languages
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLang(base)) return base;
  }
  return LANGS[0];
}

/**
 * Switches the page to `l`: <html lang dir>, every static text, then whoever listens re-renders.
 * `remember`: keep it for this browser (the switch); a `?lang=` is dropped from the address then,
 * so a reload shows what was chosen.
 * @param {Lang} l
 * @param {{ remember?: boolean }} [options]
 */
export function setLanguage(l, options = {}) {
  current = l;
  const root = document.documentElement;
  root.lang = l;
  root.dir = l === 'ar' ? 'rtl' : 'ltr';
  if (options.remember) {
    try {
      localStorage.setItem(LANG_STORAGE_KEY, l);
    } catch {
      // not remembered; the page still switches
    }
    const url = new URL(location.href);
    if (url.searchParams.has('lang')) {
      url.searchParams.delete('lang');
      history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
  }
  // A page names its title's message on <html data-title> (the back office); the counter's is app.title.
  const titleKey = root.dataset.title;
  document.title = titleKey !== undefined && hasText(titleKey) ? t(titleKey) : t('app.title');
  applyTexts(document);
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === l));
  for (const fn of listeners) fn(l);
}

/** @param {(lang: Lang) => void} fn */
export function onLanguageChange(fn) {
  listeners.push(fn);
}

/**
 * In Arabic, a value set into a sentence (a code, a brand, an amount) is isolated (U+2068 FIRST
 * STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE, UAX #9): Latin text and numbers keep their
 * order whatever surrounds them. These are display characters only; nothing the page sends to the
 * server is built with parameters.
 * @param {string} template
 * @param {Params | undefined} params
 */
function fill(template, params) {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    const v = params[name];
    if (v === undefined) return whole;
    return current === 'ar' ? `\u2068${v}\u2069` : String(v);
  });
}

/**
 * @param {TextKey} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t(key, params) {
  return fill(CATALOGUES[current][key], params);
}

/** @type {Partial<Record<Lang, Intl.PluralRules>>} */
const pluralRules = {};

/**
 * The form of `key` for the number `n` (CLDR plural categories of the language).
 * @param {PluralKey} key
 * @param {number} n
 * @param {Params} [params]
 */
export function tn(key, n, params) {
  const rules = (pluralRules[current] ??= new Intl.PluralRules(current));
  const forms = CATALOGUES[current][key];
  const category = /** @type {keyof Plural} */ (rules.select(n));
  return fill(forms[category] ?? forms.other, { n, ...params });
}

/**
 * A message key that is built at run time (`reason.${code}`), if the catalogue has it.
 * @param {string} key
 * @returns {key is TextKey}
 */
export function hasText(key) {
  return typeof (/** @type {Record<string, unknown>} */ (CATALOGUES[current])[key]) === 'string';
}

/**
 * The message `prefix.code` when the catalogue has one (a reason or state code the server sends),
 * else the code as it came: a code this page does not know yet still shows.
 * @param {string} prefix
 * @param {string | null | undefined} code
 */
export function textOf(prefix, code) {
  if (!code) return '';
  const key = `${prefix}.${code}`;
  return hasText(key) ? t(key) : code;
}

/**
 * Centimes in the page's language, `—` when the value is missing.
 * @param {number | null | undefined} c
 */
export function money(c) {
  return typeof c === 'number' && Number.isSafeInteger(c) ? formatMoney(c, current) : '—';
}

/** @param {number} bp */
export function rate(bp) {
  return formatRate(bp, current);
}

/**
 * @param {string | null | undefined} iso
 * @param {'short' | 'long'} [style]
 */
export function date(iso, style) {
  return formatDate(iso, current, style);
}

/** @param {string | null | undefined} iso */
export function instant(iso) {
  return formatInstant(iso, current);
}

/**
 * Fills the static texts under `root` from the attributes that name their messages.
 * @param {ParentNode} root
 */
export function applyTexts(root) {
  /** @param {string | null} key */
  const text = (key) => (key !== null && hasText(key) ? t(key) : `⟦${key}⟧`);
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = text(el.getAttribute('data-i18n'));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]'))
    el.setAttribute('placeholder', text(el.getAttribute('data-i18n-placeholder')));
  for (const el of root.querySelectorAll('[data-i18n-aria-label]'))
    el.setAttribute('aria-label', text(el.getAttribute('data-i18n-aria-label')));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', text(el.getAttribute('data-i18n-title')));
}
