// Two API processes on one PostgreSQL and Redis. API A is killed (SIGKILL) while a push holds its
// Idempotency-Key in its transaction: the same key sent to API B is answered within 10 s and the
// submission stored once. API B is then stopped (SIGTERM) under load: requests under way finish,
// requests that arrive meanwhile are 503 problem+json with Retry-After, and it exits cleanly.
// @server-only: API processes on PostgreSQL and Redis; skips without them
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { PROBLEM_TYPES } from '../../src/problem.js'
import { baseConfig, clientAssertion, freePort, newPartnerKey, tokenForm, waitFor, type TestPartner } from '../helpers.js'
import { processWorld } from '../aggregation/redis.js'
import { records, SCHEMA } from '../intake/intake-fixtures.js'

if (!baseConfig.databaseUrl || !baseConfig.redisUrl) {
  t.plan(0, 'skipped: the process kill test needs DATABASE_URL and REDIS_URL')
  process.exit(0)
}

t.setTimeout(120_000)
const PUBLIC_URL = 'http://mhx.kill.test'
const { redis, db, databaseUrl, dataDir } = await processWorld(t, 'api-kill')
const admin = await newPartnerKey('admin', 'EdDSA')
writeFileSync(join(dataDir, 'admin.jwk'), JSON.stringify({ keys: [admin.publicJwk] }))
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redis.url,
  MHX_ROLE: 'api',
  MHX_QUEUE_PREFIX: `t-apikill-${randomUUID().slice(0, 8)}`,
  MHX_DATA_DIR: dataDir,
  MHX_KEK: randomBytes(32).toString('base64'),
  MHX_PUBLIC_URL: PUBLIC_URL,
  MHX_ADMIN_PUBLIC_JWK: join(dataDir, 'admin.jwk'),
  MHX_RATE_API: '0',
  MHX_RATE_TOKEN: '0',
  LOG_LEVEL: 'warn'
}

const children: ChildProcess[] = []
t.teardown(() => { for (const child of children) if (child.exitCode === null) child.kill('SIGKILL') })

async function startApi (port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...env, PORT: String(port), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr!.on('data', (d) => { stderr += d })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('"mhx started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the API exited (${code}) before starting: ${stderr.slice(0, 800)}`)))
  })
  return child
}

const [portA, portB] = [await freePort(), await freePort()]
const [apiA, apiB] = await Promise.all([startApi(portA), startApi(portB)])
const A = `http://127.0.0.1:${portA}`
const B = `http://127.0.0.1:${portB}`

async function token (base: string, partner: TestPartner): Promise<string> {
  const res = await fetch(`${base}/v1/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenForm(await clientAssertion(partner, { aud: `${PUBLIC_URL}/v1/oauth/token` }))
  })
  if (res.status !== 200) throw new Error(`token for ${partner.id}: ${res.status} ${await res.text()}`)
  return (await res.json()).access_token
}

const adminToken = await token(A, admin)
const reporter = await newPartnerKey(`kaz-${randomUUID().slice(0, 6)}`)
const created = await fetch(`${A}/v1/admin/partners`, {
  method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({ id: reporter.id, name: reporter.id, roles: ['reporter'], country: 'KAZ', jwks: { keys: [reporter.publicJwk] } })
})
if (created.status !== 201) throw new Error(`partner: ${created.status} ${await created.text()}`)
const tokens = { [A]: await token(A, reporter), [B]: await token(B, reporter) }

// A second connection that holds the records table, so that a push is caught inside its transaction
// (its key claimed, its COPY waiting), where a kill or a shutdown is the most telling.
const holder = new pg.Client({ connectionString: databaseUrl })
await holder.connect()
t.teardown(() => holder.end())
async function holdRecords (): Promise<void> {
  await holder.query('BEGIN')
  await holder.query('LOCK TABLE records IN SHARE MODE')
}
async function copiesWaiting (): Promise<number> {
  await holder.query('SELECT pg_stat_clear_snapshot()')
  const { rows: [{ n }] } = await holder.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = \'Lock\' AND query LIKE \'COPY records%\'')
  return n
}

function push (base: string, body: string, key: string) {
  return fetch(`${base}/v1/submissions`, {
    method: 'POST', headers: { authorization: `Bearer ${tokens[base]}`, 'content-type': 'application/json', 'idempotency-key': key }, body
  })
}

t.test('API SIGKILL mid-push: the same key on the other API is answered within 10 s, stored once', async (t) => {
  const body = JSON.stringify({ ...SCHEMA, records: records(200) })
  const key = `killed-${randomUUID()}`
  await holdRecords()
  const lost = push(A, body, key).then(() => 'answered', () => 'no answer')
  await waitFor(async () => await copiesWaiting() === 1, 10_000, 20)
  const exited = new Promise((resolve) => apiA.once('exit', resolve))
  apiA.kill('SIGKILL')
  await exited
  const killedAt = Date.now()
  t.equal(await lost, 'no answer', 'A died before answering: the client cannot know whether it was stored')
  const retry = push(B, body, key)
  // The killed API's backend notices its client is gone when it next reads from it: once the
  // records it was waiting for are free (a real push is never held this long).
  await holder.query('COMMIT')
  const res = await retry
  const answeredIn = Date.now() - killedAt
  t.equal(res.status, 202, await res.clone().text())
  t.ok(answeredIn < 10_000, `B answered the retry ${answeredIn} ms after A was killed`)
  const [{ n }] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM submissions WHERE id = ${(await res.json()).id}`)
  t.equal(n, 1)
  const [{ all }] = await rows<{ all: number }>(db, sql`SELECT count(*)::int AS all FROM submissions`)
  t.equal(all, 1, 'stored once')
  const again = await push(B, body, key)
  t.equal(again.status, 202)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
})

