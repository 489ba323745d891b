// POST/GET/DELETE /v1/submissions: what is stored, the receipt, reads, retraction, idempotency, concurrency.
// @embedded: records stored by each driver's bulk path, the outbox handed to the queue
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { sql } from 'drizzle-orm'
import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import type { AggregationJob } from '../../src/aggregation/queue.js'
import { rows } from '../../src/db/connect.js'
import { pruneIdempotencyKeys } from '../../src/intake/idempotency.js'
import { RECEIPT_TYPE, verifyReceipt } from '../../src/intake/receipt.js'
import { loadSchemaRegistry } from '../../src/intake/registry.js'
import { buildTestHub, PUBLIC_URL } from '../helpers.js'
import { csv, ndjson, QUERY, record, records, reporterOf, SCHEMA } from './intake-fixtures.js'

const hub = await buildTestHub(t)
const db = hub.database.db
const kaz = await reporterOf(hub, 'KAZ')
const kgz = await reporterOf(hub, 'KGZ')
const adminAuth = { authorization: `Bearer ${await hub.token(hub.admin)}` }

const announced: AggregationJob[] = []
const enqueue = hub.queue.enqueue.bind(hub.queue)
hub.queue.enqueue = async (job) => {
  announced.push(job)
  return enqueue(job)
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

async function count (query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: string | number }>(db, query)
  return Number(row.n)
}

t.test('a JSON submission is stored whole, with a verifiable receipt, and announced', async (t) => {
  const recs = [
    record({ subnationalArea: 'KZ-75', condition: 'A15.0', screeningContext: 'work_permit', screeningConsequence: 'referral', outcome: 'treated' }),
    record({ reportingCountry: 'KAZ' }),
    record({ recordId: record().recordId as string })
  ]
  recs[2].recordId = (recs[2].recordId as string).toUpperCase()
  const body = JSON.stringify({ ...SCHEMA, records: recs })
  const res = await kaz.post(body)
  t.equal(res.statusCode, 202, res.body)
  const answer = res.json()
  t.match(answer, { status: 'accepted', recordCount: 3 })
  t.match(answer.id, /^[0-9a-f-]{36}$/)
  t.equal(res.headers.location, `/v1/submissions/${answer.id}`)

  t.equal(decodeProtectedHeader(answer.receipt).typ, RECEIPT_TYPE)
  const jwks = (await hub.app.inject({ url: '/.well-known/jwks.json' })).json()
  const claims = await verifyReceipt(answer.receipt, jwks, PUBLIC_URL)
  t.match(claims, { sub: kaz.partner.id, submissionId: answer.id, country: 'KAZ', schema: SCHEMA.schema, schemaVersion: SCHEMA.version, recordCount: 3, bodySha256: sha256(body) })
  const receiptKid = decodeProtectedHeader(answer.receipt).kid
  t.ok(jwks.keys.some((k: { kid: string, alg: string }) => k.kid === receiptKid && k.alg === 'ES256'), 'the receipt key is in the JWKS')
  t.ok(receiptKid?.startsWith('receipt-'), 'receipts have their own key')

  const [row] = await rows<Record<string, unknown>>(db, sql`SELECT * FROM submissions WHERE id = ${answer.id}`)
  t.match(row, { partner_id: kaz.partner.id, country: 'KAZ', schema_name: SCHEMA.schema, schema_version: SCHEMA.version, record_count: 3, body_sha256: sha256(body), counted: true, applied: false, generation: 1, receipt: answer.receipt })

  const stored = await rows<Record<string, string>>(db, sql`SELECT * FROM records WHERE submission_id = ${answer.id} ORDER BY record_id`)
  t.equal(stored.length, 3)
  const first = stored.find((r) => r.record_id === recs[0].recordId)!
  t.match(first, { country: 'KAZ', partner_id: kaz.partner.id, live: true, period: '2026-03', subnational_area: 'KZ-75', condition: 'A15.0', condition_group: 'tb', screening_context: 'work_permit', screening_consequence: 'referral', outcome: 'treated', insurance: 'none' })
  const plain = stored.find((r) => r.record_id === recs[1].recordId)!
  t.match(plain, { subnational_area: '_Z', condition: '_Z', condition_group: '_Z', screening_context: '_Z', screening_consequence: '_Z', outcome: '_Z' }, 'absent optional dimensions are _Z')
  t.ok(stored.some((r) => r.record_id === (recs[2].recordId as string).toLowerCase()), 'recordIds are stored lower-case')

  const audit = await rows<{ action: string, partner_id: string, detail: Record<string, unknown> }>(db, sql`SELECT action, partner_id, detail FROM audit_log WHERE subject = ${answer.id}`)
  t.equal(audit.length, 1)
  t.match(audit[0], { action: 'submission.accept', partner_id: kaz.partner.id, detail: { recordCount: 3, bodySha256: sha256(body) } })
  t.notOk(JSON.stringify(audit[0].detail).includes(recs[0].recordId as string), 'the audit never holds record contents')

  t.same(announced.at(-1), { submissionId: answer.id, generation: 1 })
})

