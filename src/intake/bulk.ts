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
import type { CanonicalRecord } from './registry.js'

/** SDMX "not applicable": how an absent optional dimension is stored, never NULL. */
export const ABSENT = '_Z'

export interface RecordOwner { submissionId: string, partnerId: string, country: string }

const COLUMNS = `submission_id, partner_id, record_id, live, period, country, subnational_area, country_of_origin,
  migration_status, migration_stage, sex, age_band, encounter, condition, condition_group, screening_context,
  screening_consequence, insurance, outcome, record_key`

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

async function copyRecords (client: pg.PoolClient, owner: RecordOwner, records: readonly CanonicalRecord[]): Promise<void> {
  const prefix = `${copyValue(owner.submissionId)}\t${copyValue(owner.partnerId)}\t`
  const country = copyValue(owner.country)
  const keys = drawRecordKeys(records.length)
  const lines = new Array<string>(records.length)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    lines[i] = prefix + [
      r.recordId, 't', r.period, country, r.subnationalArea ?? ABSENT, r.countryOfOrigin, r.migrationStatus,
      r.migrationStage, r.sex, r.ageBand, r.encounter, r.condition ?? ABSENT, r.conditionGroup ?? ABSENT,
      r.screeningContext ?? ABSENT, r.screeningConsequence ?? ABSENT, r.insurance, r.outcome ?? ABSENT
    ].map(copyValue).join('\t') + `\t${keys[i]}`
  }
  await pipeline(Readable.from([lines.join('\n') + '\n']), client.query(copyFrom(`COPY records (${COLUMNS}) FROM STDIN`)))
}

async function unnestRecords (q: Queryable, owner: RecordOwner, records: readonly CanonicalRecord[]): Promise<void> {
  const n = records.length
  const recordId = new Array<string>(n)
  const period = new Array<string>(n)
  const subnationalArea = new Array<string>(n)
  const countryOfOrigin = new Array<string>(n)
  const migrationStatus = new Array<string>(n)
  const migrationStage = new Array<string>(n)
  const sex = new Array<string>(n)
  const ageBand = new Array<string>(n)
  const encounter = new Array<string>(n)
  const condition = new Array<string>(n)
  const conditionGroup = new Array<string>(n)
  const screeningContext = new Array<string>(n)
  const screeningConsequence = new Array<string>(n)
  const insurance = new Array<string>(n)
  const outcome = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const r = records[i]
    recordId[i] = r.recordId
    period[i] = r.period
    subnationalArea[i] = r.subnationalArea ?? ABSENT
    countryOfOrigin[i] = r.countryOfOrigin
    migrationStatus[i] = r.migrationStatus
    migrationStage[i] = r.migrationStage
    sex[i] = r.sex
    ageBand[i] = r.ageBand
    encounter[i] = r.encounter
    condition[i] = r.condition ?? ABSENT
    conditionGroup[i] = r.conditionGroup ?? ABSENT
    screeningContext[i] = r.screeningContext ?? ABSENT
    screeningConsequence[i] = r.screeningConsequence ?? ABSENT
    insurance[i] = r.insurance
    outcome[i] = r.outcome ?? ABSENT
  }
  const text = (values: string[]) => sql`${sql.param(values)}::text[]`
  const keys = Array.from(drawRecordKeys(n))
  await q.execute(sql`
    INSERT INTO records (${sql.raw(COLUMNS)})
    SELECT ${owner.submissionId}::uuid, ${owner.partnerId}, r.record_id, true, r.period, ${owner.country},
      r.subnational_area, r.country_of_origin, r.migration_status, r.migration_stage, r.sex, r.age_band,
      r.encounter, r.condition, r.condition_group, r.screening_context, r.screening_consequence,
      r.insurance, r.outcome, r.record_key
    FROM unnest(${sql.param(recordId)}::uuid[], ${text(period)}, ${text(subnationalArea)}, ${text(countryOfOrigin)},
      ${text(migrationStatus)}, ${text(migrationStage)}, ${text(sex)}, ${text(ageBand)}, ${text(encounter)},
      ${text(condition)}, ${text(conditionGroup)}, ${text(screeningContext)}, ${text(screeningConsequence)},
      ${text(insurance)}, ${text(outcome)}, ${sql.param(keys)}::bigint[])
      AS r(record_id, period, subnational_area, country_of_origin, migration_status, migration_stage, sex,
        age_band, encounter, condition, condition_group, screening_context, screening_consequence,
        insurance, outcome, record_key)`)
}
