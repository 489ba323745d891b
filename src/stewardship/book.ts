// What reads need to know of stewardship (which countries have a steward, every consent, the latest
// publication of every country-month), held whole per process — the tables are small (countries ×
// readers, countries × months) — and reloaded after a change announced by NOTIFY in any process,
// like the partner directory: a consent refused or a month published acts on the next request,
// and a read pays no database round trip for these checks.
import { sql } from 'drizzle-orm'
import { rows, type Database, type Queryable } from '../db/connect.js'
import { announceChange, holdWhole } from '../db/held.js'

export const STEWARDSHIP_CHANNEL = 'mhx_stewardship_changed'

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
  await announceChange(q, STEWARDSHIP_CHANNEL)
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
  const held = await holdWhole(database, STEWARDSHIP_CHANNEL, loadStewardshipState)
  return { state: () => held.get(), invalidate: held.invalidate, close: held.close }
}