t.test('its reporter and an admin can read a submission; anyone else gets 404', async (t) => {
  const res = await kaz.post({ ...SCHEMA, records: records(2) })
  const { id, receipt } = res.json()
  const own = await hub.app.inject({ url: `/v1/submissions/${id}`, headers: kaz.auth })
  t.equal(own.statusCode, 200, own.body)
  t.match(own.json(), { id, status: 'accepted', recordCount: 2, country: 'KAZ', schema: SCHEMA.schema, version: SCHEMA.version, receipt, aggregatedAt: null, retractedAt: null })
  const byAdmin = await hub.app.inject({ url: `/v1/submissions/${id}`, headers: adminAuth })
  t.equal(byAdmin.statusCode, 200)
  const other = await hub.app.inject({ url: `/v1/submissions/${id}`, headers: kgz.auth })
  t.equal(other.statusCode, 404)
  const missing = await hub.app.inject({ url: '/v1/submissions/00000000-0000-4000-8000-000000000000', headers: kgz.auth })
  t.same(other.json().title, missing.json().title, 'not found and not yours look the same')
  t.equal((await hub.app.inject({ url: '/v1/submissions/not-a-uuid', headers: kaz.auth })).statusCode, 404)
  const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  const readerAuth = { authorization: `Bearer ${await hub.token(reader)}` }
  t.equal((await hub.app.inject({ url: `/v1/submissions/${id}`, headers: readerAuth })).statusCode, 403, 'a reader lacks the scope')
  const post = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: { ...readerAuth, 'content-type': 'application/json' }, payload: JSON.stringify({ ...SCHEMA, records: records(1) }) })
  t.equal(post.statusCode, 403)
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/submissions', payload: { ...SCHEMA, records: records(1) } })).statusCode, 401)
})

t.test('GET /v1/submissions lists the caller\'s own, newest first, paged', async (t) => {
  const reporter = await reporterOf(hub, 'TJK')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await reporter.post({ ...SCHEMA, records: records(1) })).json().id)
  const seen: string[] = []
  let url = '/v1/submissions?limit=2'
  for (;;) {
    const page = await hub.app.inject({ url, headers: reporter.auth })
    t.equal(page.statusCode, 200, page.body)
    const { items, nextCursor } = page.json()
    t.ok(items.length <= 2)
    seen.push(...items.map((s: { id: string }) => s.id))
    if (!nextCursor) break
    url = `/v1/submissions?limit=2&cursor=${encodeURIComponent(nextCursor)}`
  }
  t.same(seen, ids.reverse(), 'every submission once, newest first, none of another partner')
  t.equal((await hub.app.inject({ url: '/v1/submissions?cursor=garbage', headers: reporter.auth })).statusCode, 400)
})

t.test('dryRun validates and stores nothing', async (t) => {
  const before = await count(sql`SELECT count(*) AS n FROM submissions`)
  const res = await kaz.post({ ...SCHEMA, records: records(3) }, { url: '/v1/submissions?dryRun=true' })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { valid: true, recordCount: 3 })
  const bad = await kaz.post({ ...SCHEMA, records: [record({ sex: 'f' })] }, { url: '/v1/submissions?dryRun=true' })
  t.equal(bad.statusCode, 422)
  t.equal(await count(sql`SELECT count(*) AS n FROM submissions`), before)
})

t.test('NDJSON and CSV bodies, and gzip', async (t) => {
  const nd = records(3)
  const ndBody = ndjson(nd)
  const a = await kaz.post(ndBody, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } })
  t.equal(a.statusCode, 202, a.body)
  t.equal(a.json().recordCount, 3)
  const ndClaims = await verifyReceipt(a.json().receipt, (await hub.app.inject({ url: '/.well-known/jwks.json' })).json())
  t.equal(ndClaims.bodySha256, sha256(ndBody))

  const rows3 = records(3)
  rows3[1].subnationalArea = 'KZ-19'
  rows3[2].condition = 'B20'
  const csvBody = csv(rows3)
  const b = await kaz.post(csvBody, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'text/csv; charset=utf-8' } })
  t.equal(b.statusCode, 202, b.body)
  const stored = await rows<Record<string, string>>(db, sql`SELECT record_id, subnational_area, condition_group FROM records WHERE submission_id = ${b.json().id}`)
  t.same(stored.map((r) => [r.record_id, r.subnational_area, r.condition_group]).sort(),
    [[rows3[0].recordId, '_Z', '_Z'], [rows3[1].recordId, 'KZ-19', '_Z'], [rows3[2].recordId, '_Z', 'hiv']].sort(), 'an empty cell is an absent field')

  const body = JSON.stringify({ ...SCHEMA, records: records(4) })
  const c = await kaz.post(gzipSync(body), { headers: { 'content-encoding': 'gzip' } })
  t.equal(c.statusCode, 202, c.body)
  const claims = await verifyReceipt(c.json().receipt, (await hub.app.inject({ url: '/.well-known/jwks.json' })).json())
  t.equal(claims.bodySha256, sha256(body), 'the receipt hashes the body as sent, gzip undone')
})

