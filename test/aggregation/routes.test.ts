// /metrics, the admin verify/rebuild routes, and the in-process worker runtime with its sweep.
// @embedded: the in-process worker runtime and its sweep
import { sql } from 'drizzle-orm'
import pino from 'pino'
import t from 'tap'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import { rows } from '../../src/db/connect.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { buildTestHub } from '../helpers.js'
import { insertPartner, insertSubmission, pending, randomRecord, retractSubmission, rng } from './fixtures.js'

const hub = await buildTestHub(t, { config: { metricsToken: 'metrics-secret-1234' } })
const { db } = hub.database
const adminToken = await hub.token(hub.admin)
await insertPartner(db, 'moh-kaz', 'KAZ')
await insertPartner(db, 'moh-tjk', 'TJK')
const silent = pino({ level: 'silent' })

t.test('the in-process worker processes announced jobs, and its start-up sweep catches what was never announced', async (t) => {
  const random = rng(1)
  // Committed but never enqueued: the API died between commit and enqueue.
  const orphan = await insertSubmission(db, 'moh-kaz', 'KAZ', Array.from({ length: 12 }, () => randomRecord(random, 'KAZ')))
  const metrics = createMetrics({ queue: hub.queue, database: hub.database })
  const runtime = await startAggregation({
    config: { ...hub.config, sweepAfterMs: 60_000, sweepIntervalMs: 3_600_000 },
    database: hub.database, queue: hub.queue, metrics, logger: silent
  })
  t.teardown(() => runtime.close())
  await hub.queue.drain()
  t.equal(await pending(db), 0, 'the start-up sweep took it although it is younger than sweepAfterMs')

  const announced = await insertSubmission(db, 'moh-tjk', 'TJK', Array.from({ length: 5 }, () => randomRecord(random, 'TJK')))
  await hub.queue.enqueue({ submissionId: announced.id, generation: 1 })
  await hub.queue.drain()
  const generation = await retractSubmission(db, orphan.id)
  await hub.queue.enqueue({ submissionId: orphan.id, generation })
  await hub.queue.drain()
  t.equal(await pending(db), 0)

  const text = await metrics.registry.metrics()
  t.match(text, /mhx_aggregation_jobs_total\{outcome="completed"\} 3/)
  t.match(text, /mhx_aggregation_records_total\{operation="add"\} 17/)
  t.match(text, /mhx_aggregation_records_total\{operation="subtract"\} 12/)
  t.match(text, /mhx_aggregation_freshness_seconds_count 2/)
  t.match(text, /mhx_aggregation_sweep_reenqueued_total 1/)
  t.match(text, /mhx_aggregation_outbox_pending 0/)
  t.notMatch(text, /KAZ|TJK|moh-/, 'no label carries a country or partner')
})

t.test('GET /metrics answers to the metrics token or an admin token only', async (t) => {
  const res = (authorization?: string) => hub.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} })
  t.equal((await res()).statusCode, 401)
  t.equal((await res('Bearer wrong-token')).statusCode, 401)
  const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
  t.equal((await res(`Bearer ${await hub.token(reporter)}`)).statusCode, 403, 'a partner without the admin scope')
  const ok = await res('Bearer metrics-secret-1234')
  t.equal(ok.statusCode, 200)
  t.match(ok.headers['content-type'], /^text\/plain/)
  t.match(ok.body, /mhx_aggregation_queue_depth 0/)
  t.match(ok.body, /mhx_aggregation_outbox_pending 0/)
  t.equal((await res(`Bearer ${adminToken}`)).statusCode, 200)
})

t.test('admin verify and rebuild: report differences, repair them, audited', async (t) => {
  const call = (method: 'GET' | 'POST', url: string, token = adminToken) =>
    hub.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } })
  const clean = await call('GET', '/v1/admin/aggregates/verify')
  t.equal(clean.statusCode, 200)
  t.match(clean.json(), { ok: true, differences: [], records: 5 })

  await db.execute(sql`UPDATE cells SET count = count + 1 WHERE ctid = (SELECT ctid FROM cells LIMIT 1)`)
  const dirty = (await call('GET', '/v1/admin/aggregates/verify')).json()
  t.equal(dirty.ok, false)
  t.equal(dirty.differences.length, 1)
  t.equal(dirty.differences[0].actual - dirty.differences[0].expected, 1)
  t.equal(dirty.differences[0].cell.country, 'TJK')

  const rebuilt = await call('POST', '/v1/admin/aggregates/rebuild')
  t.equal(rebuilt.statusCode, 200)
  t.match(rebuilt.json(), { cells: Number, records: 5, changed: 1 })
  t.equal((await call('GET', '/v1/admin/aggregates/verify')).json().ok, true)

  // A record mapped by an older catalog: the rebuild re-maps it from the newest one, and the cells follow.
  await db.execute(sql`UPDATE records SET condition = 'A15', condition_group = 'other' WHERE ctid = (SELECT ctid FROM records WHERE live LIMIT 1)`)
  t.equal((await call('GET', '/v1/admin/aggregates/verify')).json().ok, false, 'verify sees the cells no longer match the records')
  const remapped = (await call('POST', '/v1/admin/aggregates/rebuild')).json()
  t.equal(remapped.remapped, 1, 'one record re-mapped (A15 → tb)')
  const [tb] = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM records WHERE condition = 'A15' AND condition_group <> 'tb'`)
  t.equal(Number(tb.n), 0)
  t.equal((await call('GET', '/v1/admin/aggregates/verify')).json().ok, true)

  const reader = await hub.partner({ roles: ['reader'] })
  t.equal((await call('POST', '/v1/admin/aggregates/rebuild', await hub.token(reader))).statusCode, 403)
  const audit = await rows<{ action: string }>(db, sql`SELECT action FROM audit_log WHERE action LIKE 'aggregates.%' ORDER BY seq`)
  t.same(audit.map((a) => a.action), ['aggregates.verify', 'aggregates.verify', 'aggregates.rebuild', 'aggregates.verify',
    'aggregates.verify', 'aggregates.rebuild', 'aggregates.verify'])
})
