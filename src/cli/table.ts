// Aligned text tables for a terminal: numbers to the right, text to the left.

export function formatTable (headers: string[], rows: string[][], rightAligned: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells
    .map((c, i) => rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))
    .join('  ')
    .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
}
