// An indicator answer as JSON (cells with their by dimensions as named fields) and CSV.
import { ABSENT } from '../release/dimensions.js'
import { csvText } from '../release/formats/csv.js'
import type { IndicatorAnswer } from './values.js'

export type IndicatorJsonCell = Record<string, unknown>

export function indicatorJsonCells (answer: IndicatorAnswer): IndicatorJsonCell[] {
  return answer.cells.map((cell) => {
    const out: IndicatorJsonCell = {}
    answer.by.forEach((dim, i) => { out[dim] = cell.key[i] === ABSENT ? null : cell.key[i] })
    const { key: _key, ...rest } = cell
    return Object.assign(out, rest)
  })
}

export function indicatorJson (answer: IndicatorAnswer): string {
  return JSON.stringify({ ...answer, cells: indicatorJsonCells(answer) })
}

const number = (v: number | null) => v === null ? '' : String(v)

/** CSV: the by columns, then the figures; one row per cell, the indicator and its interval method on every row. */
export function indicatorCsv (answer: IndicatorAnswer): string {
  const rows = [['indicator', ...answer.by, 'numerator', 'denominator', 'value', 'lower', 'upper', 'status', 'unit', 'reference', 'reference_year', 'reference_source', 'interval', 'disclosure']]
  for (const cell of answer.cells) {
    rows.push([
      answer.indicator.id,
      ...cell.key.map((v) => v === ABSENT ? '' : v),
      number(cell.numerator), number(cell.denominator), number(cell.value), number(cell.lower), number(cell.upper), cell.status,
      answer.indicator.unit.code,
      number(cell.reference?.value ?? null), number(cell.reference?.year ?? null), cell.reference?.source ?? '',
      answer.interval.method, answer.disclosure.method
    ])
  }
  return csvText(rows)
}
