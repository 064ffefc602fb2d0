interface Detector {
  key(ch: string, time: number): boolean;
  enter(time: number): string | undefined;
}
// The page's modules are type-checked with the page's own config (tsconfig.web.json); here they
// are only run.
const { DEFAULT_TIMING, WedgeDetector } = jest.requireActual<{ DEFAULT_TIMING: { maxGap: number }; WedgeDetector: new () => Detector }>(
  '../../../src/pos/web/js/scanner.js',
);

/**
 * Telling a keyboard-wedge scan from typing by its timing alone (the browser tests type real
 * scans into Chromium): eight characters or more, under 50 ms a key on average, then Enter.
 */

/** Feeds `text` at `gaps` (one per character after the first), then Enter `enterGap` later. */
function run(text: string, gaps: number | number[], enterGap = 5): string | undefined {
  const d = new WedgeDetector();
  let t = 1000;
  [...text].forEach((ch, i) => {
    if (i > 0) t += Array.isArray(gaps) ? gaps[i - 1]! : gaps;
    d.key(ch, t);
  });
  return d.enter(t + enterGap);
}

test('a scanner: a few milliseconds a key', () => {
  expect(run('2990000000019', 4)).toBe('2990000000019');
  expect(run(']d2010299000000001917271231', 12)).toBe(']d2010299000000001917271231');
});

test('one slow key in a fast burst (a busy machine) still makes a scan, if the average is fast', () => {
  expect(run('2990000000019', [5, 5, 5, 110, 5, 5, 5, 5, 5, 5, 5, 5])).toBe('2990000000019');
});

test('a person typing, a short code, a pause before Enter: not scans', () => {
  expect(run('29900000', 110)).toBeUndefined(); // fast typist, still far slower
  expect(run('1234567', 4)).toBeUndefined(); // seven characters (a PIN, a quantity)
  expect(run('2990000000019', 4, DEFAULT_TIMING.maxGap + 1)).toBeUndefined();
});

test('a pause longer than maxGap starts a new burst: what was typed before does not count', () => {
  const d = new WedgeDetector();
  for (const [i, ch] of [...'abc'].entries()) d.key(ch, i * 100);
  expect(d.key('2', 1000)).toBe(true);
  let t = 1000;
  for (const ch of '990000000019') d.key(ch, (t += 4));
  expect(d.enter(t + 4)).toBe('2990000000019');
  expect(d.enter(t + 8)).toBeUndefined(); // the buffer is emptied by Enter
});
