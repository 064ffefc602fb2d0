import type { Page } from 'playwright-core';

/**
 * Collects into `problems` what a page under test must not do: throw, log an error or a warning,
 * fail a request, or get a 4xx/5xx for a file (the API's own 4xx answers are part of the flows
 * under test). The counter page's event stream never ends: leaving or reloading the page cuts it,
 * as it should, and that is not a problem.
 */
/** Requests in flight per page watched (the event stream left out: it never ends). */
const inFlight = new WeakMap<Page, Set<unknown>>();
const isEvents = (url: string) => new URL(url).pathname === '/api/events';

export function watchPage(page: Page, problems: string[]): void {
  const pending = new Set<unknown>();
  inFlight.set(page, pending);
  page.on('request', (r) => {
    if (!isEvents(r.url())) pending.add(r);
  });
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (isEvents(r.url()) && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) problems.push(`${r.status()} ${r.url()}`);
  });
}

/**
 * Resolves once the page has had no request in flight (but its event stream) for `quietMs`: before
 * a test reloads or leaves a page on purpose, so that what the page was still loading (product
 * names after a card read…) is not cut and reported as a failed request.
 */
export async function networkQuiet(page: Page, quietMs = 200, timeoutMs = 10_000): Promise<void> {
  const pending = inFlight.get(page);
  if (!pending) throw new Error('networkQuiet: watchPage(page) first');
  const end = Date.now() + timeoutMs;
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    if (Date.now() > end) throw new Error(`networkQuiet: still ${pending.size} requests in flight after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (pending.size > 0) quietSince = Date.now();
  }
}
