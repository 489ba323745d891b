// Utility of a release: in 3-D tables, the share of cells with true count ≥ 2k that are released,
// and the median relative error of cells with true count ≥ 50 (an unreleased cell counts as 100 %).
import { TARGETS } from './targets.js'
import { cellKey, pct, regionTable, type Dim, type Reader, type World } from './harness.js'

export interface UtilityTable { by: Dim[], k: number, large: number, largeReleased: number, big: number, errors: number[] }
export interface UtilityFigures { reader: string, tables: UtilityTable[], releasedShare: number, medianRelativeError: number, large: number, big: number }

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export async function utility (world: World, reader: Reader, tables: Dim[][]): Promise<UtilityFigures> {
  const out: UtilityTable[] = []
  for (const by of tables) {
    const answer = await world.read(reader, { by }, { fresh: true })
    if (answer.status !== 200) throw new Error(`utility: ${by.join(',')}: ${answer.status}`)
    const released = new Map(answer.cells.map((c) => [cellKey(c.key), c.count]))
    const truth = regionTable(world.records, by)
    const table: UtilityTable = { by, k: answer.k, large: 0, largeReleased: 0, big: 0, errors: [] }
    for (const [key, count] of truth) {
      const shown = released.get(key) ?? null
      if (count >= 2 * answer.k) {
        table.large++
        if (shown !== null) table.largeReleased++
      }
      if (count >= TARGETS.largeCount) {
        table.big++
        table.errors.push(shown === null ? 1 : Math.abs(shown - count) / count)
      }
    }
    out.push(table)
  }
  const large = out.reduce((s, t) => s + t.large, 0)
  return {
    reader: reader.id,
    tables: out,
    releasedShare: large === 0 ? 1 : out.reduce((s, t) => s + t.largeReleased, 0) / large,
    medianRelativeError: median(out.flatMap((t) => t.errors)),
    large,
    big: out.reduce((s, t) => s + t.big, 0)
  }
}

export function printUtility (f: UtilityFigures, log: (line: string) => void = console.log): void {
  log(`utility — reader ${f.reader}: cells with true count ≥ 2k released: ${pct(f.releasedShare)} of ${f.large} (target ≥ ${pct(TARGETS.releasedShareMin)}); `
    + `median relative error, true count ≥ ${TARGETS.largeCount}: ${pct(f.medianRelativeError)} over ${f.big} cells (target < ${pct(TARGETS.medianRelativeErrorMax)})`)
  for (const t of f.tables) {
    log(`  by=${t.by.join(',')} (k ${t.k}): ${t.largeReleased} of ${t.large} cells ≥ 2k released; median relative error ${pct(median(t.errors))} over ${t.big} cells ≥ ${TARGETS.largeCount}`)
  }
}
