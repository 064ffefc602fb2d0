import type Database from 'better-sqlite3';
import { addDays, type IsoDate } from '../../common/calendar-date';
import { daysInMonth } from '../../common/calendar.js';
import type { Product } from '../../billing/catalogue/product';

/**
 * The statistics page: sales over a date range per day, week (from Monday), month or year; per
 * patient category; the fund's share against the patients'; third-party payment refused, by
 * reason; per product and per DCI. From the journal's summary tables (kept with every invoice:
 * src/sync/journal/summaries.ts), never from the invoices themselves, so a year of a chain's
 * sales is a few thousand summary rows. Per product, whole months come from the monthly table and
 * only the days at either end of the range from the daily one.
 */

export const PERIODS = ['day', 'week', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

export interface Amounts {
  invoices: number;
  total: number;
  fund: number;
  patient: number;
}

export interface SeriesPoint extends Amounts {
  /** The day, the Monday of the week, `YYYY-MM` or `YYYY`. */
  period: string;
  credits: number;
}

export interface ProductStat {
  code: string;
  brand: string | null;
  dci: string | null;
  lines: number;
  quantity: number;
  total: number;
  fund: number;
  patient: number;
}

export interface DciStat {
  dci: string;
  products: number;
  lines: number;
  quantity: number;
  total: number;
  fund: number;
  patient: number;
}

export interface Statistics {
  from: IsoDate;
  to: IsoDate;
  period: Period;
  totals: Amounts & { credits: number };
  series: SeriesPoint[];
  categories: (Amounts & { category: string })[];
  funds: (Amounts & { name: string })[];
  refusals: { reason: string; invoices: number; total: number; patient: number }[];
  products: ProductStat[];
  dcis: DciStat[];
}

/** How SQLite groups a day (`day`, YYYY-MM-DD) into the period. */
const PERIOD_KEY: Record<Period, string> = {
  day: 'day',
  // The Monday on or before the day: six days back, then forward to the next Monday.
  week: "date(day, '-6 days', 'weekday 1')",
  month: 'substr(day, 1, 7)',
  year: 'substr(day, 1, 4)',
};

const AMOUNTS = 'SUM(invoices) AS invoices, SUM(total) AS total, SUM(fund_amount) AS fund, SUM(patient_amount) AS patient';
const PRODUCT_AMOUNTS =
  'SUM(lines) AS lines, SUM(quantity) AS quantity, SUM(total) AS total, SUM(fund_amount) AS fund, SUM(patient_amount) AS patient';

/** The whole months inside [from, to], as `YYYY-MM` bounds, and the days left at either end. */
export function splitRange(from: IsoDate, to: IsoDate): { months: [string, string] | null; days: [IsoDate, IsoDate][] } {
  const lastDay = (month: string) =>
    `${month}-${String(daysInMonth(Number(month.slice(0, 4)), Number(month.slice(5, 7)))).padStart(2, '0')}`;
  const firstFull = from.endsWith('-01') ? from.slice(0, 7) : addDays(lastDay(from.slice(0, 7)), 1).slice(0, 7);
  const lastFull = to === lastDay(to.slice(0, 7)) ? to.slice(0, 7) : addDays(`${to.slice(0, 7)}-01`, -1).slice(0, 7);
  if (firstFull > lastFull) return { months: null, days: [[from, to]] };
  const days: [IsoDate, IsoDate][] = [];
  if (from < `${firstFull}-01`) days.push([from, addDays(`${firstFull}-01`, -1)]);
  if (to > lastDay(lastFull)) days.push([addDays(lastDay(lastFull), 1), to]);
  return { months: [firstFull, lastFull], days };
}

export class StatisticsQueries {
  private readonly st;

  constructor(
    private readonly db: Database.Database,
    private readonly product: (code: string) => Product | undefined,
  ) {
    this.st = {
      totals: db.prepare(`SELECT ${AMOUNTS}, SUM(credits) AS credits FROM stats_day WHERE day BETWEEN ? AND ?`),
      categories: db.prepare(`SELECT category, ${AMOUNTS} FROM stats_day WHERE day BETWEEN ? AND ? GROUP BY category ORDER BY total DESC`),
      funds: db.prepare(`SELECT fund AS name, ${AMOUNTS} FROM stats_day WHERE day BETWEEN ? AND ? GROUP BY fund ORDER BY fund`),
      refusals: db.prepare(
        `SELECT refusal AS reason, SUM(invoices) AS invoices, SUM(total) AS total, SUM(patient_amount) AS patient FROM stats_day
          WHERE day BETWEEN ? AND ? AND refusal <> '' GROUP BY refusal ORDER BY invoices DESC`,
      ),
      productDays: db.prepare(`SELECT code, ${PRODUCT_AMOUNTS} FROM stats_product_day WHERE day BETWEEN ? AND ? GROUP BY code`),
      productMonths: db.prepare(`SELECT code, ${PRODUCT_AMOUNTS} FROM stats_product_month WHERE month BETWEEN ? AND ? GROUP BY code`),
    };
  }

  run(from: IsoDate, to: IsoDate, period: Period): Statistics {
    const series = this.db
      .prepare(
        `SELECT ${PERIOD_KEY[period]} AS period, ${AMOUNTS}, SUM(credits) AS credits FROM stats_day
          WHERE day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1`,
      )
      .all(from, to) as SeriesPoint[];
    const t = this.st.totals.get(from, to) as Record<keyof Amounts | 'credits', number | null>;
    return {
      from,
      to,
      period,
      totals: { invoices: t.invoices ?? 0, credits: t.credits ?? 0, total: t.total ?? 0, fund: t.fund ?? 0, patient: t.patient ?? 0 },
      series,
      categories: this.st.categories.all(from, to) as Statistics['categories'],
      funds: this.st.funds.all(from, to) as Statistics['funds'],
      refusals: this.st.refusals.all(from, to) as Statistics['refusals'],
      ...this.products(from, to),
    };
  }

  /** Per product (whole months from the monthly table, the ends from the daily one), and per DCI. */
  private products(from: IsoDate, to: IsoDate): { products: ProductStat[]; dcis: DciStat[] } {
    const { months, days } = splitRange(from, to);
    type Row = { code: string; lines: number; quantity: number; total: number; fund: number; patient: number };
    const rows: Row[] = [];
    if (months) rows.push(...(this.st.productMonths.all(months[0], months[1]) as Row[]));
    for (const [a, b] of days) rows.push(...(this.st.productDays.all(a, b) as Row[]));
    const byCode = new Map<string, ProductStat>();
    for (const r of rows) {
      let p = byCode.get(r.code);
      if (!p) {
        const c = this.product(r.code);
        p = { code: r.code, brand: c?.brand ?? null, dci: c?.dci ?? null, lines: 0, quantity: 0, total: 0, fund: 0, patient: 0 };
        byCode.set(r.code, p);
      }
      p.lines += r.lines;
      p.quantity += r.quantity;
      p.total += r.total;
      p.fund += r.fund;
      p.patient += r.patient;
    }
    const products = [...byCode.values()]
      .filter((p) => p.lines !== 0 || p.total !== 0)
      .sort((a, b) => b.total - a.total || (a.code < b.code ? -1 : 1));
    const byDci = new Map<string, DciStat>();
    for (const p of products) {
      // A code the catalogue no longer has is shown under its own code.
      const key = p.dci ?? p.code;
      const d = byDci.get(key) ?? { dci: key, products: 0, lines: 0, quantity: 0, total: 0, fund: 0, patient: 0 };
      d.products++;
      d.lines += p.lines;
      d.quantity += p.quantity;
      d.total += p.total;
      d.fund += p.fund;
      d.patient += p.patient;
      byDci.set(key, d);
    }
    const dcis = [...byDci.values()].sort((a, b) => b.total - a.total || (a.dci < b.dci ? -1 : 1));
    return { products, dcis };
  }
}
