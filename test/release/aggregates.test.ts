// GET /v1/aggregates and GET /v1/regions: parameters, grants under attack, suppression on known counts, formats.
import { parse } from 'csv-parse/sync'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { buildTestHub, type TestPartner } from '../helpers.js'
import { buildPtable } from '../../src/release/ptable.js'
import { CENTRAL_ASIA, expectedRelease, insertCells, type OracleQuery } from './fixtures.js'

const hub = await buildTestHub(t)
const { app } = hub

// Known data: central-asia members, Jan–Jun 2026; RUS outside the region.
const DATA = [
  // KAZ by ageBand: 1, 2, 3, 4 (below k=5), exactly 5, and 6 (k+1)
  { country: 'KAZ', ageBand: '0-4', count: 1 },
  { country: 'KAZ', ageBand: '5-9', count: 2 },
  { country: 'KAZ', ageBand: '10-14', count: 3 },
  { country: 'KAZ', ageBand: '15-19', count: 4 },
  { country: 'KAZ', ageBand: '20-24', count: 5 },
  { country: 'KAZ', ageBand: '25-29', count: 6, subnationalArea: 'KZ-75' },
  // KGZ by sex, February: female 2 is the only small cell of its margin (total 42)
  { country: 'KGZ', period: '2026-02', sex: 'female', count: 2 },
  { country: 'KGZ', period: '2026-02', sex: 'male', count: 30 },
  { country: 'KGZ', period: '2026-02', sex: 'other', count: 10 },
  { country: 'TJK', period: '2026-03', count: 40, conditionGroup: 'tb' },
  { country: 'TKM', period: '2026-04', count: 25, outcome: 'treated' },
  { country: 'UZB', period: '2026-05', count: 60, sex: 'female' },
  { country: 'UZB', period: '2026-06', count: 0, sex: 'other' },
  { country: 'RUS', period: '2026-01', count: 500 }
]
await insertCells(hub.database, DATA)

const partners = {
  ngo: await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia', k: 11 }] }),
  iom: await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] }),
  kazMoh: await hub.partner({ roles: ['reader', 'reporter'], country: 'KAZ', grants: [{ region: 'KAZ' }] }),
  kazReader: await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] }),
  kazStrict: await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ', k: 11 }] }),
  partial: await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, { region: 'KAZ' }, { region: 'KGZ' }] }),
  nothing: await hub.partner({ roles: ['reader'] }),
  reporter: await hub.partner({ roles: ['reporter'], country: 'KGZ', grants: [{ region: 'KGZ' }] })
}
const tokens = new Map<TestPartner, string>()
async function bearer (p: TestPartner) {
  if (!tokens.has(p)) tokens.set(p, await hub.token(p))
  return tokens.get(p) as string
}

async function read (p: TestPartner, query: string, accept?: string) {
  return app.inject({ method: 'GET', url: `/v1/aggregates?${query}`, headers: { authorization: `Bearer ${await bearer(p)}`, ...(accept ? { accept } : {}) } })
}
const SPAN = 'from=2026-01&to=2026-06'
const CELLKEY = { method: 'cellkey', ptable: buildPtable().version }

/** The cells the cell-key method must release at k, as JSON answers list them. */
function expected (query: OracleQuery, k = 5) {
  const by = query.by ?? []
  return [...expectedRelease(DATA, query)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, { released }]) => ({
    ...Object.fromEntries(by.map((d, i) => [d, key.split('|')[i] === '_Z' ? null : key.split('|')[i]])),
    count: released < k ? null : released,
    suppressed: released < k ? 'primary' : null
  }))
}

t.test('a totals read of a granted region is perturbed by the cell-key method', async (t) => {
  const res = await read(partners.iom, `region=central-asia&${SPAN}`)
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.same(body.cells, expected({ countries: CENTRAL_ASIA, from: '2026-01', to: '2026-06' }), 'the sum of perturbed month × country atoms; RUS is not in central-asia')
  const truth = 1 + 2 + 3 + 4 + 5 + 6 + 42 + 40 + 25 + 60
  t.ok(Math.abs(body.cells[0].count - truth) <= 3 * 8, 'within D of the truth per atom')
  t.same(body.disclosure, CELLKEY)
  t.equal(body.k, 5)
  t.equal(body.periodType, 'month')
  t.same(body.by, [])
  t.ok(Date.parse(body.lastUpdated), 'says when the data last changed')
  t.ok(res.headers['last-modified'])
  t.equal(res.headers['cache-control'], 'private, no-cache')
  t.same((await read(partners.iom, `region=central-asia&${SPAN}`)).json().cells, body.cells, 'the same records give the same count again')
})

