// One aggregate read: check the query, check the grants as they are now, charge the budget, roll up
// (perturbed by the cell-key method, or exact for a partner's own country), withhold below k, audit.
import type { Grant } from '../auth/directory.js'
import { listRegions, type Region } from '../admin/regions.js'
import type { CellVersions } from '../aggregation/versions.js'
import type { AuditWriter } from '../audit/writer.js'
import type { Queryable } from '../db/connect.js'
import { problem } from '../problem.js'
import { representation, type Representation } from '../ops/http.js'
import { MAX_CELLS, queryKey, rollUp, type Protection, type RolledCell, type RollupCache } from './rollup.js'
import type { PartnerGate, QueryBudget } from './budget.js'
import type { Vocabulary } from './dimensions.js'
import { render, type Answer, type AnswerCell, type Disclosure, type Format, type RenderOptions } from './formats/index.js'
import { permitRead, readability } from './grants.js'
import type { Ptable } from './ptable.js'
import { badParameter, checkFiltersInRegion, countriesCounted, parseAggregateQuery, type RawAggregateQuery } from './query.js'
import { SCOPE } from '../auth/scopes.js'
import { consentRefusal, type ConsentVerdict } from '../stewardship/consents.js'
import { originRule } from '../stewardship/origin.js'
import type { CoverageItem } from '../stewardship/periods.js'
import { isStewardOf } from '../stewardship/steward.js'

export interface ReleaseDeps {
  db: Queryable
  vocabulary: Vocabulary
  cache: RollupCache
  audit: AuditWriter
  hubK: number
  /** k of a read that uses a sensitive dimension. */
  sensitiveK: number
  ptable: Ptable
  budget: QueryBudget
  /** One partner's roll-ups (cache misses) take turns: at most MHX_READS_PER_PARTNER at once. */
  gate: PartnerGate
  /** A region by code (cached: regions are immutable). */
  regionOf (code: string): Promise<Region | undefined>
  /** A partner's grants and country as they are now (the partner directory: a change acts on the next request). */
  readerOf (partnerId: string): Promise<Reader>
  /** When the cells of these countries last changed (the data version). */
  versions: Pick<CellVersions, 'of'>
  /** Whether the countries a read counts consent to its reader (the stewardship book: no round trip). */
  consentOf (partnerId: string, reader: Reader, countries: readonly string[]): Promise<ConsentVerdict>
  /** The country-months of a read that are not published (the stewardship book, cells per data version). */
  coverageOf (countries: readonly string[], from: string, to: string): Promise<CoverageItem[]>
}

export interface Reader { grants: readonly Grant[], country: string | null, roles: readonly string[] }

/** Who reads: the partner and the scopes of its token. */
export interface ReadCaller { partnerId: string, scopes: ReadonlySet<string> }

