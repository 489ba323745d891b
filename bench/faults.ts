// Faults a client rides out (issue 27), measured on this machine with the service in child processes:
//
//   recovery  a PostgreSQL of the bench's own stopped for BENCH_OUTAGE_S seconds under steady pushes:
//             the time from its return (pg_ctl start done) to the first 202, and how long the pushes
//             that met the outage took to be stored, retried under their key
//   stuck     an API killed (SIGKILL) while a push of BENCH_STUCK_RECORDS records is inside its
//             transaction; the same key sent to a second API: the time from the kill to its answer,
//             beside the time the same push takes undisturbed
//   push      the largest push MHX_MAX_RECORDS allows (BENCH_PUSH_RECORDS, default that maximum), as a
//             CSV, to an API on the shared PostgreSQL: its status, time, the API's peak RSS, and its
//             RSS before and after (idle 10 s, then 30 s)
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/faults.ts
//   BENCH_PARTS=push BENCH_PUSH_RECORDS=566000 npx tsx bench/faults.ts
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import pg from 'pg'
import { loadConfig, MAX_RECORDS_LIMIT } from '../src/config.js'
import { connectPostgres } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { csv, records, SCHEMA } from '../test/intake/intake-fixtures.js'
import { postgresBin, privatePostgres } from '../test/ops/private-postgres.js'
import { freePort } from '../test/helpers.js'
import { freshDatabase } from './support.js'

const SCHEMA_QUERY = 'schema=migrant-health-event&version=1.0.0'
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const env = (name: string, fallback: number) => process.env[name] ? Number(process.env[name]) : fallback
const parts = (process.env.BENCH_PARTS ?? 'recovery,stuck,push').split(',')
const config = loadConfig()
const redisUrl = config.redisUrl ?? 'redis://127.0.0.1:6379'

interface Api { url: string, child: ChildProcess, stop (): Promise<void>, kill (): Promise<void> }

/** `npm start`'s entry (its node flags too) as an API process; resolved once it logged "mhx started". */
async function startApi (extra: Record<string, string>): Promise<Api> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', MHX_ROLE: 'api', REDIS_URL: redisUrl, MHX_RATE_API: '0', MHX_RATE_TOKEN: '0', ...extra },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('"mhx started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the API exited (${code}) before starting`)))
  })
  child.stdout!.resume()
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
    async kill () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}

/** A hub on `databaseUrl` (migrated), its environment for API processes and a reporter registered by SQL. */
async function hubOn (databaseUrl: string, extra: Record<string, string> = {}) {
  const database = await connectPostgres({ url: databaseUrl, poolMax: 2, statementTimeoutMs: 600_000 })
  await migrate(database)
  await database.close()
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-faults-'))
  const publicUrl = 'http://bench.mhx.local'
  const hubEnv = { DATABASE_URL: databaseUrl, MHX_DATA_DIR: dataDir, MHX_KEK: randomBytes(32).toString('base64'), MHX_PUBLIC_URL: publicUrl, MHX_QUEUE_PREFIX: `bench-faults-${randomUUID().slice(0, 8)}`, ...extra }
  const pair = await generateKeyPair('ES256', { extractable: true })
  const id = `bench-kaz-${randomUUID().slice(0, 6)}`
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query(`INSERT INTO partners (id, name, roles, country, jwks) VALUES ($1, $1, ARRAY['reporter'], 'KAZ', $2)`,
    [id, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: `${id}-1`, alg: 'ES256' }] })])
  await client.end()
  async function token (api: Api): Promise<string> {
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: `${id}-1` }).setIssuer(id).setSubject(id)
      .setAudience(`${publicUrl}/v1/oauth/token`).setIssuedAt().setExpirationTime('4m').setJti(randomUUID()).sign(pair.privateKey)
    const res = await fetch(`${api.url}/v1/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
    })
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`)
    return (await res.json() as { access_token: string }).access_token
  }
  return { env: hubEnv, token, dataDir }
}

function pushCsv (api: Api, token: string, body: string, key?: string, type = 'text/csv') {
  return fetch(`${api.url}/v1/submissions${type === 'text/csv' ? `?${SCHEMA_QUERY}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type, ...(key ? { 'idempotency-key': key } : {}) },
    body
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`

/** A process's resident set now and at its peak (KiB, from /proc); `reset` starts a new peak. */
function rss (pid: number): { now: number, peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  return { now: field('VmRSS'), peak: field('VmHWM') }
}
function resetPeak (pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

async function recovery (): Promise<void> {
  const bin = postgresBin()
  if (!bin) throw new Error('recovery needs initdb and pg_ctl under /usr/lib/postgresql')
  const outageS = env('BENCH_OUTAGE_S', 5)
  const clients = env('BENCH_CLIENTS', 8)
  const server = await privatePostgres(bin)
  try {
    const hub = await hubOn(server.url)
    const api = await startApi(hub.env)
    try {
      const token = await hub.token(api)
      let loading = true
      const accepted: Array<{ at: number, retried: boolean, startedAt: number }> = []
      let refused = 0
      const load = Array.from({ length: clients }, async (_, c) => {
        for (let n = 0; loading; n++) {
          const key = `c${c}-${n}`
          const body = csv(records(20))
          const startedAt = Date.now()
          let retried = false
          for (;;) {
            const res = await pushCsv(api, token, body, key).catch(() => undefined)
            await res?.arrayBuffer()
            if (res?.status === 202) break
            refused++
            retried = true
            // a client that does not wait the whole Retry-After: the figure is the hub's, not the client's
            await sleep(100)
          }
          accepted.push({ at: Date.now(), retried, startedAt })
        }
      })
      await sleep(2_000)
      await server.stop('fast')
      const stoppedAt = Date.now()
      await sleep(outageS * 1_000)
      await server.start()
      const back = Date.now()
      while (!accepted.some((a) => a.at > back)) await sleep(5)
      const first = Math.min(...accepted.filter((a) => a.at > back).map((a) => a.at)) - back
      await sleep(3_000)
      loading = false
      await Promise.all(load)
      const retried = accepted.filter((a) => a.retried)
      const lastRetried = Math.max(...retried.map((a) => a.at)) - back
      console.log(`recovery: PostgreSQL stopped ${back - stoppedAt} ms under ${clients} clients; ${refused} requests refused (503) meanwhile`)
      console.log(`  first 202 after PostgreSQL's return: ${first} ms`)
      console.log(`  ${retried.length} pushes that met the outage all stored (same key) within ${lastRetried} ms of its return`)
    } finally {
      await api.stop()
      rmSync(hub.dataDir, { recursive: true, force: true })
    }
  } finally {
    await server.remove()
  }
}

