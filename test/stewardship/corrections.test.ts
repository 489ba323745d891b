// Corrections: `replaces` swaps a submission for another in one transaction of the worker, so no
// reader ever sees both or neither; only its reporter may replace a submission.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { rows } from '../../src/db/connect.js'
import { buildTestHub, type TestHub } from '../helpers.js'
import { csv, QUERY, records, reporterOf, SCHEMA } from '../intake/intake-fixtures.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const db = hub.database.db
const kazTotal = async () => Number((await rows<{ n: string | null }>(db, sql`SELECT sum(count) AS n FROM cells WHERE country = 'KAZ'`))[0].n ?? 0)
const kaz = await reporterOf(hub, 'KAZ')
const other = await reporterOf(hub, 'KAZ')

t.test('a correction is never seen half-done by concurrent readers', async (t) => {
  const original = records(10)
  const a = await kaz.post({ ...SCHEMA, records: original })
  t.equal(a.statusCode, 202)
  const aId = a.json().id as string
  await processSubmission(hub.database, aId)
  t.equal(await kazTotal(), 10)

  // The correction reuses five of the original's recordIds.
  const corrected = [...original.slice(0, 5).map((r) => ({ ...r, sex: 'male' })), ...records(2)]
  const b = await kaz.post({ ...SCHEMA, records: corrected, replaces: aId })
  t.equal(b.statusCode, 202, b.body)
  const bId = b.json().id as string
  t.equal(await kazTotal(), 10, 'until the worker swaps them, readers see the original')

  const seen = new Set<number>()
  let done = false
  const readers = Array.from({ length: 3 }, async () => {
    while (!done) seen.add(await kazTotal())
  })
  // The old one's job (a sweep) and the new one's, at once: either swaps both.
  await Promise.all([processSubmission(hub.database, aId), processSubmission(hub.database, bId)])
  done = true
  await Promise.all(readers)
  t.equal(await kazTotal(), 7)
  t.ok([...seen].every((n) => n === 10 || n === 7), `readers saw only 10 or 7: ${[...seen].join(', ')}`)

  const old = await hub.app.inject({ url: `/v1/submissions/${aId}`, headers: kaz.auth })
  t.match(old.json(), { status: 'replaced', replacedBy: bId })
  const fresh = await hub.app.inject({ url: `/v1/submissions/${bId}`, headers: kaz.auth })
  t.match(fresh.json(), { status: 'aggregated', replaces: aId })
  const verify = await hub.app.inject({ url: '/v1/admin/aggregates/verify', headers: { authorization: `Bearer ${await hub.token(hub.admin)}` } })
  t.equal(verify.json().ok, true, 'cells match the records')
})

t.test('replacing with CSV and ?replaces=', async (t) => {
  const a = await kaz.post({ ...SCHEMA, records: records(3) })
  const aId = a.json().id as string
  await processSubmission(hub.database, aId)
  const before = await kazTotal()
  const b = await kaz.post(csv(records(1)), { url: `/v1/submissions?${QUERY}&replaces=${aId}`, headers: { 'content-type': 'text/csv' } })
  t.equal(b.statusCode, 202, b.body)
  await processSubmission(hub.database, b.json().id)
  t.equal(await kazTotal(), before - 2)
})

t.test('bad corrections: 403/422 naming replaces, nothing changed', async (t) => {
  const a = await kaz.post({ ...SCHEMA, records: records(2) })
  const aId = a.json().id as string
  const count = async () => Number((await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM submissions`))[0].n)
  const before = await count()

  const theirs = await other.post({ ...SCHEMA, records: records(1), replaces: aId })
  t.equal(theirs.statusCode, 403)
  t.match(theirs.json(), { errors: [{ path: 'replaces', message: 'not your submission' }] })
  const unknown = await kaz.post({ ...SCHEMA, records: records(1), replaces: '00000000-0000-4000-8000-000000000000' })
  t.equal(unknown.statusCode, 422)
  t.match(unknown.json(), { errors: [{ path: 'replaces' }] })
  const notUuid = await kaz.post({ ...SCHEMA, records: records(1), replaces: 'abc' })
  t.equal(notUuid.statusCode, 422)
  t.equal(await count(), before, 'nothing stored')
  const still = await hub.app.inject({ url: `/v1/submissions/${aId}`, headers: kaz.auth })
  t.equal(still.json().status, 'accepted', 'the original is untouched')

  const b = await kaz.post({ ...SCHEMA, records: records(1), replaces: aId })
  t.equal(b.statusCode, 202)
  const twice = await kaz.post({ ...SCHEMA, records: records(1), replaces: aId })
  t.equal(twice.statusCode, 422, 'a replaced submission cannot be replaced again')
  t.match(twice.json().detail, /retracted or replaced already/)
})