/** The answer to GET /v1/aggregates for `partnerId`; its audit row is appended (see AuditWriter) before it returns. */
export async function readAggregates (deps: ReleaseDeps, caller: ReadCaller, raw: RawAggregateQuery): Promise<Release> {
  const { partnerId } = caller
  const query = parseAggregateQuery(raw, deps.vocabulary)
  const region = await deps.regionOf(query.region)
  if (!region) throw badParameter('region', `unknown region or country "${query.region}" (see GET /v1/regions)`)
  checkFiltersInRegion(query, region, deps.vocabulary)
  const reader = await deps.readerOf(partnerId)
  const countries = countriesCounted(query, region, deps.vocabulary)
  // A steward reads its own country's working data exactly, without a grant or a consent.
  const stewardOwn = caller.scopes.has(SCOPE.steward) && countries.length > 0 && countries.every((c) => isStewardOf(reader, c))
  if (!stewardOwn && !caller.scopes.has(SCOPE.aggregatesRead)) {
    throw problem('forbidden', `a steward reads only its own country (${reader.country}) without the scope ${SCOPE.aggregatesRead}`)
  }
  let permit = { k: 1, units: [] as string[] }
  let verdict: ConsentVerdict = { ok: true, k: 1, releaseByCountry: {} }
  if (!stewardOwn) {
    try {
      // Only a refusal of the grant rules is a denial to audit; a failed lookup is not.
      permit = permitRead(query, region, reader.grants, deps.hubK, deps.vocabulary, deps.sensitiveK)
      originRule(query, reader.grants, permit.units)
    } catch (err) {
      const extra = (err as { extra?: { missingGrants?: string[], originRequired?: unknown } }).extra
      await deps.audit.append({ partnerId, action: 'aggregates.denied', subject: region.code, detail: { query: raw, countries, missingGrants: extra?.missingGrants ?? [], ...(extra?.originRequired ? { originRequired: extra.originRequired } : {}) } })
      throw err
    }
    verdict = await deps.consentOf(partnerId, reader, countries)
    if (!verdict.ok) {
      await deps.audit.append({ partnerId, action: 'aggregates.denied', subject: region.code, detail: { query: raw, countries, missingConsents: verdict.missingConsents } })
      throw consentRefusal(region.code, verdict.missingConsents)
    }
  }
  // A ministry knows its own records: a read that counts only its own country is exact.
  const own = stewardOwn || (reader.country !== null && countries.length > 0 && countries.every((c) => c === reader.country))
  const protection: Protection = own ? 'none' : 'cellkey'
  const k = own ? 1 : Math.max(permit.k, verdict.ok ? verdict.k : 0)
  // Countries whose consent says `published` are read as their stewards last published them.
  const published = own || !verdict.ok ? [] : countries.filter((c) => verdict.releaseByCountry[c] === 'published')
  const disclosure: Disclosure = { method: protection, ptable: own ? null : deps.ptable.version }

  const version = await deps.versions.of(countries)
  const key = queryKey(query, countries, protection) + (published.length > 0 ? `|published:${published.join(',')}` : '')
  if (!own) await deps.budget.charge(partnerId, `${key}@${version.key}`)
  // Only the roll-up takes a turn: a cached answer costs nothing to wait for, and one partner's
  // heavy reads must not hold its cheap ones (nor, through the audit's group commit, everyone's).
  const entry = deps.cache.get(key, version, () => deps.gate(partnerId, () => rollUp(deps.db, query, countries, protection, deps.ptable, published)))
  const rolled = await entry.rollup
  if (rolled.length > MAX_CELLS) {
    throw problem('badRequest', `the answer would hold more than ${MAX_CELLS} cells: narrow it (fewer by dimensions, filters, a shorter span or a coarser periodType)`, { errors: [{ path: 'by', message: `more than ${MAX_CELLS} cells` }] })
  }
  let released = entry.released.get(k) as Released | undefined
  if (!released) {
    released = { cells: protect(rolled, k), bodies: new Map() }
    entry.released.set(k, released)
  }
  const coverage = await deps.coverageOf(countries, query.from, query.to)
  await deps.audit.append({ partnerId, action: 'aggregates.read', subject: region.code, detail: { query: raw, countries, cells: released.cells.length, k, disclosure: protection, ...(published.length > 0 ? { published } : {}) } })
  const answer: Answer = {
    region: region.code,
    from: query.from,
    to: query.to,
    periodType: query.periodType,
    by: query.by,
    filters: query.filters,
    k,
    disclosure,
    lastUpdated: version.lastUpdated?.toISOString() ?? null,
    coverage,
    cells: released.cells
  }
  const { bodies } = released
  return {
    answer,
    // The same query, data version and k always render the same bytes: render each format once.
    body (format: Format, options: RenderOptions) {
      const key = `${format}:${options.labels ?? ''}`
      let body = bodies.get(key)
      if (body === undefined) bodies.set(key, body = representation(render(answer, format, options)))
      return body
    }
  }
}

/**
 * The released cells at k: a released count below k is withheld (`count: null`, "primary").
 * With the cell-key method no complementary suppression is needed: the noise protects the margins.
 */
export function protect (rolled: readonly RolledCell[], k: number): AnswerCell[] {
  return rolled.map((cell) => cell.count < k
    ? { key: cell.key, count: null, suppressed: 'primary' as const }
    : { key: cell.key, count: cell.count, suppressed: null })
}

/** The cells released at one k from one roll-up, and their rendered answers by format and labels. */
interface Released { cells: AnswerCell[], bodies: Map<string, Representation> }

export interface Release {
  answer: Answer
  /** The answer in `format`, rendered (with the same options, the public URL, each time), with its tag and compressed forms. */
  body (format: Format, options: RenderOptions): Representation
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
  const [stored, { grants }] = await Promise.all([listRegions(deps.db), deps.readerOf(partnerId)])
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

/** GET /v1/disclosure: the method and its parameters (the record keys never leave the database). */
export function disclosureNotice (deps: Pick<ReleaseDeps, 'ptable' | 'hubK' | 'sensitiveK' | 'vocabulary'>, config: { queryBudget: number }) {
  const { ptable } = deps
  return {
    method: 'cellkey' as const,
    description: 'Every count that leaves the hub is perturbed by the cell-key method: each record has a secret random key, a cell\'s key is the sum of its records\' keys, and a published table maps (true count, cell key) to a deviation. The same records always give the same released count; released counts below k are withheld. A partner reading only its own country gets exact counts (disclosure.method none).',
    ptable: ptable.version,
    ...ptable.parameters,
    k: deps.hubK,
    sensitiveK: deps.sensitiveK,
    sensitiveDimensions: [...deps.vocabulary.sensitive].sort(),
    queryBudget: config.queryBudget,
    atoms: 'one month of one country, with every dimension the query shows or filters at one value: value lists, spans of months, quarters, years, regions and country lists add perturbed atoms; a dimension summed out is perturbed as a margin of its own',
    additive: false,
    distributions: ptable.distributions
  }
}
