// Publishing: a steward freezes what `published` readers see of a country-month (a revision), and
// everyone with a right to the data can tell "not reported" from "open" from "published".
import { sql } from 'drizzle-orm'
import type { DataVersion } from '../aggregation/versions.js'
import { announceCellChange } from '../aggregation/versions.js'
import { columnList, columnsEqual } from '../model/cells.js'
import { appendAudit } from '../audit/log.js'
import { inTransaction, rows, type Database, type Queryable } from '../db/connect.js'
import { recordPeriodEvent } from '../notifications/events.js'
import { problem } from '../problem.js'
import { announceStewardshipChange, periodKey, type StewardshipState } from './book.js'
import { assertOwnCountry, type Steward } from './steward.js'

export interface Publication {
  country: string
  period: string
  revision: number
  publishedAt: string
  records: number
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/

/** Months since year 0 (2026-01 → 2026 × 12), and back. */
export const monthNumber = (month: string) => Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1
export const monthLabel = (n: number) => `${String(Math.floor(n / 12)).padStart(4, '0')}-${String(n % 12 + 1).padStart(2, '0')}`
export const monthOf = (at: Date) => at.toISOString().slice(0, 7)

/** Every month from..to (YYYY-MM), in order. */
export function monthsBetween (from: string, to: string): string[] {
  const out: string[] = []
  for (let n = monthNumber(from); n <= monthNumber(to); n++) out.push(monthLabel(n))
  return out
}

/**
 * Publishes `country`'s `period` as its cells stand now: in one transaction, the next revision
 * replaces the published cells of that country-month (a copy of its cells, counts and key sums),
 * and every process hears of it. Only the country's steward may; a month still to come is a 422.
 */
export async function publishPeriod (database: Database, steward: Steward, country: string, period: string, now: Date): Promise<Publication> {
  assertOwnCountry(steward, country)
  if (!MONTH.test(period)) throw problem('validation', `period ${period} is not a month YYYY-MM`, { errors: [{ path: 'period', message: 'not a month YYYY-MM' }] })
  if (period > monthOf(now)) throw problem('validation', `${period} has not begun yet (now ${monthOf(now)}): a month is published once it has data`, { errors: [{ path: 'period', message: 'in the future' }] })
  return inTransaction(database, async (tx) => {
    // One publisher per country-month at a time: revisions are consecutive.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`mhx:publish:${country}:${period}`}))`)
    const [last] = await rows<{ revision: number | null }>(tx, sql`
      SELECT max(revision) AS revision FROM publications WHERE country = ${country} AND period = ${period}`)
    const revision = (last?.revision ?? 0) + 1
    await tx.execute(sql`DELETE FROM published_cells WHERE country = ${country} AND period = ${period}`)
    // One statement, one snapshot of the cells: a processor commits wholly before or after it.
    await tx.execute(sql`
      INSERT INTO published_cells (${columnList()}, count, key_sum)
      SELECT ${columnList()}, count, key_sum FROM cells WHERE country = ${country} AND period = ${period}
      ORDER BY ${columnList()}`)
    const [total] = await rows<{ records: string | null }>(tx, sql`
      SELECT sum(count) AS records FROM published_cells WHERE country = ${country} AND period = ${period}`)
    const records = Number(total?.records ?? 0)
    await tx.execute(sql`
      INSERT INTO publications (country, period, revision, published_at, published_by, records)
      VALUES (${country}, ${period}, ${revision}, ${now}, ${steward.partnerId}, ${records})`)
    await appendAudit(tx, { partnerId: steward.partnerId, action: 'period.publish', subject: `${country}/${period}`, detail: { country, period, revision, records } }, now)
    await announceStewardshipChange(tx)
    // What `published` readers of this country see changed: cached roll-ups of it must go.
    await announceCellChange(tx, [country])
    // Subscribers hear of it (period.published or period.revised) only if this commits.
    await recordPeriodEvent(tx, { country, period, revision, publishedAt: now.toISOString() }, now)
    return { country, period, revision, publishedAt: now.toISOString(), records }
  })
}

export type PeriodStatus = 'not_reported' | 'open' | 'published'

export interface PeriodView {
  country: string
  period: string
  status: PeriodStatus
  revision: number | null
  publishedAt: string | null
  /** Its first publication came by day `dueDay` of the next month (UTC); null while unpublished. */
  onTime: boolean | null
  /** The working data differs from the published revision; null while unpublished. */
  changedSince: boolean | null
}

/** The end of the due day for `period`: day `dueDay` of the next month, UTC, inclusive. */
export function dueBy (period: string, dueDay: number): Date {
  const next = monthNumber(period) + 1
  return new Date(Date.UTC(Math.floor(next / 12), next % 12, dueDay + 1) - 1)
}

/**
 * Per country × month of from..to: its status, latest revision, whether it was published on time
 * and whether working data moved since. One statement reads which months have cells and which
 * differ from their published cells.
 */
export async function listPeriods (q: Queryable, state: StewardshipState, countries: readonly string[], from: string, to: string, dueDay: number): Promise<PeriodView[]> {
  const list = sql.join(countries.map((c) => sql`${c}`), sql`, `)
  const found = await rows<{ kind: 'data' | 'diff', country: string, period: string }>(q, sql`
    WITH c AS (SELECT * FROM cells WHERE country IN (${list}) AND period >= ${from} AND period <= ${to}),
    p AS (SELECT * FROM published_cells WHERE country IN (${list}) AND period >= ${from} AND period <= ${to})
    SELECT 'data' AS kind, country, period FROM c GROUP BY country, period
    UNION ALL
    SELECT 'diff', coalesce(c.country, p.country), coalesce(c.period, p.period)
    FROM c FULL JOIN p ON ${columnsEqual('c', 'p')}
    WHERE c.count IS DISTINCT FROM p.count OR c.key_sum IS DISTINCT FROM p.key_sum
    GROUP BY 2, 3`)
  const withData = new Set(found.filter((r) => r.kind === 'data').map((r) => periodKey(r.country, r.period)))
  const changed = new Set(found.filter((r) => r.kind === 'diff').map((r) => periodKey(r.country, r.period)))
  const out: PeriodView[] = []
  for (const country of countries) {
    for (const period of monthsBetween(from, to)) {
      const key = periodKey(country, period)
      const published = state.publications.get(key)
      out.push({
        country,
        period,
        status: published ? 'published' : withData.has(key) ? 'open' : 'not_reported',
        revision: published?.revision ?? null,
        publishedAt: published?.publishedAt.toISOString() ?? null,
        onTime: published ? published.firstPublishedAt.getTime() <= dueBy(period, dueDay).getTime() : null,
        changedSince: published ? changed.has(key) : null
      })
    }
  }
  return out
}

/** Coverage answers kept for repeated reads (a bound, not a tuning knob: each is a few KiB). */
const MAX_COVERAGE_MEMO = 1_000

export interface CoverageItem { country: string, period: string, status: Exclude<PeriodStatus, 'published'> }

export interface CoverageDeps {
  db: Queryable
  book: { state (): Promise<StewardshipState> }
  /** The data version of countries' cells (the read path asks it first, so this costs no round trip). */
  versions: { of (countries: readonly string[]): Promise<DataVersion> }
}

/**
 * Returns `coverageOf(countries, from, to)`: the country-months of a query that are not published,
 * with their status, for an answer's `coverage`. Publications come from the stewardship book; which
 * months have cells is cached per country and data version, so a read asks the database only after
 * that country's cells changed.
 */
export function createCoverage (deps: CoverageDeps) {
  const monthsWithData = new Map<string, { version: string, months: Promise<Set<string>> }>()

  async function months (country: string): Promise<Set<string>> {
    const version = (await deps.versions.of([country])).key
    const hit = monthsWithData.get(country)
    if (hit && hit.version === version) return hit.months
    const entry = {
      version,
      months: rows<{ period: string }>(deps.db, sql`SELECT DISTINCT period FROM cells WHERE country = ${country}`)
        .then((found) => new Set(found.map((r) => r.period)))
    }
    monthsWithData.set(country, entry)
    entry.months.catch(() => { if (monthsWithData.get(country) === entry) monthsWithData.delete(country) })
    return entry.months
  }

  // Every cached read asks for the same coverage again: keep the last answer per query while the
  // stewardship state and each country's months (both replaced, never changed, when they change) are the same.
  const answered = new Map<string, { state: StewardshipState, data: Set<string>[], items: CoverageItem[] }>()

  return async function coverageOf (countries: readonly string[], from: string, to: string): Promise<CoverageItem[]> {
    const [state, data] = await Promise.all([deps.book.state(), Promise.all(countries.map(months))])
    const key = `${countries.join(',')}|${from}|${to}`
    const last = answered.get(key)
    if (last && last.state === state && last.data.every((months, i) => months === data[i])) return last.items
    const out: CoverageItem[] = []
    for (const [i, country] of countries.entries()) {
      for (const period of monthsBetween(from, to)) {
        if (state.publications.has(periodKey(country, period))) continue
        out.push({ country, period, status: data[i].has(period) ? 'open' : 'not_reported' })
      }
    }
    if (answered.size >= MAX_COVERAGE_MEMO) answered.clear()
    answered.set(key, { state, data, items: out })
    return out
  }
}
export type CoverageOf = ReturnType<typeof createCoverage>
