// @ts-check
/**
 * The counter API client: JSON over fetch with the bearer token. The token comes from the URL
 * fragment the server printed (`#token=…`), is kept in sessionStorage (this tab only) and removed
 * from the address bar at once.
 */
import { hasText, t } from './i18n.js';

export const TOKEN_KEY = 'chifa-counter-token';

/** @type {string | null} */
let memoryToken = null;

/** Moves a `#token=…` from the address into sessionStorage. */
export function takeTokenFromFragment() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (!m || m[1] === undefined) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

/** @param {string} value */
export function setToken(value) {
  memoryToken = value;
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // private mode: kept in memory only
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code: string, message: string, field?: string }} error
   */
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.field = error.field;
  }
}

/** Called on a 401 (the token screen). */
let onUnauthorized = () => {};
/** @param {() => void} fn */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * @template T
 * @param {'GET' | 'POST'} method
 * @param {string} path  under /api
 * @param {unknown} [body]
 * @returns {Promise<T>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${token() ?? ''}` };
  /** @type {RequestInit} */
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api${path}`, init);
  } catch {
    throw new ApiError(0, { code: 'offline', message: 'the counter service does not answer' });
  }
  /** @type {unknown} */
  let data;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const e = /** @type {{ error?: { code: string, message: string, field?: string } } | null} */ (data)?.error;
    throw new ApiError(res.status, e ?? { code: `http-${res.status}`, message: `HTTP ${res.status}` });
  }
  return /** @type {T} */ (data);
}

/**
 * What to tell the pharmacist about a failure: the message of its code in the page's language
 * when the catalogue has one, else the server's own message (English, for the log and support).
 * @param {unknown} e
 */
export function errorText(e) {
  if (e instanceof ApiError) {
    const key = `error.${e.code}`;
    return hasText(key) ? t(key) : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
