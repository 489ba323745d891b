// An indicator's values: its numerator (and a proportion's denominator) are aggregate reads, made
// through readAggregates itself, so they are exactly what GET /v1/aggregates releases for the same
// query (same read policy, atoms, noise, budget charge and audit row); a rate's denominator is the
// population's public figure for the cell's countries and months.
import type { ReleaseDeps, ReadCaller } from '../release/release.js'
import { readAggregates } from '../release/release.js'
import { DIMENSIONS, isDimension, type Dimension } from '../release/dimensions.js'
import { badParameter, countriesCounted, labelMonths, monthIndex, parseAggregateQuery, type AggregateQuery, type RawAggregateQuery } from '../release/query.js'
import type { Answer, AnswerCell } from '../release/formats/index.js'
import { problem } from '../problem.js'
import { populationOf, type Indicator, type IndicatorCatalog } from './catalog.js'
import type { Denominator, Figures } from './denominators.js'
import { intervalMethod, poissonInterval, proportionInterval } from './interval.js'

export const STATUSES = ['released', 'withheld', 'no-denominator'] as const
export type ValueStatus = typeof STATUSES[number]

/** Dimensions a rate may show or filter: a population's figure is per country and year (and sex, where set). */
const RATE_DIMENSIONS: readonly Dimension[] = ['period', 'country', 'sex']

export interface IndicatorDeps {
  release: ReleaseDeps
  /** The current denominators and reference values (held per process: src/db/held.ts). */
  figures: () => Promise<Figures>
  catalog: IndicatorCatalog
}

export interface IndicatorCell {
  /** The values of the `by` dimensions, as stored (ABSENT for an absent value). */
  key: string[]
  numerator: number | null
  denominator: number | null
  value: number | null
  lower: number | null
  upper: number | null
  status: ValueStatus
  reference: { value: number, year: number, source: string } | null
}

export interface DenominatorUse {
  country: string
  population: string
  /** The year of the figure used ... */
  year: number
  /** ... for these years of the answer (the latest year at or before each). */
  forYears: number[]
  value: number
  source: string
  vintage: string
}

/** The query it answers (the caller's filters only: the indicator's own are its definition), then its values. */
export interface IndicatorAnswer extends AggregateQuery {
  indicator: Pick<Indicator, 'id' | 'kind' | 'multiplier' | 'unit' | 'minimumNumerator' | 'version'>
  k: number
  disclosure: Answer['disclosure']
  interval: { level: 0.95, method: string }
  annualised: false
  lastUpdated: string | null
  coverage: Answer['coverage']
  denominators: DenominatorUse[]
  cells: IndicatorCell[]
}

const yearOf = (month: number) => Math.floor(month / 12)

/** The months of a cell (indexes): its period label's, else the query's (period filter, or from..to). */
function cellMonths (query: AggregateQuery, key: string[]): number[] {
  const at = query.by.indexOf('period')
  const spans: Array<[number, number]> = at >= 0
    ? [labelMonths(key[at], query.periodType) as [number, number]]
    : query.filters.period?.map((label) => labelMonths(label, query.periodType) as [number, number]) ?? [[monthIndex(query.from), monthIndex(query.to)]]
  const months: number[] = []
  for (const [lo, hi] of spans) for (let m = lo; m <= hi; m++) months.push(m)
  return months
}

/**
 * How many atoms a cell's count can sum at most: its countries × months × the values of every listed
 * filter outside `by` (docs/disclosure-control.md, "atoms"). From the query alone, never the data:
 * the number of non-empty atoms would tell which country-months hold records.
 */
function atomBound (query: AggregateQuery, key: string[], countries: number): number {
  let n = (query.by.includes('country') ? 1 : countries) * cellMonths(query, key).length
  for (const [dim, values] of Object.entries(query.filters) as Array<[Dimension, string[]]>) {
    if (dim !== 'period' && dim !== 'country' && !query.by.includes(dim) && values.length > 1) n *= values.length
  }
  return n
}

/** The query of one count: the caller's, with the indicator's filters added (a clash is the caller's fault). */
function countQuery (raw: RawAggregateQuery, filters: Partial<Record<Dimension, string[]>>): RawAggregateQuery {
  const out: RawAggregateQuery = { ...raw }
  for (const [dim, values] of Object.entries(filters)) out[dim] = values.join(',')
  return out
}