t.test('a partner reading only its own country gets exact counts, small ones too', async (t) => {
  const res = await read(partners.kazMoh, `region=KAZ&${SPAN}&by=ageBand`)
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.same(body.disclosure, { method: 'none', ptable: null })
  t.equal(body.k, 1, 'nothing withheld')
  t.same(body.cells.map((c: { ageBand: string, count: number }) => [c.ageBand, c.count]),
    [['0-4', 1], ['10-14', 3], ['15-19', 4], ['20-24', 5], ['25-29', 6], ['5-9', 2]], 'sorted by the by dimensions (code-point order)')
  const other = await read(partners.kazReader, `region=KAZ&${SPAN}&by=ageBand`)
  t.same(other.json().disclosure, CELLKEY, 'the same read by a partner of no country is perturbed')
})

t.test('released counts below k are withheld; no complementary suppression', async (t) => {
  const res = await read(partners.kazReader, `region=KAZ&${SPAN}&by=ageBand`)
  t.equal(res.statusCode, 200, res.body)
  const cells = res.json().cells
  t.same(cells, expected({ countries: ['KAZ'], from: '2026-01', to: '2026-06', by: ['ageBand'] }))
  for (const c of cells) t.ok(c.count === null || c.count >= 5, `${c.ageBand}: no released count below k`)
  const byAge = Object.fromEntries(cells.map((c: { ageBand: string }) => [c.ageBand, c]))
  t.same(byAge['0-4'], { ageBand: '0-4', count: null, suppressed: 'primary' }, 'a count of 1 can never reach k = 5 with D = 3')
  const kgz = await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&by=sex`)
  t.same(kgz.json().cells, expected({ countries: ['KGZ'], from: '2026-02', to: '2026-02', by: ['sex'] }))
  t.same(kgz.json().cells.map((c: { suppressed: string | null }) => c.suppressed), ['primary', null, null], 'the siblings of a withheld cell are released: the noise protects the margin')
})

t.test('a grant\'s own k is stricter, and a read takes the largest k of the grants it uses', async (t) => {
  const strict = await read(partners.kazStrict, `region=KAZ&${SPAN}&by=ageBand`)
  t.equal(strict.statusCode, 200, strict.body)
  t.equal(strict.json().k, 11)
  t.ok(strict.json().cells.length > 0, 'some KAZ age cells')
  t.ok(strict.json().cells.every((c: { count: number | null }) => c.count === null), 'every KAZ age cell is below 11')
  const ngo = await read(partners.ngo, `region=central-asia&from=2026-02&to=2026-02&by=sex`)
  t.equal(ngo.statusCode, 200, ngo.body)
  t.equal(ngo.json().k, 11)
  t.same(ngo.json().cells, expected({ countries: CENTRAL_ASIA, from: '2026-02', to: '2026-02', by: ['sex'] }, 11))
})

t.test('a read that uses a sensitive dimension takes the sensitive k', async (t) => {
  for (const query of [`by=screeningContext`, `screeningConsequence=_Z`, `by=sex&screeningContext=_Z`]) {
    const res = await read(partners.iom, `region=central-asia&${SPAN}&${query}`)
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().k, 11, query)
  }
  t.equal((await read(partners.iom, `region=central-asia&${SPAN}&by=sex`)).json().k, 5, 'other dimensions keep the hub k')
  const notice = (await app.inject({ url: '/v1/disclosure' })).json()
  t.same(notice.sensitiveDimensions, ['screeningConsequence', 'screeningContext'], 'from x-mhx-sensitive in the record schema')
})

t.test('by=country with a grant on every member; absent optional values are null and selectable with _Z', async (t) => {
  const res = await read(partners.iom, `region=central-asia&${SPAN}&by=country,conditionGroup`)
  t.equal(res.statusCode, 200, res.body)
  const cells = res.json().cells
  t.same(cells, expected({ countries: CENTRAL_ASIA, from: '2026-01', to: '2026-06', by: ['country', 'conditionGroup'] }))
  t.same(cells.map((c: { country: string }) => c.country), ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'])
  t.equal(cells.find((c: { country: string }) => c.country === 'TJK').conditionGroup, 'tb')
  t.equal(cells.find((c: { country: string }) => c.country === 'UZB').conditionGroup, null)
  const z = await read(partners.iom, `region=central-asia&${SPAN}&by=country&conditionGroup=_Z&country=UZB,TJK`)
  t.same(z.json().cells, expected({ countries: ['UZB'], from: '2026-01', to: '2026-06', by: ['country'], filters: { conditionGroup: ['_Z'] } }), 'TJK has only tb cells')
  t.same(z.json().filters, { country: ['TJK', 'UZB'], conditionGroup: ['_Z'] }, 'filter values normalized (sorted)')
})

t.test('period types label and roll up months: the same atoms in every spelling', async (t) => {
  const q = await read(partners.iom, `region=central-asia&${SPAN}&by=period&periodType=quarter`)
  t.equal(q.statusCode, 200, q.body)
  t.same(q.json().cells, expected({ countries: CENTRAL_ASIA, from: '2026-01', to: '2026-06', by: ['period'], periodType: 'quarter' }))
  t.same(q.json().cells.map((c: { period: string }) => c.period), ['2026-Q1', '2026-Q2'])
  const months = (await read(partners.iom, `region=central-asia&from=2026-01&to=2026-03`)).json().cells
  t.same(months[0].count, q.json().cells[0].count, 'Q1 as a quarter and as a span of three months: one value')
  const y = await read(partners.iom, `region=central-asia&from=2026-01&to=2026-12&by=period&periodType=year&period=2026`)
  t.same(y.json().cells, expected({ countries: CENTRAL_ASIA, from: '2026-01', to: '2026-12', by: ['period'], periodType: 'year' }))
  const m = await read(partners.iom, `region=central-asia&${SPAN}&by=period&period=2026-03,2026-04`)
  t.same(m.json().cells.map((c: { period: string }) => c.period), ['2026-03', '2026-04'])
  t.equal((await read(partners.iom, `region=central-asia&${SPAN}&periodType=quarter&period=2026-03`)).statusCode, 400, 'a month label with periodType=quarter')
})

t.test('a filter list adds perturbed atoms; a list of every value is no filter at all', async (t) => {
  const listed = (await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&sex=other,male`)).json()
  t.same(listed.cells, expected({ countries: ['KGZ'], from: '2026-02', to: '2026-02', filters: { sex: ['male', 'other'] } }))
  const male = (await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&sex=male`)).json().cells[0].count
  const other = (await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&sex=other`)).json().cells[0].count
  t.equal(listed.cells[0].count, male + other, 'male,other is male plus other: no new record set, no new noise')
  const all = (await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&sex=unknown,other,male,female`)).json()
  const none = (await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02`)).json()
  t.same(all.filters, {}, 'every value of sex is no sex filter')
  t.same(all.cells, none.cells)
})

