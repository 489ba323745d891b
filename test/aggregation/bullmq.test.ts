// Fault tests on BullMQ and PostgreSQL: Redis stopped and flushed mid-load, one job run by two
// workers at once, the worker's database connections terminated (a restart, as the worker sees it),
// and the same counts as the in-process mode. Each ends with verify clean and every accepted
// record counted exactly once.
// @server-only: BullMQ and PostgreSQL faults; skips without DATABASE_URL and REDIS_URL
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import t, { type Test } from 'tap'
import pg from 'pg'
import { createBullmqQueue, startBullmqWorker } from '../../src/aggregation/bullmq-queue.js'
import { verifyCells } from '../../src/aggregation/cells.js'
import { createInProcessQueue } from '../../src/aggregation/in-process-queue.js'
import { announce } from '../../src/aggregation/outbox.js'
import { processSubmission } from '../../src/aggregation/processor.js'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import { connectPostgres, rows, type Database } from '../../src/db/connect.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { baseConfig, freePort, testConfig, testDatabase, waitFor } from '../helpers.js'
import { insertPartner, insertSubmission, pending, randomRecord, rng, sorted, tally, tallyCells, type RecordRow } from './fixtures.js'
import { privateRedis } from './redis.js'

if (!baseConfig.databaseUrl || !baseConfig.redisUrl) {
  t.plan(0, 'skipped: the BullMQ fault tests need DATABASE_URL and REDIS_URL (they run their own redis-server)')
  process.exit(0)
}

const silent = pino({ level: process.env.AGG_TEST_LOG ?? 'silent' })
const redis = await privateRedis()
t.teardown(() => redis.stop())
const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB']

/** A fresh database with the reporters, and a worker-side connection of its own. */
async function setup (t: Test) {
  const database = await testDatabase(t, 'postgres')
  for (const c of COUNTRIES) await insertPartner(database.db, `moh-${c.toLowerCase()}`, c)
  return database
}

/** Every accepted record counted exactly once: verify clean, and the cells hold what was pushed. */
async function assertExactlyOnce (t: Test, database: Database, live: RecordRow[]) {
  t.equal(await pending(database.db), 0, 'nothing pending')
  const verify = await verifyCells(database.db)
  t.ok(verify.ok, `verify clean (${verify.differences.length} differences)`)
  t.equal(verify.records, live.length, 'every accepted record counted once')
  t.same(sorted(await tallyCells(database.db)), sorted(tally(live)), 'by every dimension')
}

function config (prefix: string) {
  return testConfig({ redisUrl: redis.url, queuePrefix: prefix, workerConcurrency: 4, workerLockMs: 2_000, sweepAfterMs: 300, sweepIntervalMs: 250 })
}

t.test('Redis stopped, started again and flushed in the middle of a load: nothing lost, nothing twice, one log line at each end', async (t) => {
  const database = await setup(t)
  const cfg = config(`t-outage-${randomUUID().slice(0, 8)}`)
  const lines: Array<{ level: number, msg: string, jobs?: number }> = []
  const logger = pino({ level: 'info' }, new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const queue = createBullmqQueue({ redisUrl: redis.url, prefix: cfg.queuePrefix }, logger)
  const metrics = createMetrics({ queue, database })
  const runtime = await startAggregation({ config: cfg, database, queue, metrics, logger: silent })
  t.teardown(async () => { await runtime.close(); await queue.close() })
  const random = rng(11)
  const live: RecordRow[] = []
  let refused = 0
  for (let i = 0; i < 150; i++) {
    if (i === 50) await redis.stop()
    if (i === 100) await redis.start()
    if (i === 125) await redis.flushall()
    const country = COUNTRIES[i % COUNTRIES.length]
    const records = Array.from({ length: 1 + Math.floor(random() * 20) }, () => randomRecord(random, country))
    const s = await insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, records)
    live.push(...records)
    if (!await announce(queue, { submissionId: s.id, generation: 1 }, logger)) refused++
  }
  t.ok(refused >= 40, `the producer failed fast while Redis was down (${refused} refused) and the submissions stayed committed`)
  await waitFor(async () => await pending(database.db) === 0, 60_000, 100)
  await assertExactlyOnce(t, database, live)
  t.ok((await metrics.sweepReenqueued.get()).values[0].value >= refused, 'the sweep enqueued what the producer could not')
  const said = lines.filter((l) => l.level >= 40 || /^Redis/.test(l.msg))
  t.match(said, [
    { level: 40, msg: /^Redis unavailable: submissions are still accepted/ },
    { level: 30, msg: /^Redis available again after/, jobs: refused }
  ], `the outage told once at each end, with the ${refused} jobs left to the sweep`)
  t.equal(said.length, 2, 'no line per refused job')
})

t.test('a new queue\'s first jobs wait for its first connection; with Redis away they fail fast', async (t) => {
  const queue = createBullmqQueue({ redisUrl: redis.url, prefix: `t-first-${randomUUID().slice(0, 8)}` })
  t.teardown(() => queue.close())
  // Enqueued the moment the queue exists, before its connection is up: accepted, not refused.
  await queue.enqueue({ submissionId: randomUUID(), generation: 1 })
  t.equal(await queue.queue.count(), 1)
  const away = createBullmqQueue({ redisUrl: `redis://127.0.0.1:${await freePort()}`, prefix: 't-away' })
  t.teardown(() => away.close())
  const started = Date.now()
  await t.rejects(away.enqueue({ submissionId: randomUUID(), generation: 1 }), /aggregation queue unavailable/)
  t.ok(Date.now() - started < 5_000, 'refused within the connect wait, never hanging')
})

