/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, NOW, tmpDir } from '../counter/harness';

/**
 * The counter page in a real browser (Debian's chromium driven by playwright-core) against the
 * real server with the emulated demo cards: token from the fragment, holder, PIN, basket, split,
 * checkout, receipt. Without /usr/bin/chromium the test is skipped with a warning on a developer
 * machine and fails under CI=true (CI installs the `chromium` package).
 * CHIFA_SCREENSHOTS=DIR saves screenshots of each step there.
 */

const CHROMIUM = process.env.CHIFA_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const underCi = process.env.CI === 'true';
if (!haveChromium && !underCi) {
  console.warn(`\n*** SKIPPING the browser test: ${CHROMIUM} not found (apt-get install chromium). Under CI=true it fails instead. ***\n`);
}
const shots = process.env.CHIFA_SCREENSHOTS;

const maybe = haveChromium || underCi ? describe : describe.skip;

maybe('counter page in Chromium', () => {
  let counter: RunningCounter;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but ${CHROMIUM} is missing: install the Debian package chromium`);
    const { logger } = captureLogger();
    counter = await startCounter({ dataDir: tmpDir('chifa-web-'), port: 0, demo: true, logger, now: () => NOW });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // CSP violations and failed loads show up as console errors; a wrong PIN's 200 does not.
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await counter?.close();
  });

  const snap = async (name: string) => {
    if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  };

  test('without the token the page asks for it and the API answers 401', async () => {
    const blank = await browser.newPage();
    await blank.goto(counter.url + '/');
    await blank.locator('#token-screen').waitFor({ state: 'visible' });
    await blank.close();
  });

  test('token, holder, PIN, basket, split, checkout, receipt', async () => {
    await page.goto(counter.pageUrl);
    // The token leaves the address bar and lives in sessionStorage.
    await page.waitForFunction(() => !location.hash.includes('token'));
    expect(await page.evaluate(() => sessionStorage.getItem('chifa-counter-token'))).toBe(counter.token);

    await page.locator('#holder-name').filter({ hasText: 'BENALI Karim' }).waitFor();
    await expect(page.locator('#holder-name-ar').textContent()).resolves.toContain('بن علي');
    await expect(page.locator('.chip.demo').count()).resolves.toBe(1);
    await snap('1-card-inserted');

    await page.locator('#pin-input').fill('9999');
    await page.locator('#pin-submit').click();
    await page.locator('#pin-message').filter({ hasText: '2 essai' }).waitFor();
    await page.locator('#pin-input').fill('1234');
    await page.locator('#pin-submit').click();
    await page.locator('#rights-panel').waitFor({ state: 'visible' });
    expect(await page.locator('#pin-input').inputValue()).toBe('');
    await expect(page.locator('.allergies.has').textContent()).resolves.toContain('Amoxicilline');
    await expect(page.locator('#beneficiaries .beneficiary').count()).resolves.toBe(4);
    await page.locator('#tab-disp').click();
    await expect(page.locator('#disp-table tbody tr').count()).resolves.toBeGreaterThan(0);
    await page.locator('#tab-rx').click();

    await page.locator('#search-input').fill('dolip');
    const first = page.locator('#search-results li[role="option"]').first();
    await first.waitFor();
    await first.click();
    await page.locator('#t-patient').filter({ hasText: 'DA' }).waitFor();
    await page.locator('#search-input').fill('amoxic');
    await page.locator('#search-results li[role="option"]').first().click();
    await page.locator('.warning.allergy').waitFor();
    await page.locator('#t-total').filter({ hasText: 'DA' }).waitFor();
    await snap('2-basket');

    const rows = page.locator('#basket-table tbody tr');
    await expect(rows.count()).resolves.toBe(2);
    const total = await page.locator('#t-total').textContent();
    const fund = await page.locator('#t-fund').textContent();
    const patient = await page.locator('#t-patient').textContent();
    expect(total).toMatch(/^\d{1,3}( \d{3})*,\d{2} DA$/);
    // The page's sums agree with the server's: total = fund + patient, in centimes.
    const c = (s: string | null) => Number(s!.replace(/[^\d]/g, ''));
    expect(c(fund) + c(patient)).toBe(c(total));
    await expect(page.locator('#tp-line').textContent()).resolves.toContain('Tiers payant : oui');

    page.once('dialog', (d) => void d.accept()); // the allergy confirmation
    await page.locator('#checkout-btn').click();
    await page.locator('#receipt').waitFor({ state: 'visible' });
    await expect(page.locator('#receipt-title').textContent()).resolves.toBe('FACTURE N° 1');
    await expect(page.locator('#receipt-due').textContent()).resolves.toBe(patient);
    await expect(page.locator('#receipt-body').textContent()).resolves.toContain('Carte Chifa mise à jour');
    await snap('3-receipt');
    await page.emulateMedia({ media: 'print' });
    await expect(page.locator('.topbar').isVisible()).resolves.toBe(false);
    await expect(page.locator('#receipt-body').isVisible()).resolves.toBe(true);
    await snap('4-print');
    await page.emulateMedia({ media: 'screen' });
    await page.locator('#receipt-close').click();

    // The new records are on the card and in the history table.
    await page.locator('#tab-disp').click();
    await page.locator('#disp-table tbody tr').first().filter({ hasText: '1' }).waitFor();
    await snap('5-history');
    expect(pageErrors).toEqual([]);
  });

  test('the page formats amounts with the module the server uses, integer arithmetic only', async () => {
    // The module the page imports, as the browser loads it from /assets/.
    // (A string: ts-jest would turn a dynamic import() in a function into require().)
    const out = await page.evaluate<string[]>(
      `import('/assets/format.js').then((m) => [0, 5, 123456, 100000000, 9007199254740991, -250].map((c) => m.formatMoney(c, 'fr')))`,
    );
    expect(out).toEqual(['0,00 DA', '0,05 DA', '1 234,56 DA', '1 000 000,00 DA', '90 071 992 547 409,91 DA', '-2,50 DA']);
  });
});
