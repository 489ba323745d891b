// Release benchmark: GET /v1/aggregates?region=central-asia&by=country,sex with bearer tokens, 50
// connections, beside the unprotected /health/live on the same server in the same run, on cells
// filled directly with SQL from N synthetic records (the read path only touches `cells`).
// Also: the cold (uncached) roll-up latency, and the cost of the audit rows each read writes.
// Run: [MHX_READ_AUDIT=async] npx tsx bench/release.ts [records=1000000] [admin database URL]
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { describe, load } from './load.js'
import { cpuSeconds, freshDatabase, startServer, type BenchServer } from './support.js'

const RECORDS = Number(process.argv[2] ?? 1_000_000)
const ADMIN_DB_URL = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/test'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const CONNECTIONS = 50
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const QUERY = '/v1/aggregates?region=central-asia&from=2025-01&to=2026-12&by=country,sex'

async function fillCells (client: pg.Client, records: number): Promise<number> {
  const pick = (values: string[]) => `(ARRAY[${values.map((v) => `'${v}'`).join(',')}])[1 + floor(power(random(), 2) * ${values.length})::int]`
  const batch = 1_000_000
  for (let done = 0; done < records; done += batch) {
    const n = Math.min(batch, records - done)
    await client.query(`
      INSERT INTO cells (period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band,
        encounter, condition_group, screening_context, screening_consequence, insurance, outcome, count, key_sum)
      SELECT period, country, '_Z', origin, status, stage, sex, age, encounter, cgroup, sctx, scons, insurance, outcome, count(*),
        floor(random() * 4294967296)::bigint
      FROM (SELECT
        to_char(make_date(2025 + (m / 12), (m % 12) + 1, 1), 'YYYY-MM') AS period,
        ${pick(['RUS', 'KAZ', 'TUR', 'UZB', 'KGZ', 'TJK', 'TKM'])} AS country,
        ${pick(['UZB', 'TJK', 'KGZ', 'KAZ', 'TKM', 'AFG', 'UKR', 'unknown'])} AS origin,
        ${pick(['labour_migrant', 'family_member', 'returnee', 'student', 'refugee_or_asylum_seeker', 'unknown', 'stateless', 'other'])} AS status,
        ${pick(['destination', 'return', 'transit', 'pre_departure'])} AS stage,
        ${pick(['male', 'female', 'unknown', 'other'])} AS sex,
        ${pick(['25-29', '30-34', '20-24', '35-39', '40-44', '15-19', '45-49', '50-54', '0-4', '5-9', '10-14', '55-59', '60-64', '65-69', '70-74', '75-79', '80+', 'unknown'])} AS age,
        ${pick(['primary_care', 'emergency_care', 'occupational_injury', 'screening', 'inpatient', 'antenatal_care', 'delivery', 'immunization', 'mental_health_psychosocial', 'postnatal_care', 'other'])} AS encounter,
        ${pick(['_Z', 'injury', 'respiratory', 'tb', 'other', 'maternal', 'hiv', 'cardiovascular', 'diabetes', 'mental_health', 'viral_hepatitis', 'sti', 'covid19'])} AS cgroup,
        ${pick(['_Z', '_Z', '_Z', 'work_permit', 'arrival', 'pre_departure', 'voluntary'])} AS sctx,
        ${pick(['_Z', '_Z', '_Z', 'none', 'referral', 'permit_denied', 'removal'])} AS scons,
        ${pick(['none', 'public', 'unknown', 'private'])} AS insurance,
        ${pick(['_Z', 'treated', 'referred', 'unknown', 'denied_care', 'died'])} AS outcome
        FROM (SELECT floor(random() * 24)::int AS m FROM generate_series(1, ${n})) g) r
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
      ON CONFLICT ON CONSTRAINT cells_pkey DO UPDATE SET count = cells.count + EXCLUDED.count`)
    process.stdout.write(`  ${done + n} records\n`)
  }
  await client.query('ANALYZE cells')
  const { rows } = await client.query('SELECT count(*)::int AS cells, sum(count)::bigint AS records FROM cells')
  return rows[0].cells
}

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

    const pair = await generateKeyPair('ES256', { extractable: true })
    const kid = 'bench-reader-1'
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' }
    await db.query(`INSERT INTO partners (id, name, roles, jwks) VALUES ('bench-reader', 'Bench reader', ARRAY['reader'], $1)`, [JSON.stringify({ keys: [jwk] })])
    await db.query(`INSERT INTO grants (partner_id, region) SELECT 'bench-reader', u FROM unnest(ARRAY['central-asia','KAZ','KGZ','TJK','TKM','UZB']) u`)
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('bench-reader').setSubject('bench-reader')
      .setAudience(`http://127.0.0.1:${port}/v1/oauth/token`).setIssuedAt().setExpirationTime('4m').setJti(randomUUID()).sign(pair.privateKey)
    const tokenRes = await fetch(`${server.url}/v1/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
    })
    if (tokenRes.status !== 200) throw new Error(`token: ${tokenRes.status} ${await tokenRes.text()}`)
    const token = (await tokenRes.json() as { access_token: string }).access_token
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

    const { rows: before } = await db.query(`SELECT count(*)::int AS n FROM audit_log`)
    // CPU per request of the server, PostgreSQL and this load generator: on two shared cores the sum is the cost.
    const cpu = () => ({ server: cpuSeconds({ pid: server!.child.pid! }), postgres: cpuSeconds({ comm: 'postgres' }), load: process.cpuUsage() })
    const cpuPerRequest = (before: ReturnType<typeof cpu>, requests: number) => {
      const after = cpu()
      const us = (s: number) => (s * 1e6 / requests).toFixed(0)
      const loadUs = ((after.load.user + after.load.system) - (before.load.user + before.load.system)) / requests
      return `CPU per request: server ${us(after.server - before.server)} µs, PostgreSQL ${us(after.postgres - before.postgres)} µs, load generator ${loadUs.toFixed(0)} µs`
    }
    const cpuTrivial = cpu()
    const trivial = await load({ url: `${server.url}/health/live`, connections: CONNECTIONS, seconds: SECONDS })
    const trivialCpu = cpuPerRequest(cpuTrivial, trivial.requests)
    // Statements the service runs per read: every statement outside a transaction block is one commit.
    const commits = async () => Number((await db.query(`SELECT pg_stat_force_next_flush(), xact_commit FROM pg_stat_database WHERE datname = current_database()`)).rows[0].xact_commit)
    const commitsBefore = await commits()
    const cpuReads = cpu()
    const reads = await load({ url: `${server.url}${QUERY}`, connections: CONNECTIONS, seconds: SECONDS, request: () => ({ headers: auth }) })
    const readsCpu = cpuPerRequest(cpuReads, reads.requests)
    const commitsDuring = await commits() - commitsBefore
    const { rows: after } = await db.query(`SELECT count(*)::int AS n FROM audit_log`)
    console.log(describe('GET /health/live (unprotected, trivial)', trivial))
    console.log(`  ${trivialCpu}`)
    console.log(describe(`GET ${QUERY} (bearer)`, reads))
    console.log(`  ${readsCpu}`)
    console.log(`ratio aggregates/trivial: ${(reads.rps / trivial.rps).toFixed(2)}; audit rows written during the run: ${after[0].n - before[0].n} (one per read); database transactions during the reads: ${commitsDuring} (${(commitsDuring / reads.requests).toFixed(3)} per read)`)
  } finally {
    await server?.stop()
    await db.end().catch(() => {})
    await database.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
