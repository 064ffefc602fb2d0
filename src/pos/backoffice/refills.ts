import type Database from 'better-sqlite3';
import { addDays, daysBetween, type IsoDate } from '../../common/calendar-date';
import type { Product } from '../../billing/catalogue/product';

/**
 * The refill forecast: chronic patients whose last supply of a product runs out in the next N
 * days — the line's treatment duration from its dispensing date — from this pharmacy's own
 * invoices (the journal's `supply_latest`, kept with every invoice: a supply cancelled by a credit
 * note gives way to the one before it). And one patient's consumption history, by DCI.
 */

export interface Refill {
  cardSerial: string;
  rank: number;
  code: string;
  brand: string | null;
  dci: string | null;
  lastInvoice: number;
  lastDay: IsoDate;
  quantity: number;
  durationDays: number;
  runsOut: IsoDate;
  /** Days from today to the day the supply runs out (0: today). */
  daysLeft: number;
}

export interface ConsumptionLine {
  day: IsoDate;
  invoice: number;
  code: string;
  brand: string | null;
  quantity: number;
  durationDays: number;
  runsOut: IsoDate;
  cancelled: boolean;
}

export interface DciConsumption {
  dci: string;
  /** Units dispensed and days of treatment covered, cancelled supplies left out. */
  quantity: number;
  days: number;
  first: IsoDate;
  last: IsoDate;
  lines: ConsumptionLine[];
}

/** Most supplies the history of one patient shows. */
export const HISTORY_LIMIT = 1000;

export class RefillQueries {
  private readonly st;

  constructor(
    db: Database.Database,
    private readonly product: (code: string) => Product | undefined,
  ) {
    this.st = {
      due: db.prepare(
        `SELECT card_serial, rank, code, invoice_number, day, quantity, duration_days, runs_out FROM supply_latest
          WHERE runs_out BETWEEN ? AND ? ORDER BY runs_out, card_serial, rank, code LIMIT 5000`,
      ),
      history: db.prepare(
        `SELECT day, invoice_number, code, quantity, duration_days, runs_out, cancelled FROM supply_lines
          WHERE card_serial = ? AND rank = ? ORDER BY day DESC, invoice_number DESC LIMIT ?`,
      ),
    };
  }

  /** Supplies running out from `today` to `today + days`, soonest first. */
  forecast(today: IsoDate, days: number): Refill[] {
    const rows = this.st.due.all(today, addDays(today, days)) as {
      card_serial: string;
      rank: number;
      code: string;
      invoice_number: number;
      day: string;
      quantity: number;
      duration_days: number;
      runs_out: string;
    }[];
    return rows.map((r) => {
      const p = this.product(r.code);
      return {
        cardSerial: r.card_serial,
        rank: r.rank,
        code: r.code,
        brand: p?.brand ?? null,
        dci: p?.dci ?? null,
        lastInvoice: r.invoice_number,
        lastDay: r.day,
        quantity: r.quantity,
        durationDays: r.duration_days,
        runsOut: r.runs_out,
        daysLeft: daysBetween(today, r.runs_out),
      };
    });
  }

  /** The supplies of one patient (card and rank), newest first, grouped by DCI. */
  history(cardSerial: string, rank: number): DciConsumption[] {
    const rows = this.st.history.all(cardSerial, rank, HISTORY_LIMIT) as {
      day: string;
      invoice_number: number;
      code: string;
      quantity: number;
      duration_days: number;
      runs_out: string;
      cancelled: number;
    }[];
    const byDci = new Map<string, DciConsumption>();
    for (const r of rows) {
      const p = this.product(r.code);
      const key = p?.dci ?? r.code;
      let d = byDci.get(key);
      if (!d) byDci.set(key, (d = { dci: key, quantity: 0, days: 0, first: r.day, last: r.day, lines: [] }));
      const cancelled = r.cancelled === 1;
      d.lines.push({
        day: r.day,
        invoice: r.invoice_number,
        code: r.code,
        brand: p?.brand ?? null,
        quantity: r.quantity,
        durationDays: r.duration_days,
        runsOut: r.runs_out,
        cancelled,
      });
      if (!cancelled) {
        d.quantity += r.quantity;
        d.days += r.duration_days;
        if (r.day < d.first) d.first = r.day;
        if (r.day > d.last) d.last = r.day;
      }
    }
    return [...byDci.values()].sort((a, b) => (a.last > b.last ? -1 : a.last < b.last ? 1 : a.dci < b.dci ? -1 : 1));
  }
}
