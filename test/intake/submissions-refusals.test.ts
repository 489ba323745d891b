// Bad input gets a clear answer (problem+json naming the place) and loses nothing: nothing of a
// refused submission is stored, and the server keeps serving.
import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { rows } from '../../src/db/connect.js'
import { buildTestHub } from '../helpers.js'
import { csv, ndjson, QUERY, record, records, reporterOf, SCHEMA, type Rec } from './intake-fixtures.js'

const hub = await buildTestHub(t)
const db = hub.database.db
const kaz = await reporterOf(hub, 'KAZ')

interface Fault { index?: number, line?: number, path: string, message: string }

async function storedOfKaz (): Promise<{ submissions: number, records: number, keys: number }> {
  const [row] = await rows<{ s: string, r: string, k: string }>(db, sql`
    SELECT (SELECT count(*) FROM submissions WHERE partner_id = ${kaz.partner.id}) AS s,
           (SELECT count(*) FROM records WHERE partner_id = ${kaz.partner.id}) AS r,
           (SELECT count(*) FROM idempotency_keys WHERE partner_id = ${kaz.partner.id}) AS k`)
  return { submissions: Number(row.s), records: Number(row.r), keys: Number(row.k) }
}

function isProblem (t: Test, res: { statusCode: number, headers: Record<string, unknown>, json (): unknown }, status: number) {
  t.equal(res.statusCode, status, JSON.stringify(res.json()))
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.json(), { type: String, title: String, status, detail: String })
  return res.json() as { detail: string, errors?: Fault[], errorsOmitted?: number }
}

t.test('every faulty record is listed in one 422, with index and JSON pointer', async (t) => {
  const good = record()
  const recs: Rec[] = [
    record({ sex: 'F' }), // 0 wrong enum value
    record({ favouriteColour: 'blue' }), // 1 unknown field
    record({ period: '2026-03-15' }), // 2 a date where a month belongs
    record({ recordId: '850101300123' }), // 3 a national-ID-like value
    record({ encounter: 'patient came in with a cough since Tuesday' }), // 4 free text
    JSON.parse(`{"recordId":"${record().recordId}","__proto__":{"admin":true},"period":"2026-03","countryOfOrigin":"UZB","migrationStatus":"labour_migrant","migrationStage":"destination","sex":"male","ageBand":"25-29","encounter":"primary_care","insurance":"none"}`), // 5
    record({ reportingCountry: 'UZB' }), // 6 another country
    good, // 7
    { ...good, sex: 'male' }, // 8 the same recordId twice in one batch
    record({ ageBand: 27 }), // 9 wrong type
    'not a record', // 10
    record({ countryOfOrigin: 'XXX' }), // 11 not a country
    record({ subnationalArea: 'KZ-ALA' }) // 12 an area not valid for the period
  ]
  const res = await kaz.post({ ...SCHEMA, records: recs })
  const body = isProblem(t, res, 422)
  const at = (index: number) => body.errors!.filter((e) => e.index === index)
  t.match(at(0), [{ path: '/records/0/sex', message: /female/ }])
  t.match(at(1), [{ path: '/records/1/favouriteColour', message: /unknown field/ }])
  t.match(at(2), [{ path: '/records/2/period', message: /YYYY-MM/ }])
  t.match(at(3), [{ path: '/records/3/recordId' }])
  t.match(at(4), [{ path: '/records/4/encounter' }])
  t.match(at(5), [{ path: '/records/5/__proto__' }])
  t.match(at(6), [{ path: '/records/6/reportingCountry', message: /KAZ/ }])
  t.same(at(7), [])
  t.match(at(8), [{ path: '/records/8/recordId', message: /more than once/ }])
  t.match(at(9), [{ path: '/records/9/ageBand' }])
  t.match(at(10), [{ path: '/records/10' }])
  t.match(at(11), [{ path: '/records/11/countryOfOrigin' }])
  t.match(at(12), [{ path: '/records/12/subnationalArea' }])
  t.notOk(body.errors!.some((e) => 'line' in e), 'a JSON body has no lines')
  t.same(await storedOfKaz(), { submissions: 0, records: 0, keys: 0 }, 'nothing stored')
  t.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was touched')
})

t.test('at most 100 faults are listed, then errorsOmitted', async (t) => {
  const recs = records(150, { sex: 'x' })
  const body = isProblem(t, await kaz.post({ ...SCHEMA, records: recs }), 422)
  t.equal(body.errors!.length, 100)
  t.equal(body.errorsOmitted, 50)
  t.same(body.errors!.map((e) => e.index), Array.from({ length: 100 }, (_, i) => i))
  t.match(body.detail, /150 faults/)
})

t.test('NDJSON and CSV faults carry the line of the body', async (t) => {
  const nd = ndjson([record(), record({ sex: 'x' }), record()]).replace('\n', '\n\n') // a blank line shifts the rest
  const ndBody = isProblem(t, await kaz.post(nd, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } }), 422)
  t.match(ndBody.errors, [{ index: 1, line: 3, path: '/records/1/sex' }])

  const c = csv([record(), record(), record({ ageBand: '27' })])
  const csvBody = isProblem(t, await kaz.post(c, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'text/csv' } }), 422)
  t.match(csvBody.errors, [{ index: 2, line: 4, path: '/records/2/ageBand' }])
  t.same(await storedOfKaz(), { submissions: 0, records: 0, keys: 0 })
})

