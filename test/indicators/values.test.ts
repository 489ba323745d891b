// GET /v1/indicators/{id}/values against GET /v1/aggregates on random queries: the numerator is the
// count the aggregates release, the value is numerator × multiplier ÷ denominator, and the status
// says withheld or no-denominator exactly when it should.
import fc from 'fast-check'
import t from 'tap'
import type { Test } from 'tap'
import { sql } from 'drizzle-orm'
import { buildTestHub, waitFor, type TestPartner } from '../helpers.js'
import { CENTRAL_ASIA, insertCells, type CellInput } from '../release/fixtures.js'
import { prng } from '../random.js'

const hub = await buildTestHub(t)
const { app } = hub

const random = prng(25)
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]
const MONTHS = ['2025-07', '2025-08', '2025-09', '2025-10', '2025-11', '2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06']
const cellsByKey = new Map<string, CellInput>()
function add (cell: CellInput) {
  const { count, ...key } = cell
  const k = JSON.stringify(key)
  const had = cellsByKey.get(k)
  if (had) had.count += count
  else cellsByKey.set(k, { ...cell })
}
for (const country of CENTRAL_ASIA) {
  for (const period of MONTHS) {
    for (let i = 0; i < 14; i++) {
      const sex = pick(['female', 'male', 'male', 'other'])
      const count = 1 + Math.floor(random() * (random() < 0.3 ? 4 : 25))
      switch (i % 5) {
        case 0: add({ country, period, sex, count, recordType: 'case_notification', conditionGroup: 'tb', tbOutcome: pick(['cured', 'treatment_completed', 'treatment_failed', 'died', 'lost_to_follow_up', 'not_evaluated', '_Z']) }); break
        case 1: add({ country, period, sex, count, recordType: 'contact', insurance: pick(['public', 'private', 'none', 'none', 'unknown']), outcome: pick(['treated', 'referred', 'denied_care', 'died', 'unknown', '_Z']) }); break
        case 2: add({ country, period, sex, count, recordType: 'contact', encounter: 'occupational_injury', insurance: pick(['public', 'none']) }); break
        case 3: add({ country, period, sex: 'female', count, recordType: 'contact', encounter: pick(['antenatal_care', 'delivery', 'postnatal_care']), serviceCoverage: pick(['covered', 'partially_covered', 'not_covered', 'unknown', '_Z']) }); break
        default: add({ country, period, sex, count, recordType: 'contact', encounter: 'screening', screeningContext: 'work_permit', screeningConsequence: pick(['none', 'referral', 'permit_denied', 'removal', '_Z']) })
      }
    }
  }
}
await insertCells(hub.database, [...cellsByKey.values()])

const partners = {
  iom: await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] }),
  kazMoh: await hub.partner({ roles: ['reader', 'steward'], country: 'KAZ' }),
  reader: await hub.partner({ roles: ['reader'], grants: [{ region: 'KGZ' }] })
}
const tokens = new Map<TestPartner, string>()
async function bearer (p: TestPartner) {
  if (!tokens.has(p)) tokens.set(p, await hub.token(p))
  return tokens.get(p) as string
}
const adminToken = await hub.token(hub.admin)
const get = async (p: TestPartner, url: string, accept?: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await bearer(p)}`, ...(accept ? { accept } : {}) } })
const put = (token: string, url: string, payload: unknown) => app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${token}` }, payload: payload as object })

// Denominators: KAZ for 2025 only (2026 takes 2025's), KGZ from 2026 (its 2025 months have none),
// TJK, TKM, UZB both years; migrant_workers for KAZ and UZB; KAZ's female stock.
const FIGURES: Array<[string, number, string, number]> = [
  ['KAZ', 2025, 'migrant_stock', 3_700_000], ['KGZ', 2026, 'migrant_stock', 200_000],
  ['TJK', 2025, 'migrant_stock', 270_000], ['TJK', 2026, 'migrant_stock', 280_000],
  ['TKM', 2025, 'migrant_stock', 190_000], ['UZB', 2025, 'migrant_stock', 1_100_000], ['UZB', 2026, 'migrant_stock', 1_150_000],
  ['KAZ', 2025, 'migrant_workers', 150_000], ['UZB', 2024, 'migrant_workers', 20_000],
  ['KAZ', 2025, 'migrant_stock_female', 1_900_000], ['KAZ', 2025, 'migrant_stock_male', 1_800_000]
]
for (const [country, year, population, value] of FIGURES) {
  const res = await put(adminToken, `/v1/denominators/${country}/${year}/${population}`, { value, source: 'illustrative (test)', vintage: '2024' })
  if (res.statusCode !== 200) throw new Error(res.body)
}
await put(adminToken, '/v1/references/tb-notification-rate/KAZ/2025', { value: 47, source: 'WHO Global TB Report (test)' })

