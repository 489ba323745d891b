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

export async function createCellVersions (database: Database): Promise<CellVersions> {
  const known = new Map<string, { version: Promise<string | null>, at: number }>()
  const probes = createBatcher<string, string | null>(async (countries) => {
    const found = await probe(database.db, [...new Set(countries)])
    return countries.map((c) => found.get(c) ?? null)
  })
  const state: Listening = { listening: false }
  const changed = () => known.clear()
  const stopListening = await listen(database, CELLS_CHANNEL, changed, state)

  function versionOf (country: string): Promise<string | null> {
    const hit = known.get(country)
    if (hit && Date.now() - hit.at < VERSION_TTL_MS) return hit.version
    const version = probes.queue(country)
    // Without a live LISTEN a change could go unheard: probe every time, keep nothing.
    if (state.listening) {
      const entry = { version, at: Date.now() }
      known.set(country, entry)
      version.catch(() => { if (known.get(country) === entry) known.delete(country) })
    }
    return version
  }

  return {
    async of (countries) {
      let latest: string | null = null
      for (const v of await Promise.all(countries.map(versionOf))) {
        if (v !== null && (latest === null || BigInt(v) > BigInt(latest))) latest = v
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
