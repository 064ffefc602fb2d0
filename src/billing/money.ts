/**
 * Money is integer centimes of dinar (docs/split.md). Nothing here touches a float: rates are
 * integers in basis points (10 000 bp = 100 %), products go through exact integer arithmetic, and
 * anything that could leave the range where a JS number is an exact integer is refused or done in
 * BigInt.
 */
import { formatMoney, formatRate as formatPercent } from '../common/format';

/** An amount in centimes of dinar; always a safe, non-negative integer in this module's results. */
export type Centimes = number;

/** A rate in basis points: 8000 = 80 %, 10000 = 100 %. */
export type RateBp = number;

export const BP_PER_UNIT = 10_000;

/** True when `n` is an integer amount we can add and multiply exactly (0 ≤ n ≤ 2^53 − 1). */
export function isCentimes(n: unknown): n is Centimes {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * `base × rateBp / 10 000`, rounded half up to the centime. `base` and the result are centimes.
 *
 * Why not `Math.round(base * rate)`: with a float rate (0.8) the product is inexact, and a value
 * that is exactly x.5 centimes can land on either side. Here the product is an exact integer, and
 * the quotient is taken with `%` (exact for integers below 2^53) so no division ever rounds.
 */
export function mulRateHalfUp(base: Centimes, rateBp: RateBp): Centimes {
  if (!isCentimes(base)) throw new RangeError(`mulRateHalfUp: base must be a safe non-negative integer, got ${base}`);
  if (!Number.isSafeInteger(rateBp) || rateBp < 0 || rateBp > BP_PER_UNIT) {
    throw new RangeError(`mulRateHalfUp: rate must be an integer from 0 to ${BP_PER_UNIT} bp, got ${rateBp}`);
  }
  const n = base * rateBp + BP_PER_UNIT / 2;
  if (Number.isSafeInteger(n)) {
    const r = n % BP_PER_UNIT;
    return (n - r) / BP_PER_UNIT; // exact: n − r is a multiple of 10 000
  }
  // Bases above ~9·10^11 centimes (9 billion DA): never a pharmacy line, but stay exact anyway.
  const q = (BigInt(base) * BigInt(rateBp) + BigInt(BP_PER_UNIT / 2)) / BigInt(BP_PER_UNIT);
  return Number(q); // q ≤ base, so it is a safe integer
}

/** `a × b` for centimes × count, or `undefined` when the product is not a safe integer. */
export function mulExact(a: number, b: number): number | undefined {
  const p = a * b;
  return Number.isSafeInteger(p) ? p : undefined;
}

/** `a + b`, or `undefined` when the sum is not a safe integer. */
export function addExact(a: number, b: number): number | undefined {
  const s = a + b;
  return Number.isSafeInteger(s) ? s : undefined;
}

/** Formats centimes for people, the French way: `123456` → `1 234,56 DA` (src/common/format.js). */
export function formatDa(c: Centimes): string {
  return formatMoney(c, 'fr');
}

/** Formats a rate in basis points as a percentage: 8000 → `80 %`, 8250 → `82,5 %`. */
export function formatRate(bp: RateBp): string {
  return formatPercent(bp, 'fr');
}
