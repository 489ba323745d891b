// Release benchmark: GET /v1/aggregates?region=central-asia&by=country,sex with bearer tokens, 50
// connections, beside the unprotected /health/live on the same server in the same run, on cells
// filled directly with SQL from N synthetic records (the read path touches only `cells` and the
// margins their triggers keep).
// Also: the cold (uncached) roll-up latency, the roll-up statement summing every cell and through
// the margins (cell_margins), and the cost of the audit rows each read writes.
// Also a bare Fastify route (bench/bare-fastify.ts) in a child process of its own, under the same load:
// the service's trivial route against it is what the service's hooks cost.
// Run: [MHX_READ_AUDIT=async] [BENCH_SECONDS=15] [BENCH_REPEAT=3] npx tsx bench/release.ts [records=1000000] [admin database URL]
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { describe, load, type LoadResult } from './load.js'
import { connectPostgres } from '../src/db/connect.js'
import { rollUp, type RolledCell } from '../src/release/rollup.js'
import { buildPtable } from '../src/release/ptable.js'
import type { AggregateQuery } from '../src/release/query.js'
import { cleanUp, cpuSeconds, fillCells, freshDatabase, readerToken, startServer, type BenchServer } from './support.js'

const RECORDS = Number(process.argv[2] ?? 1_000_000)
const ADMIN_DB_URL = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/test'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const CONNECTIONS = 50
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3)
const CENTRAL_ASIA = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB']
const QUERY = '/v1/aggregates?region=central-asia&from=2025-01&to=2026-12&by=country,sex'

