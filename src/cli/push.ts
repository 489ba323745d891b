// mhx push: a file of any size → submissions of at most N records, each with an Idempotency-Key
// derived from the file's SHA-256 and the batch number, so a re-run after a crash never duplicates.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { ApiError, type FieldError, type HubClient } from './client.js'
import { CliError, type Output } from './io.js'
import type { Dhis2Mapping } from '../intake/codecs/dhis2.js'
import { AGGREGATE_DEFAULT } from '../intake/codecs/index.js'
import { fileSha256, formatOf, isXmlFile, openRecords, type FileItem, type HeaderCheck } from './records.js'

export const DEFAULT_SCHEMA = 'migrant-health-event'
export const DEFAULT_VERSION = '1.0.0'
export const MAX_BATCH = 10_000
const ATTEMPTS = 4
// Bodies above this are sent gzip-compressed (the service undoes it; slow cross-border links gain most).
const GZIP_ABOVE_BYTES = 64 * 1024

export interface PushOptions {
  file: string
  schema?: string
  version?: string
  format?: string
  batchSize: number
  dryRun: boolean
  progress: boolean
}

export interface BatchResult {
  batch: number
  firstLine?: number
  lastLine?: number
  firstRecord: number
  records: number
  idempotencyKey?: string
  /** SHA-256 of the batch's NDJSON body, which the receipt's bodySha256 must equal */
  bodySha256?: string
  ok: boolean
  replayed?: boolean
  id?: string
  status?: string
  receipt?: string
  error?: { status?: number, detail: string, errors?: Array<FieldError & { fileLine?: number, fileRecord: number }>, errorsOmitted?: number }
}

export interface PushSummary {
  file: string
  sha256: string
  schema: string
  version: string
  dryRun: boolean
  batchSize: number
  records: number
  batches: BatchResult[]
  receiptsFile?: string
}

interface Batch { number: number, items: FileItem[] }

/** The push stopped part-way (the service went away, the network broke): what got in, and why it stopped. */
export class PushAborted extends Error {
  constructor (readonly summary: PushSummary, override readonly cause: Error) {
    super(cause.message)
    this.name = 'PushAborted'
  }
}

/** The command line that resumes a push: the same one (accepted batches are replayed, not stored twice). */
export function resumeCommand (args: string[]): string {
  const quoted = args.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, '\'\\\'\'')}'`)
  return `mhx ${quoted.join(' ')}`
}

/**
 * Faults of a whole file, told once instead of once per record: an empty file, a UTF-16 file, a CSV
 * separated by something mhx does not read (commas and semicolons it does). Unknown CSV/XLSX
 * columns are told once too, by headerCheck.
 */
export function fileFault (file: string, format: string): string | undefined {
  const head = Buffer.alloc(64 * 1024)
  const fd = openSync(file, 'r')
  let read: number
  try {
    read = readSync(fd, head, 0, head.length, 0)
  } finally {
    closeSync(fd)
  }
  const bytes = head.subarray(0, read)
  if (bytes.length === 0) return 'the file is empty: nothing to push'
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return 'the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8'
  }
  if (format !== 'csv') return undefined
  const firstLine = bytes.toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? ''
  if (firstLine.trim() === '') return 'line 1: the CSV header row is empty'
  if (!firstLine.includes(',') && !firstLine.includes(';')) {
    const separator = ['\t', '|'].find((s) => firstLine.includes(s))
    if (separator) return `line 1: the CSV header is one column; the file seems separated by ${separator === '\t' ? 'tabs' : `"${separator}"`}: mhx reads CSV separated by commas or semicolons`
  }
  return undefined
}

/** The key of one batch: same file, same batch size, same schema → same key. */
export function idempotencyKey (sha256: string, schema: string, version: string, batchSize: number, batch: number): string {
  const tag = `${schema}-${version}`.replace(/[^a-zA-Z0-9.-]/g, '_').slice(0, 60)
  return `mhx-${sha256.slice(0, 40)}-${tag}-b${batchSize}-${batch}`
}

export function receiptsFileOf (file: string): string {
  return `${file}.receipts.json`
}

