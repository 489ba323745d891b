// Two API processes (MHX_ROLE=api) and two workers on one PostgreSQL and one Redis: a grant removed
// through API A is refused by API B within 1 s; rate limits are one budget across both APIs; one
// API and one worker SIGKILLed mid-load lose and double-count nothing.
// @server-only: replicas on PostgreSQL and Redis; skips without them
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { verifyCells } from '../../src/aggregation/cells.js'
import { rows } from '../../src/db/connect.js'
import { baseConfig, clientAssertion, freePort, newPartnerKey, tokenForm, waitFor, type TestPartner } from '../helpers.js'
import { pending } from '../aggregation/fixtures.js'
import { processWorld } from '../aggregation/redis.js'
import { record, SCHEMA } from '../intake/intake-fixtures.js'

if (!baseConfig.databaseUrl || !baseConfig.redisUrl) {
  t.plan(0, 'skipped: the replica test needs DATABASE_URL and REDIS_URL')
  process.exit(0)
}

t.setTimeout(300_000)
const PUBLIC_URL = 'http://mhx.replicas.test'
const RATE_API = 60
const { redis, db, databaseUrl, dataDir } = await processWorld(t, 'replicas')
const admin = await newPartnerKey('admin', 'EdDSA')
writeFileSync(join(dataDir, 'admin.jwk'), JSON.stringify({ keys: [admin.publicJwk] }))

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redis.url,
  MHX_QUEUE_PREFIX: `t-rep-${randomUUID().slice(0, 8)}`,
  MHX_DATA_DIR: dataDir,
  MHX_KEK: randomBytes(32).toString('base64'),
  MHX_PUBLIC_URL: PUBLIC_URL,
  MHX_ADMIN_PUBLIC_JWK: join(dataDir, 'admin.jwk'),
  MHX_RATE_API: String(RATE_API),
  // Grants alone decide reads here (consents are stewardship's, tested in test/stewardship/).
  MHX_CONSENT: 'grants',
  MHX_WORKER_LOCK_MS: '1000',
  MHX_SWEEP_AFTER_MS: '1000',
  MHX_SWEEP_INTERVAL_MS: '500',
  MHX_DB_POOL_MAX: '4',
  LOG_LEVEL: 'info'
}

const children: ChildProcess[] = []
t.teardown(() => { for (const child of children) if (child.exitCode === null) child.kill('SIGKILL') })

/** Starts `entry` with extra env; resolves once it logged "mhx started". */
async function start (entry: string, extra: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr!.on('data', (d) => { stderr += d })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('"mhx started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before starting: ${stderr.slice(0, 800)}`)))
  })
  return child
}

async function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

const [portA, portB] = [await freePort(), await freePort()]
const apiA = await start('src/main.ts', { MHX_ROLE: 'api', PORT: String(portA) })
await start('src/main.ts', { MHX_ROLE: 'api', PORT: String(portB) })
const worker1 = await start('src/worker.ts', {})
await start('src/worker.ts', {})
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

async function call (base: string, bearer: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
}

const adminToken = await token(A, admin)
async function partner (roles: string[], country: string | null, grants?: string[]): Promise<TestPartner> {
  const id = `p-${randomUUID().slice(0, 8)}`
  const key = await newPartnerKey(id)
  const res = await call(A, adminToken, 'POST', '/v1/admin/partners', { id, name: id, roles, country, jwks: { keys: [key.publicJwk] } })
  if (res.status !== 201) throw new Error(`partner: ${res.status} ${await res.text()}`)
  if (grants) {
    const g = await call(A, adminToken, 'PUT', `/v1/admin/partners/${id}/grants`, { grants: grants.map((region) => ({ region })) })
    if (g.status !== 200) throw new Error(`grants: ${g.status} ${await g.text()}`)
  }
  return key
}

t.test('a grant removed through API A is refused by API B within 1 s', async (t) => {
  const reader = await partner(['reader'], null, ['KAZ'])
  const readerToken = await token(B, reader)
  const read = () => call(B, readerToken, 'GET', '/v1/aggregates?region=KAZ&from=2026-01&to=2026-03')
  t.equal((await read()).status, 200, 'B answers while the grant stands')
  const removed = await call(A, adminToken, 'PUT', `/v1/admin/partners/${reader.id}/grants`, { grants: [] })
  t.equal(removed.status, 200)
  const since = Date.now()
  // A narrowed grant set ends the tokens issued under it (401); a new token reads nothing (403).
  await waitFor(async () => (await read()).status === 401, 1_000, 20)
  t.comment(`refused by B ${Date.now() - since} ms after A answered`)
  const fresh = await call(B, await token(B, reader), 'GET', '/v1/aggregates?region=KAZ&from=2026-01&to=2026-03')
  t.equal(fresh.status, 403, 'a new token: the grant is gone')
})

