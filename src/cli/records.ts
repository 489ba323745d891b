// Records out of a file of any size, each with the 1-based line of the file where it starts,
// read as a stream: readline for NDJSON, csv-parse's stream for CSV; JSON is read whole (bounded).
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parse as csvParser } from 'csv-parse'
import ExcelJS from 'exceljs'
import * as adx from '../intake/codecs/adx.js'
import * as dhis2 from '../intake/codecs/dhis2.js'
import { AGGREGATE_DEFAULT, textOf, type Decoded } from '../intake/codecs/index.js'
import { HttpProblem } from '../problem.js'
import { CliError } from './io.js'

export type FileFormat = 'csv' | 'ndjson' | 'json' | 'xlsx' | 'adx' | 'dhis2'
export const FILE_FORMATS: readonly FileFormat[] = ['csv', 'ndjson', 'json', 'xlsx', 'adx', 'dhis2']

/** One item of a file: a record, or a line that could not be read as one. */
export type FileItem =
  | { record: unknown, line?: number, position: number }
  | { fault: string, line?: number, position: number }

/** Checks a CSV or XLSX header once per file (unknown columns): a fault there stops the push before any batch. */
export type HeaderCheck = (header: string[]) => string | undefined

export interface RecordSource {
  format: FileFormat
  /** schema and version named inside a JSON file `{schema, version, records}` */
  schema?: string
  version?: string
  items: AsyncIterable<FileItem>
  /** bytes of the file read so far, for the progress bar */
  bytesRead (): number
}

export const MAX_JSON_FILE_BYTES = 256 * 1024 * 1024

export function formatOf (file: string, given?: string): FileFormat {
  if (given !== undefined) {
    if ((FILE_FORMATS as readonly string[]).includes(given)) return given as FileFormat
    throw new CliError(`--format must be ${FILE_FORMATS.join(', ')}, got "${given}"`, 2)
  }
  const lower = file.toLowerCase().replace(/\.gz$/, '')
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson'
  if (lower.endsWith('.json')) return 'json'
  if (lower.endsWith('.xlsx')) return 'xlsx'
  if (lower.endsWith('.xml') || lower.endsWith('.adx')) return 'adx'
  throw new CliError(`cannot tell the format of ${file} from its name: pass --format ${FILE_FORMATS.join('|')}`, 2)
}

/** SHA-256 of the file, streamed. */
export async function fileSha256 (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** An XML file by its name: with --format dhis2, a DHIS2 ADX export rather than a dataValueSet. */
export function isXmlFile (file: string): boolean {
  return /\.(xml|adx)$/i.test(file)
}

/**
 * The items of a file. A DHIS2 ADX export (--format dhis2, an .xml or .adx file) is read through
 * `dhis2Mapping`, the reporter's mapping as the hub holds it (undefined: it has none).
 */
export function openRecords (file: string, format: FileFormat, checkHeader?: HeaderCheck, dhis2Mapping?: dhis2.Dhis2Mapping): RecordSource {
  if (format === 'dhis2' && isXmlFile(file)) return adxRecords(file, (bytes) => summedByDimensions(dhis2.decodeAdx(textOf({ bytes }), dhis2Mapping)))
  if (format === 'json' || format === 'dhis2') return jsonRecords(file, format)
  if (format === 'xlsx') return xlsxRecords(file, checkHeader)
  if (format === 'adx') return adxRecords(file, (bytes) => adx.decode({ bytes }))
  const stream = createReadStream(file)
  const bytesRead = () => stream.bytesRead
  return { format, bytesRead, items: format === 'csv' ? csvItems(stream, checkHeader) : ndjsonItems(stream) }
}

// counts (and any other integer-looking cell of a `count` column) travel as numbers
function cellValue (column: string, text: string): string | number {
  return column === 'count' && /^-?\d{1,15}$/.test(text) ? Number(text) : text
}

async function* ndjsonItems (stream: NodeJS.ReadableStream): AsyncIterable<FileItem> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let lineNo = 0
  let position = 0
  for await (const raw of lines) {
    lineNo++
    const text = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw
    if (text.trim() === '') continue
    try {
      yield { record: JSON.parse(text), line: lineNo, position: position++ }
    } catch (err) {
      yield { fault: `not valid JSON: ${(err as Error).message}`, line: lineNo, position: position++ }
    }
  }
}