/** Checks what the caller may add to an indicator's query: no dimension it fixes; a rate only period, country, sex. */
function checkQuery (indicator: Indicator, catalog: IndicatorCatalog, raw: RawAggregateQuery): void {
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined && typeof value !== 'string') throw badParameter(name, 'must be given once (use a comma list for several values)')
  }
  const fixed = new Set([...Object.keys(indicator.numerator.filters), ...('filters' in indicator.denominator ? Object.keys(indicator.denominator.filters) : [])])
  const by = raw.by === undefined || raw.by === '' ? [] : raw.by.split(',')
  const population = populationOf(indicator)
  const allowed = population === null ? DIMENSIONS : RATE_DIMENSIONS.filter((d) => d !== 'sex' || catalog.population(population)?.sex === null)
  for (const dim of by) {
    if (fixed.has(dim)) throw badParameter('by', `"${dim}" is fixed by the indicator ${indicator.id}`)
    if (isDimension(dim) && !allowed.includes(dim)) throw badParameter('by', `a rate is shown by ${allowed.join(', ')} only (its denominator is a population's figure per country and year)`)
  }
  for (const name of Object.keys(raw)) {
    if (!isDimension(name)) continue
    if (fixed.has(name)) throw badParameter(name, `is fixed by the indicator ${indicator.id}`)
    if (!allowed.includes(name) || (population !== null && name === 'period')) throw badParameter(name, `a rate is filtered by ${allowed.filter((d) => d !== 'period').join(', ')} only (its denominator is a population's figure per country and year)`)
  }
}

