// JSON: the answer as it is, each cell's `by` values as named fields (absent values null), and with
// ?labels= an answer-level `labels` map: dimension → code → name, for every code the answer shows.
import { ABSENT, type Dimension } from '../dimensions.js'
import type { Answer } from './answer.js'
import type { Language, Names } from './names.js'

export type JsonCell = Record<string, string | number | null>

export function jsonCells (answer: Answer): JsonCell[] {
  return answer.cells.map((cell) => {
    const out: JsonCell = {}
    answer.by.forEach((dim, i) => { out[dim] = cell.key[i] === ABSENT ? null : cell.key[i] })
    out.count = cell.count
    out.suppressed = cell.suppressed
    return out
  })
}

/** Per dimension of `by` and of the filters, the name of every code shown (absent values have none). */
export function labelMap (answer: Answer, names: Names, lang: Language): Partial<Record<Dimension, Record<string, string>>> {
  const out: Partial<Record<Dimension, Record<string, string>>> = {}
  const add = (dim: Dimension, code: string) => {
    if (code === ABSENT) return
    const map = out[dim] ?? (out[dim] = {})
    map[code] ??= names.code(dim, code, lang)
  }
  for (const cell of answer.cells) answer.by.forEach((dim, i) => add(dim, cell.key[i]))
  for (const [dim, values] of Object.entries(answer.filters) as Array<[Dimension, string[]]>) values.forEach((v) => add(dim, v))
  return out
}

export function toJson (answer: Answer, names: Names, labels?: Language): string {
  const body: Record<string, unknown> = { ...answer, cells: jsonCells(answer) }
  if (labels) body.labels = labelMap(answer, names, labels)
  return JSON.stringify(body)
}