t.test('malformed JSON, NDJSON and CSV are a 400 naming the line', async (t) => {
  const json = `{\n  "schema": "migrant-health-event",\n  "version": "1.0.0",\n  "records": [ {"sex": "female",} ]\n}`
  const a = isProblem(t, await kaz.post(json), 400)
  t.match(a.errors, [{ line: 4 }])
  t.match(a.detail, /line 4/)

  const nd = `${JSON.stringify(record())}\n${JSON.stringify(record())}\n{"recordId": "x", oops}\n`
  const b = isProblem(t, await kaz.post(nd, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } }), 400)
  t.match(b.errors, [{ line: 3 }])
  t.match(b.detail, /line 3/)

  const badCsv = `${csv([record()])}"unterminated,2026-03\n`
  const c = isProblem(t, await kaz.post(badCsv, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'text/csv' } }), 400)
  t.match(c.errors, [{ line: 3 }])

  const header = csv([record()]).replace('recordId', 'nationalId')
  const d = isProblem(t, await kaz.post(header, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'text/csv' } }), 400)
  t.match(d.detail, /nationalId/)

  const notUtf8 = Buffer.concat([Buffer.from(ndjson([record()])), Buffer.from([0xff, 0xfe, 0x0a])])
  const e = isProblem(t, await kaz.post(notUtf8, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } }), 400)
  t.match(e.errors, [{ line: 2 }])
  t.same(await storedOfKaz(), { submissions: 0, records: 0, keys: 0 })
})

t.test('a wrong content type or encoding is a 415', async (t) => {
  const body = JSON.stringify({ ...SCHEMA, records: records(1) })
  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const res = await kaz.post(body, { headers: { 'content-type': type } })
    t.match(isProblem(t, res, 415).detail, /application\/json/, type)
  }
  const none = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: kaz.auth, payload: body })
  t.equal(none.statusCode, 415, 'no content type')
  isProblem(t, await kaz.post(body, { headers: { 'content-encoding': 'br' } }), 415)
  isProblem(t, await kaz.post(body, { headers: { 'content-type': 'application/json; charset=latin1' } }), 415)
})

t.test('an unknown schema or version is a 422 naming it', async (t) => {
  const a = isProblem(t, await kaz.post({ schema: 'migrant-health-event', version: '9.0.0', records: records(1) }), 422)
  t.match(a.detail, /9\.0\.0/)
  t.match(a.errors, [{ path: 'version' }])
  const b = isProblem(t, await kaz.post({ schema: 'no-such-schema', version: '1.0.0', records: records(1) }), 422)
  t.match(b.detail, /no-such-schema/)
  t.match(b.errors, [{ path: 'schema' }])
  const c = isProblem(t, await kaz.post(ndjson(records(1)), { url: '/v1/submissions?schema=condition-groups&version=1.0.0', headers: { 'content-type': 'application/x-ndjson' } }), 422)
  t.match(c.detail, /condition-groups/, 'a catalog is not a record schema')
  const d = isProblem(t, await kaz.post(ndjson(records(1)), { headers: { 'content-type': 'application/x-ndjson' } }), 422)
  t.match(d.detail, /\?schema=&version=/)
  const e = isProblem(t, await kaz.post({ ...SCHEMA, records: records(1) }, { url: '/v1/submissions?version=2.0.0' }), 422)
  t.match(e.errors, [{ path: 'version' }])
})

t.test('the envelope is strict: unknown fields, no records, not an object', async (t) => {
  const a = isProblem(t, await kaz.post({ ...SCHEMA, records: records(1), note: 'hello' }), 422)
  t.match(a.errors, [{ path: '/note', message: /unknown field/ }])
  const b = isProblem(t, await kaz.post({ ...SCHEMA, records: [] }), 422)
  t.match(b.errors, [{ path: '/records' }])
  isProblem(t, await kaz.post([record()]), 422)
  const c = isProblem(t, await kaz.post(`{"schema":"migrant-health-event","version":"1.0.0","records":[],"__proto__":{"x":1}}`), 422)
  t.ok(c.errors!.some((e) => e.path.includes('__proto__')), 'a top-level __proto__ is named')
  isProblem(t, await kaz.post({ ...SCHEMA, records: records(1) }, { url: '/v1/submissions?dryRun=maybe' }), 400)
  isProblem(t, await kaz.post({ ...SCHEMA, records: records(1) }, { url: '/v1/submissions?debug=1' }), 400)
})

t.test('10,000-deep nesting is refused and the server stays up', async (t) => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000)
  const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)
  // Refused by the depth scan before JSON.parse (400), wherever the nesting sits.
  const tooDeep = (res: Awaited<ReturnType<typeof kaz.post>>) => t.match(isProblem(t, res, 400).detail, /nests deeper than 8 levels/)
  tooDeep(await kaz.post(deep))
  tooDeep(await kaz.post(`{"schema":"migrant-health-event","version":"1.0.0","records":[${JSON.stringify(record()).slice(0, -1)},"outcome":${deepObject}}]}`))
  tooDeep(await kaz.post(`{"schema":"migrant-health-event","version":"1.0.0","records":[${deep}]}`))
  tooDeep(await kaz.post(`{"schema":"migrant-health-event","version":"1.0.0","records":[${JSON.stringify(record()).slice(0, -1)},"x":${deepObject}}]}`))
  tooDeep(await kaz.post(`${deepObject}\n`, { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } }))
  t.same(await storedOfKaz(), { submissions: 0, records: 0, keys: 0 })
  const ok = await kaz.post({ ...SCHEMA, records: records(2) })
  t.equal(ok.statusCode, 202, 'the server still serves')
  await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${ok.json().id}`, headers: kaz.auth })
})
