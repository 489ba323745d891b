// The bulk record writer: COPY on PostgreSQL, INSERT … SELECT FROM unnest elsewhere; both store the same rows.
// @embedded: the bulk writer: INSERT from unnest on PGlite, COPY on PostgreSQL
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { v5 as uuidv5 } from 'uuid'
import { rows } from '../../src/db/connect.js'
import { partners, submissions } from '../../src/db/schema.js'
import { insertRecords } from '../../src/intake/bulk.js'
import { recordIdOf, STORED_FIELDS, type CanonicalRecord } from '../../src/intake/registry.js'
import { testDatabase } from '../helpers.js'

const database = await testDatabase(t)
const { db } = database
await db.insert(partners).values({ id: 'bulk-kaz', name: 'Bulk', roles: ['reporter'], country: 'KAZ', jwks: { keys: [] } })

type Named = Record<string, string | null>

// records by field name, turned into the stored values the validator hands the writer
function canonical (n: number, overrides: Named = {}, count = 1): CanonicalRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const named: Named = {
      period: '2026-03', reportingCountry: 'KAZ', subnationalArea: i % 2 ? 'KZ-75' : null,
      countryOfOrigin: 'UZB', migrationStatus: 'student', migrationStage: 'destination', sex: 'male', ageBand: '20-24',
      encounter: 'screening', condition: i % 3 ? null : 'A15', conditionGroup: i % 3 ? null : 'tb', screeningContext: 'arrival',
      screeningConsequence: null, insurance: 'private', outcome: null, recordType: i % 2 ? 'contact' : null, serviceCoverage: 'covered', ...overrides
    }
    return { recordId: randomUUID(), count, values: STORED_FIELDS.map((f) => named[f.name] ?? '_Z') }
  })
}

async function newSubmission (): Promise<string> {
  const id = randomUUID()
  await db.insert(submissions).values({ id, partnerId: 'bulk-kaz', country: 'KAZ', schemaName: 'migrant-health-event', schemaVersion: '1.0.0', recordCount: 0, bodySha256: '0'.repeat(64), receipt: 'r' })
  return id
}

const COLUMNS = STORED_FIELDS.map((f) => f.column as string)
const PERIOD_AT = STORED_FIELDS.findIndex((f) => f.name === 'period')

async function stored (submissionId: string) {
  return rows<Record<string, unknown>>(db, sql`
    SELECT record_id, live, count, ${sql.raw(COLUMNS.join(', '))}
    FROM records WHERE submission_id = ${submissionId} ORDER BY record_id`)
}

const expected = (recs: CanonicalRecord[]) => recs.map((r) => ({
  record_id: recordIdOf(r, 'bulk-kaz'), live: true, count: r.count,
  ...Object.fromEntries(COLUMNS.map((c, i) => [c, c === 'country' ? 'KAZ' : r.values[i]]))
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
  const recs = canonical(1200, {}, 3)
  // The schema never lets these through; the writer must still not mangle them.
  recs[0] = canonical(1, { screeningConsequence: 'a\tb\\c\nd\re' }, 7)[0]
  // multi-byte text far longer than a line's share of the COPY buffer: it must grow, not cut
  for (let i = 1; i < 40; i++) recs[i] = canonical(1, { outcome: 'Ёü€𝄞'.repeat(200 + i) })[0]
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

t.test('a data value is stored under the UUIDv5 of its reporter and values, by COPY and by unnest alike', async (t) => {
  // a reporter id of multi-byte characters moves where the name sits in a COPY line
  const reporter = 'bulk-ё€𝄞'
  await db.insert(partners).values({ id: reporter, name: 'Bulk, multi-byte', roles: ['reporter'], country: 'KAZ', jwks: { keys: [] } })
  const namespace = '6f1c5d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
  for (const copy of [true, false]) {
    const id = await newSubmission()
    const values = canonical(300, {}, 5).map((r, i) => { r.values[PERIOD_AT] = `${(copy ? 2000 : 2040) + Math.floor(i / 12)}-${String(1 + (i % 12)).padStart(2, '0')}`; return r.values })
    // values the schema never lets through: escaped in the line, so the id comes from the values themselves
    values[7] = canonical(1, { period: copy ? '2099-01' : '2098-01', outcome: 'a\tb\\c' })[0].values
    values[8] = canonical(1, { period: copy ? '2099-02' : '2098-02', outcome: 'Ёü€𝄞'.repeat(300) })[0].values
    const dataValues = values.map((v): CanonicalRecord => ({ recordId: '', count: 5, values: v }))
    await db.transaction((tx) => insertRecords(tx, { submissionId: id, partnerId: reporter, country: 'KAZ' }, dataValues, { copy }))
    const found = await stored(id)
    t.same(found.map((r) => r.record_id), values.map((v) => uuidv5(`${reporter}\t${v.join('\t')}`, namespace)).sort(), copy ? 'COPY' : 'unnest')
    t.same(found.map((r) => r.record_id), dataValues.map((r) => recordIdOf(r, reporter)).sort(), 'the ids a 409 looks for')
    t.ok(found.some((r) => r.outcome === 'a\tb\\c'), 'the escaped value is stored as it was')
  }
})
