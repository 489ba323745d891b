// The answer every format renders: the query as answered, its protection and its cells.
import type { AggregateQuery } from '../query.js'

/** `primary`: the released count is below k and withheld. */
export type ProtectionMark = 'primary' | null
export interface AnswerCell { key: string[], count: number | null, suppressed: ProtectionMark }

/**
 * How the counts were protected: `cellkey` = perturbed by the cell-key method with `ptable`;
 * `none` = exact counts (a partner reading only its own country).
 */
export interface Disclosure { method: 'cellkey' | 'none', ptable: string | null }

/** The query as answered, with its k, disclosure, data version time and cells. */
export interface Answer extends AggregateQuery {
  k: number
  disclosure: Disclosure
  lastUpdated: string | null
  /** The country-months of the query that are not published: "not reported" is never read as 0. */
  coverage: Array<{ country: string, period: string, status: 'not_reported' | 'open' }>
  cells: AnswerCell[]
}

/** The number of whole months from..to spans (both inclusive). */
export function spanMonths (answer: Pick<Answer, 'from' | 'to'>): number {
  const index = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1
  return index(answer.to) - index(answer.from) + 1
}

/** The first month of a period label (2026-03, 2026-Q2, 2026) and its length in months. */
export function periodStart (label: string): { month: string, months: number } {
  const quarter = /^(\d{4})-Q([1-4])$/.exec(label)
  if (quarter) return { month: `${quarter[1]}-${String((Number(quarter[2]) - 1) * 3 + 1).padStart(2, '0')}`, months: 3 }
  if (/^\d{4}$/.test(label)) return { month: `${label}-01`, months: 12 }
  return { month: label, months: 1 }
}

/** The one value a filter selects on a dimension outside `by`, if it selects exactly one. */
export function singleFilter (answer: Pick<Answer, 'filters'>, dim: keyof Answer['filters']): string | undefined {
  const values = answer.filters[dim]
  return values?.length === 1 ? values[0] : undefined
}
