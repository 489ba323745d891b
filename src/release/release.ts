// One aggregate read: check the query, check the grants as they are now, roll up, suppress, audit.
import { partnerGrants } from '../admin/partners.js'
import { findRegion, isCountryCode, listRegions, type Region } from '../admin/regions.js'
import type { AuditWriter } from '../audit/writer.js'
import type { Queryable } from '../db/connect.js'
import { problem } from '../problem.js'
import { MAX_CELLS, queryKey, readContext, rollUp, type RollupCache } from './aggregate.js'
import type { Vocabulary } from './dimensions.js'
import type { Answer, AnswerCell } from './format.js'
import { permitRead, readability } from './grants.js'
import { badParameter, checkFiltersInRegion, parseAggregateQuery, type RawAggregateQuery } from './query.js'
import { suppress } from './suppression.js'

export interface ReleaseDeps {
  db: Queryable
  vocabulary: Vocabulary
  cache: RollupCache
  audit: AuditWriter
  hubK: number
}

/** The answer to GET /v1/aggregates for `partnerId`; its audit row is committed before it returns. */
export async function readAggregates (deps: ReleaseDeps, partnerId: string, raw: RawAggregateQuery): Promise<Answer> {
  const query = parseAggregateQuery(raw, deps.vocabulary)
  // Grants are read on every request: a removed grant acts on the next one.
  const context = await readContext(deps.db, partnerId, query.region, isCountryCode(query.region))
  if (!context.members) throw badParameter('region', `unknown region or country "${query.region}" (see GET /v1/regions)`)
  const region: Region = { code: query.region, name: query.region, members: context.members, kind: isCountryCode(query.region) ? 'country' : 'region' }
  checkFiltersInRegion(query, region, deps.vocabulary)
  let permit
  try {
    permit = permitRead(query, region, context.grants, deps.hubK, deps.vocabulary)
  } catch (err) {
    await deps.audit.append({ partnerId, action: 'aggregates.denied', subject: region.code, detail: { query: raw, missingGrants: (err as { extra?: { missingGrants?: string[] } }).extra?.missingGrants ?? [] } })
    throw err
  }

  const version = context.lastUpdated
  const entry = deps.cache.get(queryKey(query, region.members), version, () => rollUp(deps.db, query, region.members))
  const rolled = await entry.rollup
  if (rolled.length > MAX_CELLS) {
    throw problem('badRequest', `the answer would hold more than ${MAX_CELLS} cells: narrow it (fewer by dimensions, filters, a shorter span or a coarser periodType)`, { errors: [{ path: 'by', message: `more than ${MAX_CELLS} cells` }] })
  }
  let cells = entry.released.get(permit.k) as AnswerCell[] | undefined
  if (!cells) {
    cells = suppress(rolled, permit.k)
    entry.released.set(permit.k, cells)
  }
  await deps.audit.append({ partnerId, action: 'aggregates.read', subject: region.code, detail: { query: raw, cells: cells.length, k: permit.k } })
  return {
    region: region.code,
    from: query.from,
    to: query.to,
    periodType: query.periodType,
    by: query.by,
    filters: query.filters,
    k: permit.k,
    lastUpdated: version?.toISOString() ?? null,
    cells
  }
}

export interface RegionListing {
  code: string
  name: string
  kind: 'country' | 'region'
  members: string[]
  readable: boolean
  byCountry: boolean
  k: number | null
}

/** Every stored region, and every country the caller holds a grant on, with what the caller may read. */
export async function regionsFor (db: Queryable, partnerId: string, hubK: number): Promise<RegionListing[]> {
  const [stored, grants] = await Promise.all([listRegions(db), partnerGrants(db, partnerId)])
  const units = new Map<string, Region>(stored.map((r) => [r.code, r]))
  for (const g of grants) {
    if (units.has(g.region)) continue
    const region = await findRegion(db, g.region)
    if (region) units.set(region.code, region)
  }
  return [...units.values()]
    .sort((a, b) => (a.kind === b.kind ? (a.code < b.code ? -1 : 1) : a.kind === 'region' ? -1 : 1))
    .map((r) => ({ code: r.code, name: r.name, kind: r.kind, members: r.members, ...readability(r, grants, hubK) }))
}
