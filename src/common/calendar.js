// @ts-check
/**
 * The Gregorian calendar's month lengths, which ISO 8601 dates use for every year. One
 * implementation for the server (calendar-date.ts builds the date checks on it) and the counter
 * page (gs1.js reads expiry dates with it; the browser loads this file as it is, at
 * /assets/calendar.js), so it imports nothing and uses nothing but the language.
 */

/**
 * @param {number} y  the year
 * @param {number} m  the month, 1 to 12
 * @returns {number}
 */
export function daysInMonth(y, m) {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}
