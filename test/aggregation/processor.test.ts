// The processor, verify, rebuild and the outbox sweep, against the test database
// (PostgreSQL when DATABASE_URL is set, else PGlite).
// @embedded: the outbox, its sweep and the in-process queue are the embedded default's worker
import { sql } from 'drizzle-orm'
import t from 'tap'
import pino from 'pino'
import { rebuildCells, verifyCells } from '../../src/aggregation/cells.js'
import { createInProcessQueue } from '../../src/aggregation/in-process-queue.js'
import { announce, pendingCount, sweepOutbox } from '../../src/aggregation/outbox.js'
import { processSubmission } from '../../src/aggregation/processor.js'
import { aggregationJobId, type AggregationJob, type AggregationQueue } from '../../src/aggregation/queue.js'
import { rows } from '../../src/db/connect.js'
import { testDatabase } from '../helpers.js'
import { insertPartner, insertSubmission, pending, randomRecord, retractSubmission, rng, sorted, tally, tallyCells, type RecordRow } from './fixtures.js'

const database = await testDatabase(t)
const { db } = database
const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB', 'RUS']
for (const c of COUNTRIES) await insertPartner(db, `moh-${c.toLowerCase()}`, c)

async function status (id: string) {
  const [row] = await rows<{ counted: boolean, applied: boolean, aggregated_at: Date | null, retracted_at: Date | null }>(db,
    sql`SELECT counted, applied, aggregated_at, retracted_at FROM submissions WHERE id = ${id}`)
  return row
}

t.test('counts equal what was pushed, by every dimension, and drop by exactly a retracted submission', async (t) => {
  const random = rng(42)
  const pushed: Array<{ id: string, records: RecordRow[] }> = []
  for (let i = 0; i < 60; i++) {
    const country = COUNTRIES[i % COUNTRIES.length]
    const records = Array.from({ length: 1 + Math.floor(random() * 40) }, () => randomRecord(random, country))
    pushed.push(await insertSubmission(db, `moh-${country.toLowerCase()}`, country, records))
  }
  for (const s of pushed) {
    const outcome = await processSubmission(database, s.id)
    t.equal(outcome.kind, 'applied')
  }
  t.same(sorted(await tallyCells(db)), sorted(tally(pushed.flatMap((s) => s.records))), 'every dimension, every cell')
  const first = await status(pushed[0].id)
  t.ok(first.applied && first.aggregated_at, 'marked aggregated with aggregatedAt')

  const gone = pushed.splice(7, 1)[0]
  await retractSubmission(db, gone.id)
  t.equal(await pending(db), 1, 'the retraction is in the outbox')
  const outcome = await processSubmission(database, gone.id)
  t.match(outcome, { kind: 'applied', operation: 'subtract', records: gone.records.length })
  t.same(sorted(await tallyCells(db)), sorted(tally(pushed.flatMap((s) => s.records))), 'dropped by exactly its records')
  const [zero] = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM cells WHERE count <= 0`)
  t.equal(Number(zero.n), 0, 'no zero or negative cells are kept')
  const after = await status(gone.id)
  t.ok(!after.counted && !after.applied && after.retracted_at, 'retracted')
  t.ok((await verifyCells(db)).ok, 'verify is clean')
})

t.test('a job delivered twice, or run twice at once, changes the counts once', async (t) => {
  const random = rng(7)
  const s = await insertSubmission(db, 'moh-kaz', 'KAZ', Array.from({ length: 25 }, () => randomRecord(random, 'KAZ')))
  const before = await verifyCells(db)
  const outcomes = await Promise.all([processSubmission(database, s.id), processSubmission(database, s.id), processSubmission(database, s.id)])
  t.same(outcomes.map((o) => o.kind).sort(), ['applied', 'unchanged', 'unchanged'], 'one applies, the others find it done')
  t.equal((await processSubmission(database, s.id)).kind, 'unchanged', 'a later redelivery does nothing')
  const after = await verifyCells(db)
  t.ok(after.ok)
  t.equal(after.records - before.records, 25, 'added once')
  t.equal((await processSubmission(database, '00000000-0000-4000-8000-000000000000')).kind, 'missing')
})

t.test('a submission retracted before it was aggregated subtracts nothing', async (t) => {
  const random = rng(8)
  const s = await insertSubmission(db, 'moh-tjk', 'TJK', Array.from({ length: 10 }, () => randomRecord(random, 'TJK')))
  const before = (await verifyCells(db)).records
  await retractSubmission(db, s.id)
  t.equal(await pending(db), 0, 'wanted = applied = not counted: nothing pending')
  t.equal((await processSubmission(database, s.id)).kind, 'unchanged')
  t.equal((await verifyCells(db)).records, before)
})

t.test('concurrent processors on overlapping cells neither deadlock nor lose counts', async (t) => {
  const random = rng(9)
  // Every submission hits the same few cells, in different orders.
  const subs = await Promise.all(Array.from({ length: 12 }, () =>
    insertSubmission(db, 'moh-uzb', 'UZB', Array.from({ length: 30 }, () => ({ ...randomRecord(random, 'UZB'), period: '2026-04' })))))
  const before = (await verifyCells(db)).records
  await Promise.all(subs.map((s) => processSubmission(database, s.id)))
  const after = await verifyCells(db)
  t.ok(after.ok, 'verify clean')
  t.equal(after.records - before, 360)
})

t.test('verify reports a tampered cell and rebuild repairs it without touching good cells', async (t) => {
  await db.execute(sql`UPDATE cells SET count = count + 3 WHERE ctid = (SELECT ctid FROM cells LIMIT 1)`)
  await db.execute(sql`INSERT INTO cells (country, period, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band,
    encounter, condition_group, screening_context, screening_consequence, insurance, outcome, count)
    VALUES ('TKM', '2020-01', '_Z', 'UZB', 'student', 'transit', 'male', '20-24', 'primary_care', 'tb', '_Z', '_Z', 'none', '_Z', 2)`)
  const bad = await verifyCells(db)
  t.notOk(bad.ok)
  t.equal(bad.differences.length, 2)
  t.match(bad.differences.find((d) => d.cell.country === 'TKM'), { expected: 0, actual: 2, cell: { period: '2020-01', conditionGroup: 'tb', subnationalArea: '_Z' } })
  t.ok(bad.differences.some((d) => d.actual - d.expected === 3))

  const [stamp] = await rows<{ at: string }>(db, sql`SELECT max(updated_at)::text AS at FROM cells WHERE country = 'RUS'`)
  const rebuilt = await rebuildCells(database)
  t.equal(rebuilt.changed, 2, 'only the two wrong cells changed')
  t.equal(rebuilt.remapped, 0)
  const good = await verifyCells(db)
  t.ok(good.ok)
  t.equal(good.records, rebuilt.records)
  const [stampAfter] = await rows<{ at: string }>(db, sql`SELECT max(updated_at)::text AS at FROM cells WHERE country = 'RUS'`)
  t.equal(stampAfter.at, stamp.at, 'untouched cells keep updated_at')
})

t.test('rebuild after a catalog change re-maps condition groups and the cells follow', async (t) => {
  const before = await verifyCells(db)
  // A new catalog moves J18 (pneumonia) from respiratory to covid19 (for the test's sake).
  const rebuilt = await rebuildCells(database, { conditionGroupOf: (code) => code === 'J18' ? 'covid19' : code === 'A15' ? 'tb' : code === 'B20' ? 'hiv' : code.startsWith('O') ? 'maternal' : code.startsWith('F') ? 'mental_health' : 'other' })
  t.ok(rebuilt.remapped > 0, 'records re-mapped')
  const [respiratory] = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM cells WHERE condition_group = 'respiratory'`)
  t.equal(Number(respiratory.n), 0, 'no respiratory cells left')
  const [covid] = await rows<{ n: string | null }>(db, sql`SELECT sum(count) AS n FROM cells WHERE condition_group = 'covid19'`)
  t.ok(Number(covid.n) > 0)
  const after = await verifyCells(db)
  t.ok(after.ok)
  t.equal(after.records, before.records, 'no record gained or lost')
})