/**
 * CSV: a header row of record field names, then one record per row. Every value stays a string;
 * an empty cell means the field is absent (the service reads CSV bodies the same way).
 */
async function* csvItems (stream: NodeJS.ReadableStream, checkHeader?: HeaderCheck): AsyncIterable<FileItem> {
  // spreadsheets in Russian and Kazakh locales write ';' between cells: csv-parse picks ',' or ';' from the header line
  const parser = csvParser({ bom: true, info: true, raw: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'], skip_records_with_error: true, delimiter: [',', ';'] })
  const skipped: Array<{ line: number, message: string }> = []
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, message: err.message.replace(/ (on|at) line \d+$/, '') })
  })
  stream.pipe(parser)
  let header: string[] | undefined
  let position = 0
  for await (const item of parser as AsyncIterable<{ record: string[], raw: string, info: { lines: number } }>) {
    // info.lines is the line the record ends on: step back over the newlines inside it.
    const inner = item.raw.replace(/^[\r\n]+/, '').replace(/[\r\n]+$/, '')
    const line = item.info.lines - (inner.match(/\n/g)?.length ?? 0)
    // skipped rows are reported as the parser meets them, ahead of the records still buffered
    while (skipped.length > 0 && skipped[0].line < line) {
      const bad = skipped.shift()!
      yield { fault: `CSV error: ${bad.message}`, line: bad.line, position: position++ }
    }
    if (!header) {
      header = item.record
      const fault = headerFault(header) ?? checkHeader?.(header)
      if (fault) throw new CliError(`line ${line}: ${fault}`)
      continue
    }
    const record: Record<string, string | number> = {}
    for (let i = 0; i < header.length; i++) {
      if (item.record[i] !== '' && item.record[i] !== undefined) record[header[i]] = cellValue(header[i], item.record[i])
    }
    yield { record, line, position: position++ }
  }
  for (const bad of skipped) yield { fault: `CSV error: ${bad.message}`, line: bad.line, position: position++ }
}

function headerFault (header: string[]): string | undefined {
  const seen = new Set<string>()
  for (const column of header) {
    if (column.trim() === '') return 'the CSV header has an empty column name'
    if (seen.has(column)) return `column "${column}" appears twice in the CSV header`
    seen.add(column)
  }
  return undefined
}

