// The bulk record writer: COPY on PostgreSQL, INSERT … SELECT FROM unnest elsewhere; both store the same rows.
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { partners, submissions } from '../../src/db/schema.js'
import { insertRecords } from '../../src/intake/bulk.js'
import type { CanonicalRecord } from '../../src/intake/registry.js'
import { testDatabase } from '../helpers.js'

const database = await testDatabase(t)
const { db } = database
await db.insert(partners).values({ id: 'bulk-kaz', name: 'Bulk', roles: ['reporter'], country: 'KAZ', jwks: { keys: [] } })

function canonical (n: number, overrides: Partial<CanonicalRecord> = {}): CanonicalRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    recordId: randomUUID(), period: '2026-03', reportingCountry: 'KAZ', subnationalArea: i % 2 ? 'KZ-75' : null,
    countryOfOrigin: 'UZB', migrationStatus: 'student', migrationStage: 'destination', sex: 'male', ageBand: '20-24',
    encounter: 'screening', condition: i % 3 ? null : 'A15', conditionGroup: i % 3 ? null : 'tb', screeningContext: 'arrival',
    screeningConsequence: null, insurance: 'private', outcome: null, ...overrides
  }))
}

async function newSubmission (): Promise<string> {
  const id = randomUUID()
  await db.insert(submissions).values({ id, partnerId: 'bulk-kaz', country: 'KAZ', schemaName: 'migrant-health-event', schemaVersion: '1.0.0', recordCount: 0, bodySha256: '0'.repeat(64), receipt: 'r' })
  return id
}

async function stored (submissionId: string) {
  return rows<Record<string, unknown>>(db, sql`
    SELECT record_id, live, period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band,
      encounter, condition, condition_group, screening_context, screening_consequence, insurance, outcome
    FROM records WHERE submission_id = ${submissionId} ORDER BY record_id`)
}

const expected = (recs: CanonicalRecord[]) => recs.map((r) => ({
  record_id: r.recordId, live: true, period: r.period, country: 'KAZ', subnational_area: r.subnationalArea ?? '_Z',
  country_of_origin: r.countryOfOrigin, migration_status: r.migrationStatus, migration_stage: r.migrationStage, sex: r.sex,
  age_band: r.ageBand, encounter: r.encounter, condition: r.condition ?? '_Z', condition_group: r.conditionGroup ?? '_Z',
  screening_context: r.screeningContext ?? '_Z', screening_consequence: r.screeningConsequence ?? '_Z', insurance: r.insurance,
  outcome: r.outcome ?? '_Z'
})).sort((a, b) => a.record_id.localeCompare(b.record_id))

t.test('unnest stores every record in one statement, absent dimensions as _Z', async (t) => {
  const id = await newSubmission()
  const recs = canonical(2500)
  const how = await db.transaction((tx) => insertRecords(tx, { submissionId: id, partnerId: 'bulk-kaz', country: 'KAZ' }, recs))
  t.equal(how, 'unnest')
  t.same(await stored(id), expected(recs))
})

t.test('COPY inside a transaction on PostgreSQL (unnest on PGlite) stores the same rows, odd characters included', async (t) => {
  const id = await newSubmission()
  const recs = canonical(1200)
  // The schema never lets these through; the writer must still not mangle them.
  recs[0] = { ...recs[0], screeningConsequence: 'a\tb\\c\nd\re' }
  const how = await db.transaction((tx) => insertRecords(tx, { submissionId: id, partnerId: 'bulk-kaz', country: 'KAZ' }, recs, { copy: true }))
  t.equal(how, database.kind === 'postgres' ? 'copy' : 'unnest')
  t.same(await stored(id), expected(recs))
})

t.test('a COPY that hits a live recordId fails the transaction and leaves nothing', async (t) => {
  const id = await newSubmission()
  const [taken] = canonical(1)
  await db.transaction((tx) => insertRecords(tx, { submissionId: id, partnerId: 'bulk-kaz', country: 'KAZ' }, [taken]))
  const second = await newSubmission()
  await t.rejects(db.transaction((tx) => insertRecords(tx, { submissionId: second, partnerId: 'bulk-kaz', country: 'KAZ' }, [...canonical(10), taken], { copy: true })))
  t.same(await stored(second), [])
  const after = await db.transaction((tx) => insertRecords(tx, { submissionId: second, partnerId: 'bulk-kaz', country: 'KAZ' }, canonical(3), { copy: true }))
  t.ok(after, 'the pooled connection is usable afterwards')
  t.equal((await stored(second)).length, 3)
})
