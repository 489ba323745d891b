// What every request needs to know about its partner (status, roles, country, grants), cached per
// process and invalidated on change in every process through PostgreSQL LISTEN/NOTIFY, so a
// suspension or a removed grant acts on the next request without a database read per request.
import { asc, eq, sql } from 'drizzle-orm'
import type { Database, Queryable } from '../db/connect.js'
import { listen } from '../db/listen.js'
import { grants, partners } from '../db/schema.js'

export const PARTNER_CHANNEL = 'mhx_partner_changed'
// A safety net only: should a notification ever be missed, no entry outlives this.
const ENTRY_TTL_MS = 30_000

/** A partner's grant: a region (or country) it may read, its k, and for an origin grant the nationals it is limited to. */
export interface Grant { region: string, k: number | null, countryOfOrigin?: string | null }

export interface PartnerState {
  status: string
  roles: string[]
  country: string | null
  grants: Grant[]
  /** The last suspension, key, role or grant-narrowing change: tokens issued before it are refused. */
  changedAt: Date | null
}

export interface PartnerDirectory {
  get (partnerId: string): Promise<PartnerState | undefined>
  /** Drop one partner (or all) from this process's cache now; other processes hear the NOTIFY. */
  invalidate (partnerId?: string): void
  close (): Promise<void>
}

/** Tells every process that a partner changed; delivered when the transaction commits. */
export async function announcePartnerChange (q: Queryable, partnerId: string): Promise<void> {
  await q.execute(sql`SELECT pg_notify(${PARTNER_CHANNEL}, ${partnerId})`)
}

export async function partnerGrants (q: Queryable, partnerId: string): Promise<Grant[]> {
  const rows = await q.select({ region: grants.region, k: grants.k, countryOfOrigin: grants.countryOfOrigin }).from(grants)
    .where(eq(grants.partnerId, partnerId)).orderBy(asc(grants.region))
  // countryOfOrigin only on origin grants: every other grant reads as it always did.
  return rows.map(({ countryOfOrigin, ...grant }) => countryOfOrigin ? { ...grant, countryOfOrigin } : grant)
}

export async function readPartnerState (q: Queryable, partnerId: string): Promise<PartnerState | undefined> {
  const [partner] = await q.select({ status: partners.status, roles: partners.roles, country: partners.country, changedAt: partners.changedAt })
    .from(partners).where(eq(partners.id, partnerId)).limit(1)
  if (!partner) return undefined
  const granted = await partnerGrants(q, partnerId)
  return { ...partner, grants: granted }
}

export async function createPartnerDirectory (database: Database): Promise<PartnerDirectory> {
  const cache = new Map<string, { state: Promise<PartnerState | undefined>, at: number }>()
  const invalidate = (partnerId?: string) => {
    if (partnerId === undefined) cache.clear()
    else cache.delete(partnerId)
  }
  const listener = { listening: false }
  const stopListening = await listen(database, PARTNER_CHANNEL, invalidate, listener)

  return {
    async get (partnerId) {
      const hit = cache.get(partnerId)
      if (hit && Date.now() - hit.at < ENTRY_TTL_MS) return hit.state
      const state = readPartnerState(database.db, partnerId)
      // Without a live LISTEN a change could go unheard: read through, cache nothing.
      if (!listener.listening) return state
      cache.set(partnerId, { state, at: Date.now() })
      state.catch(() => cache.delete(partnerId))
      return state
    },
    invalidate,
    async close () {
      cache.clear()
      await stopListening()
    }
  }
}

/**
 * The version of a partner that its tokens carry (claim `partner_version`): its last change, in
 * milliseconds, or 0. A token whose version is not the partner's current one was issued before
 * the last change and is refused — an exact comparison, so neither the seconds of `iat` nor the
 * clocks of the hub's processes matter.
 */
export function partnerVersion (changedAt: Date | null): number {
  return changedAt === null ? 0 : changedAt.getTime()
}
