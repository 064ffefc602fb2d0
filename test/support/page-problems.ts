import type { Page } from 'playwright-core';

/**
 * Collects into `problems` what a page under test must not do: throw, log an error or a warning,
 * fail a request, or get a 4xx/5xx for a file (the API's own 4xx answers are part of the flows
 * under test). The counter page's event stream never ends: leaving or reloading the page cuts it,
 * as it should, and that is not a problem.
 */
export function watchPage(page: Page, problems: string[]): void {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (new URL(r.url()).pathname === '/api/events' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) problems.push(`${r.status()} ${r.url()}`);
  });
}
