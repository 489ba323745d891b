// Attack 2, averaging within one day's budget: each hidden target cell of a table is estimated
// many ways whose record sets differ — other spellings of the same cell (redundant full filters on
// other dimensions), a line minus its complement along each dimension, a chain of complements from
// the total down, and each of these split by a random subset S of another dimension's values and
// its rest — and the estimates are
// averaged and rounded. Distinct record sets get distinct noise under the cell-key method, so this
// is what a query budget (and the noise design) must hold. The attack stops at the first 429.
import { describeScore, regionTable, rng, score, toCount, type Dim, type Filters, type Reader, type Score, type Scored, type World } from './harness.js'

export interface AveragingFigures {
  attacker: string
  k: number
  by: Dim[]
  targets: number
  /** Targets for which no estimate was released at all. */
  withoutEstimate: number
  estimatesPerTarget: number
  queries: number
  budget: number
  budgetHit: boolean
  score: Score
}

/** A signed term of a decomposition: +1 or −1 times the count of the records the filters select. */
type Term = [1 | -1, Filters]

const SPLITS: Dim[] = ['ageBand', 'encounter', 'migrationStatus', 'insurance', 'period', 'countryOfOrigin', 'outcome', 'migrationStage']

export async function averaging (world: World, reader: Reader, options: { by: Dim[], targets: number, budget?: number, seed?: number }): Promise<AveragingFigures> {
  const { by } = options
  const budget = options.budget ?? world.budget
  const random = rng(options.seed ?? 9)
  const start = reader.queries
  const spent = () => reader.queries - start
  const table = await world.read(reader, { by })
  if (table.status !== 200) throw new Error(`averaging: ${by.join(',')}: ${table.status}`)
  const k = table.k

  // What a value list may be: the values the 1-D margins list (an unlisted value has no records).
  const splits = SPLITS.filter((d) => !by.includes(d))
  const domain = new Map<Dim, string[]>()
  for (const d of [...by, ...splits]) {
    const answer = await world.read(reader, { by: [d] })
    if (answer.status === 200) domain.set(d, answer.cells.map((c) => c.key[0]))
  }

  // The targets: hidden cells, a seeded sample (the attacker does not know the true counts).
  const hidden = table.cells.filter((c) => c.count === null)
  const targets = hidden.map((c) => ({ c, r: random() })).sort((a, b) => a.r - b.r).slice(0, options.targets).map(({ c }) => c)

  const one = async (filters: Filters): Promise<number | null | 'stop'> => {
    if (spent() >= budget) return 'stop'
    const answer = await world.read(reader, { by: [], filters })
    if (answer.status === 429) return 'stop'
    if (answer.status !== 200) return null
    return answer.cells[0]?.count ?? (answer.cells.length === 0 ? 0 : null)
  }
  /** Σ sign · count(terms ∧ part) over the parts, or null if a term is hidden. */
  const evaluate = async (terms: Term[], parts: Filters[]): Promise<number | null | 'stop'> => {
    let sum = 0
    for (const part of parts) {
      for (const [sign, filters] of terms) {
        const v = await one({ ...filters, ...part })
        if (v === 'stop' || v === null) return v
        sum += sign * v
      }
    }
    return sum
  }

  const scored: Scored[] = []
  let withoutEstimate = 0
  let estimates = 0
  const truth = regionTable(world.records, by)
  for (let t = 0; t < targets.length; t++) {
    const cell = targets[t]
    const allowance = Math.floor((budget - spent()) / (targets.length - t))
    const before = spent()
    const mine = () => spent() - before >= allowance
    const own: Filters = Object.fromEntries(by.map((d, i) => [d, [cell.key[i]]]))
    const found: number[] = []
    let stop = false
    // Other spellings of the cell itself (released only if the noise lifts it to k).
    for (const extra of [undefined, ...splits.slice(0, 2)]) {
      if (mine()) break
      const v = await one(extra ? { ...own, [extra]: domain.get(extra) ?? [] } : own)
      if (v === 'stop') { stop = true; break }
      if (v !== null) found.push(v)
    }
    // Decompositions of the cell into released-size record sets: a line minus its complement along
    // dimension i; and, for each order of the dimensions, a chain from the total down:
    // cell = total − [p1≠a] − [p1=a, p2≠b] − [p1=a, p2=b, p3≠c].
    const others = (i: number) => (domain.get(by[i]) ?? []).filter((w) => w !== cell.key[i])
    const decompositions: Term[][] = []
    by.forEach((d, i) => {
      if (others(i).length === 0) return
      const line: Filters = Object.fromEntries(by.flatMap((e, j) => j === i ? [] : [[e, [cell.key[j]]]]))
      decompositions.push([[1, line], [-1, { ...line, [d]: others(i) }]])
    })
    for (const order of permutations(by.map((_, i) => i))) {
      const terms: Term[] = [[1, {}]]
      const prefix: Filters = {}
      for (const i of order) {
        if (others(i).length > 0) terms.push([-1, { ...prefix, [by[i]]: others(i) }])
        prefix[by[i]] = [cell.key[i]]
      }
      decompositions.push(terms)
    }
    // Each decomposition whole, then split by a random subset S of another dimension's values and its rest.
    for (const terms of decompositions) {
      if (stop || mine()) break
      const v = await evaluate(terms, [{}])
      if (v === 'stop') stop = true
      else if (v !== null) found.push(v)
    }
    for (let attempt = 0; !stop && !mine() && attempt < allowance * 2 && decompositions.length > 0; attempt++) {
      const terms = decompositions[Math.floor(random() * decompositions.length)]
      const split = splits[Math.floor(random() * splits.length)]
      const values = domain.get(split) ?? []
      if (values.length < 2) continue
      const inS = values.filter(() => random() < 0.5)
      if (inS.length === 0 || inS.length === values.length) continue
      const v = await evaluate(terms, [{ [split]: inS }, { [split]: values.filter((w) => !inS.includes(w)) }])
      if (v === 'stop') stop = true
      else if (v !== null) found.push(v)
    }
    estimates += found.length
    if (found.length === 0) withoutEstimate++
    const key = cell.key.join('|')
    scored.push({ truth: truth.get(key) ?? 0, released: null, estimate: found.length === 0 ? null : toCount(found.reduce((a, b) => a + b, 0) / found.length) })
    if (stop) {
      // Out of budget: the remaining targets get no estimate.
      for (const rest of targets.slice(t + 1)) {
        withoutEstimate++
        scored.push({ truth: truth.get(rest.key.join('|')) ?? 0, released: null, estimate: null })
      }
      break
    }
  }
  return {
    attacker: reader.id, k, by, targets: targets.length, withoutEstimate,
    estimatesPerTarget: targets.length === 0 ? 0 : estimates / targets.length,
    queries: spent(), budget, budgetHit: reader.budgetHit, score: score(scored, k)
  }
}

export function printAveraging (f: AveragingFigures, log: (line: string) => void = console.log): void {
  log(`averaging — attacker ${f.attacker} (k ${f.k}), by=${f.by.join(',')}: ${f.targets} hidden target cells, `
    + `${f.estimatesPerTarget.toFixed(1)} estimates per target, ${f.withoutEstimate} without any; ${f.queries} of ${f.budget} queries${f.budgetHit ? ' (429 reached)' : ''}`)
  log(`  ${describeScore(f.score)}`)
}

function permutations (items: number[]): number[][] {
  if (items.length <= 1) return [items]
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]))
}