export async function pushFile (client: HubClient, options: PushOptions, stderr: Output): Promise<PushSummary> {
  const file = options.file
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`${file}: no such file`)
  const format = formatOf(file, options.format)
  const size = statSync(file).size
  const sha256 = await fileSha256(file)
  const fault = fileFault(file, format)
  if (fault) throw new CliError(`${file}: ${fault}`)
  const aggregateFormat = format === 'adx' || format === 'dhis2'
  const schemaName = options.schema ?? (aggregateFormat ? AGGREGATE_DEFAULT.schema : undefined)
  const schemaVersion = options.version ?? (aggregateFormat ? AGGREGATE_DEFAULT.version : undefined)
  // a CSV or XLSX header is checked against the schema once, so an unknown column is told once, not per row
  const checkHeader = format === 'csv' || format === 'xlsx'
    ? await headerCheck(client, schemaName ?? DEFAULT_SCHEMA, schemaVersion ?? DEFAULT_VERSION)
    : undefined
  // a DHIS2 ADX export is mapped here, with the reporter's mapping from the hub, and sent as data values (source format adx)
  const source = openRecords(file, format, checkHeader, format === 'dhis2' && isXmlFile(file) ? await dhis2MappingOf(client) : undefined)
  if (options.schema && source.schema && options.schema !== source.schema) {
    throw new CliError(`${file} says schema "${source.schema}" but --schema says "${options.schema}"`, 2)
  }
  if (options.version && source.version && options.version !== source.version) {
    throw new CliError(`${file} says version "${source.version}" but --version says "${options.version}"`, 2)
  }
  const schema = schemaName ?? source.schema ?? DEFAULT_SCHEMA
  const version = schemaVersion ?? source.version ?? DEFAULT_VERSION
  const summary: PushSummary = { file: resolve(file), sha256, schema, version, dryRun: options.dryRun, batchSize: options.batchSize, records: 0, batches: [] }
  const receiptsFile = receiptsFileOf(file)
  const progress = options.progress && stderr.isTTY ? progressBar(stderr, size, basename(file)) : undefined

  let batch: Batch = { number: 1, items: [] }
  const flush = async () => {
    if (batch.items.length === 0) return
    const result = await sendBatch(client, batch, { sha256, schema, version, options, dhis2: source.format === 'dhis2' })
    summary.batches.push(result)
    summary.records += result.records
    if (!options.dryRun) saveReceipts(receiptsFile, summary)
    progress?.update(source.bytesRead(), summary)
    batch = { number: batch.number + 1, items: [] }
  }
  try {
    for await (const item of source.items) {
      batch.items.push(item)
      if (batch.items.length >= options.batchSize) await flush()
      else if (batch.items.length % 1000 === 0) progress?.update(source.bytesRead(), summary)
    }
    await flush()
  } catch (err) {
    progress?.done()
    // A fault of the file itself (its header) comes before any batch: nothing to resume.
    if (summary.batches.length === 0 && err instanceof CliError && !/cannot reach/.test(err.message)) throw err
    if (!options.dryRun && summary.batches.length > 0) summary.receiptsFile = receiptsFile
    throw new PushAborted(summary, err as Error)
  }
  progress?.done()
  if (summary.records === 0) throw new CliError(`${file}: holds no records (only a header, or blank lines)`)
  if (!options.dryRun && summary.batches.length > 0) summary.receiptsFile = receiptsFile
  return summary
}

interface BatchContext { sha256: string, schema: string, version: string, options: PushOptions, dhis2: boolean }

/** The reporter's DHIS2 mapping as the hub holds it, or undefined when it has none. */
async function dhis2MappingOf (client: HubClient): Promise<Dhis2Mapping | undefined> {
  try {
    return (await client.request<Dhis2Mapping>('GET', '/v1/mappings/dhis2', {})).body
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined
    throw err
  }
}

