import { z } from 'zod';

/**
 * Free text that ends up in a signed document — a prior-approval reference, a cancel or
 * correction reason, a prescriber, a product label, a card serial. One rule, used by the
 * counter's HTTP request schemas and by the invoice schema (src/sync/invoice.ts), so nothing
 * unprintable is signed whichever way it arrives (HTTP, SDK, the card, the catalogue):
 *
 * - well-formed UTF-16: no lone surrogate (it has no UTF-8 form, and RFC 8785 canonical JSON
 *   refuses it);
 * - Unicode Normalization Form C (UAX #15). Text that is not NFC is refused, never normalised:
 *   what is signed is exactly what was sent, and `é` cannot exist under two spellings that look
 *   the same but hash differently. Clients normalise before sending (`s.normalize('NFC')`);
 * - printable: no C0 or C1 control (U+0000–U+001F, U+007F–U+009F: a NUL, an ESC sequence for a
 *   terminal or a receipt printer), no line or paragraph separator (U+2028, U+2029: every field
 *   is one line), no bidirectional formatting character (U+061C, U+200E, U+200F, U+202A–U+202E,
 *   U+2066–U+2069: they reorder how the text around them is displayed, so a signed reason could
 *   read differently from what it says — CVE-2021-42574), no noncharacter (U+FFFE, U+FDD0…).
 *   Other format characters stay allowed: Arabic and Persian text needs U+200C and U+200D;
 * - bounded: at most `max` Unicode code points (and at least `min`, 1 unless given).
 */

export interface TextLimits {
  /** Most code points allowed. */
  max: number;
  /** Fewest code points allowed (default 1: not empty). */
  min?: number;
}

/** Every character the rule refuses, lone surrogates included (with the `u` flag they match \p{Cs}). */
export const UNPRINTABLE = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029\p{Noncharacter_Code_Point}]/u;

const PLAIN_ASCII = /^[\x20-\x7e]*$/;

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

function kind(cp: number): string {
  if (cp >= 0xd800 && cp <= 0xdfff) return 'a lone UTF-16 surrogate';
  if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) return 'a control character';
  if (cp === 0x2028 || cp === 0x2029) return 'a line break';
  if (cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
    return 'a bidirectional control';
  return 'a noncharacter';
}

/**
 * What is wrong with `value` as signed free text, or undefined if nothing. The message names the
 * offending character by its code point and position, never the text itself.
 */
export function textProblem(value: string, limits: TextLimits): string | undefined {
  const min = limits.min ?? 1;
  // Each code point is one or two UTF-16 units: a string longer than 2 × max units is too long
  // without counting (and without scanning 64 KB of it).
  if (value.length > 2 * limits.max) return `at most ${limits.max} characters`;
  if (PLAIN_ASCII.test(value)) {
    if (value.length > limits.max) return `at most ${limits.max} characters`;
    if (value.length < min) return min === 1 ? 'must not be empty' : `at least ${min} characters`;
    return undefined;
  }
  const n = codePoints(value);
  if (n > limits.max) return `at most ${limits.max} characters`;
  if (n < min) return min === 1 ? 'must not be empty' : `at least ${min} characters`;
  const bad = UNPRINTABLE.exec(value);
  if (bad) {
    const cp = bad[0].codePointAt(0)!;
    return `contains ${kind(cp)} (${hex(cp)}) at character ${codePoints(value.slice(0, bad.index)) + 1}`;
  }
  if (value.normalize('NFC') !== value) return 'must be in Unicode normalization form C (NFC: composed accents)';
  return undefined;
}

/**
 * `textProblem` as a zod string schema. `expected`: the message for a value that is not a
 * string; `trim`: drop white space at both ends first (request fields typed by a person).
 */
export function freeText(limits: TextLimits, options: { expected?: string; trim?: boolean } = {}): z.ZodString {
  const base = z.string({ message: options.expected ?? 'expected text' });
  return (options.trim ? base.trim() : base).superRefine((v, ctx) => {
    const problem = textProblem(v, limits);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}
