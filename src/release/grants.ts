// What a grant allows: the query is authorized, not the result (DESIGN.md, "Reads: what a grant allows").
import type { Grant } from '../auth/directory.js'
import type { Region } from '../admin/regions.js'
import { problem } from '../problem.js'
import { countriesSingledOut, type AggregateQuery } from './query.js'
import type { Vocabulary } from './dimensions.js'

export interface ReadPermit {
  /** The k of this read: the hub's, the strictest of the grants it uses, and the sensitive k when it uses a sensitive dimension. */
  k: number
  /** The units whose grants the read uses (the region, then the countries it singles out). */
  units: string[]
}

/**
 * A read needs a grant on its region (its totals only) and on every country the query can
 * single out. Any missing grant refuses the whole query (403): never a partial answer.
 */
export function permitRead (query: AggregateQuery, region: Region, grants: readonly Grant[], hubK: number, vocabulary: Vocabulary, sensitiveK = hubK): ReadPermit {
  const byUnit = new Map(grants.map((g) => [g.region, g]))
  const units = [region.code, ...countriesSingledOut(query, region, vocabulary).filter((c) => c !== region.code)]
  const missing = units.filter((u) => !byUnit.has(u))
  if (missing.length > 0) {
    const why = missing[0] === region.code
      ? `no grant on ${region.code}`
      : `this query singles out countries of ${region.code}, and there is no grant on ${missing.join(', ')}`
    throw problem('forbidden', `not allowed to read ${region.code}: ${why}`, { missingGrants: missing })
  }
  const k = Math.max(hubK, ...units.map((u) => byUnit.get(u)?.k ?? hubK), usesSensitive(query, vocabulary) ? sensitiveK : hubK)
  return { k, units }
}

/** Whether a query shows or selects by a dimension near enforcement (x-mhx-sensitive). */
export function usesSensitive (query: AggregateQuery, vocabulary: Vocabulary): boolean {
  return [...query.by, ...Object.keys(query.filters)].some((d) => vocabulary.sensitive.has(d as never))
}

/** For GET /v1/regions: whether a unit's totals, and its countries one by one, are readable. */
export function readability (region: Region, grants: readonly Grant[], hubK: number) {
  const byUnit = new Map(grants.map((g) => [g.region, g]))
  const readable = byUnit.has(region.code)
  const byCountry = readable && region.members.every((m) => byUnit.has(m))
  return { readable, byCountry, k: readable ? Math.max(hubK, byUnit.get(region.code)?.k ?? hubK) : null }
}
