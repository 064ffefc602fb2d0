/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { networkQuiet, watchPage } from '../../support/page-problems';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildElementString, checkDigit } from '../../../src/common/gs1';
import { packageRoot } from '../../../src/common/paths';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, DEMO_PIN, NOW, tmpDir } from '../counter/harness';

/**
 * The counter page in both languages, with a barcode scanner and the keyboard, in a real browser
 * (Debian's chromium driven by playwright-core) against the real server and the emulated demo
 * cards (today is 2025-06-15): the French and the Arabic page (the layout mirrored, checked
 * through computed styles and positions, a screenshot of each in test-output/counter-page/), the
 * language remembered per browser, scans typed as a keyboard-wedge scanner types them (an EAN-13,
 * a GS1 DataMatrix with lot, expiry and serial that end up on the signed invoice, an expired lot,
 * an unknown GTIN matched by hand), the shortcuts and where the focus goes, and not one console
 * error or warning.
 */

const CHROMIUM = process.env.CHIFA_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const underCi = process.env.CI === 'true';
const maybe = haveChromium || underCi ? describe : describe.skip;
if (!haveChromium && !underCi)
  console.warn(`\n*** SKIPPING the browser test: ${CHROMIUM} not found. Under CI=true it fails instead. ***\n`);

const SHOTS = path.join(packageRoot(), 'test-output', 'counter-page');

/** The sample catalogue's GTIN-13 for row `row` (fixtures/catalogue/README.md). */
const gtin13 = (row: number) => {
  const body = `2990000${String(row).padStart(5, '0')}`;
  return body + checkDigit(body);
};
const DOLIPRANE = gtin13(1); // N02BE01-01
const PARALGAN = gtin13(2); // N02BE01-02
/** A well-formed GTIN (Algeria's GS1 prefix 613) that the catalogue does not have. */
const UNKNOWN = `613000004242${checkDigit('613000004242')}`;
const noIsolates = (s: string | null) => (s ?? '').replace(/[\u2066-\u2069]/g, '');

