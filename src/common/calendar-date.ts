import { z } from 'zod';
import { daysInMonth } from './calendar.js';

/**
 * Calendar dates as `YYYY-MM-DD` strings. Dispensing, effective-from, expiry and rights-end dates
 * are days, not instants, so they stay strings: no time zone can shift them, and two valid ISO
 * dates compare correctly with `<` / `>`.
 */
export type IsoDate = string;

/** What every validator says about a string that is not a calendar date. */
export const CALENDAR_DATE_MESSAGE = 'expected a calendar date YYYY-MM-DD';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD` (so `2023-02-29` is false). */
export function isIsoDate(s: unknown): s is IsoDate {
  if (typeof s !== 'string') return false;
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

/** The zod form of `isIsoDate`, for every schema that holds a date. */
export const isoDateSchema = z
  .string({ message: 'expected a date string YYYY-MM-DD' })
  .refine(isIsoDate, { message: CALENDAR_DATE_MESSAGE });

/** Today's date in the local time zone (the counter's calendar day), as `YYYY-MM-DD`. */
export function today(now: Date = new Date()): IsoDate {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, '0');
  const d = String(now.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

/** Milliseconds since the epoch of `date`'s midnight UTC (setUTCFullYear, so years 0–99 stay themselves). */
function utcMidnight(date: IsoDate, plusDays = 0): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(0).setUTCFullYear(y, m - 1, d + plusDays);
}

/** `date` + `days` calendar days (UTC arithmetic, so no time zone or daylight saving can shift it). */
export function addDays(date: IsoDate, days: number): IsoDate {
  return new Date(utcMidnight(date, days)).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (positive when `b` is later). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((utcMidnight(b) - utcMidnight(a)) / 86_400_000);
}
