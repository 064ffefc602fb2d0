/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../../src/common/paths';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, tmpDir } from '../counter/harness';

/**
 * The page follows the counter live (GET /api/events), in a real browser: the full-rings card
 * (400 dispensations) answering as slowly as a typical card (the `typical` timing profile, real
 * clock), so the history's read progress is there to be seen; a card pulled out and put back in
 * the counter's own process (the page does nothing: only the event stream can tell it); and the
 * service stopped and started again on the same port, the page reconnecting by itself.
 * Skipped without /usr/bin/chromium except under CI=true, like counter.test.ts.
 */

const CHROMIUM = process.env.CHIFA_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const maybe = haveChromium || process.env.CI === 'true' ? describe : describe.skip;
const CARDS = path.join(packageRoot(), 'fixtures', 'cards');
const now = () => new Date('2025-07-01T09:00:00Z');

jest.setTimeout(60_000);

maybe('the page follows the counter live', () => {
  const dir = tmpDir('chifa-web-live-');
  let counter: RunningCounter;
  let station: EmulatedStation;
  let browser: Browser;
  let page: Page;
  const jsErrors: string[] = [];

  async function start(port: number): Promise<void> {
    station = new EmulatedStation(
      VirtualCard.fromImage(path.join(CARDS, 'full-rings.json')),
      VirtualCard.fromImage(path.join(CARDS, 'pharmacist-1.json')),
      { timing: 'typical', clock: 'real', hints: { insuredPin: '1234', professionalPin: '0000' } },
    );
    counter = await startCounter({ dataDir: dir, port, logger: captureLogger().logger, station, now });
  }

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but ${CHROMIUM} is missing: install the Debian package chromium`);
    await start(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Exceptions in the page's code. (Console errors are expected here: while the service is
    // down, the browser reports the event stream's failed connections.)
    page.on('pageerror', (err) => jsErrors.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await counter?.close();
  });

  /** The page was not reloaded since `mark()`. */
  const mark = () => page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
  const marked = () => page.evaluate(() => (window as unknown as { mark?: number }).mark === 42);

  test('PIN, the first screen, then the history read with its progress', async () => {
    await page.goto(counter.pageUrl);
    await page.locator('#holder-name').filter({ hasText: 'BENALI Karim' }).waitFor();
    await mark();
    await page.locator('#pin-input').fill('1234');
    await page.locator('#pin-submit').click();
    await page.locator('#rights-panel').waitFor({ state: 'visible' });
    // The prescriptions come after the dispensations the quote needs.
    await page.locator('#rx-table tbody tr').nth(39).waitFor();

    // Every text the progress line shows, as it changes.
    await page.evaluate(() => {
      const el = document.getElementById('history-progress')!;
      const seen: string[] = [];
      (window as unknown as { progress: string[] }).progress = seen;
      new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
    });
    const before = await page.locator('#history-progress').textContent();
    const first = Number(/Historique : (\d+) \/ 400/.exec(before ?? '')?.[1]);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(100);
    await page.locator('#tab-disp').click();
    await page.locator('#history-progress').filter({ hasText: 'Historique : 400 / 400' }).waitFor();
    await expect(page.locator('#disp-table tbody tr').count()).resolves.toBe(400);
    const shown = await page.evaluate(() => (window as unknown as { progress: string[] }).progress);
    const counts = [...new Set(shown.map((s) => Number(/(\d+) \/ 400/.exec(s)?.[1])).filter((n) => n > first && n < 400))];
    // The read went by in steps the page showed as they came.
    expect(counts.length).toBeGreaterThanOrEqual(3);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    await expect(page.locator('#history-more').isHidden()).resolves.toBe(true);
    expect(await marked()).toBe(true);
  });

  test('nothing polls: an idle page asks the counter nothing', async () => {
    const asked: string[] = [];
    const seen = (r: { url(): string }) => asked.push(new URL(r.url()).pathname);
    page.on('request', seen);
    await page.waitForTimeout(3000);
    page.off('request', seen);
    expect(asked).toEqual([]);
  });

  test('a card pulled out and put back: the page follows without reloading', async () => {
    station.cards.insured.remove();
    await page.locator('#card-empty').waitFor({ state: 'visible' });
    await expect(page.locator('#rights-panel').isHidden()).resolves.toBe(true);
    station.cards.insured.insert();
    await page.locator('#holder-name').filter({ hasText: 'BENALI Karim' }).waitFor();
    await page.locator('#pin-form').waitFor({ state: 'visible' });
    expect(await marked()).toBe(true);
  });

  test('the service restarts on the same port: the page reconnects by itself', async () => {
    const port = Number(new URL(counter.url).port);
    await counter.close();
    await page.locator('.chip', { hasText: 'Service injoignable' }).waitFor();
    await start(port);
    // Back: the status again, then live events from the new process.
    await page.locator('.chip', { hasText: 'Carte Chifa présente' }).waitFor();
    station.cards.insured.remove();
    await page.locator('#card-empty').waitFor({ state: 'visible' });
    station.cards.insured.insert();
    await page.locator('#holder-name').filter({ hasText: 'BENALI Karim' }).waitFor();
    expect(await marked()).toBe(true);
    expect(jsErrors).toEqual([]);
  });
});
