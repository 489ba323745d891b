// An Idempotency-Key's claim lives and dies with the transaction that stores the submission: a
// refusal met inside it, or its backend terminated (a restart or a killed API, as PostgreSQL sees
// it), leaves the key free at once; while the holder lives, a same-key request waits for it, then
// gets 409 with Retry-After. test/ops/kill.test.ts kills a real API process mid-push.
import { createHash } from 'node:crypto'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { CLAIM_WAIT_MS } from '../../src/intake/idempotency.js'
import { buildTestHub, waitFor } from '../helpers.js'
import { record, records, reporterOf, SCHEMA } from './intake-fixtures.js'

const hub = await buildTestHub(t)
const db = hub.database.db
const kaz = await reporterOf(hub, 'KAZ')
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex')

async function stored (body: string): Promise<number> {
  const [row] = await rows<{ n: string | number }>(db, sql`SELECT count(*) AS n FROM submissions WHERE body_sha256 = ${sha256(body)}`)
  return Number(row.n)
}

t.test('a refusal met inside the transaction (a recordId already live) leaves the key free', async (t) => {
  const live = record()
  t.equal((await kaz.post({ ...SCHEMA, records: [live] })).statusCode, 202)
  const key = `taken-${Date.now()}`
  const refused = await kaz.post({ ...SCHEMA, records: [live, record()] }, { headers: { 'idempotency-key': key } })
  t.equal(refused.statusCode, 409, refused.body)
  t.same(refused.json().recordIds, [live.recordId])
  const [row] = await rows<{ n: string | number }>(db, sql`SELECT count(*) AS n FROM idempotency_keys WHERE key = ${key}`)
  t.equal(Number(row.n), 0, 'no claim outlived the transaction')
  const fixed = await kaz.post({ ...SCHEMA, records: [record()] }, { headers: { 'idempotency-key': key } })
  t.equal(fixed.statusCode, 202, 'the key takes the corrected request at once')
  t.notOk(fixed.headers['idempotent-replayed'])
})

t.test('the holder alive: a same-key request waits, then 409 with Retry-After; the holder killed: the key is free at once',
  { skip: hub.database.kind !== 'postgres' && 'needs PostgreSQL: a second connection holds a lock and terminates a backend' }, async (t) => {
    const url = (hub.database.pool as unknown as { options: { connectionString: string } }).options.connectionString
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    t.teardown(() => admin.end())
    // The holder's transaction claims the key, then waits on this lock when it stores the records.
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE records IN SHARE MODE')
    const body = JSON.stringify({ ...SCHEMA, records: records(5) })
    const key = `held-${Date.now()}`
    const post = () => kaz.post(body, { headers: { 'idempotency-key': key } })
    const holder = post()
    // (pg_stat_activity is read once per transaction unless its snapshot is cleared)
    const blocked = async () => {
      await admin.query('SELECT pg_stat_clear_snapshot()')
      return (await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = \'Lock\' AND query LIKE \'COPY records%\'')).rows
    }
    await waitFor(async () => (await blocked()).length === 1, 10_000, 20)
    const [{ pid }] = await blocked()

    const started = Date.now()
    const waiting = await post()
    const waited = Date.now() - started
    t.equal(waiting.statusCode, 409, waiting.body)
    t.match(waiting.json(), { detail: /still being processed/, errors: [{ path: 'Idempotency-Key', message: 'in progress' }] })
    t.match(waiting.headers['retry-after'], /^\d+$/)
    t.ok(waited >= CLAIM_WAIT_MS - 100 && waited < CLAIM_WAIT_MS + 3_000, `it waited for the holder ${waited} ms`)

    // The holder's backend dies (as when its API is killed or PostgreSQL restarts): its claim with it.
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
    const died = await holder
    t.equal(died.statusCode, 503, 'the holder, cut off from the database, is a 503')
    const retry = post()
    // the retry claimed the key at once and now waits on the lock as the holder did
    await waitFor(async () => (await blocked()).length === 1, 5_000, 20)
    await admin.query('COMMIT')
    const answered = await retry
    t.equal(answered.statusCode, 202, answered.body)
    t.notOk(answered.headers['idempotent-replayed'], 'processed, not replayed: the dead holder stored nothing')
    t.equal(await stored(body), 1)
    const again = await post()
    t.equal(again.statusCode, 202)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.json().id, answered.json().id)
  })
