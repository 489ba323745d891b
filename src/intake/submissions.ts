// Submissions: validate a batch, store it atomically with its records and receipt, list, show and
// retract. Routes call these; everything they need arrives as arguments.
import { randomUUID } from 'node:crypto'
import { and, desc, eq, lt, or, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import { announce } from '../aggregation/outbox.js'
import type { AggregationQueue } from '../aggregation/queue.js'
import { appendAudit } from '../audit/log.js'
import type { Caller } from '../auth/bearer.js'
import type { HubKeys } from '../auth/hub-keys.js'
import { SCOPE } from '../auth/scopes.js'
import { inTransaction, rows, sqlState, type Database, type Queryable } from '../db/connect.js'
import { submissions } from '../db/schema.js'
import { decodeCursor, encodeCursor, type Page } from '../paging.js'
import { listedErrors, MAX_LISTED_ERRORS, problem, type FieldError } from '../problem.js'
import { insertRecords } from './bulk.js'
import { claimIdempotencyKey, storedAnswer } from './idempotency.js'
import { signReceipt } from './receipt.js'
import { duplicateDataValues, recordIdOf, type CanonicalRecord, type RecordFault, type SchemaRegistry } from './registry.js'
import type { ImportReceived } from './codecs/index.js'

export type SubmissionStatus = 'accepted' | 'aggregated' | 'retracting' | 'retracted' | 'replaced'

export interface IntakeDeps {
  database: Database
  keys: HubKeys
  queue: AggregationQueue
  schemas: SchemaRegistry
  publicUrl: string
  maxRecords: number
  now: () => Date
  log?: Pick<Logger, 'warn'>
}

export interface SubmissionInput {
  schema: string
  version: string
  records: unknown[]
  /** 1-based body line of each record (CSV / NDJSON bodies) */
  lines?: number[]
  /** the place in the document (ADX element, DHIS2 data value) a fault of record `index` at `path` names */
  locate?: (index: number, path: string) => string
  /** hex SHA-256 of the body as sent, gzip undone */
  bodySha256: string
  /** identifies the request for Idempotency-Key: same key, same fingerprint → same answer */
  requestSha256: string
  idempotencyKey?: string
  dryRun: boolean
  /** A correction: the id of the caller's submission this one replaces (atomically, in the worker). */
  replaces?: string
  /** the document's index of each record, where the decoder left some out (DHIS2 zeros, deleted values) */
  indices?: number[]
  /**
   * DHIS2: data values with the same dimensions are summed into one (facilities of one area), not
   * refused, and the answer holds an importSummary of what was received, imported, summed, ignored
   */
  dhis2?: ImportReceived
}

/** The importSummary of a DHIS2 submission, in DHIS2's words: what came, what was stored, summed, left out. */
export interface ImportSummary extends ImportReceived { imported: number, summed: number }

export interface SubmissionView {
  id: string
  status: SubmissionStatus
  schema: string
  version: string
  country: string
  recordCount: number
  bodySha256: string
  createdAt: string
  changedAt: string
  aggregatedAt: string | null
  retractedAt: string | null
  replaces: string | null
  replacedBy: string | null
  receipt?: string
}

/** What the route sends: a status, a body, and for an accepted submission its Location. */
export interface IntakeAnswer {
  statusCode: number
  body: unknown
  location?: string
  replayed?: boolean
}

export function statusOf (row: { counted: boolean, applied: boolean, replacedBy?: string | null }): SubmissionStatus {
  if (row.counted) return row.applied ? 'aggregated' : 'accepted'
  if (row.replacedBy) return 'replaced'
  return row.applied ? 'retracting' : 'retracted'
}

/** A 422 naming the schema (or its version) unless it is a record schema of the registry. */
export function assertKnownSchema (schemas: SchemaRegistry, name: string, version: string): void {
  if (schemas.has(name, version)) return
  const known = schemas.list().filter((s) => s.kind === 'record-schema').map((s) => `${s.name} ${s.version}`)
  const nameKnown = known.some((k) => k.startsWith(`${name} `))
  throw problem('validation', `unknown record schema ${nameKnown ? `version ${name} ${version}` : name} (known: ${known.join(', ')})`, {
    errors: [{ path: nameKnown ? 'version' : 'schema', message: nameKnown ? `unknown version ${version} of ${name}` : `unknown schema ${name}` }]
  })
}

/** Validates and, unless dryRun, stores a submission: all records or none. */
export async function submit (deps: IntakeDeps, caller: Caller, input: SubmissionInput): Promise<IntakeAnswer> {
  const { schemas } = deps
  assertKnownSchema(schemas, input.schema, input.version)
  const aggregate = schemas.isAggregate(input.schema, input.version)
  const items = aggregate ? 'dataValues' : 'records'
  const received = input.records.length
  if (received > deps.maxRecords) {
    throw problem('tooLarge', `a submission holds at most ${deps.maxRecords} records (MHX_MAX_RECORDS); this one has ${received}: split it (\`mhx push\` sends a file of any size in batches)`)
  }
  if (received === 0) {
    throw problem('validation', `the submission holds no ${aggregate ? 'data values' : 'records'}`, { errors: [{ path: `/${items}`, message: 'at least one is required' }] })
  }
  const country = caller.country
  if (!country) throw problem('conflict', `partner ${caller.partnerId} has no country, so it cannot report; ask the hub operator`)

  const key = input.dryRun ? undefined : input.idempotencyKey
  if (key !== undefined) {
    const stored = await storedAnswer(deps.database.db, caller.partnerId, key, input.requestSha256, deps.now())
    if (stored) return { ...stored, replayed: true }
  }
  // a 422 naming the faults of records (data values) by index, line or place in the document;
  // `uncounted` more were found but not kept (validation stops keeping them at MAX_LISTED_ERRORS)
  const refuseFaults = (faults: RecordFault[], uncounted: number): never => {
    const errors: FieldError[] = faults.map((f) => ({
      index: input.indices?.[f.index] ?? f.index,
      ...(input.lines ? { line: input.lines[f.index] } : {}),
      path: input.locate ? input.locate(f.index, f.path) : `/${items}/${f.index}${f.path}`,
      message: f.message
    }))
    const total = errors.length + uncounted
    const bad = new Set(faults.map((f) => f.index)).size
    throw problem('validation', `${total} fault${total === 1 ? '' : 's'} in ${bad}${uncounted > 0 ? '+' : ''} of ${received} ${aggregate ? 'data values' : 'records'}; nothing was stored`,
      listedErrors(errors, uncounted))
  }
  const recordIdsOf = (records: CanonicalRecord[]): string[] => records.map((r) => recordIdOf(r, caller.partnerId))
  // two data values of one submission with the same dimensions would count twice
  const refuseDuplicates = (recordIds: string[]): void => {
    const duplicates = aggregate ? duplicateDataValues(recordIds) : []
    if (duplicates.length > 0) refuseFaults(duplicates, 0)
  }

  const result = schemas.validate(input.schema, input.version, input.records, { reportingCountry: country, maxErrors: MAX_LISTED_ERRORS })
  if (result.faults.length > 0 || result.faultsOmitted > 0) refuseFaults(result.faults, result.faultsOmitted)
  // DHIS2: data values of the same dimensions summed into one; `origins` the index (of input.records) each stored one stands for
  const sum = input.dhis2 ? summedByDimensions(result.records) : undefined
  if (sum && sum.faults.length > 0) refuseFaults(sum.faults, 0)
  const kept: CanonicalRecord[] = sum?.records ?? result.records
  const origins = sum?.origins
  const importSummary: ImportSummary | undefined = input.dhis2 && { received: input.dhis2.received, imported: kept.length, summed: received - kept.length, ignored: input.dhis2.ignored }
  const recordCount = kept.length
  const summary = importSummary ? { importSummary } : {}
  if (input.dryRun) {
    if (aggregate) refuseDuplicates(recordIdsOf(kept))
    return { statusCode: 200, body: { valid: true, recordCount, ...summary } }
  }

  const id = randomUUID()
  const at = deps.now()
  const receipt = await signReceipt(deps.keys, {
    iss: deps.publicUrl,
    sub: caller.partnerId,
    iat: Math.floor(at.getTime() / 1000),
    submissionId: id,
    country,
    schema: input.schema,
    schemaVersion: input.version,
    recordCount,
    bodySha256: input.bodySha256
  })
  const answer: IntakeAnswer = {
    statusCode: 202,
    body: { id, status: 'accepted', recordCount, receipt, ...summary },
    location: `/v1/submissions/${id}`
  }
  let replay: IntakeAnswer | undefined
  try {
    await inTransaction(deps.database, async (tx) => {
      // first, so that the key is held while the rest is written, and freed if any of it fails
      const stored = key === undefined ? undefined : await claimIdempotencyKey(tx, caller.partnerId, key, input.requestSha256, answer, at)
      if (stored) {
        replay = { ...stored, replayed: true }
        return
      }
      await tx.insert(submissions).values({
        id,
        partnerId: caller.partnerId,
        country,
        schemaName: input.schema,
        schemaVersion: input.version,
        recordCount,
        bodySha256: input.bodySha256,
        counted: true,
        applied: false,
        generation: 1,
        receipt,
        createdAt: at,
        changedAt: at,
        replaces: input.replaces ?? null
      })
      // The replaced submission stops counting and frees its recordIds in this transaction; the
      // worker swaps the two in the cells in one transaction of its own.
      if (input.replaces !== undefined) await markReplaced(tx, caller, input.replaces, id, at)
      await insertRecords(tx, { submissionId: id, partnerId: caller.partnerId, country }, kept, { copy: deps.database.kind === 'postgres' })
      await appendAudit(tx, {
        partnerId: caller.partnerId,
        action: 'submission.accept',
        subject: id,
        detail: { schema: input.schema, version: input.version, recordCount, bodySha256: input.bodySha256 }
      }, at)
    })
  } catch (err) {
    if (sqlState(err) !== '23505') throw err
    // the unique index on live recordIds met a duplicate in this submission, or a live one
    const recordIds = recordIdsOf(kept)
    refuseDuplicates(recordIds)
    const taken = await liveRecordIds(deps.database.db, caller.partnerId, recordIds)
    if (!aggregate) throw recordIdsTaken(taken)
    // a data value's recordId is derived from its dimensions: name the data values, not the ids
    const live = new Set(taken)
    const errors = recordIds.flatMap((recordId, i) => {
      if (!live.has(recordId)) return []
      const index = origins?.[i] ?? i
      return [{ index: input.indices?.[index] ?? index, path: input.locate ? input.locate(index, '') : `/dataValues/${index}`, message: 'a data value with these dimensions is already live in another of your submissions: retract it first' }]
    })
    throw problem('conflict', `${errors.length} data value${errors.length === 1 ? ' is' : 's are'} already live in another of your submissions (retract it first); nothing was stored`,
      listedErrors(errors))
  }
  if (replay) return replay
  await announce(deps.queue, { submissionId: id, generation: 1 }, deps.log)
  return answer
}

/** The largest count of a data value (migrant-health-aggregate's `count`). */
const MAX_COUNT = 1_000_000

/**
 * Data values with the same dimensions summed into the first of them (a DHIS2 export of facilities
 * lists each; mhx counts their area), with the index of that first one for each; a sum above the
 * largest count is a fault of the value that passed it.
 */
function summedByDimensions (records: readonly CanonicalRecord[]): { records: CanonicalRecord[], origins: number[], faults: RecordFault[] } {
  const first = new Map<string, number>()
  const summed: CanonicalRecord[] = []
  const origins: number[] = []
  const faults: RecordFault[] = []
  records.forEach((record, index) => {
    const key = record.values.join('\t')
    const at = first.get(key)
    if (at === undefined) {
      first.set(key, summed.length)
      summed.push({ ...record })
      origins.push(index)
      return
    }
    const into = summed[at]
    into.count += record.count
    if (into.count > MAX_COUNT && into.count - record.count <= MAX_COUNT) {
      faults.push({ index, path: '', message: `summed with the data values of the same dimensions before it, the count comes to more than ${MAX_COUNT}` })
    }
  })
  return { records: summed, origins, faults }
}

/**
 * Marks the caller's submission `replaced` as replaced by `by`. Only its reporter may (403); an
 * unknown id, or one retracted or replaced already, is a 422 naming `replaces`.
 */
async function markReplaced (tx: Queryable, caller: Caller, replaced: string, by: string, at: Date): Promise<void> {
  const [row] = await tx.select({ partnerId: submissions.partnerId, counted: submissions.counted, generation: submissions.generation })
    .from(submissions).where(eq(submissions.id, replaced)).for('update').limit(1)
  if (!row) throw problem('validation', `replaces: no submission ${replaced}`, { errors: [{ path: 'replaces', message: 'no such submission' }] })
  if (row.partnerId !== caller.partnerId) {
    throw problem('notOwner', `replaces: submission ${replaced} is not yours; only its reporter may replace it`, { errors: [{ path: 'replaces', message: 'not your submission' }] })
  }
  if (!row.counted) throw problem('validation', `replaces: submission ${replaced} is retracted or replaced already`, { errors: [{ path: 'replaces', message: 'retracted or replaced already' }] })
  await tx.update(submissions).set({ counted: false, replacedBy: by, generation: row.generation + 1, changedAt: at }).where(eq(submissions.id, replaced))
  await tx.execute(sql`UPDATE records SET live = false WHERE submission_id = ${replaced} AND live`)
  await appendAudit(tx, { partnerId: caller.partnerId, action: 'submission.replace', subject: replaced, detail: { replacedBy: by } }, at)
}

function recordIdsTaken (recordIds: string[]) {
  const listed = recordIds.slice(0, MAX_LISTED_ERRORS)
  const more = recordIds.length - listed.length
  return problem('conflict',
    `${recordIds.length} recordId${recordIds.length === 1 ? ' is' : 's are'} already live in another of your submissions (retract it first): ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}; nothing was stored`,
    { recordIds: listed, ...(more > 0 ? { recordIdsOmitted: more } : {}) })
}

async function liveRecordIds (q: Queryable, partnerId: string, recordIds: string[]): Promise<string[]> {
  const found = await rows<{ record_id: string }>(q, sql`
    SELECT record_id FROM records
    WHERE partner_id = ${partnerId} AND live AND record_id = ANY(${sql.param(recordIds)}::uuid[])
    ORDER BY record_id`)
  return found.map((r) => r.record_id)
}

type SubmissionRow = typeof submissions.$inferSelect

function viewOf (row: SubmissionRow, withReceipt: boolean): SubmissionView {
  return {
    id: row.id,
    status: statusOf(row),
    schema: row.schemaName,
    version: row.schemaVersion,
    country: row.country,
    recordCount: row.recordCount,
    bodySha256: row.bodySha256,
    createdAt: row.createdAt.toISOString(),
    changedAt: row.changedAt.toISOString(),
    aggregatedAt: row.aggregatedAt?.toISOString() ?? null,
    retractedAt: row.retractedAt?.toISOString() ?? null,
    replaces: row.replaces,
    replacedBy: row.replacedBy,
    ...(withReceipt ? { receipt: row.receipt } : {})
  }
}

/** The caller's own submissions, newest first. */
export async function listSubmissions (q: Queryable, partnerId: string, limit: number, cursor?: string): Promise<Page<SubmissionView>> {
  const after = cursor ? decodeCursor<{ c: string, i: string }>(cursor) : undefined
  if (after && (typeof after.c !== 'string' || typeof after.i !== 'string' || Number.isNaN(Date.parse(after.c)) || !/^[0-9a-f-]{36}$/.test(after.i))) {
    throw problem('badRequest', 'cursor is not one this service handed out', { errors: [{ path: 'cursor', message: 'invalid cursor' }] })
  }
  const mine = eq(submissions.partnerId, partnerId)
  const where = after
    ? and(mine, or(lt(submissions.createdAt, new Date(after.c)), and(eq(submissions.createdAt, new Date(after.c)), lt(submissions.id, after.i))))
    : mine
  const found = await q.select().from(submissions).where(where)
    .orderBy(desc(submissions.createdAt), desc(submissions.id)).limit(limit + 1)
  const items = found.slice(0, limit).map((row) => viewOf(row, false))
  const last = found.length > limit ? found[limit - 1] : undefined
  return { items, nextCursor: last ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id }) : null }
}

