// Pure parsers from a submission body (NDJSON or CSV) to records, keeping the 1-based line of each
// record so a fault can name the line a ministry sees in its file.
import { readFileSync } from 'node:fs'
import { parse as parseCsvSync } from 'csv-parse/sync'
import { CsvError } from 'csv-parse'
import { Utf8Body } from './body.js'
import { defaultSchemasDir } from './registry.js'

export interface ParsedBody {
  records: unknown[]
  /** lines[i] is the 1-based line of the body where record i starts */
  lines: number[]
}

export interface ParseFailure {
  error: { line: number, message: string }
}

export type ParseResult = ParsedBody | ParseFailure

/** Field names of a record schema document, in schema order. */
export function recordFieldsOf (schemaDocument: unknown): string[] {
  const properties = (schemaDocument as { properties?: unknown } | null)?.properties
  if (typeof properties !== 'object' || properties === null) throw new Error('record schema has no properties')
  return Object.keys(properties)
}

/** Field names of migrant-health-event 1.0.0, read from its schema file (the only copy). */
export const recordFields: readonly string[] = Object.freeze(
  recordFieldsOf(JSON.parse(readFileSync(`${defaultSchemasDir()}/migrant-health-event/1.0.0.json`, 'utf8')))
)

export function isParseFailure (result: ParseResult): result is ParseFailure {
  return 'error' in result
}

/** NDJSON: one JSON value per line (the validator checks it is a record object); blank lines are ignored. */
export function parseNdjson (body: string | Buffer): ParseResult {
  const text = decodeBody(body)
  if (typeof text !== 'string') return text
  const records: unknown[] = []
  const lines: number[] = []
  const bodyLines = text.split('\n')
  for (let i = 0; i < bodyLines.length; i++) {
    const line = bodyLines[i].endsWith('\r') ? bodyLines[i].slice(0, -1) : bodyLines[i]
    if (line.trim() === '') continue
    try {
      records.push(JSON.parse(line))
    } catch (error) {
      return { error: { line: i + 1, message: `line ${i + 1} is not valid JSON: ${(error as Error).message}` } }
    }
    lines.push(i + 1)
  }
  return { records, lines }
}

/**
 * CSV: a header row naming record fields, then one record per row. Every value is a string;
 * an empty cell means the field is absent. Values are kept as sent (not trimmed): repairs hide data errors.
 */
export function parseCsv (body: string | Buffer, fields: readonly string[] = recordFields, integers: readonly string[] = []): ParseResult {
  const text = decodeBody(body)
  if (typeof text !== 'string') return text
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
    return { error: { line, message: `CSV error at line ${line}: ${reason}` } }
  }
  if (rows.length === 0) return { records: [], lines: [] }
  const headerProblem = csvHeaderProblem(rows[0], fields)
  const lines = linesAt(bytes, rowStarts)
  if (headerProblem) return { error: { line: lines[0], message: headerProblem } }
  const header = rows[0]
  return { records: rows.slice(1).map((row) => recordFromRow(header, row, integers)), lines: lines.slice(1) }
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

// integer columns (an aggregate's count) are numbers when they read as one; otherwise kept as sent for the schema to name
function recordFromRow (header: string[], row: string[], integers: readonly string[]): Record<string, string | number> {
  const record: Record<string, string | number> = {}
  for (let i = 0; i < header.length; i++) {
    if (row[i] === '') continue
    record[header[i]] = integers.includes(header[i]) && /^-?\d{1,15}$/.test(row[i]) ? Number(row[i]) : row[i]
  }
  return record
}

// a BOM is tolerated (spreadsheets add it); bytes that are not UTF-8 are refused rather than replaced
function decodeBody (body: string | Buffer): string | ParseFailure {
  if (typeof body === 'string') return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body
  const decoded = Utf8Body.of(body)
  if (decoded) return decoded.text()
  const line = lineOfFirstReplacement(body)
  return { error: { line, message: `line ${line} is not valid UTF-8` } }
}

function lineOfFirstReplacement (body: Buffer): number {
  const lossy = new TextDecoder('utf-8').decode(body)
  const at = lossy.indexOf('\ufffd')
  return lossy.slice(0, Math.max(at, 0)).split('\n').length
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
