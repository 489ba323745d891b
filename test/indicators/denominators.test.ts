// PUT /v1/denominators and /v1/references: who may set which country's figures, bad input named
// and nothing stored, history kept; the lists are public.
import t from 'tap'
import { buildTestHub } from '../helpers.js'

const hub = await buildTestHub(t)
const { app } = hub
const admin = await hub.token(hub.admin)
const kazSteward = await hub.token(await hub.partner({ roles: ['steward', 'reporter'], country: 'KAZ' }))
const reader = await hub.token(await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] }))
const YEAR = new Date().getUTCFullYear()

const put = (token: string | undefined, url: string, payload: unknown) => app.inject({ method: 'PUT', url, headers: token ? { authorization: `Bearer ${token}` } : {}, payload: payload as object })
const FIGURE = { value: 3_700_000, source: 'UN DESA, International Migrant Stock 2024', sourceUrl: 'https://www.un.org/development/desa/pd/content/international-migrant-stock', vintage: '2024' }
const stored = async () => (await app.inject({ method: 'GET', url: '/v1/denominators' })).json().items

t.test('the admin sets any country\'s figure; a steward its own; history is kept', async (t) => {
  const first = await put(admin, '/v1/denominators/UZB/2024/migrant_stock', FIGURE)
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json(), { country: 'UZB', year: 2024, population: 'migrant_stock', value: 3_700_000, revision: 1, vintage: '2024' })
  const own = await put(kazSteward, '/v1/denominators/KAZ/2024/migrant_workers', { value: 150_000, source: 'Ministry of Labour of Kazakhstan, work permits', vintage: '2024', note: 'permits and patents' })
  t.equal(own.statusCode, 200, own.body)
  const again = await put(kazSteward, '/v1/denominators/KAZ/2024/migrant_workers', { value: 155_000, source: 'ILOSTAT', vintage: '2025' })
  t.equal(again.json().revision, 2)
  const one = await app.inject({ method: 'GET', url: '/v1/denominators/KAZ/2024/migrant_workers' })
  t.equal(one.statusCode, 200)
  t.same(one.json().history.map((d: { value: number }) => d.value), [155_000, 150_000], 'newest first')
  t.equal(one.json().current.value, 155_000)
  const list = await app.inject({ method: 'GET', url: '/v1/denominators?country=KAZ' })
  t.same(list.json().items.map((d: { population: string, value: number }) => [d.population, d.value]), [['migrant_workers', 155_000]], 'the list holds the current figure, public')
  t.equal((await app.inject({ method: 'GET', url: '/v1/denominators/KAZ/2023/migrant_workers' })).statusCode, 404)
})

t.test('a steward sets no other country\'s figure; a reader none; a stranger is 401', async (t) => {
  const before = await stored()
  const other = await put(kazSteward, '/v1/denominators/KGZ/2024/migrant_stock', FIGURE)
  t.equal(other.statusCode, 403)
  t.match(other.json(), { type: /\/problems\/not-country-steward$/, errors: [{ path: 'country' }] })
  const otherRef = await put(kazSteward, '/v1/references/tb-notification-rate/KGZ/2024', { value: 40, source: 'WHO' })
  t.equal(otherRef.statusCode, 403)
  t.match(otherRef.json(), { type: /not-country-steward$/ })
  const byReader = await put(reader, '/v1/denominators/KAZ/2024/migrant_stock', FIGURE)
  t.equal(byReader.statusCode, 403)
  t.match(byReader.json(), { type: /scope-missing$/ })
  const stranger = await put(undefined, '/v1/denominators/KAZ/2024/migrant_stock', { value: -1 })
  t.equal(stranger.statusCode, 401, 'authentication before the body')
  const readerBad = await put(reader, '/v1/denominators/KAZ/2024/migrant_stock', { value: -1 })
  t.equal(readerBad.statusCode, 403, 'the scope before the body')
  t.same(await stored(), before, 'nothing stored')
})

t.test('bad input: problem+json naming the field, nothing stored', async (t) => {
  const before = await stored()
  const cases: Array<[string, unknown, number, RegExp, string]> = [
    ['/v1/denominators/KAZ/2024/migrant_stock', { ...FIGURE, value: -5 }, 422, /denominator-invalid$/, '/value'],
    ['/v1/denominators/KAZ/2024/migrant_stock', { ...FIGURE, value: 12.5 }, 422, /denominator-invalid$/, '/value'],
    ['/v1/denominators/KAZ/2024/migrant_stock', { ...FIGURE, value: '100' }, 422, /denominator-invalid$/, '/value'],
    ['/v1/denominators/KAZ/2024/migrant_stock', { ...FIGURE, value: 0 }, 422, /denominator-invalid$/, '/value'],
    ['/v1/denominators/KAZ/2024/migrant_stock', { value: 10 }, 422, /denominator-invalid$/, '/source'],
    ['/v1/denominators/KAZ/2024/migrant_stock', { ...FIGURE, extra: 1 }, 422, /denominator-invalid$/, '/extra'],
    ['/v1/denominators/KAZ/2024/aliens', FIGURE, 404, /population-unknown$/, 'population'],
    [`/v1/denominators/KAZ/${YEAR + 1}/migrant_stock`, FIGURE, 422, /year-in-future$/, 'year'],
    ['/v1/denominators/KAZ/twenty/migrant_stock', FIGURE, 400, /malformed-request$/, 'year'],
    ['/v1/denominators/XYZ/2024/migrant_stock', FIGURE, 400, /malformed-request$/, 'country'],
    ['/v1/references/tb-nothing/KAZ/2024', { value: 3, source: 'WHO' }, 404, /indicator-unknown$/, 'indicator'],
    ['/v1/references/tb-notification-rate/KAZ/2024', { value: -3, source: 'WHO' }, 422, /denominator-invalid$/, '/value'],
    [`/v1/references/tb-notification-rate/KAZ/${YEAR + 1}`, { value: 3, source: 'WHO' }, 422, /year-in-future$/, 'year']
  ]
  for (const [url, body, status, type, path] of cases) {
    const res = await put(admin, url, body)
    t.equal(res.statusCode, status, `${url} ${JSON.stringify(body)}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json().type, type)
    t.ok(res.json().errors?.some((e: { path: string }) => e.path === path), `names ${path}: ${res.body}`)
  }
  t.same(await stored(), before, 'nothing stored')
  t.same((await app.inject({ method: 'GET', url: '/v1/references' })).json().items, [], 'no reference stored')
})

t.test('reference values: set, revised, listed', async (t) => {
  const set = await put(kazSteward, '/v1/references/tb-notification-rate/KAZ/2024', { value: 47, source: 'WHO Global Tuberculosis Report 2025' })
  t.equal(set.statusCode, 200, set.body)
  await put(admin, '/v1/references/tb-notification-rate/KAZ/2024', { value: 46.5, source: 'WHO Global Tuberculosis Report 2025 (revised)' })
  const list = (await app.inject({ method: 'GET', url: '/v1/references?indicator=tb-notification-rate' })).json().items
  t.match(list, [{ indicator: 'tb-notification-rate', country: 'KAZ', year: 2024, value: 46.5, revision: 2 }])
})
