// Intake throughput: records accepted per second through POST /v1/submissions (1,000-record JSON
// batches, several concurrent clients, the API in its own process, PostgreSQL on this machine),
// beside a raw COPY (pg-copy-streams) of the same rows into the same table in the same run.
// Also p50/p99 latency of one 1,000-record submission and the API's peak RSS, and aggregate data values
// (migrant-health-aggregate JSON and ADX, 1,000 per submission) per second in the same rounds.
//
//   npx tsx bench/intake.ts            (DATABASE_URL names the server; default postgres://postgres@127.0.0.1:5432/test)
//   BENCH_BATCHES=120 BENCH_CLIENTS=4 BENCH_WARM_UP=20 npx tsx bench/intake.ts
//   BENCH_CPU_PROF=/tmp/prof (a CPU profile of the API, phases' windows in phases.json); BENCH_NODE_FLAGS='--trace-opt' (the API's node flags)
//   BENCH_WORKER=0: the API without its worker (the figures of the intake alone; by default the worker
//   aggregates each submission beside the API, as `npm start` runs it); BENCH_DATA_VALUES=0: records only
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import http from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import pino from 'pino'
import { freshDatabase } from './support.js'
import { buildApp } from '../src/app.js'
import { createInProcessQueue } from '../src/aggregation/in-process-queue.js'
import { startAggregation } from '../src/aggregation/worker-runtime.js'
import { loadHubKeys } from '../src/auth/hub-keys.js'
import { ASSERTION_TYPE } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'
import { connectPostgres } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { partners, submissions } from '../src/db/schema.js'
import { createMetrics } from '../src/ops/metrics.js'
import { loadSchemaRegistry, STORED_FIELDS } from '../src/intake/registry.js'

const PUBLIC_URL = 'http://bench.mhx.local'
const BATCH = 1000
// records of the record model's current version, as the data values (migrant-health-aggregate 1.1.0):
// both held to the same cross-field rules (1.0.0 has none: its records cost 0.3–0.5 µs less to validate in process)
const RECORD_VERSION = '1.1.0'

/** The API in this process (child mode), with the worker beside it as `npm start` runs them unless BENCH_WORKER=0. */
async function serve (): Promise<void> {
  const config = loadConfig()
  const database = await connectPostgres({ url: config.databaseUrl!, poolMax: config.dbPoolMax, statementTimeoutMs: config.dbStatementTimeoutMs })
  const keys = await loadHubKeys(database.db, Buffer.from(config.kek!, 'base64'))
  const logger = pino({ level: 'warn' })
  const queue = createInProcessQueue()
  const worker = process.env.BENCH_WORKER === '0' ? undefined : await startAggregation({ config, database, queue, metrics: createMetrics({ queue, database }), logger })
  const app = await buildApp({ config, database, queue, keys, schemas: await loadSchemaRegistry(), logger })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n')
  process.on('SIGTERM', () => { void app.close().then(() => worker?.close()).then(() => database.close()).then(() => process.exit(0)) })
}

function envInt (name: string, fallback: number): number {
  const raw = process.env[name]
  return raw ? Number(raw) : fallback
}