async function stuck (): Promise<void> {
  const n = env('BENCH_STUCK_RECORDS', 50_000)
  const adminUrl = config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test'
  const database = await freshDatabase(adminUrl, 'mhx_bench_faults')
  const hub = await hubOn(database.url, { MHX_MAX_RECORDS: String(n) })
  const [a, b] = await Promise.all([startApi(hub.env), startApi(hub.env)])
  const watcher = new pg.Client({ connectionString: database.url })
  await watcher.connect()
  try {
    const [tokenA, tokenB] = [await hub.token(a), await hub.token(b)]
    const undisturbed = Date.now()
    const plain = await pushCsv(b, tokenB, csv(records(n)))
    await plain.arrayBuffer()
    const plainMs = Date.now() - undisturbed
    const body = csv(records(n))
    const key = randomUUID()
    const lost = pushCsv(a, tokenA, body, key).catch(() => undefined)
    // the push's COPY under way: its transaction holds the key
    for (;;) {
      const { rows: [{ copying }] } = await watcher.query<{ copying: number }>(
        'SELECT count(*)::int AS copying FROM pg_stat_activity WHERE datname = current_database() AND query LIKE \'COPY records%\' AND state = \'active\'')
      if (copying > 0) break
      await sleep(2)
    }
    await a.kill()
    const killed = Date.now()
    await lost
    const retry = await pushCsv(b, tokenB, body, key)
    const answer = await retry.json() as { id: string }
    const answeredMs = Date.now() - killed
    const { rows: [{ stored }] } = await watcher.query<{ stored: number }>('SELECT count(*)::int AS stored FROM submissions WHERE body_sha256 = (SELECT body_sha256 FROM submissions WHERE id = $1)', [answer.id])
    console.log(`stuck key: API killed inside the transaction of a ${n}-record push; the same key on another API answered ${retry.status} ${answeredMs} ms after the kill${retry.headers.get('idempotent-replayed') ? ' (replayed)' : ' (processed again)'}, stored ${stored}×`)
    console.log(`  the same push undisturbed: ${plainMs} ms (${plain.status})`)
  } finally {
    await watcher.end()
    await Promise.all([a.stop(), b.stop()])
    await database.drop()
    rmSync(hub.dataDir, { recursive: true, force: true })
  }
}

async function push (): Promise<void> {
  const n = env('BENCH_PUSH_RECORDS', MAX_RECORDS_LIMIT)
  const adminUrl = config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test'
  const database = await freshDatabase(adminUrl, 'mhx_bench_faults')
  const hub = await hubOn(database.url, { MHX_MAX_RECORDS: String(n) })
  const api = await startApi(hub.env)
  try {
    const token = await hub.token(api)
    const format = process.env.BENCH_PUSH_FORMAT ?? 'csv'
    // JSON is the largest body a number of records makes (every field named in every record)
    const body = format === 'json' ? JSON.stringify({ ...SCHEMA, records: records(n) }) : csv(records(n))
    // warm: one small push first, so "before" is the API's working state, not its state at start
    for (let i = 0; i < 3; i++) await (await pushCsv(api, token, csv(records(1000)))).arrayBuffer()
    await sleep(2_000)
    const before = rss(api.child.pid!).now
    resetPeak(api.child.pid!)
    const started = Date.now()
    const res = await pushCsv(api, token, body, undefined, format === 'json' ? 'application/json' : 'text/csv')
    const answer = await res.text()
    const ms = Date.now() - started
    const peak = rss(api.child.pid!).peak
    await sleep(10_000)
    const after10 = rss(api.child.pid!).now
    await sleep(20_000)
    const after30 = rss(api.child.pid!).now
    console.log(`push: ${n} records, ${(Buffer.byteLength(body) / 1024 / 1024).toFixed(1)} MiB of ${format.toUpperCase()}: ${res.status} in ${ms} ms${res.status === 202 ? '' : `: ${answer.slice(0, 300)}`}`)
    console.log(`  API RSS before ${mib(before)}, peak ${mib(peak)}, after 10 s ${mib(after10)}, after 30 s ${mib(after30)} (${(100 * (after30 - before) / before).toFixed(0)} % over before)`)
  } finally {
    await api.stop()
    await database.drop()
    rmSync(hub.dataDir, { recursive: true, force: true })
  }
}

for (const part of parts) {
  if (part === 'recovery') await recovery()
  else if (part === 'stuck') await stuck()
  else if (part === 'push') await push()
  else throw new Error(`unknown part ${part}`)
}
