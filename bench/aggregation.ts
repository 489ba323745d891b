// Aggregation benchmark (real PostgreSQL and Redis): freshness (accepted → aggregated) with intake at a
// steady rate, throughput of 1 and 2 worker processes, and the cost of one submission at 100k and 5M
// stored records. Uses its own database (dropped afterwards) and its own queue prefix.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/aggregation.ts
//   options: --rate 10000 --seconds 20 --batch 500 --sizes 100000,5000000
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import { freshDatabase } from './support.js'
import { createBullmqQueue } from '../src/aggregation/bullmq-queue.js'
import { rebuildCells, verifyCells } from '../src/aggregation/cells.js'
import { announce } from '../src/aggregation/outbox.js'
import { processSubmission } from '../src/aggregation/processor.js'
import { loadConfig } from '../src/config.js'
import { connectPostgres, rows, type Database } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { insertPartner, insertSubmission, randomRecord, rng } from '../test/aggregation/fixtures.js'

const { values: args } = parseArgs({ options: {
  rate: { type: 'string', default: '10000' },
  seconds: { type: 'string', default: '20' },
  batch: { type: 'string', default: '500' },
  sizes: { type: 'string', default: '100000,5000000' }
} })
const config = loadConfig()
if (!config.databaseUrl || !config.redisUrl) throw new Error('bench/aggregation.ts needs DATABASE_URL and REDIS_URL')
const RATE = Number(args.rate)
const SECONDS = Number(args.seconds)
const BATCH = Number(args.batch)
const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB', 'TKM']

const adminUrl = config.databaseUrl
const benchDatabase = await freshDatabase(adminUrl)
const benchName = benchDatabase.name
const url = new URL(benchDatabase.url)
const database = await connectPostgres({ url: url.toString(), poolMax: 8, statementTimeoutMs: 600_000 })
const children: ChildProcess[] = []
const cleanups: Array<() => Promise<unknown>> = []

async function finish () {
  for (const c of children) c.kill('SIGKILL')
  for (const f of cleanups) await f().catch(() => {})
  await database.close()
  await benchDatabase.drop()
}
process.once('SIGINT', () => { void finish().then(() => process.exit(130)) })

const random = rng(2026)
const log = (line: string) => process.stdout.write(`${line}\n`)

async function startWorkers (n: number, prefix: string): Promise<ChildProcess[]> {
  const env = {
    ...process.env, DATABASE_URL: url.toString(), MHX_QUEUE_PREFIX: prefix, MHX_KEK: randomBytes(32).toString('base64'),
    MHX_WORKER_CONCURRENCY: '4', MHX_DB_POOL_MAX: '5', MHX_SWEEP_AFTER_MS: '5000', LOG_LEVEL: 'info'
  }
  return Promise.all(Array.from({ length: n }, () => new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/aggregation/worker-entry.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    let out = ''
    child.stdout!.on('data', (d) => { out += d; if (out.includes('"mhx started"')) resolve(child) })
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)))
  })))
}

async function stopWorkers (workers: ChildProcess[]) {
  await Promise.all(workers.map((w) => new Promise((resolve) => { w.once('exit', resolve); w.kill('SIGTERM') })))
}

async function pendingCount (db: Database): Promise<number> {
  const [r] = await rows<{ n: string }>(db.db, sql`SELECT count(*) AS n FROM submissions WHERE counted <> applied`)
  return Number(r.n)
}

async function waitDrained (deadlineMs: number) {
  const until = Date.now() + deadlineMs
  while (await pendingCount(database) > 0) {
    if (Date.now() > until) throw new Error('not drained in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function freshnessRun (workers: number) {
  const prefix = `bench-${randomUUID().slice(0, 8)}`
  const procs = await startWorkers(workers, prefix)
  const queue = createBullmqQueue({ redisUrl: config.redisUrl!, prefix })
  const from = new Date()
  const perSecond = RATE / BATCH
  const started = Date.now()
  let sent = 0
  const inflight = new Set<Promise<unknown>>()
  // Open-loop intake: submissions are started on schedule, whatever the workers do.
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * perSecond)
    while (sent < due) {
      const country = COUNTRIES[sent % COUNTRIES.length]
      const records = Array.from({ length: BATCH }, () => randomRecord(random, country))
      const p = insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, records)
        .then((s) => announce(queue, { submissionId: s.id, generation: 1 }))
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
      sent++
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  await Promise.all(inflight)
  const intakeS = (Date.now() - started) / 1000
  await waitDrained(120_000)
  const [f] = await rows<Record<string, string>>(database.db, sql`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY d) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99, max(d) AS max, count(*) AS n, sum(record_count) AS records
    FROM (SELECT extract(epoch FROM aggregated_at - created_at) AS d, record_count FROM submissions WHERE created_at >= ${from.toISOString()}) x`)
  await stopWorkers(procs)
  await queue.close()
  log(`| ${workers} | ${RATE} | ${BATCH} | ${(Number(f.records) / intakeS).toFixed(0)} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${ms(f.max)} |`)
}

async function throughputRun (workers: number, submissions: number) {
  const prefix = `bench-${randomUUID().slice(0, 8)}`
  const queue = createBullmqQueue({ redisUrl: config.redisUrl!, prefix })
  const ids: string[] = []
  for (let i = 0; i < submissions; i++) {
    const country = COUNTRIES[i % COUNTRIES.length]
    ids.push((await insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, Array.from({ length: BATCH }, () => randomRecord(random, country)))).id)
  }
  const procs = await startWorkers(workers, prefix)
  const started = Date.now()
  for (const id of ids) await queue.enqueue({ submissionId: id, generation: 1 })
  await waitDrained(300_000)
  const s = (Date.now() - started) / 1000
  await stopWorkers(procs)
  await queue.close()
  log(`| ${workers} | ${submissions} × ${BATCH} | ${s.toFixed(2)} | ${(submissions * BATCH / s).toFixed(0)} |`)
}

