// Indicator reads beside the aggregate read of the same numerator (issue 25's figure): p99 warm
// under 50 connections and cold (cache miss) latency, on cells filled directly with SQL from N
// synthetic records, TB cells made case notifications, migrant stock set for every country-year.
// Run: [BENCH_INDICATOR=uninsured-share] npx tsx bench/indicator-reads.ts [records=10000000] [admin database URL]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { describe, load } from './load.js'
import { cleanUp, fillCells, freshDatabase, readerToken, startServer, type BenchServer } from './support.js'
import { freePort } from '../test/helpers.js'

const RECORDS = Number(process.argv[2] ?? 10_000_000)
const ADMIN_DB_URL = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/test'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = 50
const COUNTRIES = ['RUS', 'KAZ', 'TUR', 'UZB', 'KGZ', 'TJK', 'TKM']
// The numerator of tb-notification-rate, asked of /v1/aggregates as the indicator asks it; with
// BENCH_INDICATOR=uninsured-share a proportion instead (two counts: the numerator and its cohort).
const span = (from: string) => `region=central-asia&from=${from}&to=2026-12&by=country`
const PROPORTION = process.env.BENCH_INDICATOR === 'uninsured-share'
const indicatorPath = (from: string) => `/v1/indicators/${PROPORTION ? 'uninsured-share' : 'tb-notification-rate'}/values?${span(from)}`
const aggregatePath = (from: string) => `/v1/aggregates?${span(from)}&${PROPORTION ? 'recordType=contact&insurance=none' : 'recordType=case_notification&conditionGroup=tb'}`

async function main (): Promise<void> {
  const database = await freshDatabase(ADMIN_DB_URL, 'mhx_bench_ind')
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-'))
  // A port nobody holds: another bench's service on a guessed one answered the readiness check.
  const port = await freePort()
  let server: BenchServer | undefined
  const db = new pg.Client({ connectionString: database.url })
  try {
    server = await startServer({ DATABASE_URL: database.url, MHX_DATA_DIR: dataDir, MHX_PUBLIC_URL: `http://127.0.0.1:${port}` }, port)
    await db.connect()
    const fillStart = performance.now()
    const cells = await fillCells(db, RECORDS)
    await db.query(`UPDATE cells SET record_type = 'case_notification' WHERE condition_group = 'tb'`)
    await db.query('ANALYZE cells')
    for (const country of COUNTRIES) {
      for (const year of [2025, 2026]) {
        await db.query(`INSERT INTO denominators (country, year, population, revision, value, source, vintage, set_by, set_at)
          VALUES ($1, $2, 'migrant_stock', 1, $3, 'bench', '2024', 'bench', now())`, [country, year, 200_000 + 10_000 * COUNTRIES.indexOf(country)])
      }
    }
    console.log(`${RECORDS} records, ${cells} cells, filled in ${((performance.now() - fillStart) / 1000).toFixed(0)} s`)
    const token = await readerToken(db, server.url, 'bench-reader', ['central-asia', 'KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'])
    const headers = { authorization: `Bearer ${token}` }

    // Cold: distinct spans, each a cache miss; indicator and aggregate take turns.
    const cold = { indicator: [] as number[], aggregate: [] as number[] }
    for (let i = 0; i < 5; i++) {
      for (const [kind, path] of [['indicator', indicatorPath(`2025-0${i + 1}`)], ['aggregate', aggregatePath(`2025-1${i % 3}`)]] as const) {
        const t0 = performance.now()
        const res = await fetch(`${server.url}${path}`, { headers })
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
        await res.arrayBuffer()
        cold[kind].push(performance.now() - t0)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    console.log(`cold (cache miss), median of 5: indicator ${median(cold.indicator).toFixed(0)} ms (${cold.indicator.map((x) => x.toFixed(0)).join(', ')}); aggregate ${median(cold.aggregate).toFixed(0)} ms (${cold.aggregate.map((x) => x.toFixed(0)).join(', ')})`)

    const warm = async (name: string, path: string) => {
      const result = await load({ url: `${server!.url}${path}`, connections: CONNECTIONS, seconds: SECONDS, request: () => ({ headers }) })
      console.log(describe(name, result))
      return result
    }
    // A round to warm the JIT and the caches, then interleaved rounds: the machine is shared.
    for (const path of [indicatorPath('2025-01'), aggregatePath('2025-01')]) await load({ url: `${server.url}${path}`, connections: CONNECTIONS, seconds: 3, request: () => ({ headers }) })
    for (let round = 0; round < 2; round++) {
      await warm(`GET ${indicatorPath('2025-01').split('?')[0]} (warm)`, indicatorPath('2025-01'))
      await warm('GET /v1/aggregates, the same numerator (warm)', aggregatePath('2025-01'))
    }
  } finally {
    await cleanUp({ server, db, database, dataDir })
  }
}

await main()
