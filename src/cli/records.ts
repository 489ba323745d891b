// Records out of a file of any size, each with the 1-based line of the file where it starts,
// read as a stream: readline for NDJSON, csv-parse's stream for CSV; JSON is read whole (bounded).
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parse as csvParser } from 'csv-parse'
import { CliError } from './io.js'

export type FileFormat = 'csv' | 'ndjson' | 'json'

/** One item of a file: a record, or a line that could not be read as one. */
export type FileItem =
  | { record: unknown, line?: number, position: number }
  | { fault: string, line?: number, position: number }

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
    if (given === 'csv' || given === 'ndjson' || given === 'json') return given
    throw new CliError(`--format must be csv, ndjson or json, got "${given}"`, 2)
  }
  const lower = file.toLowerCase().replace(/\.gz$/, '')
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson'
  if (lower.endsWith('.json')) return 'json'
  throw new CliError(`cannot tell the format of ${file} from its name: pass --format csv|ndjson|json`, 2)
}

/** SHA-256 of the file, streamed. */
export async function fileSha256 (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function openRecords (file: string, format: FileFormat): RecordSource {
  if (format === 'json') return jsonRecords(file)
  const stream = createReadStream(file)
  const bytesRead = () => stream.bytesRead
  return { format, bytesRead, items: format === 'csv' ? csvItems(stream) : ndjsonItems(stream) }
}

async function * ndjsonItems (stream: NodeJS.ReadableStream): AsyncIterable<FileItem> {
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
async function * csvItems (stream: NodeJS.ReadableStream): AsyncIterable<FileItem> {
  const parser = csvParser({ bom: true, info: true, raw: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'], skip_records_with_error: true })
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
      const fault = headerFault(header)
      if (fault) throw new CliError(`line ${line}: ${fault}`)
      continue
    }
    const record: Record<string, string> = {}
    for (let i = 0; i < header.length; i++) {
      if (item.record[i] !== '' && item.record[i] !== undefined) record[header[i]] = item.record[i]
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

/** `{schema, version, records: [...]}` or a bare array; read whole, so bounded in size. */
function jsonRecords (file: string): RecordSource {
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
  } else if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { records?: unknown }).records)) {
    const doc = parsed as { schema?: unknown, version?: unknown, records: unknown[] }
    records = doc.records
    if (typeof doc.schema === 'string') schema = doc.schema
    if (typeof doc.version === 'string') version = doc.version
  } else {
    throw new CliError(`${file}: a JSON file must be an array of records or {"schema", "version", "records": [...]}`)
  }
  let read = 0
  async function * items (): AsyncIterable<FileItem> {
    for (let i = 0; i < records.length; i++) {
      read = Math.round(size * (i + 1) / records.length)
      yield { record: records[i], position: i }
    }
  }
  return { format: 'json', schema, version, bytesRead: () => read, items: items() }
}
