import t from 'tap'
import fc from 'fast-check'
import { suppress, type Cell, type ReleasedCell } from '../../src/release/suppression.js'

// ------------------------------------------------------------ the attacker
// Written independently of the implementation: dense rational arithmetic,
// margins rebuilt from the raw cells, membership tested by rank.

interface Q { n: bigint; d: bigint }
const q = (n: bigint, d = 1n): Q => {
  if (d < 0n) { n = -n; d = -d }
  const g = gcdAbs(n, d) || 1n
  return { n: n / g, d: d / g }
}
const gcdAbs = (a: bigint, b: bigint): bigint => { a = a < 0n ? -a : a; b = b < 0n ? -b : b; while (b) [a, b] = [b, a % b]; return a }
const sub = (a: Q, b: Q): Q => q(a.n * b.d - b.n * a.d, a.d * b.d)
const mul = (a: Q, b: Q): Q => q(a.n * b.n, a.d * b.d)
const div = (a: Q, b: Q): Q => q(a.n * b.d, a.d * b.n)
const isZero = (a: Q): boolean => a.n === 0n

/** Every margin group of the table: for each dimension, cells equal on all other dimensions; and the total. */
function marginGroups(cells: Cell[]): number[][] {
  const dims = cells[0]?.key.length ?? 0
  const groups: number[][] = []
  for (let d = 0; d < dims; d++) {
    const byRest = new Map<string, number[]>()
    cells.forEach((c, i) => {
      const rest = JSON.stringify(c.key.filter((_, j) => j !== d))
      byRest.set(rest, [...(byRest.get(rest) ?? []), i])
    })
    groups.push(...byRest.values())
  }
  groups.push(cells.map((_, i) => i))
  return groups
}

/** Margin groups the reader knows: the decision under test says sums below k are not known. */
function knownGroups(cells: Cell[], k: number, everyMargin = false): number[][] {
  return marginGroups(cells).filter((g) => everyMargin || g.reduce((s, i) => s + cells[i].count, 0) >= k)
}

/**
 * Which unknowns the equations "sum of the group's unknowns = value" pin down:
 * e_x lies in the row space iff it reduces to zero against an echelon basis.
 */
function solvable(groups: number[][], unknowns: number[]): Set<number> {
  const col = new Map(unknowns.map((c, j) => [c, j]))
  const width = unknowns.length
  const basis: { pivot: number; row: Q[] }[] = []
  const reduce = (row: Q[]): Q[] => {
    for (const { pivot, row: b } of basis) {
      if (isZero(row[pivot])) continue
      const f = div(row[pivot], b[pivot])
      row = row.map((v, j) => sub(v, mul(f, b[j])))
    }
    return row
  }
  for (const g of groups) {
    const row: Q[] = Array.from({ length: width }, () => q(0n))
    for (const c of g) { const j = col.get(c); if (j !== undefined) row[j] = q(1n) }
    const r = reduce(row)
    const pivot = r.findIndex((v) => !isZero(v))
    if (pivot !== -1) basis.push({ pivot, row: r })
  }
  const out = new Set<number>()
  unknowns.forEach((c, j) => {
    const e: Q[] = Array.from({ length: width }, (_, i) => q(i === j ? 1n : 0n))
    if (reduce(e).every(isZero)) out.add(c)
  })
  return out
}

const suppressedOf = (out: ReleasedCell[]): number[] => out.flatMap((c, i) => (c.suppressed ? [i] : []))

/** Suppressed cells the reader can solve exactly from released cells and known margins. */
function attack(cells: Cell[], out: ReleasedCell[], k: number, everyMargin = false): Set<number> {
  return solvable(knownGroups(cells, k, everyMargin), suppressedOf(out))
}

/** Cells the known margins alone give away, even if every cell were hidden. */
function inherentlyDisclosed(cells: Cell[], k: number): Set<number> {
  return solvable(knownGroups(cells, k), cells.map((_, i) => i))
}

