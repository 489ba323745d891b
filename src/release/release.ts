// One aggregate read: check the query, ask the read policy, charge the budget, roll up (perturbed
// by the cell-key method, or exact for a partner's own country), withhold below k, audit.
import { listRegions, type Region } from '../admin/regions.js'
import type { CellVersions, DataVersion } from '../aggregation/versions.js'
import type { AuditWriter } from '../audit/writer.js'
import type { Queryable } from '../db/connect.js'
import { problem } from '../problem.js'
import { representation, type Representation } from '../ops/http.js'
import { decideRead, refusalProblem, type PolicyReader, type PolicyState, type ReadPermit, type ReadQuery } from '../policy/read.js'
import { MAX_CELLS, queryKey, rollUp, type RolledCell, type RollupCache } from './rollup.js'
import type { PartnerGate, QueryBudget } from './budget.js'
import type { Vocabulary } from './dimensions.js'
import { render, type Answer, type AnswerCell, type Disclosure, type Format, type RenderOptions } from './formats/index.js'
import type { Ptable } from './ptable.js'
import { badParameter, checkFiltersInRegion, countriesCounted, countriesSingledOut, parseAggregateQuery, usesSensitive, type AggregateQuery, type RawAggregateQuery } from './query.js'
import { periodKey, type StewardshipState } from '../stewardship/book.js'
import { monthsBetween, type CoverageItem } from '../stewardship/periods.js'

export interface ReleaseDeps {
  db: Queryable
  vocabulary: Vocabulary
  cache: RollupCache
  audit: AuditWriter
  ptable: Ptable
  hubK: number
  sensitiveK: number
  budget: QueryBudget
  /** One partner's roll-ups (cache misses) take turns: at most MHX_READS_PER_PARTNER at once. */
  gate: PartnerGate
  /** A region by code (cached: regions are immutable). */
  regionOf (code: string): Promise<Region | undefined>
  /** The reader as it is now (the partner directory: a change acts on the next request), with this token's scopes. */
  readerOf (caller: ReadCaller): Promise<PolicyReader>
  /** What decideRead needs besides the reader, and the publications of published readers' months. */
  policyState (): Promise<{ policy: PolicyState, stewardship: StewardshipState }>
  /** When the cells of these countries last changed (the data version). */
  versions: Pick<CellVersions, 'of'>
  /** The country-months of a read that are not published (the stewardship book, cells per data version). */
  coverageOf (countries: readonly string[], from: string, to: string): Promise<CoverageItem[]>
}

/** Who reads: the partner and the scopes of its token. */
export interface ReadCaller { partnerId: string, scopes: ReadonlySet<string> }

/** What the read policy sees of a parsed aggregate query. */
export function readQueryOf (query: AggregateQuery, region: Region, vocabulary: Vocabulary): ReadQuery {
  return {
    purpose: 'counts',
    unit: region,
    counted: countriesCounted(query, region, vocabulary),
    singledOut: countriesSingledOut(query, region, vocabulary),
    origin: query.filters.countryOfOrigin,
    sensitive: usesSensitive(query, vocabulary)
  }
}

/**
 * The data version of what a permitted read counts: live countries by their cells' version, countries
 * read as published by the revisions of the months asked (a push elsewhere changes nothing for them).
 */
export async function readVersion (deps: Pick<ReleaseDeps, 'versions'>, permit: ReadPermit, stewardship: StewardshipState, from: string, to: string): Promise<DataVersion> {
  const live = permit.countries.filter((c) => !permit.published.includes(c))
  const version = await deps.versions.of(live)
  if (permit.published.length === 0) return version
  let lastUpdated = version.lastUpdated
  const revisions = permit.published.map((country) => monthsBetween(from, to).map((month) => {
    const publication = stewardship.publications.get(periodKey(country, month))
    if (publication && (lastUpdated === null || publication.publishedAt > lastUpdated)) lastUpdated = publication.publishedAt
    return publication?.revision ?? 0
  }).join('.'))
  return { key: `${version.key}|published:${permit.published.map((c, i) => `${c}=${revisions[i]}`).join(',')}`, changesHeard: version.changesHeard, lastUpdated }
}

