// The query budget under concurrency and publication: never more distinct queries a day than the
// limit, whatever arrives at once; a country read as published costs nothing again when its
// working data moves (the budget key holds the publication's revision, not the live version).
import { sql } from 'drizzle-orm'
import t from 'tap'
import { insertCells } from './fixtures.js'
import { buildTestHub, type TestPartner } from '../helpers.js'

const LIMIT = 30
const hub = await buildTestHub(t, { config: { consent: 'required', queryBudget: LIMIT } })
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ roles: ['reporter', 'steward'], country: 'KAZ' })
const kgz = await hub.partner({ roles: ['steward'], country: 'KGZ' })
const greedy = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }, { region: 'KGZ' }] })
const patient = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
for (const reader of [greedy, patient]) {
  for (const steward of [kaz, kgz]) {
    const res = await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader.id}`, headers: await as(steward), payload: { decision: 'grant', release: reader === greedy ? 'live' : 'published' } })
    if (res.statusCode !== 200) throw new Error(res.body)
  }
}
await insertCells(hub.database, [{ country: 'KAZ', count: 100 }, { country: 'KGZ', count: 60 }])
hub.cellVersions.changed()

t.test('80 distinct first asks at once, a limit of 30: exactly 30 admitted', async (t) => {
  const headers = await as(greedy)
  // 80 distinct record sets: two countries × ten age bands × four sexes.
  const bands = ['0-4', '5-9', '10-14', '15-19', '20-24', '25-29', '30-34', '35-39', '40-44', '45-49']
  const queries = ['KAZ', 'KGZ'].flatMap((region) => bands.flatMap((band) => ['female', 'male', 'other', 'unknown'].map((sex) => `region=${region}&from=2026-01&to=2026-01&ageBand=${band}&sex=${sex}`)))
  t.equal(new Set(queries).size, 80)
  const answers = await Promise.all(queries.map((q) => hub.app.inject({ url: `/v1/aggregates?${q}`, headers })))
  const statuses = answers.map((a) => a.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, LIMIT, 'admitted')
  t.equal(statuses.filter((s) => s === 429).length, 80 - LIMIT, 'refused')
  t.ok(answers.filter((a) => a.statusCode === 429).every((a) => a.json().type.endsWith('/problems/query-budget-exhausted') && a.headers['retry-after']), 'each refusal names the budget and when to come back')
  t.equal(await charged(greedy), LIMIT, 'exactly the limit counted in the database')
})

t.test('a published reader pays once, whatever is pushed after the publication', async (t) => {
  const pub = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-01/publish', headers: await as(kaz) })
  t.equal(pub.statusCode, 201, pub.body)
  const headers = await as(patient)
  const query = '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&by=sex'
  const first = await hub.app.inject({ url: query, headers })
  t.equal(first.statusCode, 200, first.body)
  t.equal(await charged(patient), 1)
  // Another partner's push moves KAZ's working data (here written as the worker writes it).
  await hub.database.db.execute(sql`UPDATE cells SET count = count + 7, updated_at = now() WHERE country = 'KAZ'`)
  hub.cellVersions.changed(['KAZ'])
  const again = await hub.app.inject({ url: query, headers })
  t.equal(again.statusCode, 200)
  t.same(again.json().cells, first.json().cells, 'the same published data, the same answer')
  t.equal(await charged(patient), 1, 'and free')
  // A new publication is new data: a new estimate, which costs.
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-01/publish', headers: await as(kaz) })).statusCode, 201)
  t.equal((await hub.app.inject({ url: query, headers })).statusCode, 200)
  t.equal(await charged(patient), 2, 'a revision is a new query')
})

async function charged (partner: TestPartner): Promise<number> {
  const [row] = (await hub.database.db.execute(sql`SELECT count(*) AS n FROM query_budget WHERE partner_id = ${partner.id}`) as unknown as { rows: Array<{ n: string }> }).rows
  return Number(row.n)
}