t.test('CSV and SDMX-CSV carry the same cells as JSON', async (t) => {
  const query = `region=central-asia&${SPAN}&by=country,sex,conditionGroup`
  const json = (await read(partners.iom, query)).json()
  const csvRes = await read(partners.iom, query, 'text/csv')
  t.equal(csvRes.statusCode, 200)
  t.match(csvRes.headers['content-type'], /^text\/csv/)
  t.ok(csvRes.headers['last-modified'])
  const csv = parse(csvRes.body, { columns: true }) as Record<string, string>[]
  t.same(Object.keys(csv[0]), ['country', 'sex', 'conditionGroup', 'count', 'suppressed', 'disclosure'])
  t.same(csv, json.cells.map((c: Record<string, unknown>) => ({
    country: c.country, sex: c.sex, conditionGroup: c.conditionGroup ?? '', count: c.count === null ? '' : String(c.count), suppressed: c.suppressed ?? '', disclosure: json.disclosure.method
  })))

  // The SDMX-CSV layout itself is tested in formats/sdmx.test.ts; here, the same cells.
  const sdmxRes = await read(partners.iom, query, 'application/vnd.sdmx.data+csv;version=2.0.0')
  t.equal(sdmxRes.statusCode, 200, sdmxRes.body)
  t.match(sdmxRes.headers['content-type'], /^application\/vnd\.sdmx\.data\+csv; version=2\.0\.0/)
  const sdmx = parse(sdmxRes.body, { columns: true }) as Record<string, string>[]
  t.same(sdmx.map((r) => [r.STRUCTURE_ID, r.REF_AREA, r.SEX, r.CONDITION_GROUP, r.AGE_BAND, r.TIME_PERIOD, r.OBS_VALUE, r.CONF_STATUS]), json.cells.map((c: Record<string, unknown>) => [
    'MHX:MIGRANT_HEALTH(1.1.0)', c.country, c.sex, c.conditionGroup ?? '_Z', '_T', '2026-01-01/P6M', c.count === null ? '' : String(c.count), c.suppressed ? 'A' : 'F'
  ]))

  const suppressedCsv = parse((await read(partners.iom, `region=KGZ&from=2026-02&to=2026-02&by=sex`, 'application/vnd.sdmx.data+csv;version=2.0.0')).body, { columns: true }) as Record<string, string>[]
  const kgz = expected({ countries: ['KGZ'], from: '2026-02', to: '2026-02', by: ['sex'] })
  t.same(suppressedCsv.map((r) => [r.REF_AREA, r.SEX, r.TIME_PERIOD, r.OBS_VALUE, r.CONF_STATUS]), kgz.map((c) => ['KGZ', (c as Record<string, unknown>).sex, '2026-02', c.count === null ? '' : String(c.count), c.suppressed ? 'A' : 'F']), 'REF_AREA is the region when by has no country')

  t.equal((await read(partners.iom, query, 'application/xml')).statusCode, 406)
  t.equal((await read(partners.iom, query, 'text/csv;q=0.5, application/json')).headers['content-type'], 'application/json; charset=utf-8', 'q values decide')
})

