// PostgreSQL stopped under load (a server of this test's own, stopped as an operator's restart does):
// every request that fails meanwhile is a 503 problem+json with Retry-After; after the restart every
// same-key retry ends in exactly one submission within 10 s; the cells verify; the outage is logged
// once when it starts and once when it ends, not once per request.
// @server-only: a PostgreSQL server stopped; skips without DATABASE_URL
import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import t from 'tap'
import { verifyCells } from '../../src/aggregation/cells.js'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import { connectPostgres, rows } from '../../src/db/connect.js'
import { migrate } from '../../src/db/migrate.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { PROBLEM_TYPES } from '../../src/problem.js'
import { baseConfig, buildTestHub, waitFor } from '../helpers.js'
import { pending } from '../aggregation/fixtures.js'
import { records, reporterOf, SCHEMA } from '../intake/intake-fixtures.js'
import { postgresBin, privatePostgres } from './private-postgres.js'

const bin = postgresBin()
if (!baseConfig.databaseUrl || !bin) {
  t.plan(0, `skipped: the outage test needs DATABASE_URL (the PostgreSQL pass) and ${bin ? '' : 'initdb and pg_ctl under /usr/lib/postgresql'}`)
  process.exit(0)
}

t.setTimeout(120_000)
const server = await privatePostgres(bin)
t.teardown(() => server.remove())
const database = await connectPostgres({ url: server.url, poolMax: 10, statementTimeoutMs: 30_000 })
t.teardown(() => database.close())
await migrate(database)

const lines: Array<{ level: number, msg: string, [k: string]: unknown }> = []
const logger = pino({ level: 'info' }, new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } }))
const hub = await buildTestHub(t, { database, logger })
const runtime = await startAggregation({
  config: { ...hub.config, sweepAfterMs: 500, sweepIntervalMs: 500 },
  database, queue: hub.queue, metrics: createMetrics(), logger: pino({ level: 'silent' })
})
t.teardown(() => runtime.close())

t.test('PostgreSQL stopped under load: 503s with Retry-After, then every same-key retry stored once within 10 s', async (t) => {
  const reporters = await Promise.all(['KAZ', 'KGZ', 'TJK', 'UZB'].map((c) => reporterOf(hub, c)))
  interface Failure { status: number, type?: string, contentType?: string, retryAfter?: string }
  const failures: Failure[] = []
  const accepted = new Map<string, { id: string, records: number, at: number, failedBefore: boolean }>()
  let loading = true
  const noteFailure = (res: { statusCode: number, headers: Record<string, unknown>, body: string }) => {
    let type: string | undefined
    try { type = JSON.parse(res.body).type } catch {}
    failures.push({ status: res.statusCode, type, contentType: res.headers['content-type'] as string, retryAfter: res.headers['retry-after'] as string })
  }

  // Each reporter pushes one submission after another, each under a key of its own, retrying the
  // same key (a client that does what the docs say, faster than Retry-After asks) until it is stored.
  const pushes = reporters.map(async (reporter, r) => {
    for (let n = 0; loading; n++) {
      const key = `r${r}-${n}`
      const body = JSON.stringify({ ...SCHEMA, records: records(5 + (n % 10)) })
      let failedBefore = false
      for (;;) {
        const res = await reporter.post(body, { headers: { 'idempotency-key': key } })
        if (res.statusCode === 202) {
          accepted.set(key, { id: res.json().id, records: res.json().recordCount, at: Date.now(), failedBefore })
          break
        }
        noteFailure(res)
        failedBefore = true
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  })
  // and a reader of its submissions, which needs the database too
  const reads = (async () => {
    let n = 0
    while (loading) {
      const res = await hub.app.inject({ url: '/v1/submissions?limit=5', headers: reporters[n++ % reporters.length].auth })
      if (res.statusCode !== 200) noteFailure(res)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  await waitFor(async () => accepted.size >= 20, 30_000, 20)
  await server.stop('fast')
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  await server.start()
  const back = Date.now()
  await waitFor(async () => [...accepted.values()].some((a) => a.at > back), 10_000, 10)
  const firstAccepted = Math.min(...[...accepted.values()].filter((a) => a.at > back).map((a) => a.at)) - back
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  loading = false
  await Promise.all([...pushes, reads])
  t.comment(`${accepted.size} submissions, ${failures.length} refused while PostgreSQL was away; first 202 ${firstAccepted} ms after it was back`)

  t.ok(failures.length > 0, 'the outage was met')
  t.same(failures.filter((f) => f.status !== 503 || !/^application\/problem\+json/.test(f.contentType ?? '') || !/^\d+$/.test(f.retryAfter ?? '') || !(f.type ?? '').endsWith(PROBLEM_TYPES.unavailable)), [],
    'every failed request is a 503 problem+json of type unavailable with Retry-After')
  const retried = [...accepted.values()].filter((a) => a.failedBefore)
  t.ok(retried.length > 0, `${retried.length} submissions were retried under their key`)
  t.same(retried.filter((a) => a.at - back > 10_000), [], 'each stored within 10 s of PostgreSQL\'s return')

  const [stored] = await rows<{ submissions: number, keys: number }>(database.db, sql`
    SELECT (SELECT count(*) FROM submissions)::int AS submissions, (SELECT count(*) FROM idempotency_keys)::int AS keys`)
  t.equal(stored.submissions, accepted.size, 'one submission per key: nothing lost, nothing doubled')
  t.equal(stored.keys, accepted.size)
  t.equal(new Set([...accepted.values()].map((a) => a.id)).size, accepted.size)

  await waitFor(async () => await pending(database.db) === 0, 30_000, 100)
  const verify = await verifyCells(database.db)
  t.ok(verify.ok, `verify clean (${verify.differences.length} differences)`)
  t.equal(verify.records, [...accepted.values()].reduce((sum, a) => sum + a.records, 0), 'every accepted record counted once')

  await waitFor(async () => lines.some((l) => /available again/.test(l.msg)), 5_000)
  const told = lines.filter((l) => l.level >= 40 || /^PostgreSQL/.test(l.msg))
  t.match(told, [
    { level: 40, msg: /^PostgreSQL unavailable: requests that need it are answered 503/ },
    { level: 30, msg: /^PostgreSQL available again after/ }
  ], 'the outage logged once when it started and once when it ended')
  t.equal(told.length, 2, 'and no line per request')
  t.ok((told[1]?.requests as number) >= failures.length, `with the ${told[1]?.requests} requests it failed`)
})
