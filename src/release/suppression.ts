/**
 * Disclosure control for one aggregate answer: primary and complementary cell
 * suppression (DESIGN.md, "Pinned decisions: Suppression"). A pure function:
 * the same cells and k always give the same answer.
 *
 * The reader's knowledge we defend against:
 * - every released count, and that unlisted cells are zero (so a margin
 *   group's listed cells are the whole group);
 * - every margin of the answer's table whose value is ≥ k: for each `by`
 *   dimension the sums over it (a "line": cells sharing all other key values)
 *   and the answer's total. Other answers show these margins, so we assume
 *   the reader has them.
 * - A margin with 1 ≤ sum < k is NOT assumed known: any answer that showed it
 *   would primary-suppress it. Without this rule a lone small cell in a line
 *   could never be protected (its line sum would be its value).
 *
 * Guarantee: no suppressed value is *exactly* determined by those linear
 * equations (its unit vector is not in their row space), except cells the
 * margins alone disclose whatever this answer hides ("known anyway", below).
 * Only equality disclosure is covered: bounds (interval) disclosure — using
 * that every listed count is a positive integer, e.g. x + y = 2 forces
 * x = y = 1 — is not. README material.
 */

export type SuppressionMark = 'primary' | 'secondary' | null
/** key = values of the answer's `by` dimensions, in order ([] when `by` is empty). */
export interface Cell { key: string[]; count: number }
export interface ReleasedCell { key: string[]; count: number | null; suppressed: SuppressionMark }

/** A margin group: the cells whose sum is one margin value. */
interface MarginGroup { members: number[]; sum: number; known: boolean }
/** A line: the cells that differ only in dimension `dim`, found by their value there. */
interface Line extends MarginGroup { dim: number; byValue: Map<string, number> }

interface Table {
  cells: Cell[]
  dims: number
  /** Lines of every dimension; linesOf[cell][d] is the cell's line along d. */
  lines: Line[]
  linesOf: number[][]
  total: MarginGroup
  /**
   * Cells whose value the margins disclose whatever this answer hides: alone
   * in a known group, or the last one left unknown in a known group. Hiding
   * such a cell protects nothing, and a small one cannot be saved.
   */
  knownAnyway: boolean[]
}

/** Mutable state of one run. */
interface Run {
  table: Table
  marks: SuppressionMark[]
  /** Hidden cells proven undetermined by a null vector of the reader's equations. */
  certified: boolean[]
  /** Hidden cells still to certify, in the order they were hidden. */
  pending: number[]
}

/** Neighbourhood size for the local exactness check; bounds its cost. */
const LOCAL_LIMIT = 64

/**
 * Suppresses an answer's cells. `cells` is sorted by key, has no zero counts;
 * the output has the same order and keys.
 *
 * How protection is proven. A hidden cell x is safe iff some vector v over the
 * hidden cells with v[x] ≠ 0 sums to zero on every known margin (a null
 * vector): then x + t·v fits everything the reader knows, for any t. We look
 * for one in two steps, cheap first:
 * 1. a box: x plus, for each dimension whose line through the box is known,
 *    one other value of that dimension — 2 cells in 1 dimension, a rectangle
 *    in 2, a 2×2×2 cube in 3, 16 cells in 4 — with alternating signs. Every
 *    known line then meets the box in 0 or 2 cells of opposite sign, and the
 *    total in as many + as −. The other value is x's smallest sibling along
 *    that dimension (hidden siblings count as 0, ties: first in input order;
 *    then the smaller box). This is the "≥ 2 hidden per margin group" rule
 *    made exact: in 3+ dimensions two per line is not enough.
 * 2. when no box exists (zeros in the way), exact elimination on the hidden
 *    cells near x (≤ LOCAL_LIMIT, linked by known lines): a null vector of
 *    the local equations is one of the whole table. While x stays determined,
 *    hide its smallest released sibling in a known line (else in the total).
 * A certificate stays valid as more cells are hidden, so no rework is needed.
 * A cell with neither certificate nor any partner left is disclosed by the
 * margins themselves (every useful cell is hidden); it stays suppressed.
 *
 * Cost: O(n·d) to index; per hidden cell a box search of O(d·m·2^d) lookups
 * (m = values per dimension); the rare fallback costs O(r·ρ·w) per attempt
 * for r ≤ d·L+1 equations, rank ρ ≤ L and row width w ≤ L (L = LOCAL_LIMIT).
 */
