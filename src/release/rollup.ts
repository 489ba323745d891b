// Rolling finest-grain cells up to what a query asks, and a small cache of recent roll-ups.
import { sql, type SQL } from 'drizzle-orm'
import type { DataVersion } from '../aggregation/versions.js'
import { columnList, KEY_MODULUS, MARGIN_TOTAL } from '../model/cells.js'
import { rows, type Queryable } from '../db/connect.js'
import { COLUMN, type Dimension } from './dimensions.js'
import type { Ptable } from './ptable.js'
import type { Protection } from '../policy/read.js'
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

/** How counts leave the hub (decided by the read policy): perturbed by the cell-key method, or exact. */
export type { Protection } from '../policy/read.js'

/**
 * The record sets the cell-key method perturbs one by one ("atoms"): a released cell is the sum of
 * its atoms' perturbed counts. An atom is one month of one country with every dimension the query
 * fixes (its `by` dimensions and its filters) at one value, the others summed out. So a value list
 * (`sex=female,other`), a span of months, a quarter, a region or a country list adds perturbed
 * atoms and never opens a new record set with noise of its own: every way of spelling a count
 * gives the same value, and no average of many spellings wears the noise away. Margins (a
 * dimension summed out) stay atoms of their own.
 */
function atomColumns (query: AggregateQuery): SQL[] {
  const listed = (Object.entries(query.filters) as Array<[Dimension, string[]]>)
    .filter(([dim, values]) => values.length > 1 && !query.by.includes(dim) && dim !== 'period' && dim !== 'country')
    .map(([dim]) => sql.raw(COLUMN[dim]))
  return [sql.raw('country'), sql.raw('period'), ...listed]
}

function ptableValues (ptable: Ptable): SQL {
  return sql.raw(ptable.rows.map((r) => `(${r.n}, ${r.lo}::bigint, ${r.hi}::bigint, ${r.d})`).join(', '))
}

export interface RollUpOptions {
  /** false: sum the finest-grain cells even where the margins would answer (the benchmark's and tests' reference). */
  margins?: boolean
}

// Countries read `published` come from their last publication, the others from working data.
function cellSource (published: readonly string[]): SQL {
  return published.length === 0
    ? sql`cells`
    : sql`(SELECT ${columnList()}, count, key_sum FROM cells WHERE country NOT IN (${inList([...published])})
        UNION ALL SELECT ${columnList()}, count, key_sum FROM published_cells WHERE country IN (${inList([...published])})) AS cells`
}

/**
 * The margins (cell_margins) as a source with the cells' column names, when the query fixes at most
 * one dimension besides period and country: its atoms (month × country × that dimension's value) are
 * then margin rows, with the same count and key sum as the cells summed, so the released numbers are
 * the same. Published countries still sum their published cells (few: one country's publications).
 * Undefined when the query needs the cells.
 */
function marginSource (query: AggregateQuery, published: readonly string[]): SQL | undefined {
  const fixed = new Set([...query.by, ...Object.keys(query.filters) as Dimension[]].filter((d) => d !== 'period' && d !== 'country'))
  if (fixed.size > 1) return undefined
  const [dim] = [...fixed]
  const column = dim === undefined ? undefined : COLUMN[dim]
  const columns = column === undefined ? sql`period, country` : sql.raw(`period, country, ${column}`)
  const margins = sql`SELECT period, country, ${column === undefined ? sql`` : sql.raw(`value AS ${column}, `)}count, key_sum
    FROM cell_margins WHERE dimension = ${column ?? MARGIN_TOTAL}`
  return published.length === 0
    ? sql`(${margins}) AS cells`
    : sql`(${margins} AND country NOT IN (${inList([...published])})
        UNION ALL SELECT ${columns}, count, key_sum FROM published_cells WHERE country IN (${inList([...published])})) AS cells`
}

/**
 * Sums the cells of `countries` in from..to matching the filters, grouped by the `by`
 * dimensions, each atom perturbed (`cellkey`) or exact (`none`); zero cells are left out
 * (a cell whose true count is 0 is never listed, one whose released count is 0 is). At most
 * MAX_CELLS + 1 rows come back, so the caller can tell an answer that is too large without
 * reading all of it. The work is one statement in the database: the event loop only waits.
 */
export async function rollUp (q: Queryable, query: AggregateQuery, countries: string[], protection: Protection, ptable: Ptable, published: readonly string[] = [], options: RollUpOptions = {}): Promise<RolledCell[]> {
  const exprs = query.by.map((d) => dimensionExpr(d, query.periodType))
  const where: SQL[] = [
    sql`country IN (${inList(countries)})`,
    sql`period >= ${query.from} AND period <= ${query.to}`
  ]
  for (const [dim, values] of Object.entries(query.filters) as Array<[Dimension, string[]]>) {
    where.push(sql`${dimensionExpr(dim, query.periodType)} IN (${inList(values)})`)
  }
  const source = options.margins === false ? cellSource(published) : marginSource(query, published) ?? cellSource(published)
  const dims = exprs.map((_, i) => sql.raw(`d${i}`))
  const select = exprs.map((e, i) => sql`${e} AS ${dims[i]}`)
  const groupBy = (keys: SQL[]) => keys.length > 0 ? sql`GROUP BY ${sql.join(keys, sql`, `)}` : sql``
  let statement: SQL
  if (protection === 'none') {
    statement = sql`SELECT ${sql.join([...select, sql`sum(count) AS n`], sql`, `)}
      FROM ${source} WHERE ${sql.join(where, sql` AND `)}
      ${groupBy(exprs.map((_, i) => sql.raw(String(i + 1))))}
      HAVING sum(count) > 0
      LIMIT ${MAX_CELLS + 1}`
  } else {
    const atomKeys = [...exprs.map((_, i) => sql.raw(String(i + 1))), ...atomColumns(query)]
    statement = sql`WITH ptable (n, lo, hi, d) AS (VALUES ${ptableValues(ptable)}),
      atoms AS (
        SELECT ${sql.join([...select, sql`sum(count) AS n`, sql`sum(key_sum) % ${sql.raw(String(KEY_MODULUS))} AS key_sum`], sql`, `)}
        FROM ${source} WHERE ${sql.join(where, sql` AND `)}
        ${groupBy(atomKeys)}
        HAVING sum(count) > 0
      )
      SELECT ${sql.join([...dims, sql`sum(a.n + p.d) AS n`], sql`, `)}
      FROM atoms a JOIN ptable p ON p.n = least(a.n, ${sql.raw(String(ptable.nMax))}) AND a.key_sum >= p.lo AND a.key_sum < p.hi
      ${groupBy(dims)}
      -- A total (no by) over no atoms is one row of NULL: no cell, not a protected one.
      HAVING count(*) > 0
      LIMIT ${MAX_CELLS + 1}`
  }
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

/** The key of a normalized query (filters and their values sorted by the parser): its cache and budget identity. */
export function queryKey (query: AggregateQuery, countries: string[], protection: Protection): string {
  const filters = Object.entries(query.filters).sort(([a], [b]) => (a < b ? -1 : 1))
  return JSON.stringify([query.region, countries, query.from, query.to, query.periodType, query.by, filters, protection])
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
