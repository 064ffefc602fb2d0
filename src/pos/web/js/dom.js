// @ts-check
/**
 * Building the page without innerHTML: every text from the API goes in as a text node, so nothing
 * it contains can become markup (no XSS), and the Content-Security-Policy needs no exception.
 */

/**
 * The element with this id, of the expected class (a missing or mistyped element is a bug of the
 * page, reported at once rather than as `null` later).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id}: expected a ${type.name}`);
  return el;
}

/** @param {string} id */
export const $ = (id) => byId(id, HTMLElement);
/** @param {string} id */
export const $input = (id) => byId(id, HTMLInputElement);
/** @param {string} id */
export const $button = (id) => byId(id, HTMLButtonElement);
/** @param {string} id */
export const $select = (id) => byId(id, HTMLSelectElement);

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>} Attrs */

/**
 * `h('td', { class: 'num' }, 'text', child…)`. Attributes: `class`; `on<event>` with a function
 * adds a listener; `true` sets an empty attribute; `false`, null and undefined set nothing.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (typeof v === 'function') {
        if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      } else if (k === 'class') el.className = String(v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * @template {Node} T
 * @param {T} el
 * @returns {T}
 */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/**
 * A term and its value in a <dl>.
 * @param {HTMLElement} dl
 * @param {string} term
 * @param {Child | Child[]} value
 * @param {string | null} [cls]
 */
export function fact(dl, term, value, cls) {
  dl.append(h('dt', null, term), h('dd', { class: cls ?? null }, value));
}
