// Rolling finest-grain cells up to what a query asks, and a small cache of recent roll-ups.
import { sql, type SQL } from 'drizzle-orm'
import type { DataVersion } from '../aggregation/versions.js'
import { rows, type Queryable } from '../db/connect.js'
import { COLUMN, type Dimension } from './dimensions.js'
import type { AggregateQuery, PeriodType } from './query.js'

/** A rolled-up cell: the values of the query's `by` dimensions (ABSENT as stored) and the sum. */
export interface RolledCell { key: string[], count: number }

export const MAX_CELLS = 10_000

function periodLabel (periodType: PeriodType): SQL {
  switch (periodType) {
    case 'month': return sql`period::text`
    case 'quarter': return sql`(substr(period, 1, 4) || '-Q' || ((substr(period, 6, 2)::int + 2) / 3)::text)`
    case 'year': return sql`substr(period, 1, 4)`
  }
}

function dimensionExpr (dim: Dimension, periodType: PeriodType): SQL {
  if (dim === 'period') return periodLabel(periodType)
  if (dim === 'country') return sql`country::text`
  return sql.raw(COLUMN[dim])
}

const inList = (values: string[]) => sql.join(values.map((v) => sql`${v}`), sql`, `)

/**
 * Sums the cells of `countries` in from..to matching the filters, grouped by the `by`
 * dimensions; zero cells are left out. At most MAX_CELLS + 1 rows come back, so the
 * caller can tell an answer that is too large without reading all of it.
 */
export async function rollUp (q: Queryable, query: AggregateQuery, countries: string[]): Promise<RolledCell[]> {
  const exprs = query.by.map((d) => dimensionExpr(d, query.periodType))
  const where: SQL[] = [
    sql`country IN (${inList(countries)})`,
    sql`period >= ${query.from} AND period <= ${query.to}`
  ]
  for (const [dim, values] of Object.entries(query.filters) as Array<[Dimension, string[]]>) {
    where.push(sql`${dimensionExpr(dim, query.periodType)} IN (${inList(values)})`)
  }
  const select = exprs.map((e, i) => sql`${e} AS ${sql.raw(`d${i}`)}`)
  const statement = sql`SELECT ${sql.join([...select, sql`sum(count) AS n`], sql`, `)}
    FROM cells WHERE ${sql.join(where, sql` AND `)}
    ${exprs.length > 0 ? sql`GROUP BY ${sql.join(exprs.map((_, i) => sql.raw(String(i + 1))), sql`, `)}` : sql``}
    HAVING sum(count) > 0
    LIMIT ${MAX_CELLS + 1}`
  const found = await rows<Record<string, string | number>>(q, statement)
  const cells = found.map((row) => ({ key: query.by.map((_, i) => String(row[`d${i}`])), count: Number(row.n) }))
  return cells.sort(compareKeys)
}

/** Code-point order, dimension by dimension: the same on every database and locale. */
export function compareKeys (a: { key: string[] }, b: { key: string[] }): number {
  for (let i = 0; i < a.key.length; i++) {
    if (a.key[i] !== b.key[i]) return a.key[i] < b.key[i] ? -1 : 1
  }
  return 0
}

export function queryKey (query: AggregateQuery, countries: string[]): string {
  // Filter values in the caller's order: the cached rendered answer echoes them.
  const filters = Object.entries(query.filters).sort(([a], [b]) => (a < b ? -1 : 1))
  return JSON.stringify([query.region, countries, query.from, query.to, query.periodType, query.by, filters])
}

// Data unchanged this long before a roll-up is settled: no writer transaction runs that long.
const QUIET_MS = 60_000

/** `released`: what readers were given from this roll-up, by k (their cells and rendered bodies). */
interface CacheEntry { version: string, at: number, rollup: Promise<RolledCell[]>, released: Map<number, unknown>, refreshing?: boolean, cells?: number }

/**
 * Recent roll-ups by query, valid while the data version of the query's countries is unchanged
 * (every announced change of their cells makes a new one). Past `ttlMs` an entry is refreshed once
 * anyway, while it still answers — a safety net for changes nobody announced — unless the data had
 * been quiet for QUIET_MS when it was rolled up. Concurrent identical misses share one query.
 * Grants are never cached here: they are checked before the cache is asked. Bounded by entries
 * and by rolled-up cells (what an entry releases and renders is of the same size, per k and
 * format): the least recently used go first.
 */
export function createRollupCache (options: { maxEntries?: number, maxCells?: number, ttlMs?: number, now?: () => number } = {}) {
  const maxEntries = options.maxEntries ?? 500
  const maxCells = options.maxCells ?? 200_000
  const ttlMs = options.ttlMs ?? 60_000
  const now = options.now ?? Date.now
  const entries = new Map<string, CacheEntry>()

  function trim (): void {
    let cells = 0
    for (const e of entries.values()) cells += e.cells ?? 0
    for (const [key, e] of entries) {
      if (entries.size <= maxEntries && cells <= maxCells) break
      entries.delete(key)
      cells -= e.cells ?? 0
    }
  }
  function sized (entry: CacheEntry): void {
    entry.rollup.then((rolled) => { entry.cells = rolled.length; trim() }, () => {})
  }

  function get (key: string, version: DataVersion, compute: () => Promise<RolledCell[]>): CacheEntry {
    const v = version.key
    const hit = entries.get(key)
    if (hit && hit.version === v) {
      entries.delete(key)
      entries.set(key, hit)
      const fresh = now() - hit.at < ttlMs || (version.lastUpdated !== null && hit.at - version.lastUpdated.getTime() > QUIET_MS)
      // Same version past the TTL: answer from the entry while one refresh replaces it, so a
      // hot query never stalls every caller on a roll-up.
      if (!fresh && !hit.refreshing) {
        hit.refreshing = true
        const next: CacheEntry = { version: v, at: now(), rollup: compute(), released: new Map() }
        next.rollup.then(() => { if (entries.get(key) === hit) { entries.set(key, next); sized(next) } }, () => { hit.refreshing = false })
      }
      return hit
    }
    const entry: CacheEntry = { version: v, at: now(), rollup: compute(), released: new Map() }
    entry.rollup.catch(() => { if (entries.get(key) === entry) entries.delete(key) })
    entries.set(key, entry)
    sized(entry)
    trim()
    return entry
  }
  return { get, clear: () => entries.clear(), get size () { return entries.size } }
}
export type RollupCache = ReturnType<typeof createRollupCache>