const LOAD_CLIENTS = 4

t.test('API SIGTERM under load: requests under way finish; those that arrive meanwhile are 503 problem+json with Retry-After', async (t) => {
  // Load: clients pushing through B on kept-alive connections until it is gone.
  const answers: Array<{ status: number, type: string | null, retryAfter: string | null, problem?: { type?: string } }> = []
  let networkErrors = 0
  let loading = true
  const load = Array.from({ length: LOAD_CLIENTS }, async () => {
    while (loading) {
      try {
        const res = await push(B, JSON.stringify({ ...SCHEMA, records: records(20) }), randomUUID())
        const text = await res.text()
        answers.push({ status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), ...(res.status !== 202 ? { problem: JSON.parse(text) } : {}) })
      } catch {
        // the listening socket closed: a client meets a refused or reset connection and retries elsewhere
        networkErrors++
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  })
  await waitFor(async () => answers.length >= 10, 20_000, 20)

  // One push is held inside its transaction when the signal comes; a second request follows it on
  // the same connection while B closes.
  await holdRecords()
  const body = JSON.stringify({ ...SCHEMA, records: records(5) })
  const socket = connect(portB, '127.0.0.1')
  let raw = ''
  socket.on('data', (d) => { raw += d })
  socket.on('error', () => {})
  const socketClosed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(`POST /v1/submissions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${tokens[B]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  // each of the four clients' pushes and this one end up waiting on the records
  await waitFor(async () => await copiesWaiting() === LOAD_CLIENTS + 1, 10_000, 20)
  const exited = new Promise<number | null>((resolve) => apiB.once('exit', (code) => resolve(code)))
  apiB.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))
  socket.write('GET /v1/submissions?limit=1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ' + tokens[B] + '\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await holder.query('COMMIT')
  t.equal(await exited, 0, 'B exited cleanly')
  loading = false
  await Promise.all(load)
  await socketClosed

  const [inFlight, refused] = raw.split(/(?=HTTP\/1\.1 )/)
  t.match(inFlight, /^HTTP\/1\.1 202 /, 'the push under way when the signal came finished')
  t.match(refused, /^HTTP\/1\.1 503 /, 'the request that arrived meanwhile was refused')
  t.match(refused, /\r\ncontent-type: application\/problem\+json/i)
  t.match(refused, /\r\nretry-after: \d+\r\n/i)
  t.match(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)), { type: `${PUBLIC_URL}${PROBLEM_TYPES.unavailable}`, status: 503, detail: /shutting down/ })

  const others = answers.filter((a) => !(a.status === 202 || (a.status === 503 && /^application\/problem\+json/.test(a.type ?? '') && /^\d+$/.test(a.retryAfter ?? '') && a.problem?.type === `${PUBLIC_URL}${PROBLEM_TYPES.unavailable}`)))
  t.same(others, [], `every answer under load was a 202 or a 503 problem+json with Retry-After (${answers.length} answers, ${networkErrors} refused connections)`)
  await redis.stop()
})
