// @ts-check
/**
 * The back office's exports: CSV from the API (`?format=csv`, fetched with the token like every
 * call, then handed to the browser as a download — a plain link could not carry the token), and
 * printing (the print stylesheet shows the section on screen, without the controls).
 */
import { ApiError, token } from '../api.js';
import { lang } from '../i18n.js';

/**
 * The field separator of the exports, by the page's language: Excel opens a `.csv` by splitting
 * on the list separator of Windows' regional settings, which is `;` in the French and Arabic
 * (Algeria) locales — their decimal separator is the comma — and a `,` file shows there as one
 * column. Typed by language, so a language added to the page has to choose.
 * @type {Readonly<Record<import('../i18n.js').Lang, 'comma' | 'semicolon'>>}
 */
const DELIMITER = { fr: 'semicolon', ar: 'semicolon' };

/**
 * Downloads `/api` + `path` as the file the server names, in the separator of the page's language.
 * @param {string} path  under /api, with its query (format and delimiter are added)
 */
export async function downloadCsv(path) {
  const url = `/api${path}${path.includes('?') ? '&' : '?'}format=csv&delimiter=${DELIMITER[lang()]}`;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token() ?? ''}` }, cache: 'no-store' });
  if (!res.ok) {
    /** @type {{ error?: { code: string, message: string } } | null} */
    let data;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    throw new ApiError(res.status, data?.error ?? { code: `http-${res.status}`, message: `HTTP ${res.status}` });
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'export.csv';
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** Prints the section on screen (style: backoffice.css, `@media print`). */
export function printSection() {
  window.print();
}