t.test('a live recordId is a 409 naming it; retraction frees it at once', async (t) => {
  const recs = records(3)
  const first = await kaz.post({ ...SCHEMA, records: recs })
  t.equal(first.statusCode, 202)
  const id = first.json().id
  const again = await kaz.post({ ...SCHEMA, records: [record(), recs[1], recs[2]] })
  t.equal(again.statusCode, 409, again.body)
  t.same([...again.json().recordIds].sort(), [recs[1].recordId, recs[2].recordId].sort())
  t.match(again.json().detail, recs[1].recordId as string)
  t.match(again.headers['content-type'], /^application\/problem\+json/)
  const otherPartner = await kgz.post({ ...SCHEMA, records: [recs[0]] })
  t.equal(otherPartner.statusCode, 202, 'recordIds are unique per reporter only')

  const del = await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${id}`, headers: kaz.auth })
  t.equal(del.statusCode, 202, del.body)
  t.same(del.json(), { id, status: 'retracting' })
  const [row] = await rows<Record<string, unknown>>(db, sql`SELECT counted, applied, generation FROM submissions WHERE id = ${id}`)
  t.same(row, { counted: false, applied: false, generation: 2 })
  t.equal(await count(sql`SELECT count(*) AS n FROM records WHERE submission_id = ${id} AND live`), 0)
  t.same(announced.at(-1), { submissionId: id, generation: 2 })
  const shown = (await hub.app.inject({ url: `/v1/submissions/${id}`, headers: kaz.auth })).json()
  t.equal(shown.status, 'retracted', 'retracted before it was aggregated')
  t.ok(shown.retractedAt)
  const audit = await rows<{ action: string }>(db, sql`SELECT action FROM audit_log WHERE subject = ${id} ORDER BY seq`)
  t.same(audit.map((a) => a.action), ['submission.accept', 'submission.retract'])

  const twice = await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${id}`, headers: kaz.auth })
  t.equal(twice.statusCode, 409)
  const resubmit = await kaz.post({ ...SCHEMA, records: recs })
  t.equal(resubmit.statusCode, 202, 'the same recordIds may be sent again right away')
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${resubmit.json().id}`, headers: kgz.auth })).statusCode, 404, 'another reporter cannot retract it')
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${resubmit.json().id}`, headers: adminAuth })).statusCode, 202, 'an admin can')
})