maybe('counter page: languages, barcodes, keyboard', () => {
  let counter: RunningCounter;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Console errors and warnings, page errors, failed requests: must stay empty. */
  const problems: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but ${CHROMIUM} is missing: install the Debian package chromium`);
    fs.mkdirSync(SHOTS, { recursive: true });
    counter = await startCounter({
      dataDir: tmpDir('chifa-web-lang-'),
      port: 0,
      demo: true,
      logger: captureLogger().logger,
      now: () => NOW,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await counter?.close();
  });

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  /** A fresh browser profile (its own localStorage), with everything the console says collected. */
  async function open(query = '', options: { locale?: string } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: options.locale ?? 'fr-FR' });
    contexts.push(context);
    const page = await context.newPage();
    watchPage(page, problems);
    await page.goto(`${counter.url}/${query}#token=${encodeURIComponent(counter.token)}`);
    return page;
  }

  /** Pulls the demo card out and puts it back: a new insertion, the PIN is asked again. */
  async function reinsert(): Promise<void> {
    for (const action of ['remove', 'insert']) {
      const res = await fetch(`${counter.url}/api/demo/insured/${action}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${counter.token}` },
      });
      expect(res.status).toBe(200);
    }
  }

  /** The holder's PIN, typed and sent with Enter. */
  async function unlock(page: Page): Promise<void> {
    await page.locator('#pin-input').waitFor({ state: 'visible' });
    await page.keyboard.press('F2');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('pin-input');
    await page.keyboard.type(DEMO_PIN);
    await page.keyboard.press('Enter');
    await page.locator('#rights-panel').waitFor({ state: 'visible' });
    // After the PIN, the flow goes on at the product search.
    await page.waitForFunction(() => document.activeElement?.id === 'search-input');
  }

  /**
   * What a keyboard-wedge scanner does: key presses a few milliseconds apart, then Enter; GS is
   * Ctrl+]. Sent through Chromium's input pipeline (CDP Input.dispatchKeyEvent: trusted events that
   * type into the focused field) with the scanner's own clock as their time stamps: the page sees
   * a scanner's timing however busy this machine is when the test runs.
   */
  async function scan(page: Page, text: string, gapMs = 5): Promise<void> {
    const cdp = await page.context().newCDPSession(page);
    let t = Date.now() / 1000;
    const press = async (key: string, code: string, keyCode: number, options: { text?: string; ctrl?: boolean } = {}) => {
      t += gapMs / 1000;
      const common = { key, code, windowsVirtualKeyCode: keyCode, modifiers: options.ctrl ? 2 : 0 };
      await cdp.send('Input.dispatchKeyEvent', {
        ...common,
        type: options.text !== undefined ? 'keyDown' : 'rawKeyDown',
        timestamp: t,
        ...(options.text !== undefined ? { text: options.text, unmodifiedText: options.text } : {}),
      });
      await cdp.send('Input.dispatchKeyEvent', { ...common, type: 'keyUp', timestamp: t + 0.001 });
    };
    for (const ch of text) {
      if (ch === '\x1d') await press(']', 'BracketRight', 221, { ctrl: true });
      else if (/\d/.test(ch)) await press(ch, `Digit${ch}`, ch.charCodeAt(0), { text: ch });
      else if (/[a-z]/i.test(ch)) await press(ch, `Key${ch.toUpperCase()}`, ch.toUpperCase().charCodeAt(0), { text: ch });
      else if (ch === ']') await press(ch, 'BracketRight', 221, { text: ch });
      else throw new Error(`the test scanner has no key for ${JSON.stringify(ch)}`);
    }
    await press('Enter', 'Enter', 13, { text: '\r' });
    await cdp.detach();
  }

  const lines = (page: Page) => page.locator('#basket-table tbody tr');

  test('French: the page, a PIN, an EAN-13 and a GS1 DataMatrix scanned, checkout and receipt with lot and expiry', async () => {
    await reinsert();
    const page = await open('?lang=fr');
    await page.locator('#holder-name').filter({ hasText: 'BENALI Karim' }).waitFor();
    expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, document.title])).toEqual([
      'fr',
      'ltr',
      'Comptoir Chifa',
    ]);
    expect(await page.evaluate(() => getComputedStyle(document.body).direction)).toBe('ltr');
    await expect(page.locator('link[rel="icon"]').getAttribute('href')).resolves.toBe('favicon.svg');
    await unlock(page);

    // An EAN-13 scanned while the cursor is in the search field: the product is added, the digits
    // the scanner typed into the field are gone, the cursor is on the new line's quantity.
    await scan(page, DOLIPRANE);
    await lines(page).first().filter({ hasText: 'Doliprane' }).waitFor();
    expect(await page.locator('#search-input').inputValue()).toBe('');
    await page.waitForFunction(() => document.activeElement?.classList.contains('qty-units') === true);
    await page.keyboard.press('ArrowUp'); // quantity 2
    await page.keyboard.press('Enter'); // done with the line: back to the search
    await page.waitForFunction(() => document.activeElement?.id === 'search-input');

    // A GS1 DataMatrix with lot, expiry (DD = 00: the end of the month) and serial, with the
    // scanner's symbology identifier, while the cursor is on a button: the Enter ending the scan
    // does not press it.
    await page.locator('#clear-btn').focus();
    await scan(
      page,
      buildElementString({
        gtin: `0${PARALGAN}`,
        expiry: '2027-12-31',
        expiryDayZero: true,
        lot: 'LOT42',
        serial: 'SN0001',
        symbologyId: ']d2',
      }),
    );
    await lines(page).nth(1).waitFor();
    await expect(lines(page).nth(1).textContent()).resolves.toMatch(/Paralgan.*Lot LOT42 · exp\. 31\/12\/2027 · N° de série SN0001/);
    // The same pack (same serial) scanned again is refused.
    await scan(page, buildElementString({ gtin: `0${PARALGAN}`, expiry: '2027-12-31', lot: 'LOT42', serial: 'SN0001' }));
    await page.locator('.banner.warn').filter({ hasText: 'SN0001' }).waitFor();
    await expect(lines(page).count()).resolves.toBe(2);

    await page.locator('#t-total').filter({ hasText: 'DA' }).waitFor();
    const total = await page.locator('#t-total').textContent();
    expect(total).toMatch(/^\d{1,3}( \d{3})*,\d{2} DA$/);
    await fs.promises.writeFile(path.join(SHOTS, 'fr.png'), await page.screenshot({ fullPage: true }));

    // F9 validates; the focus goes to Print; Alt+I would print (not pressed: no print dialog here).
    await page.keyboard.press('F9');
    await page.locator('#receipt').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.activeElement?.id === 'print-btn');
    const title = await page.locator('#receipt-title').textContent();
    const number = Number(/N° (\d+)/.exec(title ?? '')?.[1]);
    expect(title).toBe(`FACTURE N° ${number}`);
    await expect(page.locator('#receipt-body').textContent()).resolves.toContain('Lot LOT42 · exp. 31/12/2027 · N° de série SN0001');
    // The pack is on the signed invoice line; the other line has none.
    const doc = counter.service.invoiceDocument(number).document;
    expect(doc.lines.map((l) => [l.code, l.quantity, l.lot, l.expiry, l.serial])).toEqual([
      ['N02BE01-01', 2, undefined, undefined, undefined],
      ['N02BE01-02', 1, 'LOT42', '2027-12-31', 'SN0001'],
    ]);
    await fs.promises.writeFile(path.join(SHOTS, 'fr-receipt.png'), await page.screenshot({ fullPage: true }));
    await page.keyboard.press('Escape');
    await page.locator('#receipt').waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search-input');
  });

  test('French: an expired lot is refused, an unknown GTIN waits for a manual match, typing is not a scan', async () => {
    const page = await open('?lang=fr');
    await page.locator('#rights-panel').waitFor({ state: 'visible' }); // the card is still open from the test before
    await page.locator('#search-input').focus();

    await scan(page, buildElementString({ gtin: `0${PARALGAN}`, expiry: '2025-05-31', lot: 'OLD7', symbologyId: ']d2' }));
    await page.locator('.banner.error').filter({ hasText: 'Lot OLD7 périmé depuis le 31/05/2025' }).waitFor();
    await expect(lines(page).count()).resolves.toBe(0);

    await scan(page, UNKNOWN);
    await page.locator('#scan-pending').waitFor({ state: 'visible' });
    await expect(page.locator('#scan-pending-text').textContent()).resolves.toContain(`GTIN ${UNKNOWN}`);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search-input');
    await page.keyboard.type('amoxic');
    await page.locator('#search-results li[role="option"]').first().click();
    await page.locator('#scan-pending').waitFor({ state: 'hidden' });
    await lines(page).first().filter({ hasText: 'Amoxicilline' }).waitFor();

    // Eight characters typed by a person (slowly) and Enter: typing, not a scan.
    await page.locator('#search-input').focus();
    await page.keyboard.type('zzzz1234', { delay: 110 });
    await page.keyboard.press('Enter');
    await page.locator('#search-results li.none').waitFor();
    expect(await page.locator('#search-input').inputValue()).toBe('zzzz1234');
    await expect(page.locator('#banner-area').textContent()).resolves.not.toContain('illisible');

    // The shortcuts' help.
    await page.locator('#basket-panel h2').click();
    await page.keyboard.press('?');
    await page.locator('#help').waitFor({ state: 'visible' });
    await expect(page.locator('#help-table tbody tr').count()).resolves.toBeGreaterThanOrEqual(6);
    await expect(page.locator('#help-table').textContent()).resolves.toContain('F9');
    await page.keyboard.press('Escape');
    await page.locator('#help').waitFor({ state: 'hidden' });
  });

  test('Arabic: the layout mirrored, Arabic texts and amounts, the receipt in Arabic', async () => {
    await reinsert();
    const page = await open('?lang=ar');
    await page.locator('#holder-name-ar').filter({ hasText: 'بن علي' }).waitFor();
    expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, document.title])).toEqual([
      'ar',
      'rtl',
      'شباك الشفاء',
    ]);
    const layout = await page.evaluate(() => {
      const box = (sel: string) => document.querySelector(sel)!.getBoundingClientRect();
      const th = document.querySelector('#basket-table th')!;
      const key = document.querySelector('.search-key')!;
      const search = box('#search-input');
      return {
        body: getComputedStyle(document.body).direction,
        thAlign: getComputedStyle(th).textAlign,
        thDirection: getComputedStyle(th).direction,
        // inset-inline-end: 12px is the left side in a right-to-left page.
        keyLeft: getComputedStyle(key).left,
        keyNearLeftEdge: box('.search-key').left - search.left < 40,
        // The patient's column (first in the document) is on the right, the sale on the left.
        cardRightOfBasket: box('#card-panel').left > box('#basket-panel').right,
        brandRightOfChips: box('.brand').left > box('#chips').left,
      };
    });
    expect(layout).toEqual({
      body: 'rtl',
      thAlign: 'start',
      thDirection: 'rtl',
      keyLeft: '12px',
      keyNearLeftEdge: true,
      cardRightOfBasket: true,
      brandRightOfChips: true,
    });
    await expect(page.locator('[data-i18n="card.title"]').textContent()).resolves.toBe('بطاقة الشفاء');
    await expect(page.locator('[data-i18n="beneficiaries.title"]').textContent()).resolves.toBe('المؤمن له وذوو الحقوق');

    // A wrong PIN: the Arabic dual form (two tries left).
    await page.locator('#pin-input').fill('9999');
    await page.locator('#pin-submit').click();
    await page.locator('#pin-message').filter({ hasText: 'رمز سري خاطئ: بقيت محاولتان.' }).waitFor();
    await unlock(page);
    await expect(page.locator('#rights-facts').textContent()).resolves.toContain('الصندوق الوطني للتأمينات الاجتماعية للعمال الأجراء');

    await scan(page, DOLIPRANE);
    await lines(page).first().filter({ hasText: 'Doliprane' }).waitFor();
    await page.locator('#t-patient').filter({ hasText: 'د.ج' }).waitFor();
    const total = noIsolates(await page.locator('#t-total').textContent());
    expect(total).toMatch(/^\d{1,3}(\u00a0\d{3})*,\d{2}\u00a0د\.ج$/);
    await expect(page.locator('#tp-line').textContent()).resolves.toContain('الدفع من قبل الغير: نعم');
    const patient = noIsolates(await page.locator('#t-patient').textContent());
    await fs.promises.writeFile(path.join(SHOTS, 'ar.png'), await page.screenshot({ fullPage: true }));

    await page.keyboard.press('Alt+KeyV');
    await page.locator('#receipt').waitFor({ state: 'visible' });
    expect(noIsolates(await page.locator('#receipt-title').textContent())).toMatch(/^فاتورة رقم \d+$/);
    const body = noIsolates(await page.locator('#receipt-body').textContent());
    expect(body).toContain('الصافي المستحق على المريض');
    expect(body).toContain('15 جوان 2025');
    expect(noIsolates(await page.locator('#receipt-due').textContent())).toBe(patient);
    await expect(page.locator('#receipt-body').getAttribute('lang')).resolves.toBe('ar');
    await fs.promises.writeFile(path.join(SHOTS, 'ar-receipt.png'), await page.screenshot({ fullPage: true }));
    await page.keyboard.press('Escape');
  });

  test('the language: the browser’s on a first visit, the switch remembered, ?lang= forces one', async () => {
    const page = await open('', { locale: 'ar-DZ' });
    await page.waitForFunction(() => document.documentElement.lang === 'ar');
    await page.locator('button[data-lang="fr"]').click();
    expect(
      await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, localStorage.getItem('chifa-counter-lang')]),
    ).toEqual(['fr', 'ltr', 'fr']);
    // Left only once the page has loaded what it was loading (the card's product names).
    await networkQuiet(page);
    await page.reload();
    await page.waitForFunction(() => document.title === 'Comptoir Chifa');
    expect(await page.evaluate(() => document.documentElement.dir)).toBe('ltr');
    await networkQuiet(page);
    await page.goto(`${counter.url}/?lang=ar`);
    await page.waitForFunction(() => document.documentElement.dir === 'rtl');
    // Forced for this page only: the remembered choice stays.
    expect(await page.evaluate(() => localStorage.getItem('chifa-counter-lang'))).toBe('fr');
  });

  test('the favicon and the shared modules are served under the page’s CSP', async () => {
    const icon = await fetch(`${counter.url}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    for (const name of ['format.js', 'gs1.js', 'calendar.js']) {
      const res = await fetch(`${counter.url}/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await res.text()).toBe(fs.readFileSync(path.join(packageRoot(), 'src', 'common', name), 'utf8'));
    }
    expect((await fetch(`${counter.url}/assets/log.ts`)).status).toBe(404);
    expect((await fetch(`${counter.url}/assets/..%2Fcommon%2Fformat.js`)).status).toBe(404);
    const page = await fetch(`${counter.url}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(await page.text()).not.toMatch(/<script>|style="/);
  });
});
