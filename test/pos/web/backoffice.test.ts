/// <reference lib="dom" />
// page.evaluate callbacks run in the browser: they see the DOM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchPage } from '../../support/page-problems';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parseCsv } from '../../../src/billing/catalogue/csv';
import { formatMoney } from '../../../src/common/format';
import { packageRoot } from '../../../src/common/paths';
import { openBackofficeBed, REJECTED, sellScenario, SHORT_PAY, type BackofficeBed } from '../backoffice/harness';

/**
 * The back office in a real browser (Debian's chromium driven by playwright-core), over real
 * checkouts — one of them at the counter page, where the counterfoil serial of a controlled
 * product is typed — and the reference fund, which rejects invoice 2 and pays batch 1 short: the
 * batch closed and sent from the page, its gap explained to the centime and reconciled with a bank
 * statement, the reject corrected and recycled until the fund accepts it, the statistics' charts
 * drawn (screenshots in test-output/backoffice/), the register with its counterfoil serials,
 * printed and exported as CSV (`;` between fields in French and in Arabic, for Excel), the refill
 * forecast with a patient's history, in French and in Arabic, and not one console error or warning.
 */

const CHROMIUM = process.env.CHIFA_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const underCi = process.env.CI === 'true';
const maybe = haveChromium || underCi ? describe : describe.skip;
if (!haveChromium && !underCi)
  console.warn(`\n*** SKIPPING the browser test: ${CHROMIUM} not found. Under CI=true it fails instead. ***\n`);

const SHOTS = path.join(packageRoot(), 'test-output', 'backoffice');
const PAGE_SERIAL = 'SOUCHE-2025-000777';