t.test('bad parameters are 400 naming the parameter', async (t) => {
  const cases: Array<[string, string]> = [
    [`${SPAN}`, 'region'],
    [`region=central-asia&to=2026-06`, 'from'],
    [`region=central-asia&from=2026-1&to=2026-06`, 'from'],
    [`region=central-asia&from=2026-13&to=2026-06`, 'from'],
    [`region=central-asia&from=2026-07&to=2026-06`, 'from'],
    [`region=central-asia&from=2010-01&to=2026-06`, 'to'],
    [`region=atlantis&${SPAN}`, 'region'],
    [`region=central-asia&${SPAN}&by=gender`, 'by'],
    [`region=central-asia&${SPAN}&by=sex,sex`, 'by'],
    [`region=central-asia&${SPAN}&by=sex,ageBand,encounter,insurance,outcome`, 'by'],
    [`region=central-asia&${SPAN}&by=sex,`, 'by'],
    [`region=central-asia&${SPAN}&sex=femme`, 'sex'],
    [`region=central-asia&${SPAN}&sex=Female`, 'sex'],
    [`region=central-asia&${SPAN}&sex=female&sex=male`, 'sex'],
    [`region=central-asia&${SPAN}&gender=female`, 'gender'],
    [`region=central-asia&${SPAN}&country=RUS`, 'country'],
    [`region=central-asia&${SPAN}&subnationalArea=RU-MOW`, 'subnationalArea'],
    [`region=central-asia&${SPAN}&countryOfOrigin=uzb`, 'countryOfOrigin'],
    [`region=central-asia&${SPAN}&periodType=week`, 'periodType'],
    [`region=central-asia&from=2026-02&to=2026-06&periodType=quarter`, 'from'],
    [`region=central-asia&from=2026-01&to=2026-11&periodType=year`, 'to'],
    [`region=central-asia&${SPAN}&period=2025-12`, 'period']
  ]
  for (const [query, param] of cases) {
    const res = await read(partners.iom, query)
    t.equal(res.statusCode, 400, `${query}: ${res.body}`)
    t.ok(res.json().errors?.some((e: { path: string }) => e.path === param), `${query} names ${param}: ${res.body}`)
  }
})

