// What reads need to know of stewardship (which countries have a steward, every consent, the latest
// publication of every country-month), held whole per process — the tables are small (countries ×
// readers, countries × months) — and reloaded after a change announced by NOTIFY in any process,
// like the partner directory: a consent refused or a month published acts on the next request,
// and a read pays no database round trip for these checks.
import { sql } from 'drizzle-orm'
import { rows, type Database, type Queryable } from '../db/connect.js'
import { listen, type Listening } from '../db/listen.js'

export const STEWARDSHIP_CHANNEL = 'mhx_stewardship_changed'
// A safety net only: should a notification ever be missed, no state outlives this.
const STATE_TTL_MS = 30_000

export type Release = 'published' | 'live'

export interface Consent {
  country: string
  readerId: string
  state: 'granted' | 'refused'
  /** The k the country asks of this reader (at least the hub's), or null for the hub's. */
  k: number | null
  release: Release
  /** The last day (UTC, YYYY-MM-DD) the consent holds; null: until changed. */
  until: string | null
  decidedAt: Date
}

export interface PublicationState {
  revision: number
  publishedAt: Date
  /** The first publication (on time is judged by it). */
  firstPublishedAt: Date
  records: number
}

export interface StewardshipState {
  /** Countries with a steward: only these can consent, so only these are readable by others. */
  stewards: ReadonlySet<string>
  /** By `${country}:${readerId}`. */
  consents: ReadonlyMap<string, Consent>
  /** The latest publication by `${country}:${period}`. */
  publications: ReadonlyMap<string, PublicationState>
}

export interface StewardshipBook {
  state (): Promise<StewardshipState>
  /** Forget the state in this process now; other processes hear the NOTIFY. */
  invalidate (): void
  close (): Promise<void>
}

export const consentKey = (country: string, readerId: string) => `${country}:${readerId}`
export const periodKey = (country: string, period: string) => `${country}:${period}`

/** Tells every process that consents, stewards or publications changed; delivered at commit. */
export async function announceStewardshipChange (q: Queryable): Promise<void> {
  await q.execute(sql`SELECT pg_notify(${STEWARDSHIP_CHANNEL}, '')`)
}

export async function loadStewardshipState (q: Queryable): Promise<StewardshipState> {
  const [stewards, consents, publications] = await Promise.all([
    rows<{ country: string }>(q, sql`SELECT DISTINCT country FROM partners WHERE 'steward' = ANY(roles) AND country IS NOT NULL`),
    rows<{ country: string, reader_id: string, state: string, k: number | null, release: string, until: string | null, decided_at: string | Date }>(q, sql`
      SELECT country, reader_id, state, k, release, until::text AS until, decided_at FROM consents`),
    rows<{ country: string, period: string, revision: number, published_at: string | Date, first_at: string | Date, records: string | number }>(q, sql`
      SELECT DISTINCT ON (country, period) country, period, revision, published_at, records,
        min(published_at) OVER (PARTITION BY country, period) AS first_at
      FROM publications ORDER BY country, period, revision DESC`)
  ])
  return {
    stewards: new Set(stewards.map((s) => s.country)),
    consents: new Map(consents.map((c) => [consentKey(c.country, c.reader_id), {
      country: c.country,
      readerId: c.reader_id,
      state: c.state as Consent['state'],
      k: c.k,
      release: c.release as Release,
      until: c.until,
      decidedAt: new Date(c.decided_at)
    }])),
    publications: new Map(publications.map((p) => [periodKey(p.country, p.period), {
      revision: p.revision,
      publishedAt: new Date(p.published_at),
      firstPublishedAt: new Date(p.first_at),
      records: Number(p.records)
    }]))
  }
}

export async function createStewardshipBook (database: Database): Promise<StewardshipBook> {
  let current: { state: Promise<StewardshipState>, at: number } | undefined
  const listener: Listening = { listening: false }
  const invalidate = () => { current = undefined }
  const stopListening = await listen(database, STEWARDSHIP_CHANNEL, invalidate, listener)
  return {
    state () {
      if (current && Date.now() - current.at < STATE_TTL_MS) return current.state
      const state = loadStewardshipState(database.db)
      // Without a live LISTEN a change could go unheard: read through, keep nothing.
      if (!listener.listening) return state
      const entry = current = { state, at: Date.now() }
      state.catch(() => { if (current === entry) current = undefined })
      return state
    },
    invalidate,
    async close () {
      current = undefined
      await stopListening()
    }
  }
}