/** The answer to GET /v1/aggregates for `caller`; its audit row is appended (see AuditWriter) before it returns. */
export async function readAggregates (deps: ReleaseDeps, caller: ReadCaller, raw: RawAggregateQuery): Promise<Release> {
  const { partnerId } = caller
  const query = parseAggregateQuery(raw, deps.vocabulary)
  const region = await deps.regionOf(query.region)
  if (!region) throw badParameter('region', `unknown region or country "${query.region}" (see GET /v1/regions)`)
  checkFiltersInRegion(query, region, deps.vocabulary)
  const [reader, { policy, stewardship }] = await Promise.all([deps.readerOf(caller), deps.policyState()])
  const asked = readQueryOf(query, region, deps.vocabulary)
  const verdict = decideRead(reader, asked, policy)
  if (!verdict.ok) {
    // A refusal by the rules is a denial to audit (the steward's access log shows it); a missing scope is not a read.
    if (verdict.kind !== 'forbidden') {
      const { ok: _ok, detail: _detail, ...why } = verdict
      await deps.audit.append({ partnerId, action: 'aggregates.denied', subject: region.code, detail: { query: raw, countries: asked.counted, ...why } })
    }
    throw refusalProblem(verdict)
  }
  const { countries, k, protection, published } = verdict
  const disclosure: Disclosure = { method: protection, ptable: protection === 'none' ? null : deps.ptable.version }
  const version = await readVersion(deps, verdict, stewardship, query.from, query.to)
  const key = queryKey(query, countries, protection) + (published.length > 0 ? `|published:${published.join(',')}` : '')
  if (protection !== 'none') await deps.budget.charge(partnerId, `${key}@${version.key}`)
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
  /** Its totals can be read (with countryOfOrigin, only with that filter). */
  readable: boolean
  /** Its countries can be read one by one (by=country). */
  byCountry: boolean
  /** The k of a totals read, when readable. */
  k: number | null
  /** An origin grant: every read of it filters on this country of origin. */
  countryOfOrigin: string | null
  /** Granted but not consented: the countries whose stewards have not consented (a reader is told why). */
  missingConsents: string[] | null
}

/**
 * Every stored region, and every country the caller holds a grant on or is, with what the read
 * policy says the caller may read of it (so the listing never disagrees with reads).
 */
export async function regionsFor (deps: ReleaseDeps, caller: ReadCaller): Promise<RegionListing[]> {
  const [stored, reader, { policy }] = await Promise.all([listRegions(deps.db), deps.readerOf(caller), deps.policyState()])
  const units = new Map<string, Region>(stored.map((r) => [r.code, r]))
  for (const code of [...reader.grants.map((g) => g.region), ...(reader.country ? [reader.country] : [])]) {
    if (units.has(code)) continue
    const region = await deps.regionOf(code)
    if (region) units.set(region.code, region)
  }
  return [...units.values()]
    .sort((a, b) => (a.kind === b.kind ? (a.code < b.code ? -1 : 1) : a.kind === 'region' ? -1 : 1))
    .map((r) => {
      const countryOfOrigin = reader.grants.find((g) => g.region === r.code)?.countryOfOrigin ?? null
      const ask = (singledOut: readonly string[]): ReadQuery => ({ purpose: 'counts', unit: r, counted: r.members, singledOut, origin: countryOfOrigin ? [countryOfOrigin] : undefined, sensitive: false })
      const totals = decideRead(reader, ask([]), policy)
      const byCountry = decideRead(reader, ask(r.kind === 'region' ? r.members : []), policy)
      const missingConsents = !totals.ok && totals.kind === 'consentMissing' ? totals.missingConsents : null
      return { code: r.code, name: r.name, kind: r.kind, members: r.members, readable: totals.ok, byCountry: byCountry.ok, k: totals.ok ? totals.k : null, countryOfOrigin, missingConsents }
    })
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