maybe('back office in Chromium', () => {
  let bed: BackofficeBed;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Console errors and warnings, page errors, failed requests: must stay empty. */
  const problems: string[] = [];
  /** Answers to window.prompt, in order. */
  const prompts: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but ${CHROMIUM} is missing: install the Debian package chromium`);
    fs.mkdirSync(SHOTS, { recursive: true });
    bed = await openBackofficeBed();
    await sellScenario(bed);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'fr-FR', acceptDownloads: true });
    page = await context.newPage();
    watchPage(page, problems);
    page.on('dialog', (d) => {
      if (d.type() === 'prompt') void d.accept(prompts.shift() ?? d.defaultValue());
      else void d.accept();
    });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await bed?.close();
  });

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  const shot = async (name: string) => fs.promises.writeFile(path.join(SHOTS, name), await page.screenshot({ fullPage: true }));
  const tab = async (name: string) => {
    await page.locator(`[data-section="${name}"]`).click();
    await page.locator(`#section-${name}`).waitFor({ state: 'visible' });
  };

  test('at the counter: a controlled product asks for the counterfoil serial, which goes on the invoice', async () => {
    bed.setDay('2025-06-10');
    await page.goto(`${bed.counter.url}/?lang=fr#token=${encodeURIComponent(bed.counter.token)}`);
    await page.locator('#rights-panel').waitFor({ state: 'visible' });
    await page.locator('#search-input').fill('valium');
    await page.locator('#search-results li[role="option"]').first().click();
    await page.locator('#counterfoil-box').waitFor({ state: 'visible' });
    await expect(page.locator('#counterfoil-hint').textContent()).resolves.toMatch(/Valium 10 mg est au tableau III/);
    await page.locator('#t-total').filter({ hasText: 'DA' }).waitFor();
    // Without the serial: refused at once, nothing sent.
    await page.locator('#checkout-btn').click();
    await page.locator('.banner.warn').filter({ hasText: 'ordonnance à souche' }).waitFor();
    await page.locator('#counterfoil-input').fill(PAGE_SERIAL);
    await page.locator('#prescriber-input').fill('Dr S. Benali, neurologue');
    await page.locator('#checkout-btn').click();
    await page.locator('#receipt').waitFor({ state: 'visible' });
    await expect(page.locator('#receipt-title').textContent()).resolves.toBe('FACTURE N° 6');
    const doc = bed.counter.service.journal.invoice(6)!.document;
    expect(doc.prescription).toMatchObject({ counterfoil: PAGE_SERIAL, prescriber: 'Dr S. Benali, neurologue' });
    await page.locator('#receipt-close').click();
    // The navigation to the back office, in the same tab: the token stays in the session.
    await page.locator('#nav-backoffice').click();
    await page.waitForURL(/backoffice\.html/);
    await page.locator('#section-bordereaux').waitFor({ state: 'visible' });
    await expect(page.title()).resolves.toBe('Back-office — Comptoir Chifa');
  });

  test('bordereaux: the batch closed and sent from the page; its gap explained to the centime, then reconciled with a statement', async () => {
    bed.setDay('2025-06-11');
    await tab('bordereaux');
    await page.locator('#audit-summary').filter({ hasText: 'Bordereau n° 1' }).waitFor();
    await page.locator('#batch-recycle').click();
    await page.locator('.banner.ok').filter({ hasText: 'Bordereau n° 1 clôturé et transmis' }).waitFor();
    await page.locator('#batches-table tr[data-batch="1"] [data-state="settled"]').waitFor();
    await page.locator('#batches-table tr[data-batch="1"]').click();
    await page.locator('#batch-panel').waitFor({ state: 'visible' });

    const d = (await bed.api('GET', '/backoffice/batches/1')).json;
    const rejectedFund = d.invoices.find((i: { number: number }) => i.number === REJECTED).fund;
    const due = d.explanation.claimed - rejectedFund - SHORT_PAY;
    // Each line on the page is the API's amount, to the centime; their sum is the gap.
    const rows = await page
      .locator('#gap-table tr')
      .evaluateAll((trs) => trs.map((tr) => [tr.className, (tr.querySelector('td:last-child')?.textContent ?? '').trim()]));
    expect(rows).toEqual([
      ['claimed', formatMoney(d.explanation.claimed)],
      ['line rejected', formatMoney(-rejectedFund)],
      ['line adjustment', formatMoney(-SHORT_PAY)],
      ['line not-received', formatMoney(-due)],
      ['received', formatMoney(0)],
      ['total', formatMoney(d.explanation.claimed)],
    ]);
    await expect(page.locator(`#batch-invoices tr[data-invoice="${REJECTED}"]`).textContent()).resolves.toMatch(
      /rejetée.*ordonnance manquante/,
    );
    await shot('fr-bordereau.png');

    // The bank statement, as a bank exports it (TEST data): `;`, a decimal comma, Windows-1252
    // (`é` one byte), CRLF, a line above the header; the transfer is found by its reference.
    const amount = formatMoney(due)
      .replace(' DA', '')
      .replace(/[\u00a0\u202f]/g, ' ');
    await page.locator('#statement-file').setInputFiles({
      name: 'releve-juin.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        `Relevé du compte 00799999 (TEST);;\r\nDate valeur;Libellé;Montant\r\n12/06/2025;VIR CNAS CHIFA-DZ16-PH-00001-B1;${amount}\r\n`,
        'latin1',
      ),
    });
    await page.locator('#statement-result').filter({ hasText: '1 ligne enregistrée' }).waitFor();
    await page
      .locator('#gap-table tr.received')
      .filter({ hasText: formatMoney(due) })
      .waitFor();
    await expect(page.locator('#gap-table tr.total td:last-child').textContent()).resolves.toBe(formatMoney(rejectedFund + SHORT_PAY));
    await expect(page.locator('#gap-table tr.line').count()).resolves.toBe(2);
    await expect(page.locator('#payments-table tbody tr').textContent()).resolves.toContain('relevé');
  });

  test('rejects: invoice 2 corrected on the professional card and recycled from the page until the fund accepts it', async () => {
    await tab('rejects');
    const row = page.locator(`#rejects-table tr[data-invoice="${REJECTED}"]`);
    await row.filter({ hasText: 'à corriger' }).waitFor();
    prompts.push('ordonnance jointe au dossier');
    await row.locator('button').click();
    await page
      .locator('.banner.ok')
      .filter({ hasText: `Facture n° ${REJECTED} corrigée par la facture rectificative n° 7` })
      .waitFor();
    await page.locator(`#rejects-table tr[data-invoice="${REJECTED}"][data-state="corrected"]`).waitFor();
    await page.locator('#rejects-recycle').click();
    await page.locator(`#rejects-table tr[data-invoice="${REJECTED}"][data-state="accepted"]`).waitFor();
    await expect(page.locator('#rejects-summary').textContent()).resolves.toMatch(/dont 0 facture à corriger/);
    await shot('fr-rejets.png');
  });

  /** Non-blank pixels of each chart's canvas. */
  const inked = () =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('#section-stats canvas')).map((c) => {
        const canvas = c as HTMLCanvasElement;
        // Read through a copy made for reading (reading Chart.js's own canvas back makes Chromium warn).
        const copy = document.createElement('canvas');
        copy.width = canvas.width;
        copy.height = canvas.height;
        const ctx = copy.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(canvas, 0, 0);
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return [canvas.id, n > 500] as const;
      }),
    );

  test('statistics: the charts are drawn in the page, per day and per month', async () => {
    await tab('stats');
    await page.locator('#stats-from').fill('2025-06-01');
    await page.locator('#stats-to').fill('2025-06-30');
    await page.locator('#stats-period').selectOption('day');
    await page.locator('#stats-form button[type="submit"]').click();
    await page.locator('#products-table tbody tr[data-code="N05BA01-01"]').waitFor();
    expect(await inked()).toEqual([
      ['chart-series', true],
      ['chart-shares', true],
      ['chart-categories', true],
      ['chart-refusals', true],
      ['chart-dcis', true],
    ]);
    await expect(page.locator('#stats-totals').textContent()).resolves.toMatch(/Factures\s*6 factures/);
    await shot('fr-statistiques.png');
    // Exported as CSV, as the server names it, with `;` between fields: what Excel expects in French.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-stats-csv="dcis"]').click()]);
    expect(download.suggestedFilename()).toBe('statistiques-dcis-2025-06-01-2025-06-30.csv');
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    expect(csv.startsWith('\ufeffdci;products;lines;quantity;total;fund;patient\r\n')).toBe(true);
    expect(csv).toContain('Diazépam');
    await page.locator('#stats-period').selectOption('month');
    await page.locator('#stats-form button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('#stats-period') instanceof HTMLSelectElement);
    expect((await inked()).every(([, ok]) => ok)).toBe(true);
  });

  test('the psychotropics register: both dispensings with their counterfoil serials, printed and exported', async () => {
    await tab('register');
    await page.locator('#register-from').fill('2025-06-01');
    await page.locator('#register-to').fill('2025-06-30');
    await page.locator('#register-form button[type="submit"]').click();
    // The register of the default period is already on screen: wait for the one asked for.
    await page.waitForFunction(() => document.querySelector('#register-title')?.textContent?.includes('30/06/2025') === true);
    await page.locator('#register-table tbody tr').nth(1).waitFor();
    const rows = await page
      .locator('#register-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent?.trim() ?? '')));
    expect(rows.map((r) => [r[1], r[3], r[7]])).toEqual([
      ['05/06/2025', 'SOUCHE-2025-000123', 'II'],
      ['10/06/2025', PAGE_SERIAL, 'III'],
    ]);
    expect(rows[1]![4]).toMatch(/HADDAD Fatima Zohra/);
    expect(rows[1]![5]).toMatch(/Dr S\. Benali, neurologue/);
    expect(rows[1]![6]).toMatch(/Valium 10 mg.*Diazépam/);
    await expect(page.locator('#register-title').textContent()).resolves.toBe('Registre des psychotropes du 01/06/2025 au 30/06/2025');
    // Printed: the register alone, without the tabs and the filters.
    await page.emulateMedia({ media: 'print' });
    await expect(page.locator('.bo-tabs').isVisible()).resolves.toBe(false);
    await expect(page.locator('#register-form').isVisible()).resolves.toBe(false);
    await expect(page.locator('#register-table').isVisible()).resolves.toBe(true);
    await shot('fr-registre-impression.png');
    await page.emulateMedia({ media: 'screen' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#register-csv').click()]);
    const register = parseCsv(fs.readFileSync((await download.path())!, 'utf8'), { delimiter: ';' });
    expect(register.errors).toEqual([]);
    expect(register.records.map((r) => r.fields[3])).toEqual(['counterfoil', 'SOUCHE-2025-000123', PAGE_SERIAL]);
  });

  test('refills: the chronic patient’s treatments ending within 7 days, and her history by DCI', async () => {
    bed.setDay('2025-06-15');
    await tab('refills');
    await page.locator('#refills-form button[type="submit"]').click();
    await page.locator('#refills-table tbody tr[data-code="C10AA05-01"]').waitFor();
    await expect(page.locator('#refills-title').textContent()).resolves.toMatch(/dans les 7 jours \(au 15\/06\/2025\)/);
    await page.locator('#refills-table tbody tr[data-code="C10AA05-01"] button').click();
    await page.locator('#history-panel').waitFor({ state: 'visible' });
    await expect(page.locator('#history-body .dci-history').count()).resolves.toBeGreaterThanOrEqual(4);
    await expect(page.locator('.dci-history[data-dci="Diazépam"]').textContent()).resolves.toMatch(
      /quantité 1, 30 jours de traitement, du 10\/06\/2025 au 10\/06\/2025/,
    );
    await shot('fr-renouvellements.png');
  });

  test('Arabic: the whole back office mirrored, the charts drawn right to left', async () => {
    await page.locator('[data-lang="ar"]').click();
    expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir, document.title])).toEqual([
      'ar',
      'rtl',
      'الإدارة — شباك الشفاء',
    ]);
    await tab('stats');
    await page.locator('#stats-form button[type="submit"]').click();
    await page.locator('#products-table tbody tr').first().waitFor();
    expect((await inked()).every(([, ok]) => ok)).toBe(true);
    // Exported with `;` in Arabic too (the list separator of Algeria's Arabic locale).
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-stats-csv="series"]').click()]);
    expect(fs.readFileSync((await download.path())!, 'utf8')).toMatch(/^\ufeffperiod;invoices;credits;total;fund;patient\r\n/);
    await expect(page.locator('[data-section="register"]').textContent()).resolves.toBe('سجل المؤثرات العقلية');
    // Mirrored: the tabs start at the right.
    const [first, last] = await page.evaluate(() => {
      const tabs = Array.from(document.querySelectorAll('.bo-tabs .tab')).map((t) => t.getBoundingClientRect().left);
      return [tabs[0]!, tabs[tabs.length - 1]!];
    });
    expect(first).toBeGreaterThan(last);
    await shot('ar-statistiques.png');
    await tab('bordereaux');
    await page.locator('#batches-table tr[data-batch="1"]').click();
    await page.locator('#gap-table tr.total').filter({ hasText: 'د.ج' }).waitFor();
    await expect(page.locator('#gap-table tr.line').first().textContent()).resolves.toMatch(/الفاتورة رقم/);
    await shot('ar-bordereau.png');
    await page.locator('[data-lang="fr"]').click();
  });

  test('the audit before closing: an invoice the fund would reject, corrected from the page before the batch is sent', async () => {
    bed.setDay('2025-06-16');
    const sold = await bed.checkout({ beneficiary: 1, lines: [{ code: 'A10BA02-01', quantity: 1, durationDays: 30 }] });
    // The fund blacklists the card from that day; the counter learns it at its next sync.
    bed.blacklist('2025-06-16');
    await bed.counter.sync!.runNow();
    await tab('bordereaux');
    await page.locator('#audit-run').click();
    const finding = page.locator(`#audit-table tr[data-invoice="${sold.invoice.number}"][data-code="BLACKLISTED_CARD"]`);
    await finding.filter({ hasText: 'carte en liste noire' }).waitFor();
    await expect(page.locator('#audit-summary').textContent()).resolves.toContain(formatMoney(sold.invoice.totals.fund));
    prompts.push('');
    await finding.locator('button').click();
    await finding.locator('.tag.ok').filter({ hasText: 'corrigée par la facture n°' }).waitFor();
    await expect(page.locator('#audit-summary').textContent()).resolves.toContain(formatMoney(0));
    await shot('fr-audit.png');
    await page.locator('#batch-recycle').click();
    await page.locator('.banner.ok').filter({ hasText: 'clôturé et transmis' }).waitFor();
    const batch = (await bed.api('GET', '/backoffice/batches?limit=1')).json.batches[0];
    const detail = (await bed.api('GET', `/backoffice/batches/${batch.id}`)).json;
    expect(detail.invoices.map((i: { status: string; code: string | null }) => [i.status, i.code])).toEqual([
      ['rejected', 'BLACKLISTED_CARD'],
      ['accepted', null],
    ]);
  });
});
