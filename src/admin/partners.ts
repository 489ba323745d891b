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
import { findRegion, isCountryCode, type Region } from './regions.js'

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
export interface PartnerChange { status?: 'active' | 'suspended', name?: string, jwks?: { keys: JWK[] } }

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
  if (change.jwks) await assertUsableJwks(change.jwks)
  return inTransaction(database, async (tx) => {
    if (change.status === 'suspended') await assertNotLastAdmin(tx, id)
    const updated = await tx.update(partners).set({ ...change, updatedAt: now }).where(eq(partners.id, id)).returning()
    if (updated.length === 0) throw problem('notFound', `no partner ${id}`)
    const detail: Record<string, unknown> = {}
    if (change.status) detail.status = change.status
    if (change.name) detail.name = change.name
    if (change.jwks) detail.kids = change.jwks.keys.map((k) => k.kid)
    await appendAudit(tx, { partnerId: actor, action: 'partner.change', subject: id, detail }, now)
    await announcePartnerChange(tx, id)
    return toPartner(updated[0])
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
    throw problem('conflict', `${id} is the last active admin; make another admin active before suspending it`)
  }
}

/**
 * A grant set must not let a partner compute a country it has no grant for from the units it
 * has: an ungranted country c is exposed when its indicator vector e_c lies in the span of the
 * granted units' member vectors (any linear combination of readable totals, with any rational
 * coefficients: {KAZ+KGZ, KGZ+TJK, KAZ+TJK} gives KAZ = (ab − bc + ac) / 2). An exact rank test
 * over integers, not a union test. Returns the first exposed country (code order) and a unit
 * that takes part.
 */
export function differencingLeak (units: Region[]): { unit: string, country: string, countries: string[] } | undefined {
  const granted = new Set(units.filter((u) => u.kind === 'country').map((u) => u.code))
  const countries = [...new Set(units.flatMap((u) => u.members))].sort()
  const basis = echelon(units.map((u) => countries.map((c) => (u.members.includes(c) ? 1n : 0n))))
  const exposed = countries.filter((country) => !granted.has(country)
    && reduce(countries.map((c) => (c === country ? 1n : 0n)), basis).every((x) => x === 0n))
  if (exposed.length === 0) return undefined
  const part = units.find((u) => u.members.includes(exposed[0]) && u.members.length > 1) ?? units[0]
  return { unit: part.code, country: exposed[0], countries: exposed }
}

interface Pivot { row: bigint[], column: number }

function gcd (a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a
  b = b < 0n ? -b : b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** `row` with `pivot`'s column eliminated, kept small by its gcd (fraction-free, exact). */
function eliminate (row: bigint[], pivot: Pivot): bigint[] {
  const factor = row[pivot.column]
  if (factor === 0n) return row
  const scale = pivot.row[pivot.column]
  const out = row.map((x, i) => x * scale - pivot.row[i] * factor)
  const g = out.reduce((acc, x) => gcd(acc, x), 0n)
  return g > 1n ? out.map((x) => x / g) : out
}

function reduce (row: bigint[], basis: Pivot[]): bigint[] {
  return basis.reduce(eliminate, row)
}

/** Row echelon form of `rows`: one pivot per independent row. */
function echelon (rows: bigint[][]): Pivot[] {
  const basis: Pivot[] = []
  for (const row of rows) {
    const reduced = reduce(row, basis)
    const column = reduced.findIndex((x) => x !== 0n)
    if (column >= 0) basis.push({ row: reduced, column })
  }
  return basis
}

export async function replaceGrants (database: Database, actor: string, partnerId: string, wanted: Grant[], minK: number, now: Date): Promise<Grant[]> {
  const units: Region[] = []
  const faults: { path: string, message: string }[] = []
  const seen = new Set<string>()
  for (const [i, grant] of wanted.entries()) {
    if (seen.has(grant.region)) faults.push({ path: `/grants/${i}/region`, message: `${grant.region} is granted twice` })
    seen.add(grant.region)
    if (grant.k !== null && grant.k < minK) faults.push({ path: `/grants/${i}/k`, message: `k may only be stricter than the hub's: at least ${minK}` })
    if (grant.countryOfOrigin && !isCountryCode(grant.countryOfOrigin)) faults.push({ path: `/grants/${i}/countryOfOrigin`, message: `${grant.countryOfOrigin} is not an ISO 3166-1 alpha-3 code` })
    const region = await findRegion(database.db, grant.region)
    if (!region) faults.push({ path: `/grants/${i}/region`, message: `unknown region or country ${grant.region}` })
    // An origin grant reads one origin's data only: it cannot be subtracted from full grants.
    else if (!grant.countryOfOrigin) units.push(region)
  }
  if (faults.length > 0) throw problem('validation', faults[0].message, { errors: faults })
  const leak = differencingLeak(units)
  if (leak) {
    throw problem('conflict', `these grants would reveal ${leak.countries.join(', ')}: a combination of the granted units (${leak.unit} among them) adds up to ${leak.country} alone, which is not granted`, { country: leak.country, countries: leak.countries })
  }
  return inTransaction(database, async (tx) => {
    const [partner] = await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, partnerId)).for('update')
    if (!partner) throw problem('notFound', `no partner ${partnerId}`)
    await tx.delete(grants).where(eq(grants.partnerId, partnerId))
    if (wanted.length > 0) {
      await tx.insert(grants).values(wanted.map((g) => ({ partnerId, region: g.region, k: g.k, countryOfOrigin: g.countryOfOrigin ?? null, createdAt: now })))
    }
    await appendAudit(tx, { partnerId: actor, action: 'grants.replace', subject: partnerId, detail: { grants: wanted } }, now)
    await announcePartnerChange(tx, partnerId)
    // Stewards list the readers whose grants reach their country (a new grant is a pending consent).
    await announceStewardshipChange(tx)
    return partnerGrants(tx, partnerId)
  })
}
