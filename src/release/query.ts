// The parameters of GET /v1/aggregates, checked exactly: every fault is a 400 naming the parameter.
import { COUNTRY_CODE_PATTERN, REGION_CODE_PATTERN, type Region } from '../admin/regions.js'
import { problem } from '../problem.js'
import { ABSENT, DIMENSIONS, isDimension, isKnownValue, type Dimension, type Vocabulary } from './dimensions.js'

export const PERIOD_TYPES = ['month', 'quarter', 'year'] as const
export type PeriodType = typeof PERIOD_TYPES[number]
export const MAX_BY = 4
export const MAX_SPAN_MONTHS = 120
export const MAX_FILTER_VALUES = 300

export interface AggregateQuery {
  region: string
  from: string
  to: string
  periodType: PeriodType
  by: Dimension[]
  /** Per dimension, the values selected (any of); absent optional values as ABSENT. */
  filters: Partial<Record<Dimension, string[]>>
}

/** The raw querystring after Fastify's schema check: strings only (a repeated parameter is refused before). */
export type RawAggregateQuery = Record<string, string | undefined>

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/
const UNIT = new RegExp(`^(?:${COUNTRY_CODE_PATTERN.slice(1, -1)}|${REGION_CODE_PATTERN.slice(1, -1)})$`)

export function badParameter (name: string, message: string) {
  return problem('badRequest', `${name}: ${message}`, { errors: [{ path: name, message }] })
}

/** Months since year 0: 2026-01 → 2026*12. */
export function monthIndex (month: string): number {
  const m = MONTH.exec(month)
  if (!m) throw new Error(`not a month: ${month}`)
  return Number(m[1]) * 12 + Number(m[2]) - 1
}

function month (raw: string | undefined, name: string): string {
  if (raw === undefined) throw badParameter(name, 'is required (a month YYYY-MM)')
  if (!MONTH.test(raw)) throw badParameter(name, `must be a month YYYY-MM, got "${raw}"`)
  return raw
}

/** The month range [first, last] a period label covers, or undefined if it is not a label of this type. */
export function labelMonths (label: string, periodType: PeriodType): [number, number] | undefined {
  if (periodType === 'month') {
    if (!MONTH.test(label)) return undefined
    const i = monthIndex(label)
    return [i, i]
  }
  if (periodType === 'quarter') {
    const m = /^(\d{4})-Q([1-4])$/.exec(label)
    if (!m) return undefined
    const first = Number(m[1]) * 12 + (Number(m[2]) - 1) * 3
    return [first, first + 2]
  }
  const m = /^(\d{4})$/.exec(label)
  if (!m) return undefined
  return [Number(m[1]) * 12, Number(m[1]) * 12 + 11]
}

function list (raw: string, name: string): string[] {
  const items = raw.split(',')
  if (items.some((item) => item === '')) throw badParameter(name, 'has an empty item (a comma list like a,b)')
  return [...new Set(items)]
}

/**
 * Checks every parameter but the region's existence (the caller resolves `region` and passes it).
 * Codes are exact: no case folding, no trimming, so no spelling reaches another unit.
 */
