// CSV: a header row naming fields of the schema, then one record (or data value) per row, each
// keeping the 1-based line it starts on. Every value is a string but the integer columns given
// (an aggregate's count); an empty cell means the field is absent. Values are kept as sent (not
// trimmed): repairs hide data errors.
import { parse as parseCsvSync } from 'csv-parse/sync'
import { CsvError } from 'csv-parse'
import { problem } from '../../problem.js'
import { textOf, type Decoded } from './index.js'

export interface CsvOptions {
  /** the schema's field names: the header may name these only */
  fields: readonly string[]
  /** columns read as numbers when they read as one (a data value's count) */
  integers?: readonly string[]
  member?: 'records' | 'dataValues'
}

export function decode (body: { bytes: Buffer }, options: CsvOptions): Decoded {
  const { fields, integers = [], member = 'records' } = options
  const text = textOf(body)
  // csv-parse counts bytes reliably but not lines (CRLF, quoted newlines): lines come from byte offsets
  const bytes = Buffer.from(text, 'utf8')
  const rows: string[][] = []
  const rowStarts: number[] = []
  let consumed = 0
  try {
    parseCsvSync(text, {
      bom: false,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n'],
      on_record: (row: string[], context: { bytes: number }) => {
        rows.push(row)
        rowStarts.push(firstContentByte(bytes, consumed))
        consumed = context.bytes
        return null
      }
    })
  } catch (error) {
    const [line] = linesAt(bytes, [firstContentByte(bytes, consumed)])
    const reason = error instanceof CsvError ? error.message.replace(/ (on|at) line \d+$/, '') : (error as Error).message
    fail(line, `CSV error at line ${line}: ${reason}`)
  }
  const locate = (index: number, path: string): string => `/${member}/${index}${path}`
  if (rows.length === 0) return { items: [], lines: [], locate }
  const lines = linesAt(bytes, rowStarts)
  const headerProblem = csvHeaderProblem(rows[0], fields)
  if (headerProblem) fail(lines[0], headerProblem)
  const header = rows[0]
  return { items: rows.slice(1).map((row) => recordFromRow(header, row, integers)), lines: lines.slice(1), locate }
}

function fail (line: number, message: string): never {
  throw problem('badRequest', message, { errors: [{ line, path: '', message }] })
}

function csvHeaderProblem (header: string[], fields: readonly string[]): string | undefined {
  const known = new Set(fields)
  const seen = new Set<string>()
  for (const column of header) {
    if (column === '') return 'CSV header has an empty column name'
    if (!known.has(column)) {
      return `unknown field ${JSON.stringify(column.slice(0, 64))} in the CSV header (records are closed; known fields: ${fields.join(', ')})`
    }
    if (seen.has(column)) return `field ${JSON.stringify(column)} appears twice in the CSV header`
    seen.add(column)
  }
  return undefined
}

// integer columns are numbers when they read as one; otherwise kept as sent for the schema to name
function recordFromRow (header: string[], row: string[], integers: readonly string[]): Record<string, string | number> {
  const record: Record<string, string | number> = {}
  for (let i = 0; i < header.length; i++) {
    if (row[i] === '') continue
    record[header[i]] = integers.includes(header[i]) && /^-?\d{1,15}$/.test(row[i]) ? Number(row[i]) : row[i]
  }
  return record
}

// skipped empty lines sit between the previous record and the next: step over them
function firstContentByte (bytes: Buffer, from: number): number {
  let at = from
  while (at < bytes.length && (bytes[at] === 0x0a || bytes[at] === 0x0d)) at++
  return at
}

/** 1-based lines of ascending byte offsets, in one pass over the body. */
function linesAt (bytes: Buffer, offsets: number[]): number[] {
  const lines: number[] = []
  let line = 1
  let nextNewline = bytes.indexOf(0x0a)
  for (const offset of offsets) {
    while (nextNewline !== -1 && nextNewline < offset) {
      line++
      nextNewline = bytes.indexOf(0x0a, nextNewline + 1)
    }
    lines.push(line)
  }
  return lines
}
