// @ts-check
/**
 * Barcode scanners in keyboard-wedge mode type what they read, as key presses, into whatever
 * has the focus, and end with Enter. A person never types eight characters or more at under
 * 50 ms a key on average, a scanner always does (a few milliseconds a key): that is how a scan is
 * told from typing, anywhere on the page. The characters a scan typed into a field are taken out
 * again, the Enter that ends it does nothing else (no form is submitted, no button pressed), and
 * the scan is handed over whole.
 *
 * Inside a GS1 element string the scanner sends FNC1 as the ASCII GS character, which a keyboard
 * wedge types as Ctrl+] (its control-key form). On a keyboard layout whose keys do not give ASCII
 * (Arabic), the scanner's keys are read by their position (`KeyboardEvent.code`).
 */
import { GS } from '../assets/gs1.js';

/** @typedef {{ minLength: number, maxGap: number, maxMeanGap: number }} WedgeTiming */

/** @type {WedgeTiming} */
export const DEFAULT_TIMING = { minLength: 8, maxGap: 120, maxMeanGap: 50 };

/**
 * The timing logic alone (times in milliseconds): a burst is a run of characters each at most
 * `maxGap` after the previous one; Enter ends a scan when the burst has `minLength` characters
 * or more, arrived at `maxMeanGap` or less on average, and Enter itself follows within `maxGap`.
 */
export class WedgeDetector {
  /** @param {WedgeTiming} [timing] */
  constructor(timing = DEFAULT_TIMING) {
    this.timing = timing;
    /** @type {string[]} */
    this.chars = [];
    this.first = 0;
    this.last = 0;
  }

  /**
   * A typed character. Returns true when it starts a new burst.
   * @param {string} ch
   * @param {number} time
   */
  key(ch, time) {
    const fresh = this.chars.length === 0 || time - this.last > this.timing.maxGap;
    if (fresh) {
      this.chars = [];
      this.first = time;
    }
    this.chars.push(ch);
    this.last = time;
    return fresh;
  }

  /**
   * Enter: the scanned text, or undefined when what came before was typing.
   * @param {number} time
   * @returns {string | undefined}
   */
  enter(time) {
    const n = this.chars.length;
    const text = this.chars.join('');
    const { minLength, maxGap, maxMeanGap } = this.timing;
    const scan = n >= minLength && time - this.last <= maxGap && (this.last - this.first) / (n - 1) <= maxMeanGap;
    this.reset();
    return scan ? text : undefined;
  }

  reset() {
    this.chars = [];
  }
}

/**
 * The character a key press types, as a scanner means it; undefined for anything else.
 * @param {KeyboardEvent} e
 */
function charOf(e) {
  if (e.ctrlKey && !e.altKey && (e.code === 'BracketRight' || e.key === ']')) return GS;
  if (e.key === GS) return GS;
  if (e.ctrlKey || e.altKey || e.metaKey) return undefined;
  if (e.key.length === 1 && e.key >= ' ' && e.key <= '~') return e.key;
  const digit = /^(?:Digit|Numpad)(\d)$/.exec(e.code);
  if (digit) return digit[1];
  const letter = /^Key([A-Z])$/.exec(e.code);
  if (letter && letter[1] !== undefined) return e.shiftKey ? letter[1] : letter[1].toLowerCase();
  return undefined;
}

const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock']);

/**
 * Listens to every key press of the page (capture phase, before any field) and calls `onScan`
 * with each scan.
 * @param {(text: string) => void} onScan
 * @param {WedgeTiming} [timing]
 */
export function installScanner(onScan, timing = DEFAULT_TIMING) {
  const detector = new WedgeDetector(timing);
  /** @type {{ el: HTMLInputElement | HTMLTextAreaElement, value: string, start: number | null, end: number | null } | null} */
  let before = null;

  /** Puts back what the focused field held before the burst. */
  const restore = () => {
    const b = before;
    before = null;
    if (!b || b.el.value === b.value) return;
    b.el.value = b.value;
    try {
      if (b.start !== null && b.end !== null) b.el.setSelectionRange(b.start, b.end);
    } catch {
      // number and other inputs have no selection
    }
    b.el.dispatchEvent(new Event('input', { bubbles: true }));
  };

  window.addEventListener(
    'keydown',
    (e) => {
      if (e.isComposing) return;
      if (e.key === 'Enter') {
        const text = detector.enter(e.timeStamp);
        if (text === undefined) {
          before = null;
          return;
        }
        e.preventDefault();
        e.stopImmediatePropagation();
        restore();
        onScan(text);
        return;
      }
      if (MODIFIERS.has(e.key)) return;
      const ch = charOf(e);
      if (ch === undefined) {
        detector.reset();
        before = null;
        return;
      }
      if (ch === GS) e.preventDefault();
      if (detector.key(ch, e.timeStamp)) {
        const el = document.activeElement;
        before =
          el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement
            ? { el, value: el.value, start: selection(el, 'start'), end: selection(el, 'end') }
            : null;
      }
    },
    { capture: true },
  );
}

/**
 * @param {HTMLInputElement | HTMLTextAreaElement} el
 * @param {'start' | 'end'} which
 */
function selection(el, which) {
  try {
    return which === 'start' ? el.selectionStart : el.selectionEnd;
  } catch {
    return null;
  }
}
