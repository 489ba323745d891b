// Partners of the exchange, their keys and their grants, as the operator manages them.
import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { JWK } from 'jose'
import { appendAudit } from '../audit/log.js'
import { announcePartnerChange, partnerGrants, type Grant } from '../auth/directory.js'
import { announceStewardshipChange } from '../stewardship/book.js'
import { partnerJwksFaults } from '../auth/partner-keys.js'
import { inTransaction, type Database, type Queryable, type Tx } from '../db/connect.js'
import { grants, partners } from '../db/schema.js'
import { problem } from '../problem.js'
import { decodeCursor, encodeCursor, type Page } from '../paging.js'
import { findRegion, isCountryCode } from './regions.js'
import { exposures, type Exposure, type GrantSet } from '../policy/grant-set.js'

export interface Partner {
  id: string
  name: string
  roles: string[]
  country: string | null
  status: string
  jwks: { keys: JWK[] }
  createdAt: string
  updatedAt: string
}

/** A right to read a unit; with `countryOfOrigin`, only its data about nationals of that country (an origin grant). */

export interface NewPartner { id: string, name: string, roles: string[], country?: string | null, jwks: { keys: JWK[] } }
export interface PartnerChange { status?: 'active' | 'suspended', name?: string, jwks?: { keys: JWK[] }, roles?: string[], country?: unknown }

type PartnerRow = typeof partners.$inferSelect

function toPartner (row: PartnerRow): Partner {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles,
    country: row.country,
    status: row.status,
    jwks: row.jwks as { keys: JWK[] },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}

async function assertUsableJwks (jwks: { keys: JWK[] }): Promise<void> {
  const faults = await partnerJwksFaults(jwks)
  if (faults.length > 0) throw problem('validation', `jwks refused: ${faults[0].message}`, { errors: faults })
}

function assertCountry (country: string | null | undefined, roles: string[]): void {
  if (country && !isCountryCode(country)) {
    throw problem('validation', `country ${country} is not an ISO 3166-1 alpha-3 code`, { errors: [{ path: '/country', message: 'not an ISO 3166-1 alpha-3 code' }] })
  }
  // A reporter writes for its own country only, and a steward speaks for one: both must have one.
  for (const role of ['reporter', 'steward']) {
    if (roles.includes(role) && !country) {
      throw problem('validation', `a ${role} needs a country`, { errors: [{ path: '/country', message: `required for the ${role} role` }] })
    }
  }
}

export async function createPartner (database: Database, actor: string, input: NewPartner, now: Date): Promise<Partner> {
  assertCountry(input.country, input.roles)
  await assertUsableJwks(input.jwks)
  return inTransaction(database, async (tx) => {
    const inserted = await tx.insert(partners).values({
      id: input.id,
      name: input.name,
      roles: [...new Set(input.roles)],
      country: input.country ?? null,
      jwks: input.jwks,
      createdAt: now,
      updatedAt: now
    }).onConflictDoNothing().returning()
    if (inserted.length === 0) throw problem('conflict', `partner ${input.id} exists already`)
    await appendAudit(tx, { partnerId: actor, action: 'partner.create', subject: input.id, detail: { roles: input.roles, country: input.country ?? null, kids: input.jwks.keys.map((k) => k.kid) } }, now)
    // A new steward makes its country readable by consent.
    if (input.roles.includes('steward')) await announceStewardshipChange(tx)
    return toPartner(inserted[0])
  })
}

export async function getPartner (q: Queryable, id: string): Promise<Partner> {
  const [row] = await q.select().from(partners).where(eq(partners.id, id)).limit(1)
  if (!row) throw problem('notFound', `no partner ${id}`)
  return toPartner(row)
}

export async function listPartners (q: Queryable, limit: number, cursor?: string): Promise<Page<Partner>> {
  const after = cursor ? decodeCursor<string>(cursor) : undefined
  const rows = await q.select().from(partners)
    .where(after === undefined ? undefined : gt(partners.id, after))
    .orderBy(asc(partners.id)).limit(limit + 1)
  const items = rows.slice(0, limit).map(toPartner)
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null }
}

export async function changePartner (database: Database, actor: string, id: string, change: PartnerChange, now: Date): Promise<Partner> {
  if (change.country !== undefined) {
    throw problem('validation', 'a partner\'s country is its identity and is not changed: register a new partner', { errors: [{ path: '/country', message: 'cannot be changed' }] })
  }
  if (change.jwks) await assertUsableJwks(change.jwks)
  return inTransaction(database, async (tx) => {
    const [current] = await tx.select().from(partners).where(eq(partners.id, id)).for('update')
    if (!current) throw problem('notFound', `no partner ${id}`)
    const roles = change.roles ? [...new Set(change.roles)] : current.roles
    if (change.roles) {
      assertCountry(current.country, roles)
      // What the partner reads exactly may have changed with its roles: its set is checked again.
      const found = exposures(await grantSetOf(tx, id, current.country, await partnerGrants(tx, id)))
      if (found.length > 0) throw refuseExposure(found)
    }
    const losesAdmin = current.roles.includes('admin') && (change.status === 'suspended' || !roles.includes('admin'))
    if (losesAdmin && current.status === 'active') await assertNotLastAdmin(tx, id)
    const rolesChanged = change.roles !== undefined && (roles.length !== current.roles.length || roles.some((r) => !current.roles.includes(r)))
    // Tokens issued before a suspension, a key change or a role change are refused from now on.
    const tokensDie = change.status === 'suspended' || change.jwks !== undefined || rolesChanged
    const [updated] = await tx.update(partners).set({
      ...(change.status ? { status: change.status } : {}),
      ...(change.name ? { name: change.name } : {}),
      ...(change.jwks ? { jwks: change.jwks } : {}),
      ...(change.roles ? { roles } : {}),
      ...(tokensDie ? { changedAt: now } : {}),
      updatedAt: now
    }).where(eq(partners.id, id)).returning()
    const detail: Record<string, unknown> = {}
    if (change.status) detail.status = change.status
    if (change.name) detail.name = change.name
    if (change.jwks) detail.kids = change.jwks.keys.map((k) => k.kid)
    if (change.roles) detail.roles = roles
    await appendAudit(tx, { partnerId: actor, action: 'partner.change', subject: id, detail }, now)
    await announcePartnerChange(tx, id)
    // A steward role added or removed changes which countries can consent.
    if (rolesChanged) await announceStewardshipChange(tx)
    return toPartner(updated)
  })
}