/** Brute force for tiny answers: all positive integer fillings (≤ max) of the suppressed cells consistent with what the reader knows. */
function feasibleValues(cells: Cell[], out: ReleasedCell[], k: number, max = 40): Map<number, Set<number>> {
  const hidden = suppressedOf(out)
  const groups = knownGroups(cells, k)
  const seen = new Map(hidden.map((c) => [c, new Set<number>()]))
  const value = cells.map((c, i) => (out[i].suppressed ? 0 : c.count))
  const position = new Map(hidden.map((c, j) => [c, j]))
  // Check each group as soon as its last suppressed cell is filled: prunes the search.
  const checkAt = hidden.map(() => [] as number[][])
  for (const g of groups) {
    const last = Math.max(-1, ...g.map((c) => position.get(c) ?? -1))
    if (last >= 0) checkAt[last].push(g)
  }
  const sumOf = (g: number[], v: number[]): number => g.reduce((s, i) => s + v[i], 0)
  const truth = cells.map((c) => c.count)
  const fill = (j: number): void => {
    if (j === hidden.length) {
      for (const c of hidden) seen.get(c)!.add(value[c])
      return
    }
    for (let v = 1; v <= max; v++) {
      value[hidden[j]] = v
      if (checkAt[j].every((g) => sumOf(g, value) === sumOf(g, truth))) fill(j + 1)
    }
  }
  fill(0)
  return seen
}

const cell = (key: string[], count: number): Cell => ({ key, count })
/** A full table from nested counts: grid(['a','b'], ['x','y'])([[1,2],[3,4]]). 0 = zero cell, omitted. */
function table2(rows: string[], cols: string[], counts: number[][]): Cell[] {
  return rows.flatMap((r, i) => cols.flatMap((c, j) => (counts[i][j] ? [cell([r, c], counts[i][j])] : [])))
}
const marks = (out: ReleasedCell[]): string => out.map((c) => (c.suppressed === 'primary' ? 'P' : c.suppressed === 'secondary' ? 'S' : '.')).join('')

// ------------------------------------------------------------ crafted answers

t.test('the attacker has teeth: primaries alone are solved', async (t) => {
  const cells = [cell(['a'], 3), cell(['b'], 20), cell(['c'], 8)]
  const naive: ReleasedCell[] = cells.map((c) => (c.count < 5 ? { ...c, count: null, suppressed: 'primary' } : { ...c, suppressed: null }))
  t.same(attack(cells, naive, 5), new Set([0]))
  t.same(feasibleValues(cells, naive, 5).get(0), new Set([3]))
})

t.test('primary threshold: 1..k-1 suppressed, k and k+1 released', async (t) => {
  for (const k of [5, 11]) {
    for (let count = 1; count <= k + 1; count++) {
      const [out] = suppress([cell([], count)], k)
      if (count < k) t.same(out, { key: [], count: null, suppressed: 'primary' }, `k=${k} count=${count}`)
      else t.same(out, { key: [], count, suppressed: null }, `k=${k} count=${count}`)
    }
  }
})

t.test('by=[]: a single total cell needs no partner', async (t) => {
  t.same(suppress([cell([], 3)], 5), [{ key: [], count: null, suppressed: 'primary' }])
  t.same(suppress([], 5), [])
})

t.test('1 dimension: a lone small cell gets the smallest sibling, ties first', async (t) => {
  const cells = [cell(['a'], 3), cell(['b'], 20), cell(['c'], 8), cell(['d'], 8), cell(['e'], 9)]
  const out = suppress(cells, 5)
  t.equal(marks(out), 'P.S..')
  t.same(out[2], { key: ['c'], count: null, suppressed: 'secondary' })
  t.same(out[3], { key: ['d'], count: 8, suppressed: null })
  t.same(attack(cells, out, 5), new Set())
  for (const [, values] of feasibleValues(cells, out, 5)) t.ok(values.size > 1, 'brute force finds several values')
})

t.test('1 dimension: two small cells protect each other; a total below k is not known', async (t) => {
  t.equal(marks(suppress([cell(['a'], 2), cell(['b'], 3), cell(['c'], 50)], 5)), 'PP.')
  t.equal(marks(suppress([cell(['a'], 1), cell(['b'], 2)], 5)), 'PP')
  t.equal(marks(suppress([cell(['a'], 2), cell(['b'], 2)], 5)), 'PP', 'total 4 < k: nothing to solve from')
})

