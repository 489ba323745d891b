// The publish preview: a steward sees, before publishing, the released counts a reader will be
// given beside the exact ones; after publishing, a published reader reads exactly those released
// counts. Consents and the access log name readers by their registered names.
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { insertSubmission, randomRecord, rng } from '../aggregation/fixtures.js'
import { buildTestHub, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const reader = await hub.partner({ id: 'iom-preview', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const random = rng(7)
const db = hub.database.db

const s = await insertSubmission(db, 'kaz-moh', 'KAZ', Array.from({ length: 90 }, () => ({ ...randomRecord(random, 'KAZ'), period: '2026-02' })))
await processSubmission(hub.database, s.id)

t.test('the preview: exact counts and what readers will get, the same as they read after publishing', async (t) => {
  const res = await hub.app.inject({ url: '/v1/periods/KAZ/2026-02/preview?by=sex', headers: await as(kaz) })
  t.equal(res.statusCode, 200, res.body)
  const preview = res.json()
  t.match(preview, { country: 'KAZ', period: '2026-02', by: ['sex'], k: hub.config.suppressionK, disclosure: { method: 'cellkey' } })
  t.equal(preview.cells.reduce((sum: number, c: { exact: number }) => sum + c.exact, 0), 90, 'exact counts add up to the records pushed')
  t.ok(preview.cells.every((c: { released: number | null, suppressed: string | null }) => (c.released === null) === (c.suppressed === 'primary')), 'withheld cells say so')
  const total = (await hub.app.inject({ url: '/v1/periods/KAZ/2026-02/preview', headers: await as(kaz) })).json()
  t.equal(total.cells.length, 1, 'no by: the month\'s total')
  t.equal(total.cells[0].exact, 90)

  const consent = await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader.id}`, headers: await as(kaz), payload: { decision: 'grant', release: 'published' } })
  t.equal(consent.statusCode, 200)
  t.equal(consent.json().readerName, 'Partner iom-preview', 'a decision names the reader')
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-02/publish', headers: await as(kaz) })).statusCode, 201)
  const read = (await hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-02&to=2026-02&by=sex', headers: await as(reader) })).json()
  const released = Object.fromEntries(read.cells.map((c: { sex: string | null, count: number | null }) => [c.sex ?? '_Z', c.count]))
  t.same(Object.fromEntries(preview.cells.map((c: { sex: string, released: number | null }) => [c.sex, c.released])), released, 'the reader is given exactly the previewed released counts')

  const empty = (await hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-05&to=2026-05', headers: await as(reader) })).json()
  t.same(empty.cells, [], 'a month without records has no total cell (not a protected one)')
  t.same((await hub.app.inject({ url: '/v1/periods/KAZ/2026-05/preview', headers: await as(kaz) })).json().cells, [], 'nor a preview cell')

  const consents = (await hub.app.inject({ url: '/v1/consents', headers: await as(kaz) })).json().items
  t.equal(consents.find((c: { reader: string }) => c.reader === reader.id)?.readerName, 'Partner iom-preview', 'consents name readers')
  const log = (await hub.app.inject({ url: '/v1/access-log', headers: await as(kaz) })).json().items
  t.equal(log.at(-1).readerName, 'Partner iom-preview', 'the access log names readers')
})

t.test('only the steward of the country, only good parameters', async (t) => {
  const other = await hub.app.inject({ url: '/v1/periods/KGZ/2026-02/preview', headers: await as(kaz) })
  t.equal(other.statusCode, 403, 'another country: 403')
  const byReader = await hub.app.inject({ url: '/v1/periods/KAZ/2026-02/preview', headers: await as(reader) })
  t.equal(byReader.statusCode, 403, 'a reader: 403')
  t.equal((await hub.app.inject({ url: '/v1/periods/KAZ/2026-02/preview' })).statusCode, 401, 'no token: 401')
  const bad = await hub.app.inject({ url: '/v1/periods/KAZ/2026-02/preview?by=colour', headers: await as(kaz) })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors, [{ path: 'by' }], 'an unknown dimension is named')
  t.equal((await hub.app.inject({ url: '/v1/periods/KAZ/2026-13/preview', headers: await as(kaz) })).statusCode, 400, 'not a month: 400')
})
