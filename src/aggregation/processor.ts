// The aggregation processor: brings a submission's applied effect in line with its wanted effect,
// in one transaction, so a job delivered twice, run twice at once or retried after a crash
// never changes a count twice.
import { sql } from 'drizzle-orm'
import { affectedRows, inTransaction, rows, sqlState, type Database, type Queryable } from '../db/connect.js'
import { announceCellChange } from './versions.js'
import { columnList, columnsEqual, KEY_MODULUS } from '../model/cells.js'

export type ProcessOutcome =
  | { kind: 'missing', submissionId: string }
  | { kind: 'unchanged', submissionId: string }
  | { kind: 'applied', submissionId: string, operation: 'add' | 'subtract', records: number, cells: number, freshnessS: number | null, countries: string[] }

interface SubmissionState { counted: boolean, applied: boolean, record_count: number, country: string, age_s: number | string }

/** Transient PostgreSQL faults (deadlock, serialization) are retried at once; anything else goes to the queue's retry. */
const TRANSIENT = new Set(['40P01', '40001'])
const ATTEMPTS = 3

export async function processSubmission (database: Database, submissionId: string): Promise<ProcessOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(database, (tx) => applyEffect(tx, submissionId))
    } catch (err) {
      if (attempt >= ATTEMPTS || !TRANSIENT.has(sqlState(err) ?? '')) throw err
    }
  }
}

async function applyEffect (tx: Queryable, submissionId: string): Promise<ProcessOutcome> {
  // A correction and the submission it replaces change the cells in one transaction, whichever
  // of the two a job names: no reader sees both or neither. The links are set at intake and never
  // change, so reading them before the lock is safe.
  const [link] = await rows<{ replaces: string | null, replaced_by: string | null }>(tx, sql`
    SELECT replaces, replaced_by FROM submissions WHERE id = ${submissionId}`)
  if (!link) return { kind: 'missing', submissionId }
  const ids = [...new Set([submissionId, link.replaces, link.replaced_by].filter((id): id is string => id !== null))].sort()
  // The row locks serialize every processor (and the intake's retraction) on these submissions;
  // taken in id order, so processors of linked submissions queue instead of deadlocking.
  const states = await rows<SubmissionState & { id: string }>(tx, sql`
    SELECT id, counted, applied, record_count, country, extract(epoch FROM clock_timestamp() - created_at) AS age_s
    FROM submissions WHERE id IN (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)}) ORDER BY id FOR UPDATE`)
  const outcomes: ProcessOutcome[] = []
  // The replaced one first: its subtraction frees cells the correction may fill.
  for (const state of states.sort((a, b) => Number(a.counted) - Number(b.counted))) {
    if (state.counted !== state.applied) outcomes.push(await applyOne(tx, state.id, state))
  }
  return outcomes.find((o) => o.submissionId === submissionId) ?? outcomes[0] ?? { kind: 'unchanged', submissionId }
}

async function applyOne (tx: Queryable, submissionId: string, state: SubmissionState): Promise<ProcessOutcome> {
  const delta = state.counted ? 1 : -1
  // One statement per submission. ORDER BY the key makes concurrent processors lock cells in one
  // order, so they queue behind each other instead of deadlocking.
  // Key sums stay in [0, 2^32): subtracting adds the complement.
  const MOD = sql.raw(String(KEY_MODULUS))
  const keySum = delta > 0 ? sql`sum(record_key) % ${MOD}` : sql`(${MOD} - sum(record_key) % ${MOD}) % ${MOD}`
  const inserted = await tx.execute(sql`
    INSERT INTO cells (${columnList()}, count, key_sum, updated_at)
    SELECT ${columnList()}, sum(count) * ${delta}, ${keySum}, now()
    FROM records WHERE submission_id = ${submissionId}
    GROUP BY ${columnList()}
    ORDER BY ${columnList()}
    ON CONFLICT ON CONSTRAINT cells_pkey DO UPDATE SET count = cells.count + EXCLUDED.count,
      key_sum = (cells.key_sum + EXCLUDED.key_sum) % ${MOD}, updated_at = now()`)
  if (delta < 0) {
    // Zero cells are not kept: a cell exists only while some applied record counts in it.
    await tx.execute(sql`
      DELETE FROM cells c USING (SELECT DISTINCT ${columnList()} FROM records WHERE submission_id = ${submissionId}) r
      WHERE ${columnsEqual('c', 'r')} AND c.count = 0`)
  }
  // Every process forgets the data version of its country when this commits (a submission's
  // records all carry its reporter's country).
  const countries = [state.country]
  await announceCellChange(tx, countries)
  // clock_timestamp, not now(): the moment the effect is in place, just before the commit (freshness).
  await tx.execute(sql`
    UPDATE submissions SET applied = counted,
      aggregated_at = CASE WHEN counted THEN clock_timestamp() ELSE aggregated_at END,
      retracted_at = CASE WHEN counted THEN retracted_at ELSE clock_timestamp() END
    WHERE id = ${submissionId}`)
  return {
    kind: 'applied',
    submissionId,
    operation: delta > 0 ? 'add' : 'subtract',
    records: state.record_count,
    cells: affectedRows(inserted),
    freshnessS: delta > 0 ? Number(state.age_s) : null,
    countries
  }
}