async function main (): Promise<void> {
  const batches = envInt('BENCH_BATCHES', 120)
  const clients = envInt('BENCH_CLIENTS', 4)
  const rounds = envInt('BENCH_ROUNDS', 4)
  const warmUp = envInt('BENCH_WARM_UP', 20)
  const adminUrl = loadConfig().databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test'
  const benchDatabase = await freshDatabase(adminUrl)
  const dbName = benchDatabase.name
  const url = new URL(benchDatabase.url)
  const kek = randomBytes(32).toString('base64')
  let child: ChildProcess | undefined
  try {
    const database = await connectPostgres({ url: url.toString(), poolMax: 8, statementTimeoutMs: 120_000 })
    await migrate(database)
    await loadHubKeys(database.db, Buffer.from(kek, 'base64'))
    const pair = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bench-1', alg: 'ES256' }
    await database.db.insert(partners).values([
      { id: 'bench-kaz', name: 'Bench reporter', roles: ['reporter'], country: 'KAZ', jwks: { keys: [jwk] } },
      { id: 'bench-copy', name: 'Bench COPY target, batched', roles: ['reporter'], country: 'KAZ', jwks: { keys: [] } },
      { id: 'bench-copy1', name: 'Bench COPY target, one stream', roles: ['reporter'], country: 'KAZ', jwks: { keys: [] } }
    ])
    const copyTarget = async (partnerId: string) => {
      const id = randomUUID()
      await database.db.insert(submissions).values({
        id, partnerId, country: 'KAZ', schemaName: 'migrant-health-event', schemaVersion: RECORD_VERSION,
        recordCount: batches * BATCH, bodySha256: '0'.repeat(64), receipt: 'none',
        // not for the worker: counted = applied keeps it out of the outbox its sweep reads
        counted: false
      })
      return { id, partnerId }
    }
    const batchedTarget = await copyTarget('bench-copy')
    const singleTarget = await copyTarget('bench-copy1')

    const withWorker = process.env.BENCH_WORKER !== '0'
    console.log(`intake bench: ${batches} batches of ${BATCH} records, ${clients} concurrent clients, ${rounds} interleaved rounds, database ${dbName}, ${withWorker ? 'the worker running beside the API' : 'no worker'}`)
    console.log(`  load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`)
    // The same rows for every path: JSON bodies for the API, COPY text for the raw paths.
    const rowsOf = Array.from({ length: batches }, () => Array.from({ length: BATCH }, () => benchRecord()))
    const bodies = rowsOf.map((recs) => JSON.stringify({ schema: 'migrant-health-event', version: RECORD_VERSION, records: recs }))
    const batchedTexts = rowsOf.map((recs) => recs.map((r) => copyLine(batchedTarget, r)).join(''))
    const singleTexts = rowsOf.map((recs) => recs.map((r) => copyLine(singleTarget, r)).join(''))
    console.log(`  body size: ${(bodies[0].length / 1024).toFixed(0)} KiB per 1,000-record JSON batch`)

    // the API with the young generation npm start and the Docker image give it
    child = spawn(process.execPath, ['--max-semi-space-size=64', ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
      env: { ...process.env, DATABASE_URL: url.toString(), MHX_KEK: kek, MHX_PUBLIC_URL: PUBLIC_URL, LOG_LEVEL: 'warn', MHX_ROLE: 'all', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const port = await new Promise<number>((resolve, reject) => {
      // the port line, among what BENCH_NODE_FLAGS such as --trace-opt print, which goes on to stderr
      const onData = (chunk: Buffer) => {
        const announced = /\{"port":(\d+)\}/.exec(chunk.toString())
        if (!announced) return
        child!.stdout!.off('data', onData).pipe(process.stderr)
        resolve(Number(announced[1]))
      }
      child!.stdout!.on('data', onData)
      child!.once('exit', (code) => reject(new Error(`API exited with ${code}`)))
    })
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
    const token = await accessToken(agent, port, pair.privateKey)

    // Warm-up (JIT, pool, statement plans), as many submissions of each path, taking turns. Three
    // of each were too few: V8 still compiled the code run once per submission (the query builder,
    // streams, the driver) during the measured rounds, on its own threads, about half of their
    // CPU (perf), in whichever path's turn each function happened to become hot. The data values'
    // first submissions also ran unoptimized, which counted against them and not the records.
    // The warm-up's data values are of years the measured ones do not use, and spread over all of
    // their dimension combinations, as the records' are by being random: the first 3,000 held one
    // recordType and serviceCoverage, so the measured data values met code V8 had not seen yet (it
    // deoptimized and recompiled the data values' validation several times, on its own threads)
    const dataValues = envInt('BENCH_DATA_VALUES', 100_000)
    const spread = Math.max(1, Math.floor(dataValues / (warmUp * BATCH)))
    for (let b = 0; b < warmUp; b++) {
      await post(agent, port, token, JSON.stringify({ schema: 'migrant-health-event', version: RECORD_VERSION, records: Array.from({ length: BATCH }, () => benchRecord()) }))
      const slice = Array.from({ length: BATCH }, (_, i) => (b * BATCH + i) * spread)
      await post(agent, port, token, JSON.stringify({ schema: 'migrant-health-aggregate', version: '1.1.0', dataValues: slice.map((i) => dataValueOf(i, 2022)) }))
      await post(agent, port, token, adxOf(slice.map((i) => dataValueOf(i, 2021))), 'application/adx+xml')
    }

    // What the worker has not applied yet: it runs beside the API, so a phase may leave it behind; the next
    // phase starts once it has caught up (so a raw COPY never shares the machine with it), and the wait is reported.
    const outbox = async () => ((await database.pool!.query('SELECT count(*)::int AS n FROM submissions WHERE counted <> applied')).rows[0] as { n: number }).n
    let lagSeconds = 0
    const caughtUp = async () => {
      if (!withWorker) return
      lagSeconds += await timed(async () => { while (await outbox() > 0) await new Promise((resolve) => setTimeout(resolve, 20)) })
    }
    await caughtUp()
    lagSeconds = 0

    // The machine's load drifts: the three paths take turns, round by round, on slices of the same rows,
    // so each sees the same table sizes and the same neighbours.
    const rssSamples: number[] = []
    const latencies: number[] = []
    let failures = 0
    let copyBatched = 0
    let copySingle = 0
    let intakeSeconds = 0
    // Aggregate intake: the same number of data values as JSON and as ADX, 1,000 per submission, in
    // the same rounds (before or after each round's records, by turns), so they meet the same table sizes and heap.
    const dvBatches = Math.ceil(dataValues / BATCH)
    const dvSlices = Array.from({ length: dvBatches }, (_, b) => Array.from({ length: Math.min(BATCH, dataValues - b * BATCH) }, (_, i) => b * BATCH + i))
    const jsonBodies = dvSlices.map((slice) => JSON.stringify({ schema: 'migrant-health-aggregate', version: '1.1.0', dataValues: slice.map((i) => dataValueOf(i, 2024)) }))
    const adxBodies = dvSlices.map((slice) => adxOf(slice.map((i) => dataValueOf(i, 2023))))
    let dvFailures = 0
    const dvSeconds = async (list: string[], type: string) => timed(() => inParallel(list, clients, async (body) => {
      if (await post(agent, port, token, body, type) !== 202) dvFailures++
    }))
    let jsonSeconds = 0
    let adxSeconds = 0
    // with BENCH_CPU_PROF, the phases' windows on the monotonic clock the profile's timestamps use (µs)
    const phases: Array<{ phase: string, from: number, to: number }> = []
    // CPU seconds each phase cost the API and PostgreSQL (all its processes), to tell where the time goes
    // (and the API's main thread alone: the rest is V8's own threads, compiling and collecting garbage)
    const cpu: Record<string, { api: number, main: number, postgres: number }> = {}
    const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const from = Number(process.hrtime.bigint() / 1000n)
      const api0 = cpuSecondsOf([child!.pid!])
      const main0 = cpuSecondsOf([`${child!.pid!}/task/${child!.pid!}`])
      const pg0 = cpuSecondsOf(postgresPids())
      const result = await work()
      phases.push({ phase: name, from, to: Number(process.hrtime.bigint() / 1000n) })
      const spent = cpu[name] ??= { api: 0, main: 0, postgres: 0 }
      spent.main += cpuSecondsOf([`${child!.pid!}/task/${child!.pid!}`]) - main0
      spent.api += cpuSecondsOf([child!.pid!]) - api0
      spent.postgres += cpuSecondsOf(postgresPids()) - pg0
      return result
    }
    const perRound = Math.ceil(batches / rounds)
    const dvPerRound = Math.ceil(dvBatches / rounds)
    for (let round = 0; round < rounds; round++) {
      const slice = [round * perRound, Math.min(batches, (round + 1) * perRound)] as const
      copyBatched += await phase('copyBatched', () => timed(() => inParallel(batchedTexts.slice(...slice), clients, (text) => copyRows(database.pool!, text))))
      copySingle += await phase('copySingle', () => timed(() => copyRows(database.pool!, singleTexts.slice(...slice).join(''))))
      const records = async () => {
        const sampler = setInterval(() => rssSamples.push(rssOf(child!.pid!)), 100)
        intakeSeconds += await phase('records', () => timed(() => inParallel(bodies.slice(...slice), clients, async (body) => {
          const t0 = performance.now()
          const status = await post(agent, port, token, body)
          latencies.push(performance.now() - t0)
          if (status !== 202) failures++
        })))
        clearInterval(sampler)
        await phase('catchUp', caughtUp)
      }
      const dvSlice = [round * dvPerRound, Math.min(dvBatches, (round + 1) * dvPerRound)] as const
      const counts = async () => {
        if (dataValues === 0) return
        jsonSeconds += await phase('json', () => dvSeconds(jsonBodies.slice(...dvSlice), 'application/json'))
        adxSeconds += await phase('adx', () => dvSeconds(adxBodies.slice(...dvSlice), 'application/adx+xml'))
        await caughtUp()
      }
      // records and data values take turns going first, so neither always meets the other's heap and table
      if (round % 2 === 0) {
        await records()
        await counts()
      } else {
        await counts()
        await records()
      }
    }
    if (process.env.BENCH_CPU_PROF) writeFileSync(`${process.env.BENCH_CPU_PROF}/phases.json`, JSON.stringify(phases))
    const copyRate = batches * BATCH / copyBatched
    const copySingleRate = batches * BATCH / copySingle
    const intakeRate = (batches - failures) * BATCH / intakeSeconds

    // One client alone: the latency a ministry sees when the hub is not busy.
    const alone: number[] = []
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ schema: 'migrant-health-event', version: RECORD_VERSION, records: Array.from({ length: BATCH }, () => benchRecord()) })
      const t0 = performance.now()
      if (await post(agent, port, token, body) !== 202) failures++
      alone.push(performance.now() - t0)
    }
    const peakRss = peakRssOf(child.pid!)
    agent.destroy()

    const [{ n }] = (await database.pool!.query(`SELECT count(*)::int AS n FROM records WHERE partner_id = 'bench-kaz'`)).rows as Array<{ n: number }>
    const expected = (batches + warmUp + 20) * BATCH + 2 * (dataValues + warmUp * BATCH)
    console.log('')
    console.log(`  raw COPY, ${clients} streams of 1,000-row batches: ${fmt(copyRate)} rows/s (${copyBatched.toFixed(2)} s)`)
    console.log(`  raw COPY, one stream of all ${batches * BATCH} rows:  ${fmt(copySingleRate)} rows/s (${copySingle.toFixed(2)} s)`)
    console.log(`  POST /v1/submissions, ${clients} clients:          ${fmt(intakeRate)} records/s (${intakeSeconds.toFixed(2)} s, ${failures} failed)`)
    if (dataValues > 0) {
      console.log(`  aggregate JSON, ${fmt(dataValues)} data values:      ${fmt(dataValues / jsonSeconds)} data values/s (${jsonSeconds.toFixed(2)} s)`)
      console.log(`  aggregate ADX, ${fmt(dataValues)} data values:       ${fmt(dataValues / adxSeconds)} data values/s (${adxSeconds.toFixed(2)} s, ${dvFailures} failed in both)`)
      console.log(`  data values / records per second: JSON ${(dataValues / jsonSeconds / intakeRate).toFixed(2)}, ADX ${(dataValues / adxSeconds / intakeRate).toFixed(2)}`)
    }
    const µs = (seconds: number, values: number) => (seconds / values * 1e6).toFixed(1)
    const perValue = (name: string, values: number) => cpu[name] ? `${µs(cpu[name].api, values)} (main thread ${µs(cpu[name].main, values)}) + ${µs(cpu[name].postgres, values)}` : 'n/a'
    console.log(`  CPU µs per value, API (its main thread) + PostgreSQL: records ${perValue('records', batches * BATCH)}, JSON ${perValue('json', dataValues)}, ADX ${perValue('adx', dataValues)}`)
    if (withWorker) console.log(`  the worker caught up ${lagSeconds.toFixed(2)} s after the intake phases ended, in all; after the record phases it cost ${perValue('catchUp', batches * BATCH)} CPU µs per record, API (main thread) + PostgreSQL`)
    console.log(`  PostgreSQL CPU µs per row of raw COPY: 4 streams ${µs(cpu.copyBatched.postgres, batches * BATCH)}, one stream ${µs(cpu.copySingle.postgres, batches * BATCH)}`)
    console.log(`  intake / raw COPY (batched):  ${(intakeRate / copyRate).toFixed(2)}`)
    console.log(`  intake / raw COPY (one stream): ${(intakeRate / copySingleRate).toFixed(2)}`)
    console.log(`  latency of a 1,000-record submission, ${clients} clients: p50 ${pct(latencies, 0.5)} ms, p99 ${pct(latencies, 0.99)} ms`)
    console.log(`  latency of a 1,000-record submission, alone:      p50 ${pct(alone, 0.5)} ms, p99 ${pct(alone, 0.99)} ms`)
    console.log(`  load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log(`  API peak RSS: ${(peakRss / 1024).toFixed(0)} MiB (VmHWM; sampled max ${(Math.max(...rssSamples) / 1024).toFixed(0)} MiB)`)
    console.log(`  stored records of the reporter: ${n} (expected ${expected})`)
    await database.close()
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((resolve) => child!.once('exit', resolve))
    }
    await benchDatabase.drop()
  }
}

type BenchRecord = Record<string, string>

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]
const AREAS = ['KZ-75', 'KZ-71', 'KZ-79', 'KZ-19', 'KZ-61']
const STATUSES = ['labour_migrant', 'family_member', 'student', 'returnee', 'unknown']
const ORIGINS = ['UZB', 'TJK', 'KGZ', 'TKM', 'RUS', 'unknown']
const CONDITIONS = ['A15', 'B20', 'O80.1', 'J18', 'E11', 'S62']

/** A realistic record: every required field, about half the optional ones. */
function benchRecord (): BenchRecord {
  const r: BenchRecord = {
    recordId: randomUUID(),
    period: `2026-0${1 + Math.floor(Math.random() * 6)}`,
    countryOfOrigin: pick(ORIGINS),
    migrationStatus: pick(STATUSES),
    migrationStage: pick(['destination', 'transit', 'return']),
    sex: pick(['female', 'male']),
    ageBand: pick(['20-24', '25-29', '30-34', '35-39', '40-44']),
    encounter: pick(['primary_care', 'emergency_care', 'screening', 'occupational_injury']),
    insurance: pick(['public', 'none', 'unknown']),
    recordType: 'contact'
  }
  if (Math.random() < 0.5) r.subnationalArea = pick(AREAS)
  if (Math.random() < 0.5) r.condition = pick(CONDITIONS)
  if (Math.random() < 0.3) r.outcome = pick(['treated', 'referred'])
  if (Math.random() < 0.5) r.serviceCoverage = pick(['covered', 'not_covered'])
  return r
}

// The raw path stores what the intake stores (its condition group is looked up the same way, ahead of time),
// in the column order of the field definitions, with a count and a record key as intake draws them.
const GROUP: Record<string, string> = { A15: 'tb', B20: 'hiv', 'O80.1': 'maternal', J18: 'respiratory', E11: 'diabetes', S62: 'injury' }
const RAW_COLUMNS = ['submission_id', 'partner_id', 'record_id', 'live', ...STORED_FIELDS.map((f) => f.column as string), 'count', 'record_key']
function copyLine (target: { id: string, partnerId: string }, r: BenchRecord): string {
  const values = STORED_FIELDS.map((f) => f.name === 'reportingCountry' ? 'KAZ' : f.name === 'conditionGroup' ? (r.condition ? GROUP[r.condition] : '_Z') : r[f.name] ?? '_Z')
  return [target.id, target.partnerId, r.recordId, 't', ...values, '1', String(Math.floor(Math.random() * 4294967296))].join('\t') + '\n'
}

async function copyRows (pool: pg.Pool, text: string): Promise<void> {
  const client = await pool.connect()
  try {
    const stream = client.query(copyFrom(`COPY records (${RAW_COLUMNS.join(', ')}) FROM STDIN`))
    await pipeline(Readable.from([text]), stream)
  } finally {
    client.release()
  }
}

// ---- aggregate data values: unique dimensions per reporter, enumerated ----

const DV_AXES: Array<[string, readonly string[]]> = [
  ['countryOfOrigin', ORIGINS], ['migrationStatus', STATUSES], ['migrationStage', ['destination', 'transit', 'pre_departure']],
  ['sex', ['female', 'male']], ['ageBand', ['5-9', '10-14', '15-19', '20-24', '25-29', '30-34', '35-39', '40-44', '45-49', '50-54', '55-59', '60-64']],
  ['encounter', ['primary_care', 'emergency_care', 'screening', 'inpatient']], ['insurance', ['public', 'none', 'unknown']],
  ['recordType', ['contact', 'case_notification']], ['serviceCoverage', ['covered', 'not_covered']]
]

/** The i-th data value of a year: every dimension combination once (mixed radix), months last. */
function dataValueOf (i: number, year: number): Record<string, string | number> {
  const dv: Record<string, string | number> = {}
  let rest = i
  for (const [field, values] of DV_AXES) {
    dv[field] = values[rest % values.length]
    rest = Math.floor(rest / values.length)
  }
  dv.period = `${year}-${String(1 + (rest % 12)).padStart(2, '0')}`
  dv.count = 1 + (i % 97)
  return dv
}

function adxOf (values: Array<Record<string, string | number>>): string {
  const byPeriod = new Map<string, string[]>()
  for (const { period, recordType, count, ...dims } of values) {
    const attributes = Object.entries(dims).map(([k, v]) => `${k}="${String(v)}"`).join(' ')
    const list = byPeriod.get(String(period)) ?? []
    list.push(`<dataValue dataElement="${String(recordType)}" ${attributes} value="${String(count)}"/>`)
    byPeriod.set(String(period), list)
  }
  const groups = [...byPeriod].map(([period, list]) => `<group orgUnit="KAZ" period="${period}-01/P1M">\n${list.join('\n')}\n</group>`)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015">\n${groups.join('\n')}\n</adx>\n`
}

async function inParallel<T> (items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++])
  }))
}

