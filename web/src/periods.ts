// Periods of a series (months, quarters, years) and what the answer's coverage says of each: a period with no
// data from a country that did not report or has not published is a gap, never a zero. Pure: no DOM.
import { monthsBetween } from './months.js'

export type PeriodType = 'month' | 'quarter' | 'year'
export const PERIOD_TYPES: readonly PeriodType[] = ['month', 'quarter', 'year']

/** A country-month the answer counts nothing of, or only provisionally: `open` is reported but not published. */
export interface CoverageItem { country: string, period: string, status: 'not_reported' | 'open' }

/** The first month of the period holding `month`. */
export function periodStart (month: string, type: PeriodType): string {
  const [y, m] = month.split('-').map(Number)
  if (type === 'year') return `${y}-01`
  if (type === 'quarter') return `${y}-${String(Math.floor((m - 1) / 3) * 3 + 1).padStart(2, '0')}`
  return month
}

/** The last month of the period holding `month`. */
export function periodEnd (month: string, type: PeriodType): string {
  const [y, m] = month.split('-').map(Number)
  if (type === 'year') return `${y}-12`
  if (type === 'quarter') return `${y}-${String(Math.floor((m - 1) / 3) * 3 + 3).padStart(2, '0')}`
  return month
}

/** The API's label of the period holding `month`: 2026-03, 2026-Q1 or 2026. */
export function periodLabel (month: string, type: PeriodType): string {
  const [y, m] = month.split('-').map(Number)
  if (type === 'year') return String(y)
  if (type === 'quarter') return `${y}-Q${Math.floor((m - 1) / 3) + 1}`
  return month
}

/** The labels of every period from..to, in order. */
export function periodLabels (from: string, to: string, type: PeriodType): string[] {
  return [...new Set(monthsBetween(from, to).map((m) => periodLabel(m, type)))]
}

/** The months a period label spans. */
export function monthsOf (label: string): string[] {
  if (/^\d{4}$/.test(label)) return monthsBetween(`${label}-01`, `${label}-12`)
  const quarter = /^(\d{4})-Q([1-4])$/.exec(label)
  if (quarter) {
    const first = (Number(quarter[2]) - 1) * 3 + 1
    return monthsBetween(`${quarter[1]}-${String(first).padStart(2, '0')}`, `${quarter[1]}-${String(first + 2).padStart(2, '0')}`)
  }
  return [label]
}

/**
 * What a period of an answer rests on, for a set of countries: `complete` when every country-month is
 * published; otherwise the country-months that are not (`missing`), and whether all of them are.
 */
export interface PeriodCoverage {
  period: string
  missing: CoverageItem[]
  /** Every country-month of the period is unpublished or not reported. */
  none: boolean
}

export function coverageOf (period: string, countries: readonly string[], coverage: readonly CoverageItem[]): PeriodCoverage {
  const months = new Set(monthsOf(period))
  const wanted = new Set(countries)
  const missing = coverage.filter((c) => months.has(c.period) && wanted.has(c.country))
  return { period, missing, none: countries.length > 0 && missing.length >= months.size * wanted.size }
}

/** What a point of a series is. */
export type PointKind =
  | 'count' // a released count
  | 'protected' // a count withheld below k
  | 'zero' // no cell, and every country of the period has published: a true zero
  | 'gap' // no data: the period is not reported or not published

export interface SeriesPoint {
  group: string
  period: string
  kind: PointKind
  count: number | null
  /** Country-months of the period not (yet) published: the value is incomplete or provisional, or (a gap) why. */
  missing: CoverageItem[]
}

export interface Cell { [dim: string]: string | number | null | undefined, count: number | null, suppressed?: 'primary' | null }

/**
 * Every group × period of a series. The API lists no zero cell: a period with no cell in any group is a gap when
 * some country has not published it (drawn as missing, with its status), a true zero only when all have; a
 * period with data elsewhere in the answer is a zero for the groups it lacks. Grouped by country, each country
 * is judged on its own months.
 */
export function seriesPoints (input: { dim: string | null, cells: readonly Cell[], periods: readonly string[], countries: readonly string[], coverage: readonly CoverageItem[] }): SeriesPoint[] {
  const { dim, cells, periods, countries, coverage } = input
  const key = (c: Cell) => dim ? String(c[dim] ?? '_Z') : 'total'
  const groups = [...new Set(cells.map(key))]
  if (groups.length === 0) groups.push(dim === 'country' ? countries[0] ?? 'total' : 'total')
  if (dim === 'country') for (const c of countries) if (!groups.includes(c)) groups.push(c)
  const at = new Map(cells.map((c) => [`${key(c)}|${String(c.period)}`, c]))
  const withData = new Set(cells.map((c) => String(c.period)))
  const points: SeriesPoint[] = []
  for (const group of groups) {
    for (const period of periods) {
      const judged = coverageOf(period, dim === 'country' ? [group] : countries, coverage)
      const cell = at.get(`${group}|${period}`)
      let kind: PointKind
      if (cell) kind = cell.count === null ? 'protected' : 'count'
      else if (dim === 'country' ? judged.missing.length > 0 : !withData.has(period) && judged.missing.length > 0) kind = 'gap'
      else kind = 'zero'
      points.push({ group, period, kind, count: kind === 'count' ? cell!.count : kind === 'zero' ? 0 : null, missing: judged.missing })
    }
  }
  return points
}