t.test('grants decide: each partner reaching for what it may not read', async (t) => {
  const refused: Array<[TestPartner, string, number]> = [
    [partners.nothing, `region=central-asia&${SPAN}`, 403],
    [partners.kazMoh, `region=central-asia&${SPAN}`, 403],
    [partners.kazMoh, `region=KGZ&${SPAN}`, 403],
    [partners.kazMoh, `region=RUS&${SPAN}`, 403],
    [partners.ngo, `region=central-asia&${SPAN}&by=country`, 403],
    [partners.ngo, `region=central-asia&${SPAN}&by=subnationalArea`, 403],
    [partners.ngo, `region=central-asia&${SPAN}&country=KAZ`, 403],
    [partners.ngo, `region=central-asia&${SPAN}&subnationalArea=KZ-75`, 403],
    [partners.ngo, `region=KAZ&${SPAN}`, 403],
    [partners.partial, `region=central-asia&${SPAN}&by=country`, 403],
    [partners.partial, `region=central-asia&${SPAN}&country=KAZ,TJK`, 403],
    [partners.partial, `region=central-asia&${SPAN}&subnationalArea=_Z`, 403],
    [partners.partial, `region=central-asia&${SPAN}&subnationalArea=KZ-75,_Z`, 403],
    [partners.ngo, `region=central-asia&${SPAN}&subnationalArea=_Z`, 403],
    [partners.iom, `region=RUS&${SPAN}`, 403],
    [partners.reporter, `region=KGZ&${SPAN}`, 403]
  ]
  for (const [p, query, status] of refused) {
    const res = await read(p, query)
    t.equal(res.statusCode, status, `${p.id} ${query}: ${res.body}`)
    t.notOk('cells' in res.json(), 'no partial answer')
  }
  const missing = (await read(partners.partial, `region=central-asia&${SPAN}&by=country`)).json()
  t.same(missing.missingGrants, ['TJK', 'TKM', 'UZB'])
  t.same((await read(partners.partial, `region=central-asia&${SPAN}&subnationalArea=_Z`)).json().missingGrants, ['TJK', 'TKM', 'UZB'], '_Z (no area) can single out any member')
  t.equal((await read(partners.partial, `region=central-asia&${SPAN}&country=KAZ,KGZ&by=sex`)).statusCode, 200, 'filters on granted countries are fine')
  t.equal((await read(partners.kazMoh, `region=KAZ&${SPAN}&by=country,subnationalArea`)).statusCode, 200, 'a country read may show that country')
})

t.test('no spelling, case, encoding or repetition trick reaches an ungranted unit', async (t) => {
  const p = partners.kazMoh
  const tricks = [
    'region=kaz', 'region=Kaz', 'region=KAZ%20', 'region=%20KAZ', 'region=KAZ%00', 'region=KAZ,KGZ', 'region=KGZ&region=KAZ',
    'region=KAZ&region=KGZ', 'region[]=KAZ', 'REGION=KGZ&region=KAZ', 'region=KGZ%2C', 'region=K%41Z&country=KGZ',
    'region=KAZ&country=KGZ', 'region=KAZ&country=kgz', 'region=KAZ&subnationalArea=KG-C', 'region=CENTRAL-ASIA', 'region=central-asia%20'
  ]
  for (const trick of tricks) {
    const res = await read(p, `${trick}&${SPAN}`)
    t.ok(res.statusCode === 400 || res.statusCode === 403, `${trick} → ${res.statusCode}`)
  }
  t.equal((await read(p, `region=K%41Z&${SPAN}`)).statusCode, 200, 'a percent-encoded KAZ is KAZ')
})