t.test('rate limits are one budget across both APIs', async (t) => {
  const probe = await partner(['reader'], null)
  const tokens = [await token(A, probe), await token(B, probe)]
  const codes: number[] = []
  for (let i = 0; i <= RATE_API; i++) codes.push((await call(i % 2 === 0 ? A : B, tokens[i % 2], 'GET', '/v1/me')).status)
  t.same(codes.slice(0, RATE_API).filter((c) => c !== 200), [], `${RATE_API} requests (half on each API) pass`)
  t.equal(codes[RATE_API], 429, 'the next one, on either API, is over the shared budget')
})

t.test('SIGKILL of one API and one worker under load: every accepted record counted once', async (t) => {
  const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB', 'TKM']
  const PUSHES = 24
  const reporters = await Promise.all(COUNTRIES.map(async (c) => ({ country: c, key: await partner(['reporter'], c) })))
  const tokens = await Promise.all(reporters.map(async (r) => ({ [A]: await token(A, r.key), [B]: await token(B, r.key) })))
  const accepted = new Map<string, number>()
  let unanswered = 0
  let aDown = false
  let pushed = 0

  // Each reporter pushes through A and B in turn. A request A never answers may or may not have
  // been stored (the client cannot know): it is sent again to B as a new request, and counted as
  // unanswered. Every submission the hub accepted (202) must be counted once, nothing else twice.
  async function pushAll (i: number): Promise<void> {
    for (let n = 0; n < PUSHES; n++) {
      const records = Array.from({ length: 1 + ((n * 7 + i) % 20) }, () => record({ sex: n % 2 ? 'male' : 'female' }))
      let base = n % 2 === 0 && !aDown ? A : B
      let lastUnanswered = false
      for (let attempt = 0; ; attempt++) {
        let answer: { status: number, body?: { id: string, recordCount: number } }
        try {
          const res = await call(base, tokens[i][base], 'POST', '/v1/submissions', { ...SCHEMA, records })
          answer = { status: res.status, body: await res.json() }
        } catch {
          answer = { status: 0 }
          unanswered++
        }
        if (answer.status === 202) { accepted.set(answer.body!.id, answer.body!.recordCount); break }
        // Its record ids are taken: the unanswered request had been stored before A died.
        if (answer.status === 409 && lastUnanswered) break
        lastUnanswered = answer.status === 0
        if (attempt > 20) throw new Error(`push never accepted (last ${answer.status})`)
        base = B
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      pushed++
    }
  }
  const load = Promise.all(reporters.map((_, i) => pushAll(i)))
  await waitFor(async () => pushed >= PUSHES * COUNTRIES.length / 3, 120_000, 20)
  await Promise.all([kill(apiA).then(() => { aDown = true }), kill(worker1)])
  t.comment(`API A and worker 1 killed after ${pushed} submissions; ${unanswered} requests went unanswered`)
  await load

  await waitFor(async () => await pending(db) === 0, 90_000, 200)
  const verify = await verifyCells(db)
  t.ok(verify.ok, `verify clean: every stored record counted exactly once (${verify.differences.length} differences)`)
  const stored = await rows<{ id: string, record_count: number, applied: number }>(db, sql`SELECT id, record_count, applied FROM submissions`)
  const lost = [...accepted.keys()].filter((id) => !stored.some((s) => s.id === id))
  t.same(lost, [], 'every accepted submission is stored')
  const extra = stored.filter((s) => !accepted.has(s.id))
  t.ok(extra.length <= unanswered, `${extra.length} stored submissions were never answered (at most the ${unanswered} unanswered requests)`)
  const acceptedRecords = [...accepted.values()].reduce((a, b) => a + b, 0)
  t.equal(verify.records, acceptedRecords + extra.reduce((a, s) => a + s.record_count, 0), `${acceptedRecords} accepted records, each counted once`)
  const adminB = await token(B, admin)
  const report = await (await call(B, adminB, 'GET', '/v1/admin/aggregates/verify')).json()
  t.equal(report.ok, true, 'GET /v1/admin/aggregates/verify through B is clean')
})

// The live processes hold the event loop: stop them here rather than in a teardown that waits for it.
t.test('the surviving API and worker stop gracefully on SIGTERM', async (t) => {
  for (const child of children.filter((c) => c.exitCode === null && c.signalCode === null)) {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    t.equal(await exited, 0)
  }
  await redis.stop()
})
