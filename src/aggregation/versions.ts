// When each country's cells last changed (the data version of reads and of their roll-up cache),
// kept per process: every writer of cells announces the change by NOTIFY in its transaction, and
// this process forgets what it knew at once; the next read probes again (one index probe per
// country, shared by concurrent reads). A cached read then costs no database round trip for it.
import { sql } from 'drizzle-orm'
import { createBatcher } from '../db/batch.js'
import { rows, type Database, type Queryable } from '../db/connect.js'
import { listen, type Listening } from '../db/listen.js'

export const CELLS_CHANNEL = 'mhx_cells_changed'
// A safety net only: a change made without an announcement (SQL by hand) is seen after this.
const VERSION_TTL_MS = 5_000

/** Tells every process that cells changed; delivered when the transaction commits. */
export async function announceCellChange (q: Queryable): Promise<void> {
  await q.execute(sql`SELECT pg_notify(${CELLS_CHANNEL}, '')`)
}

/** The moment a data version stands for (to the millisecond). */
export function versionDate (version: string): Date {
  return new Date(Number(BigInt(version) / 1000n))
}

export interface CellVersions {
  /**
   * The data version of these countries' cells: the latest change among them, as microseconds
   * since the epoch (text, exact); null when they have no cells.
   */
  of (countries: readonly string[]): Promise<string | null>
  /** Forget every version now (this process changed cells); other processes hear the NOTIFY. */
  changed (): void
  close (): Promise<void>
}

/** Latest cells.updated_at per country (index cells_country_updated_idx). */
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
  const probes = createBatcher<string, string | null>(async (countries) => {
    const found = await probe(database.db, [...new Set(countries)])
    return countries.map((c) => found.get(c) ?? null)
  })
  const state: Listening = { listening: false }
  const changed = () => known.clear()
  const stopListening = await listen(database, CELLS_CHANNEL, changed, state)

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
      const entries = countries.map((c) => entryOf(c, now))
      const values = entries.every((e) => e.value !== undefined)
        ? entries.map((e) => e.value as string | null)
        : await Promise.all(entries.map((e) => e.version))
      let latest: string | null = null
      for (const v of values) {
        if (v !== null && (latest === null || newer(v, latest))) latest = v
      }
      return latest
    },
    changed,
    async close () {
      known.clear()
      await stopListening()
    }
  }
}
