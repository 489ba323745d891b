// The fast bulk path: every record of a submission in one statement, never one per record.
// On PostgreSQL a COPY (pg-copy-streams) on the transaction's own connection; elsewhere (PGlite),
// or when that connection cannot be reached, one INSERT … SELECT FROM unnest(…) with one array
// parameter per column, so a batch of any size stays far below the 65,535-parameter limit.
import { randomFillSync } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sql } from 'drizzle-orm'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Queryable } from '../db/connect.js'
import { recordIdOf, STORED_FIELDS, type CanonicalRecord } from './registry.js'

export { ABSENT } from '../model/fields.js'

export interface RecordOwner { submissionId: string, partnerId: string, country: string }

/** The stored columns a canonical record's values fill (model/fields.ts), in order. */
const VALUE_COLUMNS = STORED_FIELDS.map((f) => f.column as string)
const COLUMNS = ['submission_id', 'record_id', 'live', 'partner_id', ...VALUE_COLUMNS, 'count', 'record_key'].join(', ')
// the reporting country comes from the owner (its token), whatever the record said
const COUNTRY_AT = STORED_FIELDS.findIndex((f) => f.name === 'reportingCountry')

/**
 * Record keys of the cell-key method, one per record: uniform integers in [0, 2^32) from the CSPRNG.
 * They never leave the database; a cell's key is the sum of its records' keys.
 */
export function drawRecordKeys (n: number): Uint32Array {
  return randomFillSync(new Uint32Array(n))
}

/**
 * Inserts the records of one submission (live) in a single statement, inside the caller's
 * transaction. `copy` asks for COPY (PostgreSQL only); it falls back to unnest when the
 * transaction's pg connection cannot be reached.
 */
export async function insertRecords (q: Queryable, owner: RecordOwner, records: readonly CanonicalRecord[], options: { copy?: boolean } = {}): Promise<'copy' | 'unnest'> {
  if (records.length === 0) return 'unnest'
  const client = options.copy ? pgClientOf(q) : undefined
  if (client) {
    await copyRecords(client, owner, records)
    return 'copy'
  }
  await unnestRecords(q, owner, records)
  return 'unnest'
}

// drizzle's node-postgres transaction runs on one pooled connection, held by its session.
function pgClientOf (q: Queryable): pg.PoolClient | undefined {
  const client = (q as unknown as { session?: { client?: unknown } }).session?.client as Partial<pg.PoolClient> | undefined
  return client && typeof client.query === 'function' && typeof client.release === 'function' ? client as pg.PoolClient : undefined
}

// COPY text format: tab-separated, with \\, tab, newline and carriage return escaped.
const NEEDS_ESCAPE = /[\\\t\n\r]/
function copyValue (value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value
}

/**
 * The COPY text of a submission's records (tab-separated, one line each, keys drawn here), as
 * UTF-8 bytes, each line written into one buffer as it is joined. A data value's recordId derives
 * from its reporter and values (recordIdOf).
 */
export function copyLines (owner: RecordOwner, records: readonly CanonicalRecord[]): Buffer {
  const keys = drawRecordKeys(records.length)
  const width = VALUE_COLUMNS.length
  // submission, record id, live, partner, the values, count, record key
  const columns = new Array<string>(width + 6)
  columns[0] = copyValue(owner.submissionId)
  columns[2] = 't'
  columns[3] = copyValue(owner.partnerId)
  let bytes: Buffer = Buffer.allocUnsafe(records.length * 256 + 1024)
  let at = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    columns[1] = copyValue(recordIdOf(r, owner.partnerId))
    for (let c = 0; c < width; c++) columns[4 + c] = copyValue(c === COUNTRY_AT ? owner.country : r.values[c])
    columns[4 + width] = String(r.count)
    columns[5 + width] = keys[i] + '\n'
    const line = columns.join('\t')
    // a UTF-16 code unit is at most 3 bytes of UTF-8
    if (at + 3 * line.length > bytes.length) bytes = grown(bytes, at, 3 * line.length)
    at += bytes.write(line, at)
  }
  return bytes.subarray(0, at)
}

function grown (bytes: Buffer, used: number, more: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(2 * bytes.length, used + more))
  bytes.copy(next, 0, 0, used)
  return next
}

async function copyRecords (client: pg.PoolClient, owner: RecordOwner, records: readonly CanonicalRecord[]): Promise<void> {
  await pipeline(Readable.from([copyLines(owner, records)]), client.query(copyFrom(`COPY records (${COLUMNS}) FROM STDIN`)))
}

async function unnestRecords (q: Queryable, owner: RecordOwner, records: readonly CanonicalRecord[]): Promise<void> {
  const n = records.length
  const recordId = new Array<string>(n)
  const count = new Array<number>(n)
  const columns = VALUE_COLUMNS.map(() => new Array<string>(n))
  for (let i = 0; i < n; i++) {
    const r = records[i]
    recordId[i] = recordIdOf(r, owner.partnerId)
    count[i] = r.count
    for (let c = 0; c < columns.length; c++) columns[c][i] = c === COUNTRY_AT ? owner.country : r.values[c]
  }
  const keys = Array.from(drawRecordKeys(n))
  const arrays = sql.join(columns.map((values) => sql`${sql.param(values)}::text[]`), sql`, `)
  const names = sql.raw(['record_id', ...VALUE_COLUMNS, 'count', 'record_key'].join(', '))
  await q.execute(sql`
    INSERT INTO records (${sql.raw(COLUMNS)})
    SELECT ${owner.submissionId}::uuid, r.record_id, true, ${owner.partnerId}, ${sql.raw(VALUE_COLUMNS.map((c) => 'r.' + c).join(', '))}, r.count, r.record_key
    FROM unnest(${sql.param(recordId)}::uuid[], ${arrays}, ${sql.param(count)}::integer[], ${sql.param(keys)}::bigint[])
      AS r(${names})`)
}