export function parseAggregateQuery (raw: RawAggregateQuery, vocabulary: Vocabulary): AggregateQuery {
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined && typeof value !== 'string') throw badParameter(name, 'must be given once (use a comma list for several values)')
    if (!['region', 'from', 'to', 'by', 'periodType'].includes(name) && !isDimension(name)) throw badParameter(name, 'is not a parameter of this route')
  }
  const region = raw.region
  if (region === undefined) throw badParameter('region', 'is required (a country code like KAZ or a region code like central-asia)')
  if (!UNIT.test(region)) throw badParameter('region', `"${region}" is not a country code (upper-case alpha-3) or a region code (lower-case)`)

  const from = month(raw.from, 'from')
  const to = month(raw.to, 'to')
  if (monthIndex(from) > monthIndex(to)) throw badParameter('from', `${from} is after to (${to})`)
  if (monthIndex(to) - monthIndex(from) + 1 > MAX_SPAN_MONTHS) throw badParameter('to', `the span from ${from} to ${to} exceeds ${MAX_SPAN_MONTHS} months`)

  const periodType = (raw.periodType ?? 'month') as PeriodType
  if (!PERIOD_TYPES.includes(periodType)) throw badParameter('periodType', `must be one of ${PERIOD_TYPES.join(', ')}`)
  const fromMonth = monthIndex(from) % 12
  const toMonth = monthIndex(to) % 12
  if (periodType === 'quarter' && (fromMonth % 3 !== 0 || toMonth % 3 !== 2)) {
    throw badParameter(fromMonth % 3 !== 0 ? 'from' : 'to', 'with periodType=quarter, from must start a quarter (01, 04, 07, 10) and to end one (03, 06, 09, 12)')
  }
  if (periodType === 'year' && (fromMonth !== 0 || toMonth !== 11)) {
    throw badParameter(fromMonth !== 0 ? 'from' : 'to', 'with periodType=year, from must be a January and to a December')
  }

  const by: Dimension[] = []
  if (raw.by !== undefined && raw.by !== '') {
    const items = raw.by.split(',')
    for (const item of items) {
      if (!isDimension(item)) throw badParameter('by', `unknown dimension "${item}"; one of ${DIMENSIONS.join(', ')}`)
      if (by.includes(item)) throw badParameter('by', `"${item}" is named twice`)
      by.push(item)
    }
    if (by.length > MAX_BY) throw badParameter('by', `at most ${MAX_BY} dimensions`)
  }

  const filters: Partial<Record<Dimension, string[]>> = {}
  const [lo, hi] = [monthIndex(from), monthIndex(to)]
  for (const dim of DIMENSIONS) {
    const value = raw[dim]
    if (value === undefined) continue
    const values = list(value, dim)
    if (values.length > MAX_FILTER_VALUES) throw badParameter(dim, `at most ${MAX_FILTER_VALUES} values`)
    for (const v of values) {
      if (dim === 'period') {
        const range = labelMonths(v, periodType)
        if (!range) throw badParameter(dim, `"${v}" is not a ${periodType} label (${periodType === 'month' ? '2026-03' : periodType === 'quarter' ? '2026-Q1' : '2026'})`)
        if (range[0] < lo || range[1] > hi) throw badParameter(dim, `"${v}" is outside from..to`)
      } else if (!isKnownValue(vocabulary, dim, v)) {
        throw badParameter(dim, `unknown value "${v}"`)
      }
    }
    // Normalized: one spelling per record set (values sorted; a list of every value is no filter).
    const all = vocabulary.enums[dim]
    if (all && dim !== 'period' && [...all].every((v) => values.includes(v))) continue
    filters[dim] = values.sort()
  }
  return { region, from, to, periodType, by, filters }
}

/** Country and sub-national filters must stay inside the region asked for. */
export function checkFiltersInRegion (query: AggregateQuery, region: Region, vocabulary: Vocabulary): void {
  for (const c of query.filters.country ?? []) {
    if (!region.members.includes(c)) throw badParameter('country', `${c} is not a member of ${region.code}`)
  }
  for (const a of query.filters.subnationalArea ?? []) {
    if (a === ABSENT) continue
    const country = vocabulary.areaCountry.get(a)
    if (!country || !region.members.includes(country)) throw badParameter('subnationalArea', `${a} is not in ${region.code}`)
  }
}

/**
 * The countries a query can single out: shown by `by`, or named by a country or sub-national
 * filter. A sub-national filter selects within every member it can reach: `_Z` (no area given)
 * reaches every member, since one country that leaves areas out would stand alone behind it.
 */
export function countriesSingledOut (query: AggregateQuery, region: Region, vocabulary: Vocabulary): string[] {
  const out = new Set<string>()
  if (query.by.includes('country') || query.by.includes('subnationalArea')) region.members.forEach((m) => out.add(m))
  for (const c of query.filters.country ?? []) out.add(c)
  for (const a of query.filters.subnationalArea ?? []) {
    if (a === ABSENT) region.members.forEach((m) => out.add(m))
    const country = vocabulary.areaCountry.get(a)
    if (country) out.add(country)
  }
  return [...out].sort()
}

/** The countries whose records a query counts: the region's members, narrowed by country and area filters. */
export function countriesCounted (query: AggregateQuery, region: Region, vocabulary: Vocabulary): string[] {
  let counted = region.members
  const countries = query.filters.country
  if (countries) counted = counted.filter((c) => countries.includes(c))
  const areas = query.filters.subnationalArea
  if (areas && !areas.includes(ABSENT)) {
    const reached = new Set(areas.map((a) => vocabulary.areaCountry.get(a)))
    counted = counted.filter((c) => reached.has(c))
  }
  return [...counted].sort()
}

/** Whether a query shows or selects by a dimension near enforcement (x-mhx-sensitive). */
export function usesSensitive (query: AggregateQuery, vocabulary: Vocabulary): boolean {
  return [...query.by, ...Object.keys(query.filters)].some((d) => vocabulary.sensitive.has(d as Dimension))
}