export function suppress(cells: Cell[], k: number): ReleasedCell[] {
  assertValidInput(cells, k)
  const table = buildTable(cells, k)
  const run = startRun(table, k)
  for (let i = 0; i < run.pending.length; i++) protect(run, run.pending[i])
  return cells.map((cell, i) => ({
    key: cell.key,
    count: run.marks[i] === null ? cell.count : null,
    suppressed: run.marks[i],
  }))
}

function assertValidInput(cells: Cell[], k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`)
  const width = cells[0]?.key.length ?? 0
  for (const cell of cells) {
    if (!Number.isInteger(cell.count) || cell.count < 1) {
      throw new RangeError(`cell counts must be positive integers (zero cells are omitted), got ${cell.count}`)
    }
    if (cell.key.length !== width) throw new RangeError('all cell keys must have the same number of dimensions')
  }
}

const isPrimary = (count: number, k: number): boolean => count >= 1 && count < k

// ---------------------------------------------------------------- the table

function buildTable(cells: Cell[], k: number): Table {
  const dims = cells[0]?.key.length ?? 0
  const lines: Line[] = []
  const linesOf: number[][] = cells.map(() => [])
  // In one dimension its line is the total again: a duplicate equation, harmless.
  for (let d = 0; d < dims; d++) {
    const lineByRest = new Map<string, number>()
    cells.forEach((cell, i) => {
      const rest = cell.key.filter((_, j) => j !== d).join('\u0000')
      let id = lineByRest.get(rest)
      if (id === undefined) {
        id = lines.length
        lineByRest.set(rest, id)
        lines.push({ dim: d, members: [], sum: 0, known: false, byValue: new Map() })
      }
      const line = lines[id]
      line.members.push(i)
      line.sum += cell.count
      line.byValue.set(cell.key[d], i)
      linesOf[i].push(id)
    })
  }
  const total: MarginGroup = { members: cells.map((_, i) => i), sum: 0, known: false }
  for (const cell of cells) total.sum += cell.count
  // A margin below k would be primary-suppressed wherever it is shown, so the
  // reader does not know it. Without this, a small cell alone in its line
  // could never be protected: the line's sum would be its value.
  for (const group of [...lines, total]) group.known = group.sum >= k
  const knownAnyway = findKnownAnyway(cells.length, lines, total, linesOf)
  return { cells, dims, lines, linesOf, total, knownAnyway }
}

/**
 * Peels known groups: a known group with one member not yet known reveals it
 * (a lone member is its group's sum). Repeats until nothing changes. Catches
 * e.g. by=country,subnationalArea, where every area's line has one cell.
 */
function findKnownAnyway(n: number, lines: MarginGroup[], total: MarginGroup, linesOf: number[][]): boolean[] {
  const known = new Array<boolean>(n).fill(false)
  const unknownLeft = lines.map((g) => g.members.length)
  let totalUnknownLeft = n
  const queue: number[] = []
  const reveal = (cell: number): void => {
    if (known[cell]) return
    known[cell] = true
    totalUnknownLeft--
    for (const id of linesOf[cell]) if (--unknownLeft[id] === 1 && lines[id].known) queue.push(id)
  }
  lines.forEach((g, id) => { if (g.known && g.members.length === 1) queue.push(id) })
  const revealLastOf = (group: MarginGroup): void => {
    const last = group.members.find((c) => !known[c])
    if (last !== undefined) reveal(last)
  }
  for (;;) {
    while (queue.length > 0) revealLastOf(lines[queue.pop()!])
    if (!(total.known && totalUnknownLeft === 1)) break
    revealLastOf(total)
  }
  return known
}

function startRun(table: Table, k: number): Run {
  const run: Run = { table, marks: table.cells.map(() => null), certified: table.cells.map(() => false), pending: [] }
  table.cells.forEach((cell, i) => { if (isPrimary(cell.count, k)) hide(run, i, 'primary') })
  return run
}

function hide(run: Run, cell: number, mark: 'primary' | 'secondary'): void {
  if (run.marks[cell] !== null) return
  run.marks[cell] = mark
  run.pending.push(cell)
}

/** A hidden cell is a suppressed one the reader cannot know anyway: an unknown of the reader's equations. */
const isHidden = (run: Run, cell: number): boolean => run.marks[cell] !== null && !run.table.knownAnyway[cell]

/** What hiding a cell costs: nothing if already hidden, else its count. */
const hidingCost = (run: Run, cell: number): number => (run.marks[cell] !== null ? 0 : run.table.cells[cell].count)

function protect(run: Run, cell: number): void {
  if (run.certified[cell] || run.table.knownAnyway[cell]) return
  const box = findBox(run, cell)
  if (box) {
    for (const c of box) {
      hide(run, c, 'secondary')
      run.certified[c] = true
    }
    return
  }
  while (!certifyLocally(run, cell)) {
    const partner = partnerFor(run, cell)
    if (partner === -1) return // disclosed by the margins alone; nothing left to hide
    hide(run, partner, 'secondary')
  }
}

// ------------------------------------------------------ certificate 1: box

/** Cells of a box certificate around x, or null when zeros or known-anyway cells block every box. */
function findBox(run: Run, x: number): number[] | null {
  let box = [x]
  const varied = new Set<number>()
  for (let dim = dimToVary(run, box, varied); dim !== -1; dim = dimToVary(run, box, varied)) {
    const shifted = cheapestShift(run, box, dim)
    if (!shifted) return null
    box = box.concat(shifted)
    varied.add(dim)
  }
  return box
}

/** First dimension not yet varied along which some box cell has a known line; -1 when the box is closed. */
function dimToVary(run: Run, box: number[], varied: Set<number>): number {
  const { dims, lines, linesOf, total } = run.table
  for (let d = 0; d < dims; d++) {
    if (varied.has(d)) continue
    if (box.some((c) => lines[linesOf[c][d]].known)) return d
  }
  // A single cell is its own null vector only if the total is unknown too.
  return varied.size === 0 && total.known && dims > 0 ? 0 : -1
}

/** The copy of the box at x's cheapest sibling value along dim, or null if none is complete. */
function cheapestShift(run: Run, box: number[], dim: number): number[] | null {
  const { lines, linesOf, cells, knownAnyway } = run.table
  let best: number[] | null = null
  let bestCost: [number, number] = [Infinity, Infinity]
  for (const sibling of lines[linesOf[box[0]][dim]].members) {
    if (sibling === box[0] || knownAnyway[sibling]) continue
    const value = cells[sibling].key[dim]
    const shifted: number[] = []
    for (const c of box) {
      const moved = lines[linesOf[c][dim]].byValue.get(value)
      if (moved === undefined || knownAnyway[moved]) break
      shifted.push(moved)
    }
    if (shifted.length < box.length) continue
    const cost: [number, number] = [hidingCost(run, sibling), shifted.reduce((sum, c) => sum + hidingCost(run, c), 0)]
    if (cost[0] < bestCost[0] || (cost[0] === bestCost[0] && cost[1] < bestCost[1])) {
      best = shifted
      bestCost = cost
    }
  }
  return best
}

// ------------------------------------------- certificate 2: local elimination

/**
 * Exact check on x's neighbourhood W (hidden cells reached through known
 * lines, at most LOCAL_LIMIT): if x is not determined by the known margins
 * restricted to W, a null vector supported on W exists, and it is a null
 * vector of the whole table (margins not touching W are untouched). Every
 * undetermined cell of W is certified by the same argument.
 */
function certifyLocally(run: Run, x: number): boolean {
  const near = neighbourhood(run, x)
  const column = new Map<number, number>()
  near.forEach((c, col) => column.set(c, col))
  const basis = new RowBasis()
  const addGroup = (members: number[]): void => {
    const cols: number[] = []
    for (const c of members) {
      const col = column.get(c)
      if (col !== undefined) cols.push(col)
    }
    basis.add(cols)
  }
  for (const id of touchingKnownLines(run, near)) addGroup(run.table.lines[id].members)
  if (run.table.total.known) addGroup(near)
  const determined = new Set(basis.determinedColumns())
  near.forEach((c, col) => { if (!determined.has(col)) run.certified[c] = true })
  return !determined.has(0)
}

/** Hidden cells reached from x through known lines, breadth first, x first. */
function neighbourhood(run: Run, x: number): number[] {
  const seen = new Set([x])
  const order = [x]
  for (let i = 0; i < order.length && order.length < LOCAL_LIMIT; i++) {
    for (const id of run.table.linesOf[order[i]]) {
      const line = run.table.lines[id]
      if (!line.known) continue
      for (const c of line.members) {
        if (seen.has(c) || !isHidden(run, c) || order.length >= LOCAL_LIMIT) continue
        seen.add(c)
        order.push(c)
      }
    }
  }
  return order
}

function touchingKnownLines(run: Run, near: number[]): number[] {
  const ids = new Set<number>()
  for (const c of near) for (const id of run.table.linesOf[c]) if (run.table.lines[id].known) ids.add(id)
  return [...ids].sort((a, b) => a - b)
}

/** Smallest released cell that would add an unknown; ties: first in input order. -1 if none. */
function smallestPartner(run: Run, members: Iterable<number>): number {
  let best = -1
  for (const c of members) {
    if (run.marks[c] !== null || run.table.knownAnyway[c]) continue
    const count = run.table.cells[c].count
    if (best === -1 || count < run.table.cells[best].count || (count === run.table.cells[best].count && c < best)) best = c
  }
  return best
}

function partnerFor(run: Run, cell: number): number {
  const inLines = smallestPartner(run, knownLineMembers(run, cell))
  if (inLines !== -1 || !run.table.total.known) return inLines
  return smallestPartner(run, run.table.total.members)
}

function* knownLineMembers(run: Run, cell: number): Iterable<number> {
  for (const id of run.table.linesOf[cell]) if (run.table.lines[id].known) yield* run.table.lines[id].members
}

// ------------------------------------------------ exact linear algebra

type SparseRow = Map<number, bigint>

/**
 * A row space kept in reduced row echelon form with fraction-free integer
 * arithmetic (BigInt, rows divided by their gcd): exact, no rationals needed.
 * Adding a row costs O(ρ·w) for rank ρ and row width w.
 *
 * Column c is determined (its unit vector lies in the row space) iff it is a
 * pivot whose row has no other entry: in reduced form the other entries sit
 * in free columns, and each free column gives a null vector touching c.
 */
class RowBasis {
  private readonly rows = new Map<number, SparseRow>() // pivot column → its row

  /** Adds the equation "sum of these columns = known value". */
  add(cols: number[]): void {
    const row = this.reduce(unitRow(cols))
    if (row.size === 0) return
    let pivot = Infinity
    for (const col of row.keys()) if (col < pivot) pivot = col
    for (const [col, other] of this.rows) if (other.has(pivot)) this.rows.set(col, eliminate(other, row, pivot))
    this.rows.set(pivot, row)
  }

  /** Whether "sum of these columns" is already implied. */
  contains(cols: number[]): boolean {
    return this.reduce(unitRow(cols)).size === 0
  }

  determinedColumns(): number[] {
    return [...this.rows].filter(([, row]) => row.size === 1).map(([col]) => col)
  }

  private reduce(row: SparseRow): SparseRow {
    for (const [col, pivotRow] of this.rows) if (row.has(col)) row = eliminate(row, pivotRow, col)
    return row
  }
}

const unitRow = (cols: number[]): SparseRow => new Map(cols.map((c) => [c, 1n]))

/** Clears `col` from `row` with `pivotRow`: row·p[col] − p·row[col], divided by its gcd to keep entries small. */
function eliminate(row: SparseRow, pivotRow: SparseRow, col: number): SparseRow {
  const a = pivotRow.get(col)!
  const b = row.get(col)!
  const out: SparseRow = new Map()
  for (const [c, v] of row) out.set(c, v * a)
  for (const [c, v] of pivotRow) {
    const next = (out.get(c) ?? 0n) - v * b
    if (next === 0n) out.delete(c)
    else out.set(c, next)
  }
  return divideByGcd(out)
}

function divideByGcd(row: SparseRow): SparseRow {
  let g = 0n
  for (const v of row.values()) {
    g = gcd(g, v < 0n ? -v : v)
    if (g === 1n) return row
  }
  if (g > 1n) for (const [c, v] of row) row.set(c, v / g)
  return row
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}
