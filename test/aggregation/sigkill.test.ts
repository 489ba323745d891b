// A real worker process (src/worker.ts) killed with SIGKILL again and again, at random moments
// (mid-transaction included), during a load of submissions: in the end verify is clean and every
// accepted record is counted exactly once. Then SIGTERM closes the last worker gracefully.
// @server-only: a worker process on BullMQ killed; skips without DATABASE_URL and REDIS_URL
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { createBullmqQueue } from '../../src/aggregation/bullmq-queue.js'
import { verifyCells } from '../../src/aggregation/cells.js'
import { announce } from '../../src/aggregation/outbox.js'
import { rows } from '../../src/db/connect.js'
import { baseConfig, waitFor } from '../helpers.js'
import { insertPartner, insertSubmission, pending, randomRecord, rng, sorted, tally, tallyCells, type RecordRow } from './fixtures.js'
import { processWorld } from './redis.js'

if (!baseConfig.databaseUrl || !baseConfig.redisUrl) {
  t.plan(0, 'skipped: the SIGKILL test needs DATABASE_URL and REDIS_URL (it runs its own redis-server)')
  process.exit(0)
}

const KILLS = 12
// Twelve process starts take a while on a busy 2-core box (twenty took three minutes of the 25 CI has).
t.setTimeout(300_000)
const { redis, db, databaseUrl, dataDir } = await processWorld(t, 'kill')
const prefix = `t-kill-${randomUUID().slice(0, 8)}`

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redis.url,
  MHX_QUEUE_PREFIX: prefix,
  MHX_DATA_DIR: dataDir,
  MHX_KEK: randomBytes(32).toString('base64'),
  MHX_WORKER_LOCK_MS: '1000',
  MHX_WORKER_CONCURRENCY: '4',
  MHX_SWEEP_AFTER_MS: '500',
  MHX_SWEEP_INTERVAL_MS: '500',
  MHX_DB_POOL_MAX: '5',
  LOG_LEVEL: 'info'
}

/**
 * Starts a worker process (the lean test entry: the same adapter, runtime and processor as
 * src/worker.ts, which is too slow to start 20 times here); resolves once it logged that it started.
 */
async function startWorker (): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/aggregation/worker-entry.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => { stderr += d })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('"mhx started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting: ${stderr.slice(0, 500)}`)))
  })
  return child
}

async function kill (child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill(signal)
  return exited
}

const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB', 'TKM']
for (const c of COUNTRIES) await insertPartner(db, `moh-${c.toLowerCase()}`, c)

t.test(`the worker process killed with SIGKILL ${KILLS} times during a load`, async (t) => {
  const producer = createBullmqQueue({ redisUrl: redis.url, prefix })
  t.teardown(() => producer.close())
  const random = rng(99)
  const live: RecordRow[] = []
  let loading = true
  // The load: submissions committed and announced while workers come and go.
  const load = (async () => {
    for (let i = 0; loading || i < 200; i++) {
      const country = COUNTRIES[i % COUNTRIES.length]
      const records = Array.from({ length: 1 + Math.floor(random() * 60) }, () => randomRecord(random, country))
      const s = await insertSubmission(db, `moh-${country.toLowerCase()}`, country, records)
      live.push(...records)
      await announce(producer, { submissionId: s.id, generation: 1 })
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  let midTransaction = 0
  for (let k = 0; k < KILLS; k++) {
    const worker = await startWorker()
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 600)))
    // Count the kills that land while the worker holds an open transaction.
    const [{ n }] = await rows<{ n: string }>(db, sql`
      SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND (query ILIKE '%FOR UPDATE%' OR query ILIKE '%INTO cells%' OR query ILIKE '%SET applied%')`)
    if (Number(n) > 0) midTransaction++
    t.equal(await kill(worker, 'SIGKILL'), null, `kill ${k + 1}`)
  }
  loading = false
  await load
  t.comment(`${midTransaction} of ${KILLS} kills found a transaction in flight`)

  const last = await startWorker()
  await waitFor(async () => await pending(db) === 0, 90_000, 200)
  t.equal(await kill(last, 'SIGTERM'), 0, 'SIGTERM closes the worker gracefully')

  const verify = await verifyCells(db)
  t.ok(verify.ok, `verify clean (${verify.differences.length} differences)`)
  t.equal(verify.records, live.length, `every accepted record (${live.length}) counted exactly once`)
  t.same(sorted(await tallyCells(db)), sorted(tally(live)), 'by every dimension')
})