t.test('k = 11: cells of exactly k and k+1 stay released unless needed as partners', async (t) => {
  const cells = [cell(['a'], 10), cell(['b'], 11), cell(['c'], 12), cell(['d'], 30)]
  const out = suppress(cells, 11)
  t.equal(marks(out), 'PS..')
  t.equal(out[2].count, 12)
  t.same(attack(cells, out, 11), new Set())
})

t.test('2 dimensions: one small cell gets a rectangle, partners are the smallest siblings', async (t) => {
  const cells = table2(['r1', 'r2', 'r3'], ['c1', 'c2', 'c3'], [
    [2, 30, 20],
    [40, 50, 60],
    [25, 70, 80],
  ])
  const out = suppress(cells, 5)
  // column c1: smallest sibling of (r1,c1) is (r3,c1)=25; row r1: smallest sibling (r1,c3)=20.
  t.equal(marks(out), 'P.S' + '...' + 'S.S')
  t.same(attack(cells, out, 5), new Set())
  t.same(attack(cells, out, 5, true), new Set(), 'even with every margin known')
  for (const [c, values] of feasibleValues(cells, out, 5, 90)) t.ok(values.size > 1, `cell ${c}: several values`)
})

t.test('2 dimensions: a hidden sibling is preferred over hiding a new one', async (t) => {
  const cells = table2(['r1', 'r2', 'r3'], ['c1', 'c2', 'c3'], [
    [2, 30, 3],
    [40, 50, 60],
    [25, 70, 80],
  ])
  const out = suppress(cells, 5)
  t.equal(marks(out), 'P.P' + '...' + 'S.S')
  t.same(attack(cells, out, 5), new Set())
})

t.test('2 dimensions: ≥ 2 hidden per line is not enough, the solver check adds more', async (t) => {
  // Two primaries in one row, each alone in its column: the row pair alone
  // leaves both solvable from their columns.
  const cells = table2(['r1', 'r2'], ['c1', 'c2', 'c3'], [
    [2, 3, 40],
    [30, 20, 50],
  ])
  const out = suppress(cells, 5)
  t.same(attack(cells, out, 5), new Set())
  t.equal(out.filter((c) => c.suppressed === 'secondary').length, 2)
})

t.test('a margin below k is not known: lone small cells in their columns can be protected', async (t) => {
  // Column x holds only (a,x)=2 and column w only (b,w)=3: their sums are below k.
  const cells = [cell(['a', 'x'], 2), cell(['a', 'y'], 10), cell(['a', 'z'], 12), cell(['b', 'w'], 3), cell(['b', 'y'], 9), cell(['b', 'z'], 7)]
  cells.sort((p, r) => p.key.join().localeCompare(r.key.join()))
  const out = suppress(cells, 5)
  t.same(attack(cells, out, 5), new Set(), 'protected against the margins the reader has')
  const small = cells.findIndex((c) => c.count === 2)
  t.ok(attack(cells, out, 5, true).has(small), 'had the reader the column sum 2, nothing could hide it')
})

t.test('margins can give a cell away whatever the answer hides (nested dimensions)', async (t) => {
  // by=country,subnationalArea: each area is one cell, its own column.
  const cells = [cell(['KAZ', 'KZ-10'], 3), cell(['KAZ', 'KZ-11'], 20), cell(['KAZ', 'KZ-15'], 30)]
  const out = suppress(cells, 5)
  t.equal(marks(out), 'P..', 'no useless secondaries: the area totals are public anyway')
  t.ok(inherentlyDisclosed(cells, 5).has(0), 'country total minus public area totals')
  // Two small areas keep each other hidden.
  const two = [cell(['KAZ', 'KZ-10'], 3), cell(['KAZ', 'KZ-11'], 4), cell(['KAZ', 'KZ-15'], 30)]
  const out2 = suppress(two, 5)
  t.equal(marks(out2), 'PP.')
  t.same(attack(two, out2, 5), new Set())
})