/** The answer to GET /v1/indicators/{id}/values for `caller` (each count read is audited and charged as an aggregate read). */
export async function readIndicatorValues (deps: IndicatorDeps, caller: ReadCaller, id: string, raw: RawAggregateQuery): Promise<IndicatorAnswer> {
  const indicator = deps.catalog.indicator(id)
  if (!indicator) throw problem('indicatorUnknown', `id: unknown indicator "${id}" (see GET /v1/indicators)`, { errors: [{ path: 'id', message: 'unknown indicator' }] })
  checkQuery(indicator, deps.catalog, raw)
  const numeratorRaw = countQuery(raw, indicator.numerator.filters)
  const query = parseAggregateQuery(numeratorRaw, deps.release.vocabulary)
  const region = await deps.release.regionOf(query.region)
  const countries = region ? countriesCounted(query, region, deps.release.vocabulary) : []
  const lastYear = yearOf(monthIndex(query.to))
  const population = populationOf(indicator)
  const populations = population === null ? [] : [population, ...deps.catalog.populations.filter((p) => p.parent === population).map((p) => p.id)]
  // The counts and the public figures at once: a read waits for the slowest, not for their sum.
  const [numerator, denominatorAnswer, held] = await Promise.all([
    readAggregates(deps.release, caller, numeratorRaw),
    'filters' in indicator.denominator
      ? readAggregates(deps.release, caller, countQuery(raw, indicator.denominator.filters)).then((r) => r.answer)
      : undefined,
    deps.figures()
  ])
  const figures = held.denominators.filter((f) => countries.includes(f.country) && populations.includes(f.population) && f.year <= lastYear)
  const references = held.references.filter((r) => r.indicator === indicator.id && countries.includes(r.country) && r.year <= lastYear)
  const { answer } = numerator
  const V = answer.disclosure.method === 'none' ? 0 : deps.release.ptable.parameters.V

  // Cells: the numerator's, and for a proportion the denominator's too (a cohort whose numerator is 0).
  const keyOf = (key: string[]) => JSON.stringify(key)
  const numerators = new Map(answer.cells.map((c) => [keyOf(c.key), c]))
  const denominatorCells = new Map((denominatorAnswer?.cells ?? []).map((c) => [keyOf(c.key), c]))
  const keys = [...new Map([...answer.cells, ...(denominatorAnswer?.cells ?? [])].map((c) => [keyOf(c.key), c.key])).values()]
    .sort((a, b) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1; return 0 })

  // A rate's figures: each (country, population) by year, the latest at or before each year asked.
  const sexAt = query.by.indexOf('sex')
  const figureOf = new Map<string, Denominator[]>()
  for (const f of figures) {
    const list = figureOf.get(`${f.country}|${f.population}`) ?? []
    list.push(f)
    figureOf.set(`${f.country}|${f.population}`, list)
  }
  const used = new Map<string, DenominatorUse>()
  const figureFor = (country: string, pop: string, year: number): Denominator | undefined => {
    const list = figureOf.get(`${country}|${pop}`) ?? []
    let best: Denominator | undefined
    for (const f of list) if (f.year <= year && (!best || f.year > best.year)) best = f
    return best
  }

  const countryAt = query.by.indexOf('country')
  const singleCountry = countries.length === 1 ? countries[0] : undefined

  const cells: IndicatorCell[] = keys.map((key) => {
    const k = keyOf(key)
    const num: AnswerCell | undefined = numerators.get(k)
    const months = cellMonths(query, key)
    const cellCountries = countryAt >= 0 ? [key[countryAt]] : countries
    const country = countryAt >= 0 ? key[countryAt] : singleCountry
    const lastCellYear = yearOf(Math.max(...months))
    const reference = country === undefined ? undefined : references.filter((r) => r.country === country && r.year <= lastCellYear).sort((a, b) => b.year - a.year)[0]
    const cell: IndicatorCell = {
      key,
      numerator: num ? num.count : 0,
      denominator: null,
      value: null,
      lower: null,
      upper: null,
      status: 'withheld',
      reference: reference ? { value: reference.value, year: reference.year, source: reference.source } : null
    }

    let denominator: number | undefined
    if (population !== null) {
      const sex = sexAt >= 0 ? key[sexAt] : query.filters.sex?.length === 1 ? query.filters.sex[0] : undefined
      const pop = sex === undefined ? population : deps.catalog.populationOfSex(population, sex)?.id
      let sum: number | undefined = 0
      for (const month of months) {
        const year = yearOf(month)
        for (const c of cellCountries) {
          const f = pop === undefined ? undefined : figureFor(c, pop, year)
          if (!f) { sum = undefined; break }
          sum += f.value
          const u = used.get(`${c}|${f.population}|${f.year}`) ?? { country: c, population: f.population, year: f.year, forYears: [], value: f.value, source: f.source, vintage: f.vintage }
          if (!u.forYears.includes(year)) u.forYears.push(year)
          used.set(`${c}|${f.population}|${f.year}`, u)
        }
        if (sum === undefined) break
      }
      // A cell spanning several years takes the months-weighted mean of their figures.
      if (sum !== undefined) denominator = sum / months.length
    } else {
      denominator = denominatorCells.get(k)?.count ?? undefined
    }
    cell.denominator = denominator ?? null
    const x = cell.numerator
    // Protection first: a withheld numerator says nothing more, whatever the denominator.
    if (x === null || x < indicator.minimumNumerator) return cell
    if (denominator === undefined || denominator <= 0) {
      // A proportion's denominator holds its numerator's atoms: released whenever they are.
      cell.status = population === null ? 'withheld' : 'no-denominator'
      return cell
    }
    cell.status = 'released'
    cell.value = x * indicator.multiplier / denominator
    const countriesInCell = countryAt >= 0 ? 1 : countries.length
    if (population !== null) {
      const [lo, hi] = poissonInterval(x, V * atomBound(query, key, countriesInCell))
      cell.lower = lo * indicator.multiplier / denominator
      cell.upper = hi * indicator.multiplier / denominator
    } else {
      const denominatorQuery = { ...query, filters: { ...query.filters, ...(indicator.denominator as { filters: Partial<Record<Dimension, string[]>> }).filters } }
      const inside = V * atomBound(query, key, countriesInCell)
      const outside = V * atomBound(denominatorQuery, key, countriesInCell) - inside
      const [lo, hi] = proportionInterval(x, denominator, inside, Math.max(0, outside))
      cell.lower = lo * indicator.multiplier
      cell.upper = hi * indicator.multiplier
    }
    return cell
  })

  return {
    indicator: { id: indicator.id, kind: indicator.kind, multiplier: indicator.multiplier, unit: indicator.unit, minimumNumerator: indicator.minimumNumerator, version: indicator.version },
    region: answer.region,
    from: answer.from,
    to: answer.to,
    periodType: answer.periodType,
    by: answer.by,
    // The caller's filters: the indicator's own are its definition.
    filters: Object.fromEntries(Object.entries(answer.filters).filter(([d]) => !(d in indicator.numerator.filters))),
    k: answer.k,
    disclosure: answer.disclosure,
    interval: { level: 0.95, method: intervalMethod(indicator.kind, answer.disclosure.method !== 'none') },
    annualised: false,
    lastUpdated: answer.lastUpdated,
    coverage: answer.coverage,
    denominators: [...used.values()].map((u) => ({ ...u, forYears: u.forYears.sort() })).sort((a, b) => a.country < b.country ? -1 : a.country > b.country ? 1 : a.population < b.population ? -1 : a.population > b.population ? 1 : a.year - b.year),
    cells
  }
}
