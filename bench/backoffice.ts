import * as os from 'node:os';
import * as path from 'node:path';
import { CatalogueStore } from '../src/billing/catalogue/store';
import { loadRules } from '../src/billing/rules/load';
import { openDatabase } from '../src/common/db';
import { addDays, type IsoDate } from '../src/common/calendar-date';
import { BackOffice } from '../src/pos/backoffice/backoffice';
import { CounterJournal } from '../src/pos/counter/journal';
import { ensureBackofficeStore } from './_backoffice-store';
import { printTable } from './table';

/**
 * The back office on a chain's journal (issue "the pharmacist's back office"): each page's query
 * timed on a store of about 1,000,000 signed invoices, against the 200 ms a page may take. The
 * store is generated once (several minutes: every invoice is signed and appended through the
 * journal) into `$CHIFA_BENCH_STORE` (default `/tmp/chifa-backoffice-1m`) and reused;
 * `CHIFA_BENCH_INVOICES` sets its size. The queries run as the counter runs them (src/pos/backoffice,
 * the journal's reading connection), without HTTP: median and worst of several runs, after one
 * warm-up. A benchmark, not a test: it prints, it does not fail.
 */

const BUDGET_MS = 200;

function timeIt(fn: () => unknown, runs = 7): { median: number; max: number; rows: number } {
  let rows = count(fn()); // warm-up: the first run reads the pages from disk
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    rows = count(fn());
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)]!, max: xs[xs.length - 1]!, rows };
}

/** The number of rows a page shows (the longest list in its answer). */
function count(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Math.max(0, ...Object.values(v).map((x) => (Array.isArray(x) ? x.length : 0)));
  return 0;
}

export async function run(): Promise<void> {
  const dir = process.env.CHIFA_BENCH_STORE ?? path.join(os.tmpdir(), 'chifa-backoffice-1m');
  const target = Number(process.env.CHIFA_BENCH_INVOICES ?? 1_000_000);
  const store = await ensureBackofficeStore(dir, target, (s) => process.stderr.write(`${s}\n`));
  const journal = CounterJournal.open(store.file);
  const catalogue = new CatalogueStore(openDatabase(':memory:'));
  catalogue.seedIfEmpty();
  const today: IsoDate = store.lastDay;
  const office = new BackOffice({
    journal,
    catalogue,
    rules: loadRules(),
    today: () => today,
    blacklistedOn: () => false,
    signWithProfessional: () => Promise.reject(new Error('the benchmark signs nothing')),
  });
  const detailBatch = Math.floor((office.batches({ limit: 1 }).batches[0]?.id ?? 2) / 2);
  const yearAgo = addDays(today, -364);
  const monthAgo = addDays(today, -29);

  const cases: [string, string, () => unknown][] = [
    ['bordereaux', 'the 100 newest batches, with claims, payments and gaps', () => office.batches({ limit: 100 })],
    ['bordereaux', `batch ${detailBatch}: 500 invoices, answers, gap explained`, () => office.batch(detailBatch)],
    ['bordereaux', 'audit of the open batch (the fund’s checks, recomputed)', () => office.audit()],
    ['rejects', 'the 200 newest rejects, recycling state, counts', () => office.rejects({ limit: 200 })],
    ['rejects', 'rejects still to correct', () => office.rejects({ pending: true, limit: 200 })],
    ['statistics', `one month per day (${monthAgo} to ${today})`, () => office.statistics(monthAgo, today, 'day')],
    ['statistics', 'one year per week', () => office.statistics(yearAgo, today, 'week')],
    ['statistics', 'one year per month', () => office.statistics(yearAgo, today, 'month')],
    ['statistics', `three years per year (${store.firstDay} to ${today})`, () => office.statistics(store.firstDay, today, 'year')],
    ['register', 'one month of the psychotropics register', () => office.register(monthAgo, today)],
    ['register', 'one year (at most 5 000 entries shown)', () => office.register(yearAgo, today)],
    ['refills', 'chronic supplies running out within 7 days', () => office.refills(7)],
    ['refills', 'chronic supplies running out within 30 days', () => office.refills(30)],
    [
      'refills',
      `one patient's history by DCI (${store.patient.cardSerial})`,
      () => office.history(store.patient.cardSerial, store.patient.rank),
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [page, what, fn] of cases) {
    const t = timeIt(fn);
    rows.push([page, what, String(t.rows), t.median, t.max, `${((t.median / BUDGET_MS) * 100).toFixed(1)} %`]);
  }
  printTable(
    `Back office on ${store.invoices.toLocaleString('en-US')} invoices (${path.basename(store.dir)}${
      store.generatedInS > 0 ? `, generated in ${Math.round(store.generatedInS)} s` : ', reused'
    }) — each page's query, ms (budget ${BUDGET_MS} ms)`,
    ['page', 'query', 'rows', 'median ms', 'max ms', 'median / budget'],
    rows,
  );
  await journal.close();
  catalogue.close();
}
