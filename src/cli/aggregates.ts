// mhx aggregates: GET /v1/aggregates as an aligned table (or the service's CSV), and the
// operator's check / rebuild of the cells.
import type { HubClient } from './client.js'
import { UsageError } from './io.js'
import { formatTable } from './table.js'

export interface AggregateQuery {
  region: string
  from: string
  to: string
  by: string[]
  periodType?: string
  filters: string[]
}

export interface AggregateCell { count: number | null, suppressed?: string | null, [dimension: string]: unknown }

export interface AggregateAnswer {
  region: string
  from: string
  to: string
  periodType?: string
  by: string[]
  k: number
  disclosure?: { method: string, ptable: string | null }
  lastUpdated?: string | null
  /** The country-months of the query that are not published: open (reported) or not reported. */
  coverage?: Array<{ country: string, period: string, status: 'open' | 'not_reported' }>
  cells: AggregateCell[]
}

/** `dim=value` or `dim=v1,v2` flags as query parameters; a dimension given twice is refused here. */
export function filterParams (filters: string[], usage: string): Record<string, string> {
  const params: Record<string, string> = {}
  for (const filter of filters) {
    const at = filter.indexOf('=')
    if (at <= 0 || at === filter.length - 1) throw new UsageError(`--filter must be dimension=value[,value…], got "${filter}"`, usage)
    const name = filter.slice(0, at)
    if (params[name] !== undefined) throw new UsageError(`--filter ${name} given twice: use ${name}=v1,v2`, usage)
    params[name] = filter.slice(at + 1)
  }
  return params
}

export function aggregateQueryParams (q: AggregateQuery, usage: string): Record<string, string | undefined> {
  const filters = filterParams(q.filters, usage)
  for (const reserved of ['region', 'from', 'to', 'by', 'periodType']) {
    if (filters[reserved] !== undefined) throw new UsageError(`--filter cannot set "${reserved}": use --${reserved === 'periodType' ? 'period-type' : reserved}`, usage)
  }
  return {
    region: q.region,
    from: q.from,
    to: q.to,
    ...(q.by.length > 0 ? { by: q.by.join(',') } : {}),
    ...(q.periodType ? { periodType: q.periodType } : {}),
    ...filters
  }
}

export async function fetchAggregates (client: HubClient, params: Record<string, string | undefined>): Promise<AggregateAnswer> {
  return (await client.request<AggregateAnswer>('GET', '/v1/aggregates', { query: params })).body
}

/** The answer as the service renders it in a media type (CSV, SDMX-CSV, FHIR, ADX), unchanged. */
export async function fetchAggregatesAs (client: HubClient, params: Record<string, string | undefined>, accept: string): Promise<string> {
  return (await client.request<string>('GET', '/v1/aggregates', { query: params, accept, text: true })).body
}

/** The CLI's output flags and the Accept header each sets. */
export const AGGREGATE_FORMATS = {
  csv: 'text/csv',
  sdmx: 'application/vnd.sdmx.data+csv;version=2.0.0',
  fhir: 'application/fhir+json',
  adx: 'application/adx+xml'
} as const

/** `<k` for a withheld cell (its released count is below k). */
export function countText (cell: AggregateCell, k: number): string {
  if (cell.count !== null && cell.count !== undefined) return String(cell.count)
  return `<${k}`
}

export function formatAggregates (answer: AggregateAnswer): string {
  const by = answer.by ?? []
  const rows = answer.cells.map((cell) => [...by.map((d) => cell[d] === null || cell[d] === undefined ? '-' : String(cell[d])), countText(cell, answer.k)])
  const suppressed = answer.cells.filter((c) => c.count === null).length
  const head = `${answer.region} ${answer.from}..${answer.to}${answer.periodType && answer.periodType !== 'month' ? ` by ${answer.periodType}` : ''}`
    + `, k=${answer.k}, ${answer.cells.length} cells${suppressed ? ` (${suppressed} withheld: <${answer.k} below k)` : ''}`
    + `${answer.disclosure?.method === 'cellkey' ? ', counts perturbed (cell-key method; margins are not sums of cells)' : answer.disclosure?.method === 'none' ? ', exact counts (your own country)' : ''}`
    + `${answer.lastUpdated ? `, data as of ${answer.lastUpdated}` : ''}\n`
  const coverage = coverageText(answer.coverage ?? [])
  if (answer.cells.length === 0) {
    const why = (answer.coverage ?? []).some((c) => c.status === 'open')
      ? 'nothing to show yet: open months are reported but not published, and a reader of published data sees them once their steward publishes'
      : (answer.coverage ?? []).length > 0 ? 'nothing reported for these months' : 'nothing recorded for this query in its published months'
    return head + coverage + `(no cells: ${why})\n`
  }
  // Coverage follows the table as its footnote: the table's first lines stay its head and columns.
  return head + formatTable([...by, 'count'], rows, [...by.map(() => false), true]) + coverage
}

/** Unpublished country-months, grouped by country and status: "not reported" is never read as 0. */
export function coverageText (coverage: NonNullable<AggregateAnswer['coverage']>): string {
  if (coverage.length === 0) return ''
  const groups = new Map<string, string[]>()
  for (const c of coverage) {
    const key = `${c.country} ${c.status === 'open' ? 'open (reported, not published)' : 'not reported'}`
    groups.set(key, [...(groups.get(key) ?? []), c.period])
  }
  return [...groups].map(([key, periods]) => `coverage: ${key}: ${periods.join(', ')}\n`).join('')
}

export interface VerifyAnswer { ok: boolean, differences?: unknown[], [key: string]: unknown }

export async function verifyAggregates (client: HubClient): Promise<VerifyAnswer> {
  return (await client.request<VerifyAnswer>('GET', '/v1/admin/aggregates/verify')).body
}

export async function rebuildAggregates (client: HubClient): Promise<unknown> {
  return (await client.request('POST', '/v1/admin/aggregates/rebuild', { json: {} })).body
}