/** A submission its reporter or an admin may see; to anyone else it does not exist. */
export async function getSubmission (q: Queryable, caller: Caller, id: string): Promise<SubmissionView> {
  const [row] = await q.select().from(submissions).where(eq(submissions.id, id)).limit(1)
  if (!row || !maySee(caller, row)) throw notFound(id)
  return viewOf(row, true)
}

function maySee (caller: Caller, row: { partnerId: string }): boolean {
  return row.partnerId === caller.partnerId || caller.scopes.has(SCOPE.admin)
}

function notFound (id: string) {
  return problem('notFound', `no submission ${id}`)
}

/**
 * Retracts a submission: it stops counting (the processor subtracts it if it was applied) and
 * its recordIds are free at once. A second retraction is a 409.
 */
export async function retractSubmission (deps: Pick<IntakeDeps, 'database' | 'queue' | 'now' | 'log'>, caller: Caller, id: string): Promise<{ id: string, status: 'retracting' }> {
  const at = deps.now()
  const generation = await inTransaction(deps.database, async (tx) => {
    const [row] = await tx.select({ partnerId: submissions.partnerId, counted: submissions.counted, generation: submissions.generation, recordCount: submissions.recordCount, bodySha256: submissions.bodySha256 })
      .from(submissions).where(eq(submissions.id, id)).for('update').limit(1)
    if (!row || !maySee(caller, row)) throw notFound(id)
    if (!row.counted) throw problem('conflict', `submission ${id} is already retracted or replaced`)
    const next = row.generation + 1
    await tx.update(submissions)
      .set({ counted: false, generation: next, changedAt: at, retractedAt: at })
      .where(eq(submissions.id, id))
    await tx.execute(sql`UPDATE records SET live = false WHERE submission_id = ${id} AND live`)
    await appendAudit(tx, {
      partnerId: caller.partnerId,
      action: 'submission.retract',
      subject: id,
      detail: { reporter: row.partnerId, recordCount: row.recordCount, bodySha256: row.bodySha256 }
    }, at)
    return next
  })
  await announce(deps.queue, { submissionId: id, generation }, deps.log)
  return { id, status: 'retracting' }
}