t.test('removing a grant or suspending a partner acts on the next request', async (t) => {
  const p = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  t.equal((await read(p, `region=KAZ&${SPAN}`)).statusCode, 200)
  const admin = await hub.token(hub.admin)
  const removed = await app.inject({ method: 'PUT', url: `/v1/admin/partners/${p.id}/grants`, headers: { authorization: `Bearer ${admin}` }, payload: { grants: [] } })
  t.equal(removed.statusCode, 200, removed.body)
  t.equal((await read(p, `region=KAZ&${SPAN}`)).statusCode, 401, 'grant removed: the token issued under it is refused')
  const fresh = await app.inject({ url: `/v1/aggregates?region=KAZ&${SPAN}`, headers: { authorization: `Bearer ${await hub.token(p)}` } })
  t.equal(fresh.statusCode, 403, 'and a new token reads nothing')
  t.equal(fresh.json().type, `${hub.config.publicUrl}/problems/grant-missing`)
  const q = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  t.equal((await read(q, `region=KAZ&${SPAN}`)).statusCode, 200)
  const suspend = await app.inject({ method: 'PATCH', url: `/v1/admin/partners/${q.id}`, headers: { authorization: `Bearer ${admin}` }, payload: { status: 'suspended' } })
  t.equal(suspend.statusCode, 200, suspend.body)
  t.equal((await read(q, `region=KAZ&${SPAN}`)).statusCode, 401, 'suspended')
})

t.test('more than 10,000 cells is a 400 asking to narrow', async (t) => {
  // 120 months x 4 sexes x 3 insurances x 7 = 10,080 distinct TUR cells; by all four gives 10,080 > 10,000.
  await hub.database.db.execute(sql`
    INSERT INTO cells (period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition_group, screening_context, screening_consequence, insurance, outcome, count)
    SELECT to_char(make_date(2010 + m / 12, m % 12 + 1, 1), 'YYYY-MM'), 'TUR', '_Z', 'UZB', 'labour_migrant', 'destination', s, '25-29', e, '_Z', '_Z', '_Z', i, '_Z', 7
    FROM generate_series(0, 119) m, unnest(ARRAY['female', 'male', 'other', 'unknown']) s, unnest(ARRAY['public', 'private', 'none']) i,
      unnest(ARRAY['primary_care', 'emergency_care', 'inpatient', 'delivery', 'other', 'screening', 'immunization']) e`)
  const turk = await hub.partner({ roles: ['reader'], grants: [{ region: 'TUR' }] })
  const res = await read(turk, 'region=TUR&from=2010-01&to=2019-12&by=period,sex,insurance,encounter')
  t.equal(res.statusCode, 400, res.body)
  t.match(res.json().detail, /narrow/)
  const narrower = await read(turk, 'region=TUR&from=2010-01&to=2019-12&by=period,sex,insurance')
  t.equal(narrower.statusCode, 200)
  t.equal(narrower.json().cells.length, 1440)
  t.ok(narrower.json().cells.every((c: { count: number | null }) => c.count !== null && Math.abs(c.count - 49) <= 3), 'each cell is one atom of 49 (encounters summed out), within D')
})

t.test('GET /v1/regions lists stored regions and granted countries with what the caller may read', async (t) => {
  const res = await app.inject({ url: '/v1/regions', headers: { authorization: `Bearer ${await bearer(partners.partial)}` } })
  t.equal(res.statusCode, 200, res.body)
  const items = res.json().items
  const ca = items.find((r: { code: string }) => r.code === 'central-asia')
  t.same(ca, { code: 'central-asia', name: 'Central Asia', kind: 'region', members: CENTRAL_ASIA, readable: true, byCountry: false, k: 5, countryOfOrigin: null, missingConsents: null })
  t.same(items.filter((r: { kind: string }) => r.kind === 'country').map((r: { code: string, readable: boolean }) => [r.code, r.readable]), [['KAZ', true], ['KGZ', true]])
  const none = (await app.inject({ url: '/v1/regions', headers: { authorization: `Bearer ${await bearer(partners.nothing)}` } })).json().items
  t.same(none.map((r: { code: string, readable: boolean }) => [r.code, r.readable]), [['central-asia', false]])
  t.equal(none[0].missingConsents, null, 'no grant: nothing to consent to')
  const iom = (await app.inject({ url: '/v1/regions', headers: { authorization: `Bearer ${await bearer(partners.iom)}` } })).json().items
  t.equal(iom.find((r: { code: string }) => r.code === 'central-asia').byCountry, true)
})
