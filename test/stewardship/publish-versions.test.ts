// Publishing a month that holds migrant-health-event 1.0.0 and 1.1.0 records which differ only in
// the 1.1 dimensions: each is a cell of its own under the key the field definitions give every
// table of cells (published_cells too: it kept the 1.0.0 key and publishing was a bare 500), the
// 1.0.0 records count as contacts, and a reader whose consent says `published` reads them back.
// @server-only: keys of published cells; the worker only makes the counts readable
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { rows } from '../../src/db/connect.js'
import { CELL_COLUMNS } from '../../src/model/cells.js'
import { buildTestHub, type TestPartner, startTestAggregation } from '../helpers.js'
import type { Rec } from '../intake/intake-fixtures.js'

const hub = await buildTestHub(t, { config: { consent: 'required' } })
const db = hub.database.db
await startTestAggregation(t, hub)
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const who = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const consent = await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'grant', release: 'published' } })
if (consent.statusCode !== 200) throw new Error(consent.body)

// Every 1.0.0 field at one value: the groups below differ in the 1.1 dimensions only.
const base = { period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none' }
const recs = (n: number, extra: Rec = {}) => Array.from({ length: n }, () => ({ recordId: randomUUID(), ...base, ...extra }))
async function submit (version: string, records: Rec[]): Promise<void> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: await as(kaz), payload: { schema: 'migrant-health-event', version, records } })
  if (res.statusCode !== 202) throw new Error(res.body)
}
const near = (t: Test, got: number | undefined, want: number, what: string) => t.ok(got !== undefined && Math.abs(got - want) <= 3, `${what}: ${got} within the perturbation of ${want}`)
const cellRows = async (table: 'cells' | 'published_cells') => (await rows<Record<string, string>>(db, sql`
  SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count, key_sum FROM ${sql.raw(table)} WHERE country = 'KAZ' AND period = '2026-03'`))
  .map((r) => JSON.stringify(Object.values(r).map(String))).sort()

t.test('a month of 1.0.0 and 1.1.0 records publishes and reads back by its 1.1 dimensions', async (t) => {
  await submit('1.0.0', recs(20))
  await submit('1.1.0', [
    ...recs(10, { recordType: 'contact' }), // the 1.0.0 records' own cell: they are contacts
    ...recs(20, { recordType: 'contact', serviceCoverage: 'covered' }),
    ...recs(20, { recordType: 'case_notification' }),
    ...recs(15, { recordType: 'case_notification', serviceCoverage: 'not_covered' })
  ])
  await hub.queue.drain()
  const types = await rows<{ record_type: string, n: string }>(db, sql`SELECT record_type, count(*) AS n FROM records GROUP BY 1 ORDER BY 1`)
  t.same(types, [{ record_type: 'case_notification', n: '35' }, { record_type: 'contact', n: '50' }], '1.0.0 records are stored as contacts')

  const pub = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-03/publish', headers: await as(kaz) })
  t.equal(pub.statusCode, 201, 'published')
  t.match(pub.json(), { country: 'KAZ', period: '2026-03', revision: 1, records: 85 })
  const published = await cellRows('published_cells')
  t.equal(published.length, 4, 'four cells, apart by recordType and serviceCoverage only')
  t.same(published, await cellRows('cells'), 'the published cells are the cells, counts and key sums')

  // Working data moves on; the published reader keeps the publication.
  await submit('1.0.0', recs(30))
  await hub.queue.drain()
  const read = await hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-03&to=2026-03&by=recordType,serviceCoverage', headers: await as(who) })
  t.equal(read.statusCode, 200, 'the published reader reads the month')
  // an absent value ('_Z' as stored) is null in answers
  const cells = read.json().cells as Array<{ recordType: string, serviceCoverage: string | null, count: number }>
  const count = (recordType: string, serviceCoverage: string | null) => cells.find((c) => c.recordType === recordType && c.serviceCoverage === serviceCoverage)?.count
  t.equal(cells.length, 4)
  near(t, count('contact', null), 30, '1.0.0 records and 1.1.0 contacts without serviceCoverage')
  near(t, count('contact', 'covered'), 20, 'contacts covered')
  near(t, count('case_notification', null), 20, 'case notifications')
  near(t, count('case_notification', 'not_covered'), 15, 'case notifications not covered')
  t.same(read.json().coverage, [], 'the month is published')

  const verify = await hub.app.inject({ url: '/v1/admin/aggregates/verify', headers: await as(hub.admin) })
  t.equal(verify.statusCode, 200)
  t.match(verify.json(), { ok: true, marginDifferences: 0, records: 115 })
})
