// Publishing and periods: a revision freezes a country-month as its cells stood (counts and key
// sums), stays put while submissions and retractions go on, and GET /v1/periods tells not reported,
// open and published apart; bad input is refused with nothing changed.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { rows } from '../../src/db/connect.js'
import { createStewardshipBook } from '../../src/stewardship/book.js'
import { createCoverage, dueBy, listPeriods } from '../../src/stewardship/periods.js'
import { insertSubmission, randomRecord, retractSubmission, rng, type RecordRow } from '../aggregation/fixtures.js'
import { buildTestHub, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const kgz = await hub.partner({ id: 'kgz-moh', roles: ['reporter', 'steward'], country: 'KGZ' })
const random = rng(42)
const db = hub.database.db

async function submitAndApply (records: RecordRow[]): Promise<string> {
  const s = await insertSubmission(db, 'kaz-moh', 'KAZ', records)
  await processSubmission(hub.database, s.id)
  return s.id
}

const published = async (period: string) => rows<{ count: string, key_sum: string, n: string }>(db, sql`
  SELECT coalesce(sum(count), 0) AS count, coalesce(sum(key_sum), 0) AS key_sum, count(*) AS n FROM published_cells WHERE country = 'KAZ' AND period = ${period}`)
// What the records of applied submissions count in one month: the expected published state.
const counted = async (period: string) => rows<{ count: string, cells: string }>(db, sql`
  SELECT coalesce(sum(r.count), 0) AS count, count(DISTINCT (r.subnational_area, r.country_of_origin, r.migration_status, r.migration_stage, r.sex, r.age_band, r.encounter, r.condition_group, r.screening_context, r.screening_consequence, r.insurance, r.outcome)) AS cells
  FROM records r JOIN submissions s ON s.id = r.submission_id AND s.applied WHERE r.country = 'KAZ' AND r.period = ${period}`)

t.test('publish freezes the month; published readers keep exactly that revision while data moves on', async (t) => {
  const first = await submitAndApply(Array.from({ length: 60 }, () => ({ ...randomRecord(random, 'KAZ'), period: '2026-01' })))
  const atPublication = (await counted('2026-01'))[0]
  const res = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-01/publish', headers: await as(kaz) })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { country: 'KAZ', period: '2026-01', revision: 1, records: 60 })
  let frozen = (await published('2026-01'))[0]
  t.equal(Number(frozen.count), Number(atPublication.count), 'counts as the records counted at publication')
  t.equal(Number(frozen.n), Number(atPublication.cells))
  const cellsNow = await rows<{ key_sum: string }>(db, sql`SELECT coalesce(sum(key_sum), 0) AS key_sum FROM cells WHERE country = 'KAZ' AND period = '2026-01'`)
  t.equal(frozen.key_sum, cellsNow[0].key_sum, 'key sums kept beside counts')

  // Submissions and retractions continue: the published revision does not move.
  await submitAndApply(Array.from({ length: 25 }, () => ({ ...randomRecord(random, 'KAZ'), period: '2026-01' })))
  await retractSubmission(db, first)
  await processSubmission(hub.database, first)
  const after = (await published('2026-01'))[0]
  t.same(after, frozen, 'published cells unchanged by later submissions and retractions')

  const list = await hub.app.inject({ url: '/v1/periods?region=KAZ&from=2026-01&to=2026-03', headers: await as(kaz) })
  t.equal(list.statusCode, 200)
  const [jan, feb, mar] = list.json().items
  // Published now (after 15 February 2026): late.
  t.match(jan, { country: 'KAZ', period: '2026-01', status: 'published', revision: 1, onTime: false, changedSince: true })
  t.match(feb, { status: 'not_reported', revision: null, publishedAt: null, onTime: null, changedSince: null })
  t.equal(mar.status, 'not_reported')

  const again = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-01/publish', headers: await as(kaz) })
  t.match(again.json(), { revision: 2, records: 25 })
  frozen = (await published('2026-01'))[0]
  t.equal(Number(frozen.count), 25, 'revision 2 replaces revision 1')
  const republished = (await rows<{ count: string }>(db, sql`SELECT coalesce(sum(count), 0) AS count FROM cells WHERE country = 'KAZ' AND period = '2026-01'`))[0]
  t.equal(frozen.count, republished.count, 'revision 2 holds the cells as they stood')
  const listed = await hub.app.inject({ url: '/v1/periods?region=KAZ&from=2026-01&to=2026-01', headers: await as(kaz) })
  t.match(listed.json().items[0], { revision: 2, changedSince: false })
})

t.test('open months, coverage and on time', async (t) => {
  await submitAndApply(Array.from({ length: 5 }, () => ({ ...randomRecord(random, 'KAZ'), period: '2026-02' })))
  const list = await hub.app.inject({ url: '/v1/periods?region=KAZ&from=2026-02&to=2026-02', headers: await as(kaz) })
  t.equal(list.json().items[0].status, 'open')
  const book = await createStewardshipBook(hub.database)
  t.teardown(() => book.close())
  const coverageOf = createCoverage({ db, book, versions: hub.cellVersions })
  t.same(await coverageOf(['KAZ', 'KGZ'], '2026-01', '2026-02'), [
    { country: 'KAZ', period: '2026-02', status: 'open' },
    { country: 'KGZ', period: '2026-01', status: 'not_reported' },
    { country: 'KGZ', period: '2026-02', status: 'not_reported' }
  ])
  t.equal(dueBy('2026-01', 15).toISOString(), '2026-02-15T23:59:59.999Z')
  // On time is judged by the first publication, against MHX_DUE_DAY.
  const publication = (first: string) => ({ revision: 2, publishedAt: new Date('2026-03-01T00:00:00Z'), firstPublishedAt: new Date(first), records: 1 })
  const state = { stewards: new Set(['KAZ']), consents: new Map(), publications: new Map([['KAZ:2026-01', publication('2026-02-15T23:00:00Z')]]) }
  t.equal((await listPeriods(db, state, ['KAZ'], '2026-01', '2026-01', 15))[0].onTime, true)
  t.equal((await listPeriods(db, state, ['KAZ'], '2026-01', '2026-01', 14))[0].onTime, false)
  t.equal(dueBy('2026-12', 15).toISOString(), '2027-01-15T23:59:59.999Z')
})

t.test('bad input: another country 403, a future month 422, a reader 403; nothing changed', async (t) => {
  const before = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM publications`)
  const other = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-02/publish', headers: await as(kgz) })
  t.equal(other.statusCode, 403)
  t.match(other.json().detail, /steward of KGZ, not of KAZ/)
  const next = new Date()
  next.setUTCMonth(next.getUTCMonth() + 1, 1)
  const future = await hub.app.inject({ method: 'POST', url: `/v1/periods/KAZ/${next.toISOString().slice(0, 7)}/publish`, headers: await as(kaz) })
  t.equal(future.statusCode, 422)
  t.match(future.json(), { errors: [{ path: 'period', message: 'in the future' }] })
  const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-02/publish', headers: await as(reader) })).statusCode, 403)
  const listed = await hub.app.inject({ url: '/v1/periods?region=KAZ&from=2026-01&to=2026-01', headers: await as(reader) })
  t.equal(listed.statusCode, 403, 'a reader without consent cannot list')
  t.same(listed.json().missingConsents, ['KAZ'])
  t.equal((await hub.app.inject({ url: '/v1/periods?region=KGZ&from=2026-01&to=2026-01', headers: await as(kaz) })).statusCode, 403, 'a steward does not list another country\'s periods')
  const after = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM publications`)
  t.same(after, before)
})
