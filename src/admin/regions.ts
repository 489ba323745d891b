// Regions are data: named groups of countries, plus every ISO country as a region of one.
import { asc, eq } from 'drizzle-orm'
import countries from 'i18n-iso-countries'
import type { Queryable } from '../db/connect.js'
import { regions } from '../db/schema.js'
import { problem } from '../problem.js'

export const REGION_CODE_PATTERN = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'
export const COUNTRY_CODE_PATTERN = '^[A-Z]{3}$'

const ISO_ALPHA3 = new Set(Object.keys(countries.getAlpha3Codes()))

export function isCountryCode (code: string): boolean {
  return ISO_ALPHA3.has(code)
}

export function countryName (code: string, lang: 'en' | 'ru' = 'en'): string | undefined {
  return countries.getName(code, lang) ?? undefined
}

export interface Region { code: string, name: string, members: string[], kind: 'country' | 'region' }

/** A region by code: a stored region, or an ISO country as a region of one; undefined if neither. */
export async function findRegion (q: Queryable, code: string): Promise<Region | undefined> {
  if (isCountryCode(code)) return { code, name: countryName(code) ?? code, members: [code], kind: 'country' }
  const [row] = await q.select().from(regions).where(eq(regions.code, code)).limit(1)
  return row ? { code: row.code, name: row.name, members: row.members, kind: 'region' } : undefined
}

/**
 * findRegion with what it found kept for the life of the process: regions are immutable once
 * created (unknown codes are asked again, since they may be created later).
 */
export function createRegionLookup (q: Queryable): (code: string) => Promise<Region | undefined> {
  const found = new Map<string, Region>()
  return async (code) => {
    const hit = found.get(code)
    if (hit) return hit
    const region = await findRegion(q, code)
    if (region) found.set(code, region)
    return region
  }
}

export async function listRegions (q: Queryable): Promise<Region[]> {
  const rows = await q.select().from(regions).orderBy(asc(regions.code))
  return rows.map((row) => ({ code: row.code, name: row.name, members: row.members, kind: 'region' as const }))
}

export interface NewRegion { code: string, name: string, members: string[] }

/** Regions are immutable once created: a changed membership is a new region code. */
export async function createRegion (q: Queryable, input: NewRegion): Promise<Region> {
  const unknown = input.members.filter((m) => !isCountryCode(m))
  if (unknown.length > 0) {
    throw problem('validation', `unknown country code: ${unknown.join(', ')}`, {
      errors: unknown.map((m) => ({ path: `/members/${input.members.indexOf(m)}`, message: `${m} is not an ISO 3166-1 alpha-3 code` }))
    })
  }
  const members = [...new Set(input.members)].sort()
  if (members.length !== input.members.length) {
    throw problem('validation', 'members must not repeat a country', { errors: [{ path: '/members', message: 'a country appears twice' }] })
  }
  const inserted = await q.insert(regions).values({ code: input.code, name: input.name, members })
    .onConflictDoNothing().returning()
  if (inserted.length === 0) throw problem('conflict', `region ${input.code} exists already; regions are immutable, create a new code`)
  return { code: input.code, name: input.name, members, kind: 'region' }
}
