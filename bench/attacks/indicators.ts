// Attack 6, through the indicators (issue 25): differencing and averaging where every count is read
// as an indicator's numerator (uninsured-share: contacts with insurance none, over contacts with a
// known insurance) instead of from /v1/aggregates, beside the same attacks on the same record set
// read from /v1/aggregates (the same filters added). The numerator is the aggregates' count, so the
// indicator route must recover no more; each of its reads also costs the cohort's count query, so
// one day's budget buys fewer reads.
import { averaging, printAveraging, type AveragingFigures } from './averaging.js'
import { COUNTRY_TABLES, differencing, printDifferencing, type DifferencingFigures } from './differencing.js'
import { FROM, REGION, TO, type Answer, type Dim, type Query, type Reader, type World } from './harness.js'

export const INDICATOR = 'uninsured-share'
/** The indicator's numerator filters: the record set both routes read. */
const NUMERATOR = { recordType: 'contact', insurance: 'none' }

export type Route = 'aggregates' | 'indicators'

export interface RouteFigures { route: Route, differencing: DifferencingFigures, averaging: AveragingFigures }
export interface IndicatorAttackFigures { indicator: string, routes: Record<Route, RouteFigures> }

function url (route: Route, query: Query): string {
  const params = new URLSearchParams({ region: query.region ?? REGION, from: FROM, to: TO })
  if (query.by.length > 0) params.set('by', query.by.join(','))
  for (const [dim, values] of Object.entries(query.filters ?? {})) params.set(dim, values.join(','))
  if (route === 'aggregates') for (const [dim, value] of Object.entries(NUMERATOR)) params.set(dim, value)
  return route === 'aggregates' ? `/v1/aggregates?${params.toString()}` : `/v1/indicators/${INDICATOR}/values?${params.toString()}`
}

/**
 * The world as one route shows it: the true records are the numerator's (insurance none; the demo's
 * 1.0.0 records are contacts), and a read returns the released numerators as counts. A cell the
 * indicator lists with numerator 0 (its cohort only) is a true zero the aggregates leave unlisted.
 */
function viewThrough (world: World, route: Route): World {
  const records = world.records.filter((r) => r.insurance === 'none')
  async function read (reader: Reader, query: Query, options: { fresh?: boolean } = {}): Promise<Answer> {
    // A dimension the indicator fixes is refused there (400): refused here too, so both routes ask alike.
    if (route === 'aggregates' && [...query.by, ...Object.keys(query.filters ?? {})].some((d) => d in NUMERATOR)) return { status: 400, cells: [], k: 0 }
    const target = url(route, query)
    const known = reader.answers.get(target)
    if (known && !options.fresh) return known
    if (reader.budgetHit) return { status: 429, cells: [], k: 0 }
    reader.queries++
    for (let attempt = 0; ; attempt++) {
      reader.token ??= await world.hub.token(reader.key)
      const res = await world.hub.app.inject({ method: 'GET', url: target, headers: { authorization: `Bearer ${reader.token}` } })
      if (res.statusCode === 401 && attempt === 0) { reader.token = undefined; continue }
      let answer: Answer
      if (res.statusCode === 200) {
        const body = res.json() as { k: number, by: string[], cells: Array<Record<string, unknown>> }
        const count = (c: Record<string, unknown>) => route === 'aggregates' ? c.count : c.numerator
        answer = {
          status: 200,
          k: body.k,
          cells: body.cells.filter((c) => count(c) !== 0).map((c) => ({ key: body.by.map((d) => c[d] === null ? '_Z' : String(c[d])), count: typeof count(c) === 'number' ? count(c) as number : null }))
        }
      } else if (res.statusCode === 429) {
        reader.budgetHit = true
        answer = { status: 429, cells: [], k: 0 }
      } else {
        answer = { status: res.statusCode, cells: [], k: 0, detail: res.body.slice(0, 300) }
      }
      reader.answers.set(target, answer)
      return answer
    }
  }
  return { ...world, records, read }
}

/** Both attacks through both routes, each route's attackers with a day's budget of their own. */
export async function throughIndicators (world: World, options: { tables?: Dim[][], averagingBy: Dim[], averagingTargets: number, budget: number }): Promise<IndicatorAttackFigures> {
  const tables = options.tables ?? COUNTRY_TABLES.slice(0, 2)
  const routes = {} as Record<Route, RouteFigures>
  for (const route of ['aggregates', 'indicators'] as const) {
    const view = viewThrough(world, route)
    routes[route] = {
      route,
      differencing: await differencing(view, await world.reader(`${route}-ind-differencing`), tables),
      averaging: await averaging(view, await world.reader(`${route}-ind-averaging`), { by: options.averagingBy, targets: options.averagingTargets, budget: options.budget })
    }
  }
  return { indicator: INDICATOR, routes }
}

export function printIndicatorAttacks (f: IndicatorAttackFigures, log: (line: string) => void = console.log): void {
  for (const route of ['aggregates', 'indicators'] as const) {
    log(`through ${route === 'aggregates' ? '/v1/aggregates (insurance=none, recordType=contact)' : `/v1/indicators/${f.indicator}/values (numerators)`}:`)
    printDifferencing(f.routes[route].differencing, (line) => log(`  ${line}`))
    printAveraging(f.routes[route].averaging, (line) => log(`  ${line}`))
  }
}
