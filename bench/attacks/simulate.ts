// A SIMULATED cell-key release, for trying the attacks against a perturbation table before the hub
// has one (run.ts --simulate-cellkey D,V,js). Not the hub's release: each answer still comes from
// the API (which cells exist, refusals, 429), but its counts are replaced by a cell-key release of
// the true records: every record gets a random 32-bit key, a cell's key is the sum of its records'
// keys mod 2^32 over 2^32, and the deviation is read off a simple ptable at that key — so the same
// record set gets the same count in every query shape, and a changed record set a fresh draw.
// Counts below k are hidden. The ptable here is a truncated discrete normal (variance about V,
// deviations −D…D, no result below 0, no count 1…js−1 unchanged): a sketch, not a tuned design.
import { randomInt } from 'node:crypto'
import { CENTRAL_ASIA } from '../../src/release/demo.js'
import { cellKey, matches, REGION, type Filters, type TrueRecord, type World } from './harness.js'

export interface SimulatedPtable { D: number, V: number, js: number }

export function parsePtable (text: string): SimulatedPtable {
  const [D, V, js] = text.split(',').map(Number)
  if (!(D >= 1) || !(V > 0) || !(js >= 1)) throw new Error(`--simulate-cellkey D,V,js (e.g. 3,1.5,3), got ${text}`)
  return { D, V, js }
}

export function simulateCellKey (world: World, ptable: SimulatedPtable): World {
  const keys = new WeakMap<TrueRecord, number>()
  const keyOf = (r: TrueRecord): number => {
    let key = keys.get(r)
    if (key === undefined) keys.set(r, key = randomInt(0, 2 ** 32 - 1))
    return key
  }
  const cumulative = new Map<number, Array<[number, number]>>()
  /** The deviation's cumulative distribution for a true count n (n ≥ js share one). */
  const cdf = (n: number): Array<[number, number]> => {
    const row = Math.min(n, ptable.D + ptable.js)
    let known = cumulative.get(row)
    if (!known) {
      const weights: Array<[number, number]> = []
      for (let d = -ptable.D; d <= ptable.D; d++) {
        if (n + d < 0 || (d === 0 && n >= 1 && n < ptable.js)) continue
        weights.push([d, Math.exp(-(d * d) / (2 * ptable.V))])
      }
      const total = weights.reduce((s, [, w]) => s + w, 0)
      let acc = 0
      known = weights.map(([d, w]) => [d, (acc += w / total)])
      cumulative.set(row, known)
    }
    return known
  }
  const release = (records: TrueRecord[]): number => {
    if (records.length === 0) return 0
    let sum = 0
    for (const r of records) sum = (sum + keyOf(r)) % 2 ** 32
    const u = sum / 2 ** 32
    const row = cdf(records.length)
    return records.length + (row.find(([, c]) => u < c) ?? row[row.length - 1])[0]
  }

  return {
    ...world,
    async read (reader, query, options) {
      const answer = await world.read(reader, query, options)
      if (answer.status !== 200) return answer
      const region = query.region ?? REGION
      const members = region === REGION ? CENTRAL_ASIA : [region]
      const filters: Filters = query.filters ?? {}
      // The records of each listed cell, in one pass.
      const byCell = new Map<string, TrueRecord[]>()
      for (const r of world.records) {
        if (!members.includes(r.country) || !matches(r, filters)) continue
        const key = cellKey(query.by.map((d) => r[d]))
        const list = byCell.get(key)
        if (list) list.push(r)
        else byCell.set(key, [r])
      }
      const cells = answer.cells.map((cell) => {
        const count = release(byCell.get(cellKey(cell.key)) ?? [])
        return { key: cell.key, count: count < answer.k ? null : count }
      })
      return { ...answer, cells }
    }
  }
}