t.test('status follows counted and applied', async (t) => {
  const { id } = (await kaz.post({ ...SCHEMA, records: records(1) })).json()
  const statusNow = async () => (await hub.app.inject({ url: `/v1/submissions/${id}`, headers: kaz.auth })).json()
  await db.execute(sql`UPDATE submissions SET applied = true, aggregated_at = now() WHERE id = ${id}`)
  const aggregated = await statusNow()
  t.equal(aggregated.status, 'aggregated')
  t.ok(aggregated.aggregatedAt)
  await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${id}`, headers: kaz.auth })
  t.equal((await statusNow()).status, 'retracting')
  await db.execute(sql`UPDATE submissions SET applied = false WHERE id = ${id}`)
  t.equal((await statusNow()).status, 'retracted')
})

t.test('Idempotency-Key: a retry gets the stored answer; another body under the key is a 422', async (t) => {
  const body = JSON.stringify({ ...SCHEMA, records: records(2) })
  const key = `key-${Date.now()}`
  const first = await kaz.post(body, { headers: { 'idempotency-key': key } })
  t.equal(first.statusCode, 202, first.body)
  const retry = await kaz.post(body, { headers: { 'idempotency-key': key } })
  t.equal(retry.statusCode, 202)
  t.same(retry.json(), first.json())
  t.equal(retry.headers.location, first.headers.location)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(await count(sql`SELECT count(*) AS n FROM submissions WHERE body_sha256 = ${sha256(body)}`), 1)

  const other = await kaz.post({ ...SCHEMA, records: records(2) }, { headers: { 'idempotency-key': key } })
  t.equal(other.statusCode, 422, other.body)
  t.match(other.json().detail, /different request/)
  const otherPartner = await kgz.post(body, { headers: { 'idempotency-key': key } })
  t.equal(otherPartner.statusCode, 202, 'keys are scoped per partner')

  const long = await kaz.post({ ...SCHEMA, records: records(1) }, { headers: { 'idempotency-key': 'k'.repeat(256) } })
  t.equal(long.statusCode, 400)
  t.equal((await kaz.post({ ...SCHEMA, records: records(1) }, { headers: { 'idempotency-key': 'k'.repeat(255) } })).statusCode, 202)

  const refusedKey = `refused-${Date.now()}`
  const bad = JSON.stringify({ ...SCHEMA, records: [record({ sex: 'x' })] })
  t.equal((await kaz.post(bad, { headers: { 'idempotency-key': refusedKey } })).statusCode, 422)
  const fixed = await kaz.post({ ...SCHEMA, records: records(1) }, { headers: { 'idempotency-key': refusedKey } })
  t.equal(fixed.statusCode, 202, 'a refused request stores nothing under its key: the key may be used again')
})

t.test('Idempotency-Key: 10 identical requests at once store one submission, and all get its answer', async (t) => {
  const body = JSON.stringify({ ...SCHEMA, records: records(50) })
  const key = `burst-${Date.now()}`
  const answers = await Promise.all(Array.from({ length: 10 }, () => kaz.post(body, { headers: { 'idempotency-key': key } })))
  // the other nine waited for the transaction holding the key, then found its answer
  t.same(answers.map((a) => a.statusCode), Array(10).fill(202))
  const ids = new Set(answers.map((a) => a.json().id))
  t.equal(ids.size, 1, 'every 202 names the same submission')
  t.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 9, 'nine of them replayed')
  t.equal(await count(sql`SELECT count(*) AS n FROM submissions WHERE body_sha256 = ${sha256(body)}`), 1)
})

t.test('20 parallel submissions from one partner store exactly their records', async (t) => {
  const reporter = await reporterOf(hub, 'UZB')
  const batches = Array.from({ length: 20 }, () => records(25, { countryOfOrigin: 'TJK' }))
  const answers = await Promise.all(batches.map((recs) => reporter.post({ ...SCHEMA, records: recs })))
  t.same(answers.map((a) => a.statusCode), Array(20).fill(202))
  for (let i = 0; i < 20; i++) {
    const stored = await rows<{ record_id: string }>(db, sql`SELECT record_id FROM records WHERE submission_id = ${answers[i].json().id} ORDER BY record_id`)
    t.same(stored.map((r) => r.record_id), batches[i].map((r) => r.recordId as string).sort())
  }
  t.equal(await count(sql`SELECT count(*) AS n FROM records WHERE partner_id = ${reporter.partner.id}`), 500)
})

t.test('two submissions racing for one recordId: one wins, the other is a 409 and stores nothing', async (t) => {
  const shared = record()
  const [a, b] = await Promise.all([kaz.post({ ...SCHEMA, records: [shared, record()] }), kaz.post({ ...SCHEMA, records: [record(), shared] })])
  t.same([a.statusCode, b.statusCode].sort(), [202, 409])
  const loser = a.statusCode === 409 ? a : b
  t.same(loser.json().recordIds, [shared.recordId])
  t.equal(await count(sql`SELECT count(*) AS n FROM records WHERE record_id = ${shared.recordId as string}::uuid`), 1)
})

t.test('idempotency keys are kept 24 h, then pruned', async (t) => {
  const body = JSON.stringify({ ...SCHEMA, records: records(1) })
  const key = `old-${Date.now()}`
  t.equal((await kaz.post(body, { headers: { 'idempotency-key': key } })).statusCode, 202)
  t.equal(await pruneIdempotencyKeys(db, new Date(Date.now() + 23 * 3600_000)), 0)
  t.ok(await pruneIdempotencyKeys(db, new Date(Date.now() + 25 * 3600_000)) >= 1)
  t.equal(await count(sql`SELECT count(*) AS n FROM idempotency_keys WHERE key = ${key}`), 0)
})

t.test('GET /v1/schemas serves the shared schemas as shipped', async (t) => {
  const list = await hub.app.inject({ url: '/v1/schemas' })
  t.equal(list.statusCode, 200)
  t.ok(list.json().items.some((s: { name: string, version: string, kind: string }) => s.name === 'migrant-health-event' && s.version === '1.0.0' && s.kind === 'record-schema'))
  const doc = await hub.app.inject({ url: '/v1/schemas/migrant-health-event/1.0.0' })
  t.equal(doc.statusCode, 200)
  t.match(doc.headers['content-type'], 'application/schema+json')
  t.same(doc.json(), (await loadSchemaRegistry()).document('migrant-health-event', '1.0.0'))
  t.equal((await hub.app.inject({ url: '/v1/schemas/condition-groups/1.0.0' })).statusCode, 200)
  t.equal((await hub.app.inject({ url: '/v1/schemas/migrant-health-event/9.9.9' })).statusCode, 404)
})