t.test('the sweep enqueues only pending submissions older than the threshold, and announce never throws', async (t) => {
  const random = rng(10)
  const old = await insertSubmission(db, 'moh-kgz', 'KGZ', [randomRecord(random, 'KGZ')])
  await db.execute(sql`UPDATE submissions SET changed_at = now() - interval '1 hour' WHERE id = ${old.id}`)
  const fresh = await insertSubmission(db, 'moh-kgz', 'KGZ', [randomRecord(random, 'KGZ')])
  const seen: AggregationJob[] = []
  const recorder: AggregationQueue = {
    kind: 'in-process',
    async enqueue (job) { seen.push(job) },
    async requeue (job) { seen.push(job) },
    async depth () { return seen.length },
    async ready () { return true },
    async close () {}
  }
  const result = await sweepOutbox(db, recorder, { olderThanMs: 60_000 })
  t.same(result, { found: 1, enqueued: 1, failed: false })
  t.same(seen, [{ submissionId: old.id, generation: 1 }])
  t.equal(aggregationJobId(seen[0]), `agg-${old.id}-1`)
  t.notOk(aggregationJobId(seen[0]).includes(':'))

  seen.length = 0
  t.equal((await sweepOutbox(db, recorder, { olderThanMs: 0 })).found, 2, 'threshold 0 takes both')
  t.equal(await pendingCount(db), 2)

  const down: AggregationQueue = { ...recorder, async enqueue () { throw new Error('Redis down') }, async requeue () { throw new Error('Redis down') } }
  const warnings: unknown[] = []
  t.equal(await announce(down, { submissionId: fresh.id, generation: 1 }, { warn: (o: unknown) => warnings.push(o) } as unknown as pino.Logger), false)
  t.equal(warnings.length, 1, 'logged, not thrown')
  t.match(await sweepOutbox(db, down, { olderThanMs: 0 }), { enqueued: 0, failed: true }, 'a down queue stops the sweep')

  // The in-process queue with a real processor brings both in.
  const queue = createInProcessQueue()
  queue.process(async (job) => { await processSubmission(database, job.submissionId) })
  await sweepOutbox(db, queue, { olderThanMs: 0 })
  await queue.drain()
  t.equal(await pending(db), 0)
  t.ok((await verifyCells(db)).ok)
  await queue.close()
})
