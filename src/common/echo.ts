import { UNPRINTABLE } from './free-text';

/**
 * How a value a client sent (a field name, a product code, a path segment) is shown in an error
 * message or a log line: at most `max` code points, then `…`, with every character the free-text
 * rule refuses (controls, bidirectional controls, lone surrogates…) replaced by U+FFFD. An error
 * never carries a whole 60 KB string back, and never carries a character that would reorder or
 * hide the rest of the message where it is displayed.
 */
export function clip(value: string, max = 40): string {
  let out = '';
  let n = 0;
  for (const ch of value) {
    if (n === max) return out + '…';
    out += UNPRINTABLE.test(ch) ? '\uFFFD' : ch;
    n++;
  }
  return out;
}