/**
 * The hub must keep an active admin: with none, nobody can reactivate anyone. The active admins
 * are locked first, so two admins suspending each other at once cannot both succeed.
 */
async function assertNotLastAdmin (tx: Tx, id: string): Promise<void> {
  const admins = await tx.select({ id: partners.id }).from(partners)
    .where(and(eq(partners.status, 'active'), sql`'admin' = ANY(${partners.roles})`)).for('update')
  if (admins.length === 1 && admins[0].id === id) {
    throw problem('conflict', `${id} is the last active admin; make another admin active before suspending it or taking its admin role`)
  }
}

/** Whether `wanted` reads less than `before` somewhere: a grant gone, a stricter k, an origin added or changed. */
export function narrows (before: readonly Grant[], wanted: readonly Grant[], hubK: number): boolean {
  const after = new Map(wanted.map((g) => [g.region, g]))
  return before.some((old) => {
    const now = after.get(old.region)
    if (!now) return true
    if ((now.k ?? hubK) > (old.k ?? hubK)) return true
    return (now.countryOfOrigin ?? null) !== null && now.countryOfOrigin !== (old.countryOfOrigin ?? null)
  })
}

/** The 409 of a change that would expose a country, naming the partners and countries; nothing is stored. */
function refuseExposure (found: Exposure[]) {
  const named = found.map((e) => e.countryOfOrigin ? `${e.country} (nationals of ${e.countryOfOrigin})` : e.country)
  const partnerIds = [...new Set(found.map((e) => e.partner))]
  return problem('grantSetExposesCountry',
    `this change would let ${partnerIds.join(', ')} compute ${named.join(', ')} from totals it may read (${[...new Set(found.flatMap((e) => e.units))].join(', ') || 'its grants'} and its own country), without a grant on ${[...new Set(found.map((e) => e.country))].join(', ')}`,
    { partners: partnerIds, countries: [...new Set(found.map((e) => e.country))].sort(), exposures: found })
}

/** The grant set of a partner as it would be: its country and the units of `wanted` (resolved). */
async function grantSetOf (q: Queryable, partnerId: string, country: string | null, wanted: readonly Grant[]): Promise<GrantSet> {
  const resolved: GrantSet['grants'][number][] = []
  for (const g of wanted) {
    const unit = await findRegion(q, g.region)
    if (unit) resolved.push({ unit, countryOfOrigin: g.countryOfOrigin ?? null })
  }
  return { partnerId, country, grants: resolved }
}

export async function replaceGrants (database: Database, actor: string, partnerId: string, wanted: Grant[], minK: number, now: Date): Promise<Grant[]> {
  const faults: { path: string, message: string }[] = []
  const seen = new Set<string>()
  for (const [i, grant] of wanted.entries()) {
    if (seen.has(grant.region)) faults.push({ path: `/grants/${i}/region`, message: `${grant.region} is granted twice` })
    seen.add(grant.region)
    if (grant.k !== null && grant.k < minK) faults.push({ path: `/grants/${i}/k`, message: `k may only be stricter than the hub's: at least ${minK}` })
    if (grant.countryOfOrigin && !isCountryCode(grant.countryOfOrigin)) faults.push({ path: `/grants/${i}/countryOfOrigin`, message: `${grant.countryOfOrigin} is not an ISO 3166-1 alpha-3 code` })
    if (!await findRegion(database.db, grant.region)) faults.push({ path: `/grants/${i}/region`, message: `unknown region or country ${grant.region}` })
  }
  if (faults.length > 0) throw problem('validation', faults[0].message, { errors: faults })
  return inTransaction(database, async (tx) => {
    const [partner] = await tx.select({ id: partners.id, country: partners.country }).from(partners).where(eq(partners.id, partnerId)).for('update')
    if (!partner) throw problem('notFound', `no partner ${partnerId}`)
    const found = exposures(await grantSetOf(tx, partnerId, partner.country, wanted))
    if (found.length > 0) throw refuseExposure(found)
    const before = await partnerGrants(tx, partnerId)
    await tx.delete(grants).where(eq(grants.partnerId, partnerId))
    if (wanted.length > 0) {
      await tx.insert(grants).values(wanted.map((g) => ({ partnerId, region: g.region, k: g.k, countryOfOrigin: g.countryOfOrigin ?? null, createdAt: now })))
    }
    // Tokens issued before a narrowing are refused: what they were issued under no longer holds.
    if (narrows(before, wanted, minK)) await tx.update(partners).set({ changedAt: now }).where(eq(partners.id, partnerId))
    await appendAudit(tx, { partnerId: actor, action: 'grants.replace', subject: partnerId, detail: { grants: wanted } }, now)
    await announcePartnerChange(tx, partnerId)
    // Stewards list the readers whose grants reach their country (a new grant is a pending consent).
    await announceStewardshipChange(tx)
    return partnerGrants(tx, partnerId)
  })
}
