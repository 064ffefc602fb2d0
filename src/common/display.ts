import { UNPRINTABLE } from './free-text';

/**
 * Bounds on what a message shows of untrusted input. A catalogue cell, a header name or a
 * remote party's error text can be megabytes long; an error message quotes at most a short
 * prefix of it, and a list of problems shows its first entries and counts the rest, so one bad
 * file never floods a terminal or a log.
 */

/** The longest prefix of an input value a message quotes, in code points. */
export const CLIP_DEFAULT = 40;

/**
 * `text` cut to its first `max` code points followed by '…' when longer, with every character the
 * free-text rule refuses (controls, bidirectional controls, lone surrogates…) replaced by U+FFFD:
 * a message never carries a character that would reorder or hide the rest of it where it is
 * displayed. Walks only the prefix, so clipping a 30 MB string costs as much as a short one, and
 * iterates by code point, so a surrogate pair is never split.
 */
export function clip(text: string, max: number = CLIP_DEFAULT): string {
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n === max) return out + '…';
    out += UNPRINTABLE.test(ch) ? '\uFFFD' : ch;
    n++;
  }
  return out;
}

/** `clip` and then JSON-quoted: how a message shows a value it refuses. */
export function quoteClipped(text: string, max: number = CLIP_DEFAULT): string {
  return JSON.stringify(clip(text, max));
}

/** The first `max` lines, then `… and K more` when the list is longer. */
export function capLines(lines: readonly string[], max: number): string[] {
  if (lines.length <= max) return [...lines];
  return [...lines.slice(0, max), `… and ${lines.length - max} more`];
}
