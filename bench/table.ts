/** Prints benchmark results as an aligned text table (the project's one benchmark output format). */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`\n## ${title}\n\n`);
  process.stdout.write(line(cells[0]!) + '\n');
  process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const r of cells.slice(1)) process.stdout.write(line(r) + '\n');
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Runs `fn` repeatedly for about `ms` milliseconds after a warm-up; returns operations per second. */
export function opsPerSecond(fn: () => void, ms = 1000, opsPerCall = 1): number {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    calls++;
    now = performance.now();
  }
  return (calls * opsPerCall * 1000) / (now - start);
}

/** Median of several `opsPerSecond` samples: steadier on a shared 2-core machine. */
export function medianOps(fn: () => void, samples = 5, ms = 400, opsPerCall = 1): number {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) xs.push(opsPerSecond(fn, ms, opsPerCall));
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}
