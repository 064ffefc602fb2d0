/**
 * A plain-text table for terminals and receipts: columns two spaces apart, each aligned left
 * ('l', text) or right ('r', amounts). Widths count code points, so accented names line up.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[]): string {
  const all = [header, ...rows];
  const len = (s: string) => [...s].length;
  const widths = header.map((_, i) => Math.max(...all.map((r) => len(r[i] ?? ''))));
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - len(s));
    return align[i] === 'r' ? fill + s : s + fill;
  };
  const line = (r: readonly string[]) =>
    header
      .map((_, i) => pad(r[i] ?? '', i))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}