async function main () {
  const database = await freshDatabase(ADMIN_DB_URL, 'mhx_bench_rel')
  const dbUrl = database.url
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-'))
  const port = 3900 + Math.floor(Math.random() * 50)
  let server: BenchServer | undefined
  const db = new pg.Client({ connectionString: dbUrl })
  try {
    // MHX_READ_AUDIT=async in the bench's environment measures reads answered before their audit commit.
    const readAudit = process.env.MHX_READ_AUDIT ?? 'sync'
    server = await startServer({ DATABASE_URL: dbUrl, MHX_DATA_DIR: dataDir, MHX_PUBLIC_URL: `http://127.0.0.1:${port}`, MHX_READ_AUDIT: readAudit }, port)
    console.log(`MHX_READ_AUDIT=${readAudit}`)
    await db.connect()
    const fillStart = performance.now()
    console.log(`filling cells from ${RECORDS} synthetic records…`)
    const cellCount = await fillCells(db, RECORDS)
    console.log(`  ${cellCount} cells in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`)

    const token = await readerToken(db, server.url, 'bench-reader', ['central-asia', 'KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'])
    const auth = { authorization: `Bearer ${token}` }

    // Cold: distinct spans, each a cache miss that rolls the cells up.
    const cold: number[] = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const res = await fetch(`${server.url}/v1/aggregates?region=central-asia&from=2025-0${i + 1}&to=2026-12&by=country,sex`, { headers: auth })
      if (res.status !== 200) throw new Error(`aggregates: ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
      cold.push(performance.now() - t0)
    }
    cold.sort((a, b) => a - b)
    const sample = await (await fetch(`${server.url}${QUERY}`, { headers: auth })).json() as { cells: unknown[] }
    console.log(`cold roll-up (cache miss) of central-asia by country,sex over ${cellCount} cells: median ${cold[2].toFixed(0)} ms (min ${cold[0].toFixed(0)}, max ${cold[4].toFixed(0)}); answer ${sample.cells.length} cells`)
    await rollUpPaths(dbUrl)

    const { rows: before } = await db.query(`SELECT count(*)::int AS n FROM audit_log`)
    // CPU per request of the server, PostgreSQL and this load generator: on two shared cores the sum is the cost.
    const cpu = () => ({ server: cpuSeconds({ pid: server!.child.pid! }), postgres: cpuSeconds({ comm: 'postgres' }), load: process.cpuUsage() })
    const cpuPerRequest = (before: ReturnType<typeof cpu>, requests: number) => {
      const after = cpu()
      const us = (s: number) => (s * 1e6 / requests).toFixed(0)
      const loadUs = ((after.load.user + after.load.system) - (before.load.user + before.load.system)) / requests
      return `CPU per request: server ${us(after.server - before.server)} µs, PostgreSQL ${us(after.postgres - before.postgres)} µs, load generator ${loadUs.toFixed(0)} µs`
    }
    // Statements the service runs per read: every statement outside a transaction block is one commit.
    const commits = async () => Number((await db.query(`SELECT pg_stat_force_next_flush(), xact_commit FROM pg_stat_database WHERE datname = current_database()`)).rows[0].xact_commit)
    async function run (name: string, path: string, headers: Record<string, string> = {}) {
      const commitsBefore = await commits()
      const cpuBefore = cpu()
      const result = await load({ url: `${server!.url}${path}`, connections: CONNECTIONS, seconds: SECONDS, request: () => ({ headers }) })
      const cpuLine = cpuPerRequest(cpuBefore, result.requests)
      const transactions = await commits() - commitsBefore
      console.log(describe(name, result))
      console.log(`  ${cpuLine}; ${(result.bytes / result.requests).toFixed(0)} bytes per answer; database transactions ${(transactions / result.requests).toFixed(3)} per request`)
      return result
    }
    // The trivial route, the bare Fastify route and the read take turns BENCH_REPEAT times (the machine's
    // load drifts); the medians are reported, and the ratios of medians.
    const bare = await startBareFastify()
    const trivials: LoadResult[] = []
    const bares: LoadResult[] = []
    const readRuns: LoadResult[] = []
    try {
      for (let i = 0; i < REPEAT; i++) {
        trivials.push(await run('GET /health/live (unprotected, trivial)', '/health/live'))
        const bareCpu = cpuSeconds({ pid: bare.pid })
        const result = await load({ url: bare.url, connections: CONNECTIONS, seconds: SECONDS })
        console.log(describe('GET /health/live on a bare Fastify app (no hooks)', result))
        console.log(`  CPU per request: bare server ${((cpuSeconds({ pid: bare.pid }) - bareCpu) * 1e6 / result.requests).toFixed(0)} µs`)
        bares.push(result)
        readRuns.push(await run(`GET ${QUERY} (bearer, JSON, no Accept-Encoding)`, QUERY, auth))
      }
    } finally {
      await bare.stop()
    }
    const median = (list: LoadResult[], key: 'rps' | 'p99') => list.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(list.length / 2)]
    const trivial = { rps: median(trivials, 'rps'), p99: median(trivials, 'p99') }
    const bareRoute = { rps: median(bares, 'rps'), p99: median(bares, 'p99') }
    const reads = { rps: median(readRuns, 'rps'), p99: median(readRuns, 'p99') }
    const answeredReads = readRuns.reduce((n, r) => n + (r.statuses[200] ?? 0), 0)
    // Issue 13: content negotiation and compression must cost the cached read at most 10 % of its rate.
    const compressed = await run('the same, Accept-Encoding: gzip, br', QUERY, { ...auth, 'accept-encoding': 'gzip, br' })
    const csv = await run('the same, Accept: text/csv, Accept-Encoding: gzip, br', QUERY, { ...auth, accept: 'text/csv', 'accept-encoding': 'gzip, br' })
    const { rows: after } = await db.query(`SELECT count(*)::int AS n FROM audit_log`)
    const answered = answeredReads + [compressed, csv].reduce((n, r) => n + (r.statuses[200] ?? 0), 0)
    const fixed = (r: { rps: number, p99: number }) => `${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(1)} ms`
    console.log(`medians of ${REPEAT} turns at c=${CONNECTIONS}: trivial ${fixed(trivial)}; bare Fastify ${fixed(bareRoute)}; aggregates (JSON) ${fixed(reads)}`)
    console.log(`ratio aggregates (JSON) / trivial: ${(reads.rps / trivial.rps).toFixed(2)}; p99 of the reads ${reads.p99.toFixed(1)} ms`)
    console.log(`ratio aggregates (JSON) / bare Fastify route: ${(reads.rps / bareRoute.rps).toFixed(2)}; trivial / bare Fastify route: ${(trivial.rps / bareRoute.rps).toFixed(2)} (what the service's hooks cost)`)
    console.log(`ratio compressed JSON / plain JSON: ${(compressed.rps / reads.rps).toFixed(2)}; compressed CSV / plain JSON: ${(csv.rps / reads.rps).toFixed(2)} (target ≥ 0.90)`)
    console.log(`audit rows written during the reads: ${after[0].n - before[0].n} for ${answered} answered reads (one per read)`)
  } finally {
    await cleanUp({ server, db, database, dataDir })
  }
}

/** The bare Fastify route of bench/bare-fastify.ts, in a child process as the service is. */
async function startBareFastify (): Promise<{ url: string, pid: number, stop (): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('bare-fastify.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port))
    child.once('exit', (code) => reject(new Error(`bare Fastify exited with ${code}`)))
  })
  return {
    url: `http://127.0.0.1:${port}/health/live`,
    pid: child.pid!,
    async stop () {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * The roll-up alone (the statement a cache miss runs), the same five spans as above, summing every
 * cell (the path before cell_margins) and through the margins; both must release the same cells.
 */
async function rollUpPaths (url: string): Promise<void> {
  const database = await connectPostgres({ url, poolMax: 1, statementTimeoutMs: 600_000 })
  try {
    const ptable = buildPtable()
    const query = (i: number): AggregateQuery => ({ region: 'central-asia', from: `2025-0${i + 1}`, to: '2026-12', periodType: 'month', by: ['country', 'sex'], filters: {} })
    const time = async (margins: boolean) => {
      const ms: number[] = []
      let last: RolledCell[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        last = await rollUp(database.db, query(i), CENTRAL_ASIA, 'cellkey', ptable, [], { margins })
        ms.push(performance.now() - t0)
      }
      ms.sort((a, b) => a - b)
      return { text: `median ${ms[2].toFixed(0)} ms (min ${ms[0].toFixed(0)}, max ${ms[4].toFixed(0)})`, last }
    }
    const cells = await time(false)
    const margins = await time(true)
    console.log(`roll-up statement, central-asia by country,sex, cell-key: summing cells (before) ${cells.text}; through cell_margins (after) ${margins.text}; same released cells: ${JSON.stringify(cells.last) === JSON.stringify(margins.last)}`)
  } finally {
    await database.close()
  }
}

await main()
