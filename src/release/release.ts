// One aggregate read: check the query, check the grants as they are now, roll up, suppress, audit.
import type { Grant } from '../admin/partners.js'
import { listRegions, type Region } from '../admin/regions.js'
import type { CellVersions } from '../aggregation/versions.js'
import type { AuditWriter } from '../audit/writer.js'
import type { Queryable } from '../db/connect.js'
import { problem } from '../problem.js'
import { MAX_CELLS, queryKey, rollUp, type RollupCache } from './aggregate.js'
import type { Vocabulary } from './dimensions.js'
import { render, type Answer, type AnswerCell, type Format, type RenderOptions } from './formats/index.js'
import { permitRead, readability } from './grants.js'
import { badParameter, checkFiltersInRegion, parseAggregateQuery, type RawAggregateQuery } from './query.js'
import { suppress } from './suppression.js'

export interface ReleaseDeps {
  db: Queryable
  vocabulary: Vocabulary
  cache: RollupCache
  audit: AuditWriter
  hubK: number
  /** A region by code (cached: regions are immutable). */
  regionOf (code: string): Promise<Region | undefined>
  /** A partner's grants as they are now (the partner directory: a change acts on the next request). */
  grantsOf (partnerId: string): Promise<readonly Grant[]>
  /** When the cells of these countries last changed (the data version). */
  versions: Pick<CellVersions, 'of'>
}

/** The answer to GET /v1/aggregates for `partnerId`; its audit row is appended (see AuditWriter) before it returns. */
export async function readAggregates (deps: ReleaseDeps, partnerId: string, raw: RawAggregateQuery): Promise<Release> {
  const query = parseAggregateQuery(raw, deps.vocabulary)
  const region = await deps.regionOf(query.region)
  if (!region) throw badParameter('region', `unknown region or country "${query.region}" (see GET /v1/regions)`)
  checkFiltersInRegion(query, region, deps.vocabulary)
  const grants = await deps.grantsOf(partnerId)
  let permit
  try {
    // Only a refusal of the grant rules is a denial to audit; a failed lookup is not.
    permit = permitRead(query, region, grants, deps.hubK, deps.vocabulary)
  } catch (err) {
    await deps.audit.append({ partnerId, action: 'aggregates.denied', subject: region.code, detail: { query: raw, missingGrants: (err as { extra?: { missingGrants?: string[] } }).extra?.missingGrants ?? [] } })
    throw err
  }

  const version = await deps.versions.of(region.members)
  const entry = deps.cache.get(queryKey(query, region.members), version, () => rollUp(deps.db, query, region.members))
  const rolled = await entry.rollup
  if (rolled.length > MAX_CELLS) {
    throw problem('badRequest', `the answer would hold more than ${MAX_CELLS} cells: narrow it (fewer by dimensions, filters, a shorter span or a coarser periodType)`, { errors: [{ path: 'by', message: `more than ${MAX_CELLS} cells` }] })
  }
  let released = entry.released.get(permit.k) as Released | undefined
  if (!released) {
    released = { cells: suppress(rolled, permit.k), bodies: new Map() }
    entry.released.set(permit.k, released)
  }
  await deps.audit.append({ partnerId, action: 'aggregates.read', subject: region.code, detail: { query: raw, cells: released.cells.length, k: permit.k } })
  const answer: Answer = {
    region: region.code,
    from: query.from,
    to: query.to,
    periodType: query.periodType,
    by: query.by,
    filters: query.filters,
    k: permit.k,
    // Provisional until the cell-key method lands: the release logic sets the real method and ptable.
    disclosure: { method: 'cellkey', ptable: null },
    lastUpdated: version.lastUpdated?.toISOString() ?? null,
    cells: released.cells
  }
  const { bodies } = released
  return {
    answer,
    // The same query, data version and k always render the same bytes: render each format once.
    body (format, options) {
      const key = `${format}:${options.labels ?? ''}`
      let body = bodies.get(key)
      if (body === undefined) bodies.set(key, body = render(answer, format, options))
      return body
    }
  }
}

/** The cells released at one k from one roll-up, and their rendered answers by format and labels. */
interface Released { cells: AnswerCell[], bodies: Map<string, string> }

export interface Release {
  answer: Answer
  /** The answer in `format`, rendered (with the same options, the public URL, each time). */
  body (format: Format, options: RenderOptions): string
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
export async function regionsFor (deps: ReleaseDeps, partnerId: string): Promise<RegionListing[]> {
  // The grants that decide reads (the partner directory), so the listing never disagrees with them.
  const [stored, grants] = await Promise.all([listRegions(deps.db), deps.grantsOf(partnerId)])
  const units = new Map<string, Region>(stored.map((r) => [r.code, r]))
  for (const g of grants) {
    if (units.has(g.region)) continue
    const region = await deps.regionOf(g.region)
    if (region) units.set(region.code, region)
  }
  return [...units.values()]
    .sort((a, b) => (a.kind === b.kind ? (a.code < b.code ? -1 : 1) : a.kind === 'region' ? -1 : 1))
    .map((r) => ({ code: r.code, name: r.name, kind: r.kind, members: r.members, ...readability(r, grants, deps.hubK) }))
}
