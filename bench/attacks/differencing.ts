// Attack 1, differencing (docs/disclosure-control.md): for a 3-D target table T, read T, each margin
// M_i and, for each value v of dimension i, a complement table with filter `i=<every value but v>`
// (T(i=v) = M_i − C_v); leftovers by one-cell reads of a line and of its complement (no `by`, so no
// complementary suppression); then every released count is a linear equation over T's cells and
// least squares (exact elimination when counts are exact) gives each cell, rounded.
import { cellKey, describeScore, score, solve, toCount, regionTable, type Answer, type Dim, type Equation, type Filters, type Query, type Reader, type Score, type Scored, type World } from './harness.js'

export interface TableFigures { by: Dim[], k: number, cells: number, suppressed: number, queries: number, score: Score }
export interface DifferencingFigures { attacker: string, k: number, tables: TableFigures[], overall: Score, queries: number, budget: number, budgetHit: boolean }

/** The four 3-D tables of the first wave's measurement, read with by=country (a reader with member grants). */
export const COUNTRY_TABLES: Dim[][] = [
  ['country', 'conditionGroup', 'sex'], ['country', 'ageBand', 'sex'], ['country', 'encounter', 'sex'], ['country', 'migrationStatus', 'ageBand']
]
/** Region-level 3-D tables, for a reader with the region's totals only. */
export const REGION_TABLES: Dim[][] = [['conditionGroup', 'sex', 'ageBand'], ['encounter', 'sex', 'ageBand']]

export async function differencing (world: World, reader: Reader, tables: Dim[][]): Promise<DifferencingFigures> {
  const figures: TableFigures[] = []
  const all: Scored[] = []
  let k = world.k
  for (const by of tables) {
    const before = reader.queries
    const result = await attackTable(world, reader, by)
    if (!result) break
    k = result.k
    all.push(...result.scored)
    figures.push({ by, k: result.k, cells: result.scored.length, suppressed: result.scored.filter((c) => c.released === null).length, queries: reader.queries - before, score: score(result.scored, result.k) })
  }
  return { attacker: reader.id, k, tables: figures, overall: score(all, k), queries: reader.queries, budget: world.budget, budgetHit: reader.budgetHit }
}

async function attackTable (world: World, reader: Reader, by: Dim[]): Promise<{ k: number, scored: Scored[] } | undefined> {
  const target = await world.read(reader, { by })
  if (target.status !== 200) {
    if (target.status === 429) return undefined
    throw new Error(`differencing: ${by.join(',')}: ${target.status} ${target.detail ?? ''}`)
  }
  const k = target.k
  // The unknowns: T's listed cells (an unlisted cell is zero).
  const vars = target.cells.map((c) => c.key)
  const index = new Map(vars.map((key, j) => [cellKey(key), j]))
  const domain = by.map((_, i) => [...new Set(vars.map((key) => key[i]))].sort())
  const equations: Equation[] = []

  /** Each released cell of an answer: the sum of the T cells it covers. */
  const learn = (query: Query, answer: Answer) => {
    if (answer.status !== 200) return
    for (const cell of answer.cells) {
      if (cell.count === null) continue
      const filters: Filters = { ...query.filters }
      query.by.forEach((d, i) => { filters[d] = [cell.key[i]] })
      const covered = vars.flatMap((key, j) => by.every((d, i) => filters[d] === undefined || filters[d].includes(key[i])) ? [j] : [])
      equations.push({ vars: covered, value: cell.count })
    }
  }
  // One day's budget: differencing needs no more (and the hub would answer 429 past it).
  const ask = async (query: Query): Promise<boolean> => {
    if (reader.queries >= world.budget) return false
    const answer = await world.read(reader, query)
    learn(query, answer)
    return answer.status !== 429
  }

  learn({ by }, target)
  // Margins and complements.
  for (let i = 0; i < by.length; i++) {
    const rest = by.filter((_, j) => j !== i)
    if (!await ask({ by: rest })) break
    if (domain[i].length < 2) continue
    for (const v of domain[i]) {
      if (!await ask({ by: rest, filters: { [by[i]]: domain[i].filter((w) => w !== v) } })) break
    }
  }
  // The 1-D margins and the total: more equations, few queries.
  for (const d of by) if (!await ask({ by: [d] })) break
  await ask({ by: [] })
  // Leftovers: a hidden cell still undetermined gets one-cell reads along a chain of complements,
  // for each order p of the dimensions: cell = total − [p1≠a] − [p1=a, p2≠b] − [p1=a, p2=b, p3≠c],
  // with the prefixes [p1=a], [p1=a, p2=b] too (every term large enough is released exactly).
  let solved = solve(vars.length, equations)
  for (const order of permutations(by.map((_, i) => i))) {
    if (reader.budgetHit || reader.queries >= world.budget) break
    const open = vars.flatMap((key, j) => target.cells[j].count === null && !solved.determined[j] ? [key] : [])
    if (open.length === 0) break
    for (const key of open) {
      const prefix: Filters = {}
      for (const i of order) {
        if (domain[i].length > 1 && !await ask({ by: [], filters: { ...prefix, [by[i]]: domain[i].filter((w) => w !== key[i]) } })) break
        prefix[by[i]] = [key[i]]
        if (!await ask({ by: [], filters: { ...prefix } })) break
      }
    }
    solved = solve(vars.length, equations)
  }

  const truth = regionTable(world.records, by)
  const scored: Scored[] = []
  // Every true cell (a true cell T does not list would be a zero the attacker reads as zero).
  for (const [key, count] of truth) {
    const j = index.get(key)
    scored.push({ truth: count, released: j === undefined ? null : target.cells[j].count, estimate: j === undefined ? 0 : toCount(solved.estimate[j]), group: by.join(',') })
  }
  return { k, scored }
}

export function printDifferencing (f: DifferencingFigures, log: (line: string) => void = console.log): void {
  log(`differencing — attacker ${f.attacker} (k ${f.k}), ${f.queries} queries${f.budgetHit ? ' (stopped by the budget: 429)' : ''} of a day's ${f.budget}`)
  for (const t of f.tables) log(`  by=${t.by.join(',')}: ${t.cells} cells, ${t.suppressed} hidden, ${t.queries} queries; ${describeScore(t.score)}`)
  log(`  overall: ${describeScore(f.overall)}`)
}

function permutations (items: number[]): number[][] {
  if (items.length <= 1) return [items]
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]))
}
