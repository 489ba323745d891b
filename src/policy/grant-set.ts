// The grant-set rule: no partner may compute a country it cannot read from totals it can read,
// by adding and subtracting them (docs/architecture.md, "Who may read what"). What a partner reads
// is its grants, its origin grants (each within its origin's nationals) and its own country, which
// it reads exactly; a combination of their member vectors that gives one country alone exposes it.
import type { PolicyUnit } from './read.js'

/** A partner's grant set: its country (read exactly) and the units it holds grants on. */
export interface GrantSet {
  partnerId: string
  country: string | null
  grants: ReadonlyArray<{ unit: PolicyUnit, countryOfOrigin?: string | null }>
}

/** A country the set would let its partner compute: within one origin's nationals, or (null) all. */
export interface Exposure {
  partner: string
  country: string
  countryOfOrigin: string | null
  /** The granted regions of that view, whose totals combine to it. */
  units: string[]
}

/**
 * Every country the set exposes. For all nationals, the partner reads its full grants and its own
 * country; for each origin X of its origin grants, it also reads those grants (and can add the
 * filter countryOfOrigin=X to any full grant or to its own country). In each of these views a
 * country it cannot read directly is exposed when its indicator vector lies in the span of the
 * readable units' member vectors: an exact rank test over the integers ({KAZ+KGZ, KGZ+TJK,
 * KAZ+TJK} gives KAZ = (ab − bc + ac) / 2; a union test misses overlaps).
 */
export function exposures (set: GrantSet): Exposure[] {
  const own: PolicyUnit[] = set.country ? [{ code: set.country, members: [set.country] }] : []
  const full = [...set.grants.filter((g) => !g.countryOfOrigin).map((g) => g.unit), ...own]
  const origins = [...new Set(set.grants.flatMap((g) => g.countryOfOrigin ? [g.countryOfOrigin] : []))].sort()
  // One column per country any unit holds; the full grants' echelon is shared by every origin's view.
  const countries = [...new Set(set.grants.flatMap((g) => g.unit.members).concat(set.country ?? []))].sort()
  const column = new Map(countries.map((c, i) => [c, i]))
  const vector = (u: PolicyUnit) => { const v = countries.map(() => 0n); for (const m of u.members) v[column.get(m)!] = 1n; return v }
  const shared = reducedEchelon(full.map(vector))
  const out: Exposure[] = []
  const seen = new Set<string>()
  for (const origin of [null, ...origins]) {
    const extra = set.grants.filter((g) => origin !== null && g.countryOfOrigin === origin).map((g) => g.unit)
    const units = [...full, ...extra]
    const direct = new Set(units.filter((u) => u.members.length === 1).map((u) => u.members[0]))
    const basis = extra.length === 0 ? shared : reducedEchelon(extra.map(vector), shared)
    for (const country of singled(basis).map((i) => countries[i]).filter((c) => !direct.has(c))) {
      // Exposed for all nationals is exposed within each origin too: name it once.
      if (seen.has(country)) continue
      if (origin === null) seen.add(country)
      out.push({ partner: set.partnerId, country, countryOfOrigin: origin, units: units.filter((u) => u.members.length > 1).map((u) => u.code).sort() })
    }
  }
  return out
}

/** The countries the units' totals single out that are not themselves among the units. */
export function exposedBy (units: readonly PolicyUnit[]): string[] {
  const direct = new Set(units.filter((u) => u.members.length === 1).map((u) => u.members[0]))
  const countries = [...new Set(units.flatMap((u) => u.members))].sort()
  const basis = reducedEchelon(units.map((u) => countries.map((c) => (u.members.includes(c) ? 1n : 0n))))
  return singled(basis).map((i) => countries[i]).filter((c) => !direct.has(c))
}

/**
 * The columns (countries) whose indicator vector lies in the rows' span. In reduced row echelon
 * form e_c reduces to zero exactly when c is a pivot column whose row holds nothing else, so the
 * basis answers every country at once.
 */
function singled (basis: Pivot[]): number[] {
  return basis.filter((p) => p.row.every((x, i) => i === p.column || x === 0n)).map((p) => p.column).sort((a, b) => a - b)
}

interface Pivot { row: bigint[], column: number }

function gcd (a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a
  b = b < 0n ? -b : b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** `row` with `pivot`'s column eliminated, kept small by its gcd (fraction-free, exact). */
function eliminate (row: bigint[], pivot: Pivot): bigint[] {
  const factor = row[pivot.column]
  if (factor === 0n) return row
  const scale = pivot.row[pivot.column]
  const out = row.map((x, i) => x * scale - pivot.row[i] * factor)
  const g = out.reduce((acc, x) => gcd(acc, x), 0n)
  return g > 1n ? out.map((x) => x / g) : out
}

function reduce (row: bigint[], basis: Pivot[]): bigint[] {
  return basis.reduce(eliminate, row)
}

/**
 * The reduced row echelon form of `basis` (itself reduced, never changed) with `rows` added: each
 * new independent row is reduced by the pivots, then its pivot column is cleared from the others,
 * so adding a few rows to a shared basis costs a few passes, not a new elimination.
 */
function reducedEchelon (rows: bigint[][], basis: readonly Pivot[] = []): Pivot[] {
  let out = [...basis]
  for (const row of rows) {
    const reduced = reduce(row, out)
    const column = reduced.findIndex((x) => x !== 0n)
    if (column < 0) continue
    const pivot = { row: reduced, column }
    out = out.map((p) => ({ row: eliminate(p.row, pivot), column: p.column }))
    out.push(pivot)
  }
  return out
}