async function timed (work: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await work()
  return (performance.now() - t0) / 1000
}

function request (agent: http.Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function post (agent: http.Agent, port: number, token: string, body: string, contentType = 'application/json'): Promise<number> {
  const res = await request(agent, port, '/v1/submissions', { authorization: `Bearer ${token}`, 'content-type': contentType }, body)
  if (res.status !== 202) console.error(`  submission answered ${res.status}: ${res.body.slice(0, 300)}`)
  return res.status
}

async function accessToken (agent: http.Agent, port: number, key: CryptoKey): Promise<string> {
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
    .setIssuer('bench-kaz').setSubject('bench-kaz').setAudience(`${PUBLIC_URL}/v1/oauth/token`)
    .setIssuedAt().setExpirationTime('2m').setJti(randomUUID()).sign(key)
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }).toString()
  const res = await request(agent, port, '/v1/oauth/token', { 'content-type': 'application/x-www-form-urlencoded' }, form)
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.body}`)
  return JSON.parse(res.body).access_token
}

/** user + system CPU seconds of these processes, or of a thread as `pid/task/tid` (Linux /proc; 0 for one that is gone) */
function cpuSecondsOf (pids: Array<number | string>): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      // the fields after the command name, which may hold spaces: utime and stime are the 12th and 13th
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks / 100
}
/** PostgreSQL's processes on this machine (the server the bench uses is local) */
function postgresPids (): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')
    } catch {
      return false
    }
  })
}

/** kB */
function rssOf (pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
}
function peakRssOf (pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
}

function pct (values: number[], q: number): string {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0)
}

function fmt (n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

if (process.argv.includes('--serve')) await serve()
else await main()