t.test('3 dimensions: one small cell is hidden in a 2×2×2 cube', async (t) => {
  const cells: Cell[] = []
  for (const a of ['a0', 'a1', 'a2']) for (const b of ['b0', 'b1', 'b2']) for (const c of ['c0', 'c1', 'c2']) {
    const i = cells.length
    cells.push(cell([a, b, c], i === 13 ? 1 : 10 + ((i * 7) % 17)))
  }
  const out = suppress(cells, 5)
  t.equal(out[13].suppressed, 'primary')
  t.equal(out.filter((c) => c.suppressed === 'secondary').length, 7)
  t.same(attack(cells, out, 5), new Set())
  t.same(attack(cells, out, 5, true), new Set())
})

t.test('output keeps input order, keys and released counts; deterministic', async (t) => {
  const cells = table2(['r1', 'r2', 'r3'], ['c1', 'c2', 'c3'], [
    [2, 30, 0],
    [40, 4, 60],
    [25, 70, 1],
  ])
  const out = suppress(cells, 5)
  t.same(out.map((c) => c.key), cells.map((c) => c.key))
  out.forEach((c, i) => { if (!c.suppressed) t.equal(c.count, cells[i].count) })
  t.same(suppress(cells, 5), out)
  t.same(suppress(structuredClone(cells), 5), out)
})

t.test('rejects zero counts and ragged keys', async (t) => {
  t.throws(() => suppress([cell(['a'], 0)], 5), RangeError)
  t.throws(() => suppress([cell(['a'], 1), cell(['a', 'b'], 1)], 5), RangeError)
  t.throws(() => suppress([cell(['a'], 1)], 0), RangeError)
})

// ------------------------------------------------------------ properties

/** Random tables: 1–3 dimensions, 1–5 values each, many small and some zero cells. */
const tableArb = (dense: boolean) =>
  fc.record({
    sizes: fc.array(fc.integer({ min: dense ? 2 : 1, max: dense ? 3 : 5 }), { minLength: 1, maxLength: 3 }),
    k: fc.constantFrom(3, 5, 11),
    seed: fc.array(fc.oneof(
      { arbitrary: fc.constant(0), weight: dense ? 0 : 2 },
      { arbitrary: fc.integer({ min: 1, max: 10 }), weight: 4 },
      { arbitrary: fc.integer({ min: 11, max: 200 }), weight: 4 },
    ), { minLength: 125, maxLength: 125 }),
  }).map(({ sizes, k, seed }) => {
    const keys: string[][] = sizes.reduce<string[][]>((acc, n, d) => acc.flatMap((key) => Array.from({ length: n }, (_, v) => [...key, `d${d}v${v}`])), [[]])
    const cells = keys.flatMap((key, i) => (seed[i] ? [cell(key, seed[i])] : []))
    return { cells, k }
  })

t.test('property: primaries, released counts, order, and no exactly solvable cell', async (t) => {
  fc.assert(fc.property(tableArb(false), ({ cells, k }) => {
    const out = suppress(cells, k)
    if (out.length !== cells.length) return false
    const inherent = inherentlyDisclosed(cells, k)
    for (let i = 0; i < cells.length; i++) {
      if (out[i].key !== cells[i].key) return false
      const small = cells[i].count < k
      if (small !== (out[i].suppressed === 'primary')) return false
      if (!out[i].suppressed && out[i].count !== cells[i].count) return false
      if (out[i].suppressed && out[i].count !== null) return false
    }
    // What the reader solves must be given away by the margins alone.
    for (const c of attack(cells, out, k)) if (!inherent.has(c)) return false
    return true
  }), { numRuns: 300 })
  t.pass('held')
})

t.test('property: dense tables (every dimension ≥ 2 values) leave nothing solvable', async (t) => {
  fc.assert(fc.property(tableArb(true), ({ cells, k }) => {
    const out = suppress(cells, k)
    return attack(cells, out, k).size === 0 && JSON.stringify(suppress(cells, k)) === JSON.stringify(out)
  }), { numRuns: 200 })
  t.pass('held')
})