t.test('the same job enqueued twice and run by two workers at once counts once', async (t) => {
  const database = await setup(t)
  const prefix = `t-twice-${randomUUID().slice(0, 8)}`
  const queue = createBullmqQueue({ redisUrl: redis.url, prefix })
  const random = rng(12)
  const records = Array.from({ length: 30 }, () => randomRecord(random, 'KAZ'))
  const s = await insertSubmission(database.db, 'moh-kaz', 'KAZ', records)
  // Both workers hold the job before either processes it.
  let arrived = 0
  let release!: () => void
  const bothIn = new Promise<void>((resolve) => { release = resolve })
  const outcomes: string[] = []
  const handler = async (job: { submissionId: string }) => {
    if (++arrived === 2) release()
    await bothIn
    outcomes.push((await processSubmission(database, job.submissionId)).kind)
  }
  const workers = [1, 2].map(() => startBullmqWorker({ redisUrl: redis.url, prefix, concurrency: 1, lockMs: 5_000, handler }))
  t.teardown(async () => { for (const w of workers) await w.close(); await queue.close() })
  await queue.enqueue({ submissionId: s.id, generation: 1 })
  await queue.enqueue({ submissionId: s.id, generation: 1 })
  // A worker may already hold the first job (active), and it cannot finish before a second arrives.
  t.equal(await queue.queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'), 1,
    'the second enqueue is de-duplicated by jobId')
  // A sweep that replaced a finished job, or a stalled job given to a second worker, is the same
  // submission twice in flight: a second job for it.
  await queue.queue.add('aggregate', { submissionId: s.id, generation: 1 }, { jobId: `agg-${s.id}-1-again` })
  await waitFor(async () => outcomes.length === 2, 20_000)
  t.same(outcomes.sort(), ['applied', 'unchanged'])
  await assertExactlyOnce(t, database, records)
})

t.test('the worker\'s PostgreSQL connections terminated under load (a restart, as the worker sees it)', async (t) => {
  const database = await setup(t)
  // The worker gets its own pool, tagged so that only its backends are terminated.
  const url = new URL(baseConfig.databaseUrl!)
  const [{ name }] = await rows<{ name: string }>(database.db, sql`SELECT current_database() AS name`)
  url.pathname = `/${name}`
  const workerDb = await connectPostgres({ url: url.toString(), poolMax: 4, statementTimeoutMs: 30_000 })
  workerDb.pool!.on('connect', (client) => { client.query(`SET application_name = 'mhx-agg-worker'`).catch(() => {}) })
  const cfg = config(`t-pgkill-${randomUUID().slice(0, 8)}`)
  const queue = createBullmqQueue({ redisUrl: redis.url, prefix: cfg.queuePrefix })
  const runtime = await startAggregation({ config: cfg, database: workerDb, queue, metrics: createMetrics(), logger: silent })
  t.teardown(async () => { await runtime.close(); await queue.close(); await workerDb.close() })
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  t.teardown(() => admin.end())

  const random = rng(13)
  const live: RecordRow[] = []
  let terminated = 0
  for (let i = 0; i < 120; i++) {
    const country = COUNTRIES[i % COUNTRIES.length]
    const records = Array.from({ length: 1 + Math.floor(random() * 30) }, () => randomRecord(random, country))
    const s = await insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, records)
    live.push(...records)
    await announce(queue, { submissionId: s.id, generation: 1 })
    if (i % 15 === 7) {
      const res = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mhx-agg-worker'`)
      terminated += res.rowCount ?? 0
    }
  }
  t.ok(terminated > 0, `${terminated} worker backends terminated`)
  await waitFor(async () => await pending(database.db) === 0, 60_000, 100)
  await assertExactlyOnce(t, database, live)
})

t.test('the in-process mode gives the same counts as the BullMQ mode for the same input', async (t) => {
  const random = rng(14)
  const input = Array.from({ length: 40 }, (_, i) => {
    const country = COUNTRIES[i % COUNTRIES.length]
    return { country, records: Array.from({ length: 1 + Math.floor(random() * 25) }, () => randomRecord(random, country)) }
  })
  const retractEvery = 5
  const results: Array<Array<[string, number]>> = []
  for (const mode of ['bullmq', 'in-process'] as const) {
    const database = await setup(t)
    const cfg = config(`t-same-${randomUUID().slice(0, 8)}`)
    const queue = mode === 'bullmq' ? createBullmqQueue({ redisUrl: redis.url, prefix: cfg.queuePrefix }) : createInProcessQueue()
    const runtime = await startAggregation({ config: cfg, database, queue, metrics: createMetrics(), logger: silent })
    const live: RecordRow[] = []
    for (const [i, s] of input.entries()) {
      const sub = await insertSubmission(database.db, `moh-${s.country.toLowerCase()}`, s.country, s.records)
      await announce(queue, { submissionId: sub.id, generation: 1 })
      if (i % retractEvery === 0) {
        const [{ generation }] = await rows<{ generation: number }>(database.db, sql`
          UPDATE submissions SET counted = false, generation = generation + 1, changed_at = now() WHERE id = ${sub.id} RETURNING generation`)
        await announce(queue, { submissionId: sub.id, generation })
      } else live.push(...s.records)
    }
    await waitFor(async () => await pending(database.db) === 0, 30_000, 50)
    await assertExactlyOnce(t, database, live)
    results.push(sorted(await tallyCells(database.db)))
    await runtime.close()
    await queue.close()
  }
  t.same(results[0], results[1], 'identical cells')
})
