// A publish preview: before a steward freezes a month, what readers will be given of it (the
// released counts: cell-key perturbed, withheld below the hub's k) beside the exact counts the
// steward already knows. Nothing is released to anyone else: the steward reads its own country.
import type { Region } from '../admin/regions.js'
import type { Queryable } from '../db/connect.js'
import { decideRead, refusalProblem, type PolicyReader, type PolicyState } from '../policy/read.js'
import type { Vocabulary } from '../release/dimensions.js'
import type { Ptable } from '../release/ptable.js'
import { parseAggregateQuery } from '../release/query.js'
import { protect, readQueryOf } from '../release/release.js'
import { rollUp } from '../release/rollup.js'
import { assertOwnCountry, type Steward } from './steward.js'

export interface PreviewCell {
  [dimension: string]: string | number | null
  /** The working data's count, as the steward sees it. */
  exact: number
  /** What a reader at the hub's k will be given once this month is published; null when withheld. */
  released: number | null
  suppressed: 'primary' | null
}

export interface PeriodPreview {
  country: string
  period: string
  by: string[]
  /** The k the released counts are withheld below (a reader's consent may ask for more). */
  k: number
  disclosure: { method: 'cellkey', ptable: string }
  cells: PreviewCell[]
}

export interface PreviewDeps {
  db: Queryable
  vocabulary: Vocabulary
  ptable: Ptable
  hubK: number
  regionOf (code: string): Promise<Region | undefined>
  readerOf (caller: { partnerId: string, scopes: ReadonlySet<string> }): Promise<PolicyReader>
  policyState (): Promise<{ policy: PolicyState }>
}

/**
 * The month's working cells by `by` (a comma list of dimensions, or none for the total), each
 * with its exact count and the count readers will be released. The read policy still decides
 * (a steward reads its own country exactly); the released counts come from the same roll-up
 * and the same protection as GET /v1/aggregates.
 */
export async function previewPeriod (deps: PreviewDeps, steward: Steward, scopes: ReadonlySet<string>, country: string, period: string, by: string | undefined): Promise<PeriodPreview> {
  assertOwnCountry(steward, country)
  const query = parseAggregateQuery({ region: country, from: period, to: period, ...(by ? { by } : {}) }, deps.vocabulary)
  const region = await deps.regionOf(country)
  if (!region) throw new Error(`no region for the steward's own country ${country}`)
  const [reader, { policy }] = await Promise.all([deps.readerOf({ partnerId: steward.partnerId, scopes }), deps.policyState()])
  const verdict = decideRead(reader, readQueryOf(query, region, deps.vocabulary), policy)
  if (!verdict.ok) throw refusalProblem(verdict)
  const [exact, perturbed] = await Promise.all([
    rollUp(deps.db, query, [country], 'none', deps.ptable),
    rollUp(deps.db, query, [country], 'cellkey', deps.ptable)
  ])
  const released = new Map(protect(perturbed, deps.hubK).map((cell) => [cell.key.join('\u0000'), cell]))
  const cells = exact.map((cell): PreviewCell => {
    const out = released.get(cell.key.join('\u0000'))
    const dims = Object.fromEntries(query.by.map((d, i) => [d, cell.key[i]]))
    return { ...dims, exact: cell.count, released: out?.count ?? null, suppressed: out ? out.suppressed : 'primary' }
  })
  return { country, period, by: query.by, k: deps.hubK, disclosure: { method: 'cellkey', ptable: deps.ptable.version }, cells }
}