const figure = (country: string, population: string, year: number) => FIGURES
  .filter(([c, y, p]) => c === country && p === population && y <= year).sort((a, b) => b[1] - a[1])[0]?.[3]

const catalog = (await app.inject({ method: 'GET', url: '/v1/indicators' })).json()
const indicatorOf = (id: string) => catalog.items.find((i: { id: string }) => i.id === id)

t.test('the catalog is public and holds the indicators WHA 61.17 and the SDGs ask for', async (t) => {
  const ids = catalog.items.map((i: { id: string }) => i.id)
  for (const id of ['tb-notification-rate', 'tb-treatment-success', 'uninsured-share', 'occupational-injury-rate', 'care-denied-share', 'removal-after-screening', 'maternal-care-not-covered']) t.ok(ids.includes(id), id)
  const tb = await app.inject({ method: 'GET', url: '/v1/indicators/tb-treatment-success' })
  t.equal(tb.statusCode, 200)
  t.match(tb.json(), { kind: 'proportion', multiplier: 100, sdg: { target: '3.3' }, name: { en: String, ru: String } })
  const unknown = await app.inject({ method: 'GET', url: '/v1/indicators/tb-nothing' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { type: /\/problems\/indicator-unknown$/, errors: [{ path: 'id' }] })
  const values = await get(partners.iom, '/v1/indicators/tb-nothing/values?region=central-asia&from=2026-01&to=2026-01')
  t.equal(values.statusCode, 404)
  t.match(values.json(), { type: /indicator-unknown$/ })
  t.equal((await app.inject({ method: 'GET', url: '/v1/populations' })).json().items.some((p: { id: string }) => p.id === 'nationals_abroad'), true)
})

interface Query { id: string, region: string, from: string, to: string, periodType: 'month' | 'quarter' | 'year', by: string[], filters: Record<string, string> }

const SPANS: Array<Pick<Query, 'from' | 'to' | 'periodType'>> = [
  { from: '2025-07', to: '2026-06', periodType: 'month' }, { from: '2025-07', to: '2026-06', periodType: 'quarter' },
  { from: '2026-01', to: '2026-03', periodType: 'month' }, { from: '2025-10', to: '2026-03', periodType: 'quarter' },
  { from: '2025-01', to: '2025-12', periodType: 'year' }, { from: '2025-12', to: '2026-01', periodType: 'month' }
]

const queries = fc.record({
  id: fc.constantFrom('tb-notification-rate', 'tb-treatment-success', 'uninsured-share', 'occupational-injury-rate', 'care-denied-share', 'removal-after-screening', 'maternal-care-not-covered', 'antenatal-contact-rate'),
  region: fc.constantFrom('central-asia', 'KAZ', 'KGZ', 'UZB'),
  span: fc.constantFrom(...SPANS),
  by: fc.subarray(['period', 'country', 'sex', 'ageBand', 'migrationStatus'], { maxLength: 2 }),
  sex: fc.constantFrom(undefined, 'female', 'male', 'female,male')
}).map(({ id, region, span, by, sex }) => {
  const rate = indicatorOf(id).kind === 'rate'
  const ownSex = indicatorOf(id).denominator.population === 'migrant_stock_female'
  const allowed = rate ? ['period', 'country', ...(ownSex ? [] : ['sex'])] : ['period', 'country', 'sex', 'ageBand', 'migrationStatus']
  const filters: Record<string, string> = {}
  if (sex && !(rate && ownSex)) filters.sex = sex
  return { id, region, ...span, by: by.filter((d) => allowed.includes(d)), filters } satisfies Query
})

const qs = (q: Query, extra: Record<string, string> = {}) => new URLSearchParams({
  region: q.region, from: q.from, to: q.to, periodType: q.periodType, ...(q.by.length > 0 ? { by: q.by.join(',') } : {}), ...q.filters, ...extra
}).toString()

const monthsOf = (q: Query, cell: Record<string, unknown>): number[] => {
  const index = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1
  const label = cell.period as string | undefined
  let [lo, hi] = [index(q.from), index(q.to)]
  if (label !== undefined) {
    if (/^\d{4}$/.test(label)) [lo, hi] = [Number(label) * 12, Number(label) * 12 + 11]
    else if (/Q/.test(label)) { const first = Number(label.slice(0, 4)) * 12 + (Number(label.slice(-1)) - 1) * 3; [lo, hi] = [first, first + 2] } else [lo, hi] = [index(label), index(label)]
  }
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
}

async function checkQuery (t: Test, reader: TestPartner, q: Query): Promise<void> {
  const indicator = indicatorOf(q.id)
  const res = await get(reader, `/v1/indicators/${q.id}/values?${qs(q)}`)
  if (res.statusCode !== 200) { t.fail(`${qs(q)}: ${res.statusCode} ${res.body}`); return }
  const answer = res.json()
  const numeratorFilters = Object.fromEntries(Object.entries(indicator.numerator.filters as Record<string, string[]>).map(([d, v]) => [d, v.join(',')]))
  const aggregates = (await get(reader, `/v1/aggregates?${qs(q, numeratorFilters)}`)).json()
  const keyOf = (c: Record<string, unknown>) => q.by.map((d) => c[d]).join('|')
  const released = new Map(aggregates.cells.map((c: Record<string, unknown>) => [keyOf(c), c.count]))
  let denominators: Map<string, unknown> | undefined
  if (indicator.denominator.filters) {
    const f = Object.fromEntries(Object.entries(indicator.denominator.filters as Record<string, string[]>).map(([d, v]) => [d, v.join(',')]))
    const den = (await get(reader, `/v1/aggregates?${qs(q, f)}`)).json()
    denominators = new Map(den.cells.map((c: Record<string, unknown>) => [keyOf(c), c.count]))
  }
  t.equal(answer.k, aggregates.k, 'the same k')
  t.same(answer.disclosure, aggregates.disclosure, 'the same protection')
  const countries = q.filters.country ? [q.filters.country] : q.region === 'central-asia' ? CENTRAL_ASIA : [q.region]
  for (const cell of answer.cells) {
    const key = keyOf(cell)
    const expected = released.has(key) ? released.get(key) : 0
    if (cell.numerator !== expected) t.fail(`${q.id} ${qs(q)} ${key}: numerator ${cell.numerator}, aggregates ${String(expected)}`)
    const withheld = cell.numerator === null || cell.numerator < indicator.minimumNumerator
    let denominator: number | undefined
    if (indicator.denominator.population) {
      const sex = cell.sex ?? (q.filters.sex && !q.filters.sex.includes(',') ? q.filters.sex : undefined)
      const population = sex === undefined ? indicator.denominator.population : `${indicator.denominator.population}_${sex}`
      const cellCountries = cell.country ? [cell.country] : countries
      const months = monthsOf(q, cell)
      let sum: number | undefined = 0
      for (const m of months) for (const c of cellCountries) { const f = figure(c, population, Math.floor(m / 12)); sum = f === undefined || sum === undefined ? undefined : sum + f }
      denominator = sum === undefined ? undefined : sum / months.length
    } else {
      denominator = denominators?.get(key) as number | undefined
      if (cell.denominator !== (denominator ?? null)) t.fail(`${q.id} ${key}: denominator ${cell.denominator}, aggregates ${denominator}`)
    }
    const status = withheld ? 'withheld' : denominator === undefined ? 'no-denominator' : 'released'
    if (cell.status !== status) t.fail(`${q.id} ${qs(q)} ${key}: status ${cell.status}, expected ${status}`)
    if (status === 'released') {
      const value = cell.numerator * indicator.multiplier / (denominator as number)
      if (Math.abs(cell.value - value) > 1e-9 * value) t.fail(`${q.id} ${key}: value ${cell.value} ≠ ${value}`)
      if (!(cell.lower <= cell.value && cell.value <= cell.upper)) t.fail(`${q.id} ${key}: ${cell.value} outside [${cell.lower}, ${cell.upper}]`)
    } else if (cell.value !== null || cell.lower !== null || cell.upper !== null) {
      t.fail(`${q.id} ${key}: a ${cell.status} cell has a value`)
    }
  }
  // Every numerator the aggregates release is a cell of the indicator (none dropped).
  for (const key of released.keys()) if (!answer.cells.some((c: Record<string, unknown>) => keyOf(c) === key)) t.fail(`${q.id} ${key}: aggregates release it, the indicator lists no cell`)
}

t.test('random queries: numerator = the aggregates\' count, value = numerator × multiplier ÷ denominator, status exact', async (t) => {
  let runs = 0
  await fc.assert(fc.asyncProperty(queries, async (q) => {
    runs++
    await checkQuery(t, partners.iom, q)
  }), { numRuns: 60, seed: 2025 })
  t.equal(runs, 60)
})

t.test('a ministry reads its own country exactly, through indicators as through aggregates', async (t) => {
  await fc.assert(fc.asyncProperty(queries, async (q) => {
    const own = { ...q, region: 'KAZ' }
    await checkQuery(t, partners.kazMoh, own)
  }), { numRuns: 15, seed: 7 })
  const res = await get(partners.kazMoh, '/v1/indicators/tb-notification-rate/values?region=KAZ&from=2025-07&to=2026-06&periodType=quarter&by=period')
  const body = res.json()
  t.same(body.disclosure, { method: 'none', ptable: null })
  t.equal(body.k, 1)
  t.same(body.interval, { level: 0.95, method: 'poisson-score' }, 'exact counts: the plain score interval')
  t.equal(body.annualised, false)
  t.same(body.denominators.map((d: { year: number, forYears: number[] }) => [d.year, d.forYears]), [[2025, [2025, 2026]]], 'KAZ 2026 takes 2025\'s figure, and says so')
  t.same(body.cells.filter((c: { status: string }) => c.status === 'released').map((c: { reference: unknown }) => c.reference), body.cells.filter((c: { status: string }) => c.status === 'released').map(() => ({ value: 47, year: 2025, source: 'WHO Global TB Report (test)' })), 'the reference beside each value')
})

t.test('no-denominator where no figure is set for the year or before', async (t) => {
  const res = await get(partners.iom, '/v1/indicators/tb-notification-rate/values?region=central-asia&from=2025-07&to=2026-06&periodType=quarter&by=period,country')
  const cells = res.json().cells as Array<{ country: string, period: string, status: string, numerator: number | null }>
  const kgz = cells.filter((c) => c.country === 'KGZ' && c.numerator !== null && c.numerator >= 10)
  t.ok(kgz.length > 0)
  for (const c of kgz) t.equal(c.status, c.period.startsWith('2025') ? 'no-denominator' : 'released', `KGZ ${c.period}`)
  const region = await get(partners.iom, '/v1/indicators/tb-notification-rate/values?region=central-asia&from=2025-07&to=2025-12')
  t.equal(region.json().cells[0].status, 'no-denominator', 'a region total needs every member\'s figure')
})

t.test('what a caller may add to an indicator\'s query', async (t) => {
  const bad = [
    ['tb-treatment-success', 'by=tbOutcome', 'by'],
    ['tb-treatment-success', 'conditionGroup=hiv', 'conditionGroup'],
    ['tb-notification-rate', 'by=ageBand', 'by'],
    ['tb-notification-rate', 'ageBand=0-4', 'ageBand'],
    ['antenatal-contact-rate', 'by=sex', 'by'],
    ['uninsured-share', 'nonsense=1', 'nonsense']
  ]
  for (const [id, extra, path] of bad) {
    const res = await get(partners.iom, `/v1/indicators/${id}/values?region=central-asia&from=2026-01&to=2026-03&${extra}`)
    t.equal(res.statusCode, 400, `${id} ${extra}`)
    t.equal(res.json().errors?.[0]?.path, path, `${id} ${extra} names ${path}`)
  }
  const grantless = await get(partners.reader, '/v1/indicators/uninsured-share/values?region=central-asia&from=2026-01&to=2026-03')
  t.equal(grantless.statusCode, 403, 'the aggregates\' read policy: no grant on central-asia')
  t.match(grantless.json(), { type: /grant-missing$/ })
  const csv = await get(partners.iom, '/v1/indicators/uninsured-share/values?region=central-asia&from=2026-01&to=2026-03&by=country', 'text/csv')
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.body.split('\r\n')[0], 'indicator,country,numerator,denominator,value,lower,upper,status')
  t.equal(csv.body.trim().split('\r\n').length, 6, 'a row per country')
})

t.test('a removal-after-screening read takes the sensitive k', async (t) => {
  const res = await get(partners.iom, '/v1/indicators/removal-after-screening/values?region=central-asia&from=2025-07&to=2026-06&by=country')
  t.equal(res.statusCode, 200)
  t.equal(res.json().k, hub.config.sensitiveK)
})

t.test('a figure another process writes is seen once its NOTIFY arrives', async (t) => {
  const url = '/v1/indicators/occupational-injury-rate/values?region=TKM&from=2026-01&to=2026-06'
  t.equal((await get(partners.iom, url)).json().cells[0].status, 'no-denominator', 'TKM has no migrant_workers yet')
  // As another API process's PUT would: the row and the NOTIFY in one transaction.
  await hub.database.db.transaction(async (tx) => {
    await tx.execute(sql`INSERT INTO denominators (country, year, population, revision, value, source, vintage, set_by, set_at) VALUES ('TKM', 2025, 'migrant_workers', 1, 5000, 'elsewhere', '2025', 'admin', now())`)
    await tx.execute(sql`SELECT pg_notify('mhx_figures_changed', '')`)
  })
  await waitFor(async () => (await get(partners.iom, url)).json().cells[0].denominator === 5000, 5000)
  t.pass('heard')
})