/** The fields of a record schema (of a data value for an aggregate one), from the hub, as a header check. */
async function headerCheck (client: HubClient, schema: string, version: string): Promise<HeaderCheck | undefined> {
  let document: { properties?: Record<string, unknown>, $defs?: { dataValue?: { properties?: Record<string, unknown> } } }
  try {
    document = (await client.request<typeof document>('GET', `/v1/schemas/${encodeURIComponent(schema)}/${encodeURIComponent(version)}`, {})).body
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw new CliError(`the hub has no schema ${schema} ${version}`, 2)
    throw err
  }
  const fields = Object.keys(document.$defs?.dataValue?.properties ?? document.properties ?? {})
  if (fields.length === 0) return undefined
  return (header) => {
    const unknown = header.filter((column) => !fields.includes(column))
    if (unknown.length === 0) return undefined
    return `unknown column${unknown.length === 1 ? '' : 's'} ${unknown.map((c) => JSON.stringify(c.slice(0, 64))).join(', ')} in the header: ${schema} ${version} has ${fields.join(', ')}`
  }
}

async function sendBatch (client: HubClient, batch: Batch, ctx: BatchContext): Promise<BatchResult> {
  const lines = batch.items.map((item) => item.line)
  const result: BatchResult = {
    batch: batch.number,
    firstLine: lines[0],
    lastLine: lines[lines.length - 1],
    firstRecord: batch.items[0].position,
    records: batch.items.length,
    ok: false
  }
  // A line that is not a record fails its batch here: the service would refuse the whole batch anyway.
  const faults = batch.items.filter((item): item is Extract<FileItem, { fault: string }> => 'fault' in item)
  if (faults.length > 0) {
    result.error = {
      detail: `${faults.length} unreadable ${faults.length === 1 ? 'line' : 'lines'}: batch not sent`,
      errors: faults.map((f) => ({ fileLine: f.line, fileRecord: f.position, path: '', message: f.fault }))
    }
    return result
  }
  // DHIS2 data values go as a dataValueSet through the reporter's mapping; everything else as NDJSON of the schema
  const text = ctx.dhis2
    ? JSON.stringify({ dataValues: batch.items.map((item) => (item as { record: unknown }).record) })
    : batch.items.map((item) => JSON.stringify((item as { record: unknown }).record)).join('\n') + '\n'
  result.bodySha256 = createHash('sha256').update(text).digest('hex')
  const gzip = Buffer.byteLength(text) > GZIP_ABOVE_BYTES
  const body = gzip ? new Uint8Array(gzipSync(text)) : text
  const key = ctx.options.dryRun ? undefined : idempotencyKey(ctx.sha256, ctx.schema, ctx.version, ctx.options.batchSize, batch.number)
  if (key) result.idempotencyKey = key
  try {
    const res = await withRetries(() => client.request<{ id?: string, status?: string, receipt?: string, recordCount?: number, valid?: boolean }>('POST', '/v1/submissions', {
      query: { schema: ctx.schema, version: ctx.version, ...(ctx.dhis2 ? { format: 'dhis2' } : {}), ...(ctx.options.dryRun ? { dryRun: 'true' } : {}) },
      body,
      contentType: ctx.dhis2 ? 'application/json' : 'application/x-ndjson',
      headers: { ...(key ? { 'idempotency-key': key } : {}), ...(gzip ? { 'content-encoding': 'gzip' } : {}) }
    }))
    result.ok = true
    result.id = res.body.id
    result.status = res.body.status ?? (res.body.valid ? 'valid' : undefined)
    result.receipt = res.body.receipt
    const replayed = res.headers.get('idempotent-replayed') ?? res.headers.get('idempotency-replayed')
    if (replayed !== null) result.replayed = replayed === 'true'
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    result.error = {
      status: err.status,
      detail: err.problem.detail ?? err.message,
      errors: (err.problem.errors ?? []).map((e) => ({
        ...e,
        // index is over this batch's records; the file's line is what the sender can fix
        fileLine: e.index !== undefined ? lines[e.index] : undefined,
        fileRecord: e.index !== undefined ? batch.items[e.index]?.position ?? -1 : -1
      })),
      ...(err.problem.errorsOmitted ? { errorsOmitted: err.problem.errorsOmitted } : {})
    }
    if (err.status === 409 && Array.isArray(err.problem.recordIds)) {
      result.error.detail += ` (recordIds: ${(err.problem.recordIds as string[]).slice(0, 10).join(', ')}${err.problem.recordIds.length > 10 ? ', …' : ''})`
    }
  }
  return result
}

