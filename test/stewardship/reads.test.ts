// Reads under stewardship (MHX_CONSENT=required): no answer counts a country without its consent,
// published readers see the publication while live readers see working data, a steward reads its
// own country exactly without a grant, origin grants read their origin only, answers carry
// coverage, and the access log of KAZ lists exactly the reads that counted KAZ.
import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { auditLog } from '../../src/db/schema.js'
import { insertCells } from '../release/fixtures.js'
import { buildTestHub, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const db = hub.database.db
const adminAuth = { authorization: `Bearer ${await hub.token(hub.admin)}` }
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const kgz = await hub.partner({ id: 'kgz-moh', roles: ['steward'], country: 'KGZ' })
const rus = await hub.partner({ id: 'rus-moh', roles: ['steward'], country: 'RUS' })
const tjk = await hub.partner({ id: 'tjk-moh', roles: ['reader', 'steward'], country: 'TJK' })
const who = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'central-asia' }, { region: 'KAZ' }, { region: 'KGZ' }] })
const live = await hub.partner({ id: 'ngo-live', roles: ['reader'], grants: [{ region: 'KAZ' }] })
await hub.app.inject({ method: 'PUT', url: '/v1/admin/partners/tjk-moh/grants', headers: adminAuth, payload: { grants: [{ region: 'RUS', countryOfOrigin: 'TJK' }] } })

await insertCells(hub.database, [
  { country: 'KAZ', count: 100 },
  { country: 'KGZ', count: 40 },
  { country: 'RUS', count: 70, countryOfOrigin: 'TJK' },
  { country: 'RUS', count: 900, countryOfOrigin: 'UZB' }
])
hub.cellVersions.changed()

const read = async (partner: TestPartner, query: string) => hub.app.inject({ url: `/v1/aggregates?${query}`, headers: await as(partner) })
const decide = async (steward: TestPartner, reader: string, body: object) => {
  const res = await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader}`, headers: await as(steward), payload: body })
  if (res.statusCode !== 200) throw new Error(res.body)
}
const near = (t: Test, got: number, want: number, what: string) => t.ok(Math.abs(got - want) <= 2, `${what}: ${got} within the perturbation of ${want}`)

t.test('no consent, no answer: every missing country is named, nothing partial', async (t) => {
  const res = await read(who, 'region=central-asia&from=2026-01&to=2026-01')
  t.equal(res.statusCode, 403)
  t.same(res.json().missingConsents, ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'], 'countries without a steward are never readable by others')
  await decide(kaz, 'who-euro', { decision: 'grant' })
  await decide(kgz, 'who-euro', { decision: 'grant' })
  const still = await read(who, 'region=central-asia&from=2026-01&to=2026-01')
  t.same(still.json().missingConsents, ['TJK', 'TKM', 'UZB'])
  t.equal((await read(who, 'region=KGZ&from=2026-01&to=2026-01')).statusCode, 200)
})

t.test('published readers see the publication; live readers and the steward see working data', async (t) => {
  await decide(kaz, 'ngo-live', { decision: 'grant', release: 'live', k: 10 })
  const before = await read(who, 'region=KAZ&from=2026-01&to=2026-01')
  t.equal(before.statusCode, 200)
  t.ok(before.json().cells.every((c: { count: number | null }) => !c.count), 'nothing published yet: a published reader sees no counts')
  t.same(before.json().coverage, [{ country: 'KAZ', period: '2026-01', status: 'open' }])

  const pub = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-01/publish', headers: await as(kaz) })
  t.equal(pub.statusCode, 201)
  await db.execute(sql`UPDATE cells SET count = 150 WHERE country = 'KAZ'`)
  hub.cellVersions.changed(['KAZ'])

  const published = await read(who, 'region=KAZ&from=2026-01&to=2026-02')
  t.equal(published.statusCode, 200)
  near(t, published.json().cells[0].count, 100, 'the published revision')
  t.same(published.json().coverage, [{ country: 'KAZ', period: '2026-02', status: 'not_reported' }], 'unpublished months are named')
  const working = await read(live, 'region=KAZ&from=2026-01&to=2026-01')
  near(t, working.json().cells[0].count, 150, 'working data')
  t.equal(working.json().k, 10, 'the consent\'s k joins the read\'s')
  const own = await read(kaz, 'region=KAZ&from=2026-01&to=2026-01')
  t.equal(own.statusCode, 200, 'a steward reads its own country without a grant')
  t.match(own.json(), { k: 1, disclosure: { method: 'none' }, cells: [{ count: 150 }] })
  const other = await read(kaz, 'region=KGZ&from=2026-01&to=2026-01')
  t.equal(other.statusCode, 403, 'but nothing else without the reader role')
})

t.test('an origin grant reads its origin only, with the consent of the unit', async (t) => {
  const q = 'region=RUS&from=2026-01&to=2026-01'
  const noConsent = await read(tjk, `${q}&countryOfOrigin=TJK`)
  t.equal(noConsent.statusCode, 403)
  t.same(noConsent.json().missingConsents, ['RUS'])
  await decide(rus, 'tjk-moh', { decision: 'grant', release: 'live' })
  const ok = await read(tjk, `${q}&countryOfOrigin=TJK`)
  t.equal(ok.statusCode, 200)
  near(t, ok.json().cells[0].count, 70, 'Tajik nationals in Russia')
  for (const bad of ['', '&countryOfOrigin=UZB', '&countryOfOrigin=TJK,UZB', '&by=countryOfOrigin']) {
    const res = await read(tjk, `${q}${bad}`)
    t.equal(res.statusCode, 403, bad || 'no filter')
    t.same(res.json().originRequired, { unit: 'RUS', countryOfOrigin: 'TJK' })
  }
})

t.test('a refused consent acts on the next request', async (t) => {
  await decide(kgz, 'who-euro', { decision: 'refuse' })
  const res = await read(who, 'region=KGZ&from=2026-01&to=2026-01')
  t.equal(res.statusCode, 403)
  t.same(res.json().missingConsents, ['KGZ'])
})

t.test('the access log of KAZ lists every read that counted or tried KAZ, and no other', async (t) => {
  const res = await hub.app.inject({ url: '/v1/access-log?limit=1000', headers: await as(kaz) })
  t.equal(res.statusCode, 200)
  const listed = res.json().items.map((i: { seq: number }) => i.seq)
  const all = await db.select().from(auditLog)
  const expected = all.filter((r) => ['aggregates.read', 'aggregates.denied'].includes(r.action) && ((r.detail as { countries?: string[] }).countries ?? []).includes('KAZ'))
    .map((r) => r.seq).sort((a, b) => a - b)
  t.ok(expected.length >= 6, `${expected.length} reads counted KAZ`)
  t.same(listed, expected)
  const rusLog = await hub.app.inject({ url: '/v1/access-log?limit=1000', headers: await as(rus) })
  t.ok(rusLog.json().items.every((i: { query: { region: string } }) => i.query.region === 'RUS'))
  t.ok(rusLog.json().items.some((i: { action: string }) => i.action === 'aggregates.denied'), 'refused reads are listed too')
})