/** Stored records made on PostgreSQL in one INSERT … SELECT generate_series, then cells rebuilt. */
async function growTo (total: number) {
  const [c] = await rows<{ n: string }>(database.db, sql`SELECT count(*) AS n FROM records`)
  const missing = total - Number(c.n)
  if (missing <= 0) return
  const perSubmission = 1000
  const subs = Math.ceil(missing / perSubmission)
  const t0 = Date.now()
  await database.db.execute(sql`
    INSERT INTO submissions (id, partner_id, country, schema_name, schema_version, record_count, body_sha256, receipt, applied, aggregated_at)
    SELECT md5('s' || g || ${benchName})::uuid, 'moh-kaz', 'KAZ', 'migrant-health-event', '1.0.0', ${perSubmission}, 'x', 'r', true, now()
    FROM generate_series(1, ${subs}) g`)
  await database.db.execute(sql`
    INSERT INTO records (submission_id, partner_id, record_id, period, country, subnational_area, country_of_origin, migration_status,
      migration_stage, sex, age_band, encounter, condition, condition_group, screening_context, screening_consequence, insurance, outcome, record_key)
    SELECT md5('s' || (1 + (g - 1) / ${perSubmission}) || ${benchName})::uuid, 'moh-kaz', md5('r' || g || ${benchName})::uuid,
      '20' || (10 + g % 16) || '-' || lpad((1 + g % 12)::text, 2, '0'), 'KAZ', (ARRAY['_Z','KZ-75','KZ-71','KZ-79'])[1 + g % 4],
      (ARRAY['UZB','TJK','KGZ','unknown','AFG'])[1 + g % 5], (ARRAY['labour_migrant','family_member','student','returnee'])[1 + g % 4],
      (ARRAY['destination','transit'])[1 + g % 2], (ARRAY['female','male'])[1 + (g / 7) % 2], (ARRAY['20-24','25-29','30-34','35-39'])[1 + (g / 3) % 4],
      (ARRAY['primary_care','occupational_injury','emergency_care'])[1 + (g / 11) % 3], 'A15', 'tb', '_Z', '_Z',
      (ARRAY['none','public'])[1 + (g / 13) % 2], '_Z', floor(random() * 4294967296)::bigint
    FROM generate_series(1, ${subs * perSubmission}) g`)
  const t1 = Date.now()
  const rebuilt = await rebuildCells(database)
  await database.db.execute(sql`ANALYZE`)
  log(`  grew to ${total} records in ${((t1 - t0) / 1000).toFixed(1)} s; rebuild of ${rebuilt.cells} cells in ${((Date.now() - t1) / 1000).toFixed(1)} s`)
}

async function costAt (total: number) {
  await growTo(total)
  const samples: number[] = []
  for (let i = 0; i < 40; i++) {
    const s = await insertSubmission(database.db, 'moh-uzb', 'UZB', Array.from({ length: BATCH }, () => randomRecord(random, 'UZB')))
    const t0 = process.hrtime.bigint()
    await processSubmission(database, s.id)
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  samples.sort((a, b) => a - b)
  // The records actually stored: the earlier runs may already have stored more than `total`.
  const [stored] = await rows<{ records: string, cells: string }>(database.db, sql`SELECT (SELECT count(*) FROM records) AS records, (SELECT count(*) FROM cells) AS cells`)
  log(`| ${Number(stored.records).toLocaleString('en')} | ${Number(stored.cells).toLocaleString('en')} | ${BATCH} | ${q(samples, 0.5).toFixed(1)} | ${q(samples, 0.95).toFixed(1)} |`)
}

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
const ms = (s: string) => `${(Number(s) * 1000).toFixed(0)} ms`

try {
  await migrate(database)
  for (const c of COUNTRIES) await insertPartner(database.db, `moh-${c.toLowerCase()}`, c)
  log(`## Aggregation (${new Date().toISOString().slice(0, 10)}, ${process.platform}, 2 cores, PostgreSQL + Redis on 127.0.0.1)\n`)
  log(`Freshness, accepted → aggregated (intake open-loop for ${SECONDS} s, submissions of ${BATCH} records):\n`)
  log('| worker processes | target records/s | records/submission | achieved records/s | p50 | p95 | p99 | max |')
  log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  await freshnessRun(1)
  await freshnessRun(2)
  log('\nThroughput, a backlog drained (records aggregated per second):\n')
  log('| worker processes | backlog | seconds | records/s |')
  log('| --- | --- | --- | --- |')
  await throughputRun(1, 100)
  await throughputRun(2, 100)
  log('\nCost of one submission vs stored records (processSubmission, sequential, 40 samples):\n')
  log('| stored records | cells | records/submission | p50 ms | p95 ms |')
  log('| --- | --- | --- | --- | --- |')
  for (const size of args.sizes!.split(',').map(Number)) await costAt(size)
  const v = await verifyCells(database.db)
  log(`\nverify after the run: ok=${v.ok}, ${v.cells} cells, ${v.records} records`)
} finally {
  await finish()
}