/** The service being briefly away (restart, 503, 429) is retried: the Idempotency-Key makes it safe. */
async function withRetries<T> (call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      const transient = err instanceof ApiError ? [429, 502, 503, 504].includes(err.status) : err instanceof CliError && /cannot reach/.test(err.message)
      if (!transient || attempt >= ATTEMPTS) throw err
      await new Promise((resolve) => setTimeout(resolve, 250 * 4 ** (attempt - 1)))
    }
  }
}

/** Written after every batch (atomically), so receipts survive a crash half-way. */
function saveReceipts (file: string, summary: PushSummary): void {
  const doc = {
    file: summary.file,
    sha256: summary.sha256,
    schema: summary.schema,
    version: summary.version,
    batchSize: summary.batchSize,
    submissions: summary.batches.filter((b) => b.ok).map((b) => ({
      batch: b.batch, firstLine: b.firstLine, lastLine: b.lastLine, records: b.records, idempotencyKey: b.idempotencyKey, bodySha256: b.bodySha256, id: b.id, status: b.status, receipt: b.receipt
    })),
    failed: summary.batches.filter((b) => !b.ok).map((b) => ({ batch: b.batch, firstLine: b.firstLine, lastLine: b.lastLine, records: b.records, detail: b.error?.detail }))
  }
  const tmp = `${file}.tmp-${process.pid}`
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n')
  renameSync(tmp, file)
}

/** Where a fault is, in the file's terms: its line (CSV, NDJSON) or its record number (JSON). */
export function faultLocation (e: { fileLine?: number, fileRecord: number }): string {
  if (e.fileLine !== undefined) return `line ${e.fileLine}`
  if (e.fileRecord >= 0) return `record ${e.fileRecord + 1}`
  return 'batch'
}

/**
 * A fault's path is over the batch (`/records/3/sex`): shown relative to the record (`/sex`),
 * and left out when the message already names the field.
 */
export function faultText (e: FieldError): string {
  const path = (e.path ?? '').replace(/^\/(records|dataValues)\/\d+(?=\/|$)/, '')
  const message = e.message ?? ''
  const field = path.split('/').pop() ?? ''
  if (path === '' || (field !== '' && message.startsWith(field))) return message
  return `${path}: ${message}`
}

export function printPushSummary (summary: PushSummary, out: Output, err: Output): void {
  for (const b of summary.batches) {
    if (b.ok) continue
    const span = b.firstLine !== undefined ? `lines ${b.firstLine}–${b.lastLine}` : `records ${b.firstRecord + 1}–${b.firstRecord + b.records}`
    err.write(`batch ${b.batch} (${span}) failed${b.error?.status ? ` (${b.error.status})` : ''}: ${b.error?.detail ?? 'unknown error'}\n`)
    for (const e of b.error?.errors ?? []) err.write(`  ${faultLocation(e)}: ${faultText(e)}\n`)
    if (b.error?.errorsOmitted) err.write(`  … and ${b.error.errorsOmitted} more in this batch\n`)
  }
  const ok = summary.batches.filter((b) => b.ok)
  const failed = summary.batches.length - ok.length
  const okRecords = ok.reduce((n, b) => n + b.records, 0)
  const replayed = ok.filter((b) => b.replayed).length
  const verb = summary.dryRun ? 'validated' : 'submitted'
  out.write(`${verb} ${okRecords} of ${summary.records} records in ${ok.length} of ${summary.batches.length} ${summary.batches.length === 1 ? 'batch' : 'batches'}`
    + `${replayed ? ` (${replayed} already submitted before: replayed, not duplicated)` : ''}${failed ? `; ${failed} failed` : ''}\n`)
  if (summary.receiptsFile) out.write(`receipts: ${summary.receiptsFile}\n`)
}

function progressBar (out: Output, total: number, label: string) {
  const width = 30
  let last = ''
  return {
    update (read: number, summary: PushSummary) {
      const fraction = total > 0 ? Math.min(1, read / total) : 1
      const filled = Math.round(fraction * width)
      const line = `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${summary.records} records, ${summary.batches.length} batches`
      if (line !== last) out.write(line)
      last = line
    },
    done () {
      if (last) out.write('\n')
    }
  }
}
