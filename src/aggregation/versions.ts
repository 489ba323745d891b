// The data version of each country's cells, for reads and their roll-up cache, kept per process.
// Every writer of cells announces the countries it changed by NOTIFY in its transaction; a process
// that hears it forgets what it knew of them and counts the change. A version is when the
// countries' cells last changed (cells.updated_at, for lastUpdated) together with those counts: a
// writer whose transaction started before the newest one but committed after it leaves
// updated_at as it was, yet its announcement still makes a new version. A cached read then costs
// no database round trip for its version.
import { sql } from 'drizzle-orm'
import { createBatcher } from '../db/batch.js'
import { rows, type Database, type Queryable } from '../db/connect.js'
import { listen, type Listening } from '../db/listen.js'

export const CELLS_CHANNEL = 'mhx_cells_changed'
// A safety net only: a change made without an announcement (SQL by hand) is seen after this if it
// moved updated_at, else at the next announced change of those countries.
const VERSION_TTL_MS = 5_000

// The payload naming every country (a rebuild); otherwise a comma list of country codes.
const ALL_COUNTRIES = '*'

/**
 * Tells every process that the cells of `countries` changed (all countries when omitted);
 * delivered when the transaction commits.
 */
export async function announceCellChange (q: Queryable, countries?: readonly string[]): Promise<void> {
  await q.execute(sql`SELECT pg_notify(${CELLS_CHANNEL}, ${countries === undefined ? ALL_COUNTRIES : countries.join(',')})`)
}

export interface DataVersion {
  /** Equal exactly when nothing this process knows of changed in these countries' cells. */
  key: string
  /** Announced changes of these countries' cells this process has heard (it only grows). */
  changesHeard: number
  /** When the countries' cells last changed; null when they have none. */
  lastUpdated: Date | null
}

export interface CellVersions {
  of (countries: readonly string[]): Promise<DataVersion>
  /** This process changed cells of `countries` (all when omitted): forget them now; others hear the NOTIFY. */
  changed (countries?: readonly string[]): void
  close (): Promise<void>
}

/** Latest cells.updated_at per country, in microseconds since the epoch (index cells_country_updated_idx). */
async function probe (q: Queryable, countries: string[]): Promise<Map<string, string | null>> {
  const found = await rows<{ country: string, v: string | null }>(q, sql`
    SELECT c AS country, (SELECT (extract(epoch FROM max(cl.updated_at)) * 1000000)::bigint::text FROM cells cl WHERE cl.country = c::bpchar) AS v
    FROM unnest(${sql.param(countries)}::text[]) AS u(c)`)
  return new Map(found.map((r) => [r.country, r.v]))
}

/** Whether version a is newer than b (decimal digit strings, no leading zeros). */
function newer (a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b
}

export async function createCellVersions (database: Database): Promise<CellVersions> {
  // `value` is set once the probe answered: the hot path then needs no promise per country.
  interface Known { version: Promise<string | null>, value?: string | null, at: number }
  const known = new Map<string, Known>()
  // Changes heard, per country and for all countries at once: they only grow.
  const changes = new Map<string, number>()
  let allChanges = 0
  const probes = createBatcher<string, string | null>(async (countries) => {
    const found = await probe(database.db, [...new Set(countries)])
    return countries.map((c) => found.get(c) ?? null)
  })
  const state: Listening = { listening: false }

  function changed (countries?: readonly string[]): void {
    if (countries === undefined) {
      allChanges++
      known.clear()
      return
    }
    for (const c of countries) {
      changes.set(c, (changes.get(c) ?? 0) + 1)
      known.delete(c)
    }
  }
  // No payload: the connection was (re)made and anything may have changed meanwhile.
  const onNotification = (payload?: string) => changed(payload === undefined || payload === ALL_COUNTRIES ? undefined : payload.split(',').filter(Boolean))
  const stopListening = await listen(database, CELLS_CHANNEL, onNotification, state)

  function entryOf (country: string, now: number): Known {
    const hit = known.get(country)
    if (hit && now - hit.at < VERSION_TTL_MS) return hit
    const entry: Known = { version: probes.queue(country), at: now }
    // Without a live LISTEN a change could go unheard: probe every time, keep nothing.
    if (state.listening) {
      known.set(country, entry)
      entry.version.then((v) => { entry.value = v }, () => { if (known.get(country) === entry) known.delete(country) })
    }
    return entry
  }

  return {
    async of (countries) {
      const now = Date.now()
      const heard = allChanges + countries.reduce((sum, c) => sum + (changes.get(c) ?? 0), 0)
      const entries = countries.map((c) => entryOf(c, now))
      const values = entries.every((e) => e.value !== undefined)
        ? entries.map((e) => e.value as string | null)
        : await Promise.all(entries.map((e) => e.version))
      let latest: string | null = null
      for (const v of values) {
        if (v !== null && (latest === null || newer(v, latest))) latest = v
      }
      return {
        key: `${latest ?? '-'}:${heard}`,
        changesHeard: heard,
        lastUpdated: latest === null ? null : new Date(Number(BigInt(latest) / 1000n))
      }
    },
    changed,
    async close () {
      known.clear()
      await stopListening()
    }
  }
}
