// CSV (RFC 4180, CRLF): the `by` columns (absent values empty), each followed by `<dim>_label` with
// ?labels=, then count (empty when protected), suppressed, and the disclosure method of the counts.
import { stringify } from 'csv-stringify/sync'
import { ABSENT } from '../dimensions.js'
import type { Answer } from './answer.js'
import type { Language, Names } from './names.js'

/** Rows to CSV text with CRLF line ends, quoting only where a field needs it. */
export function csvText (rows: string[][]): string {
  return stringify(rows, { record_delimiter: 'windows' })
}

export function toCsv (answer: Answer, names: Names, labels?: Language): string {
  const header = answer.by.flatMap((dim) => (labels ? [dim, `${dim}_label`] : [dim]))
  const rows = [[...header, 'count', 'suppressed', 'disclosure']]
  for (const cell of answer.cells) {
    const key = cell.key.flatMap((v, i) => {
      const code = v === ABSENT ? '' : v
      return labels ? [code, code === '' ? '' : names.code(answer.by[i], v, labels)] : [code]
    })
    rows.push([...key, cell.count === null ? '' : String(cell.count), cell.suppressed ?? '', answer.disclosure.method])
  }
  return csvText(rows)
}