/** `{schema, version, records | dataValues: [...]}` or a bare array (or a DHIS2 dataValueSet); read whole, so bounded in size. */
function jsonRecords (file: string, format: 'json' | 'dhis2'): RecordSource {
  const size = statSync(file).size
  if (size > MAX_JSON_FILE_BYTES) {
    throw new CliError(`${file} is ${Math.round(size / 1048576)} MiB: JSON files are read whole, up to ${MAX_JSON_FILE_BYTES / 1048576} MiB; use NDJSON (one record per line) for bigger files`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''))
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`)
  }
  let records: unknown[]
  let schema: string | undefined
  let version: string | undefined
  if (Array.isArray(parsed)) {
    records = parsed
  } else if (typeof parsed === 'object' && parsed !== null && format === 'dhis2' && Array.isArray((parsed as { dataValues?: unknown }).dataValues)) {
    // a dataValueSet's period, orgUnit and attributeOptionCombo hold for its data values: carried into each
    const doc = parsed as Record<string, unknown> & { dataValues: unknown[] }
    const defaults = Object.fromEntries(['period', 'orgUnit', 'attributeOptionCombo'].filter((k) => doc[k] !== undefined).map((k) => [k, doc[k]]))
    records = doc.dataValues.map((dv) => typeof dv === 'object' && dv !== null ? { ...defaults, ...dv } : dv)
  } else if (typeof parsed === 'object' && parsed !== null && (Array.isArray((parsed as { records?: unknown }).records) || Array.isArray((parsed as { dataValues?: unknown }).dataValues))) {
    const doc = parsed as { schema?: unknown, version?: unknown, records?: unknown[], dataValues?: unknown[] }
    records = (doc.records ?? doc.dataValues) as unknown[]
    if (typeof doc.schema === 'string') schema = doc.schema
    if (typeof doc.version === 'string') version = doc.version
  } else {
    throw new CliError(`${file}: a JSON file must be an array of records or {"schema", "version", "records": [...]}`)
  }
  let read = 0
  async function* items (): AsyncIterable<FileItem> {
    for (let i = 0; i < records.length; i++) {
      read = Math.round(size * (i + 1) / records.length)
      yield { record: records[i], position: i }
    }
  }
  return { format, schema, version, bytesRead: () => read, items: items() }
}

/** XLSX: the first sheet, a header row of field names, then one record per row (cells as the sheet shows them). */
function xlsxRecords (file: string, checkHeader?: HeaderCheck): RecordSource {
  let read = 0
  const size = statSync(file).size
  async function* items (): AsyncIterable<FileItem> {
    const workbook = new ExcelJS.Workbook()
    try {
      await workbook.xlsx.readFile(file)
    } catch (err) {
      throw new CliError(`${file} is not a readable XLSX workbook: ${(err as Error).message}`)
    }
    const sheet = workbook.worksheets[0]
    if (!sheet) throw new CliError(`${file} has no sheet`)
    let header: string[] | undefined
    let position = 0
    for (let r = 1; r <= sheet.rowCount; r++) {
      const row = sheet.getRow(r)
      const cells = Array.from({ length: Math.max(row.cellCount, header?.length ?? 0) }, (_, i) => row.getCell(i + 1).text.trim())
      if (cells.every((c) => c === '')) continue
      if (!header) {
        header = cells
        while (header.length > 0 && header[header.length - 1] === '') header.pop()
        const fault = headerFault(header) ?? checkHeader?.(header)
        if (fault) throw new CliError(`${sheet.name} row ${r}: ${fault}`)
        continue
      }
      const record: Record<string, string | number> = {}
      header.forEach((column, i) => { if (cells[i]) record[column] = cellValue(column, cells[i]) })
      read = Math.round(size * r / sheet.rowCount)
      yield { record, line: r, position: position++ }
    }
  }
  return { format: 'xlsx', bytesRead: () => read, items: items() }
}

/**
 * ADX: parsed here as the service parses it (DOCTYPE refused; a DHIS2 export through the mapping),
 * into data values of migrant-health-aggregate; a fault names its line.
 */
/**
 * A DHIS2 export's data values with the same dimensions summed into the first of them, as the hub
 * sums those of one DHIS2 document (facilities of one area): they are sent as data values, which
 * the hub would refuse twice. A count that is no whole number is left alone, for the hub to name.
 */
export function summedByDimensions (decoded: Decoded): Decoded {
  const first = new Map<string, Record<string, unknown>>()
  const items: unknown[] = []
  const lines: number[] = []
  decoded.items.forEach((item, i) => {
    const { count, ...dimensions } = item as Record<string, unknown>
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a < b ? -1 : 1))
    const into = first.get(key)
    if (into !== undefined && Number.isInteger(count) && Number.isInteger(into.count)) {
      into.count = (into.count as number) + (count as number)
      return
    }
    const kept = { ...(item as Record<string, unknown>) }
    if (into === undefined) first.set(key, kept)
    items.push(kept)
    if (decoded.lines) lines.push(decoded.lines[i])
  })
  return { ...decoded, items, lines: decoded.lines ? lines : undefined }
}

function adxRecords (file: string, importer: (bytes: Buffer) => Decoded): RecordSource {
  let imported: Decoded
  try {
    imported = importer(readFileSync(file))
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err
    const errors = (err.extra.errors ?? []) as Array<{ line?: number, path: string, message: string }>
    throw new CliError(`${file}: ${err.message}${errors.slice(0, 20).map((e) => `\n  ${e.line === undefined ? '' : `line ${e.line}: `}${e.path}: ${e.message}`).join('')}`)
  }
  const size = statSync(file).size
  let read = 0
  async function* items (): AsyncIterable<FileItem> {
    for (let i = 0; i < imported.items.length; i++) {
      read = Math.round(size * (i + 1) / imported.items.length)
      yield { record: imported.items[i], line: imported.lines?.[i], position: i }
    }
  }
  return { format: 'adx', schema: AGGREGATE_DEFAULT.schema, version: AGGREGATE_DEFAULT.version, bytesRead: () => read, items: items() }
}
