/**
 * Bounds on what a message shows of untrusted input. A catalogue cell, a header name or a
 * remote party's error text can be megabytes long; an error message quotes at most a short
 * prefix of it, and a list of problems shows its first entries and counts the rest, so one bad
 * file never floods a terminal or a log.
 */

/** The longest prefix of an input value a message quotes, in code points. */
export const CLIP_DEFAULT = 40;

/**
 * `text` cut to its first `max` code points followed by '…' when longer. Walks only the
 * prefix, so clipping a 30 MB string costs as much as clipping a short one; never splits a
 * surrogate pair.
 */
export function clip(text: string, max: number = CLIP_DEFAULT): string {
  if (text.length <= max) return text;
  let end = 0;
  for (let n = 0; n < max && end < text.length; n++) {
    const c = text.charCodeAt(end);
    end += c >= 0xd800 && c <= 0xdbff && end + 1 < text.length ? 2 : 1;
  }
  return end >= text.length ? text : text.slice(0, end) + '…';
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
