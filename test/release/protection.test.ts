// Release protection across queries: the perturbation table's promises, one released value per
// record set in every spelling and format, the query budget, the grant-set rank test, read turns.
import { parse } from 'csv-parse/sync'
import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import t from 'tap'
import { KEY_MODULUS } from '../../src/model/cells.js'
import { createPartnerGate, createQueryBudget, secondsToNextDay } from '../../src/release/budget.js'
import { buildPtable, deviation, perturb } from '../../src/release/ptable.js'
import { buildTestHub, type TestPartner } from '../helpers.js'
import { CENTRAL_ASIA, insertCells, type CellInput } from './fixtures.js'

t.test('the perturbation table: unbiased, variance V, within ±D, never negative, no small count unchanged', async (t) => {
  for (const parameters of [{ D: 2, V: 1, js: 3 }, { D: 3, V: 2, js: 3 }, { D: 4, V: 3, js: 4 }]) {
    const ptable = buildPtable(parameters)
    for (let n = 1; n <= ptable.nMax + 2; n++) {
      const rows = ptable.rows.filter((r) => r.n === Math.min(n, ptable.nMax))
      const p = rows.map((r) => (r.hi - r.lo) / KEY_MODULUS)
      t.equal(rows[0].lo, 0, 'the key space starts covered')
      t.equal(rows.at(-1)!.hi, KEY_MODULUS, 'and ends covered')
      for (let i = 1; i < rows.length; i++) t.equal(rows[i].lo, rows[i - 1].hi, 'no gap, no overlap')
      const mean = rows.reduce((a, r, i) => a + p[i] * r.d, 0)
      const variance = rows.reduce((a, r, i) => a + p[i] * r.d * r.d, 0)
      t.ok(Math.abs(mean) < 1e-6, `${ptable.version} n=${n}: unbiased (${mean})`)
      if (n >= ptable.nMax) t.ok(Math.abs(variance - parameters.V) < 1e-3, `${ptable.version} n=${n}: variance ${variance}`)
      for (const r of rows) {
        t.ok(Math.abs(r.d) <= parameters.D, 'within ±D')
        t.ok(n + r.d >= 0, 'never negative')
        if (n < parameters.js) t.not(r.d, 0, `count ${n} < js is never released unchanged`)
      }
    }
  }
  const ptable = buildPtable()
  fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: KEY_MODULUS - 1 }), (n, key) => {
    const released = perturb(ptable, n, key)
    return released >= 0 && Math.abs(released - n) <= ptable.parameters.D && released === perturb(ptable, n, key)
      && deviation(ptable, n, key + KEY_MODULUS) === deviation(ptable, n, key)
  }), { numRuns: 2000 })
  t.equal(perturb(ptable, 0, 12345), 0, 'a true zero stays zero')
})

// Random data over central-asia: many small cells, some large.
const hub = await buildTestHub(t, { config: { queryBudget: 0 } })
const data: CellInput[] = []
let seed = 7
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
for (const country of CENTRAL_ASIA) {
  for (const period of ['2026-01', '2026-02', '2026-03', '2026-04']) {
    for (const sex of ['female', 'male', 'other']) {
      for (const ageBand of ['20-24', '25-29', '30-34']) {
        for (const conditionGroup of ['tb', 'hiv', '_Z']) {
          if (random() < 0.35) continue
          data.push({ country, period, sex, ageBand, conditionGroup, count: random() < 0.6 ? 1 + Math.floor(random() * 4) : 5 + Math.floor(random() * 60) })
        }
      }
    }
  }
}
await insertCells(hub.database, data)
const readers = [
  await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] }),
  await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] })
]
const tokens = new Map<TestPartner, string>()
async function read (p: TestPartner, query: string, accept = 'application/json') {
  if (!tokens.has(p)) tokens.set(p, await hub.token(p))
  const res = await hub.app.inject({ url: `/v1/aggregates?${query}`, headers: { authorization: `Bearer ${tokens.get(p)}`, accept } })
  if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.body}`)
  return res
}
const count = async (p: TestPartner, query: string): Promise<number | null | undefined> => {
  const cells = (await read(p, query)).json().cells
  return cells.length === 0 ? undefined : cells[0].count
}

t.test('one record set, one released count: by vs filter, month vs quarter, lists, formats, partners, repeats', async (t) => {
  const SEXES = ['female', 'male', 'other']
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...CENTRAL_ASIA), fc.constantFrom(...SEXES), fc.constantFrom('tb', 'hiv', '_Z'), fc.integer({ min: 0, max: 1 }),
    async (country, sex, group, reader) => {
      const p = readers[reader]
      const base = `region=central-asia&from=2026-01&to=2026-03&country=${country}&conditionGroup=${group}`
      const filtered = await count(p, `${base}&sex=${sex}`)
      // The same cell out of a table shown by sex (and by country), in JSON, CSV and SDMX-CSV.
      const table = (await read(p, `region=central-asia&from=2026-01&to=2026-03&by=country,sex&conditionGroup=${group}`)).json().cells
      const cell = table.find((c: { country: string, sex: string }) => c.country === country && c.sex === sex)
      t.equal(cell?.count, filtered, `${country} ${sex} ${group}: by vs filter`)
      const quarter = await count(readers[1 - reader], `region=central-asia&from=2026-01&to=2026-03&periodType=quarter&by=period&country=${country}&conditionGroup=${group}&sex=${sex}`)
      t.equal(quarter, filtered, 'a quarter and its three months, read by another partner')
      const listed = await count(p, `${base}&sex=${SEXES.filter((s) => s !== sex).join(',')}`)
      const all = await count(p, base)
      const others = await Promise.all(SEXES.filter((s) => s !== sex).map((s) => count(p, `${base}&sex=${s}`)))
      if (others.every((c) => c !== null && c !== undefined) && listed !== null && listed !== undefined) {
        t.equal(listed, others.reduce((a, b) => (a as number) + (b as number), 0), 'a list is the sum of its values')
      }
      t.ok(all === undefined || all === null || all >= 5, 'no released count below k')
      const csv = parse((await read(p, `${base}&sex=${sex}`, 'text/csv')).body, { columns: true }) as Array<{ count: string }>
      const sdmx = parse((await read(p, `${base}&sex=${sex}`, 'application/vnd.sdmx.data+csv;version=2.0.0')).body, { columns: true }) as Array<{ OBS_VALUE: string }>
      const asText = filtered === undefined ? undefined : filtered === null ? '' : String(filtered)
      t.equal(csv[0]?.count, asText, 'CSV says the same')
      t.equal(sdmx[0]?.OBS_VALUE, asText, 'SDMX-CSV says the same')
      t.equal(await count(p, `${base}&sex=${sex}`), filtered, 'and a repeat')
    }), { numRuns: 12 })
})

t.test('released counts are near the truth and never below k', async (t) => {
  const table = (await read(readers[0], 'region=central-asia&from=2026-01&to=2026-04&by=country,sex,ageBand')).json().cells
  const truth = new Map<string, number>()
  for (const c of data) {
    const key = [c.country, c.sex, c.ageBand].join('|')
    truth.set(key, (truth.get(key) ?? 0) + c.count)
  }
  t.equal(table.length, truth.size, 'every non-zero cell listed, no zero cell')
  for (const c of table as Array<{ country: string, sex: string, ageBand: string, count: number | null }>) {
    const n = truth.get([c.country, c.sex, c.ageBand].join('|'))!
    if (c.count === null) continue
    t.ok(c.count >= 5, 'released ≥ k')
    // A cell of this table is at most 4 months × 3 condition groups = 12 atoms, each within ±3.
    t.ok(Math.abs(c.count - n) <= 36, `${c.country} ${c.sex} ${c.ageBand}: ${c.count} vs ${n}`)
  }
})

t.test('the query budget: distinct queries per day, repeats free, 429 with Retry-After past it', async (t) => {
  const budgeted = await buildTestHub(t, { config: { queryBudget: 3 } })
  await insertCells(budgeted.database, [{ country: 'KAZ', count: 40 }, { country: 'KGZ', count: 30 }])
  const reader = await budgeted.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, { region: 'KAZ' }] })
  const other = await budgeted.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }] })
  const ministry = await budgeted.partner({ roles: ['reader', 'reporter'], country: 'KAZ', grants: [{ region: 'KAZ' }] })
  const bearer = new Map<TestPartner, string>()
  const ask = async (p: TestPartner, query: string) => {
    if (!bearer.has(p)) bearer.set(p, await budgeted.token(p))
    return budgeted.app.inject({ url: `/v1/aggregates?${query}`, headers: { authorization: `Bearer ${bearer.get(p)}` } })
  }
  const q = (n: number) => `region=central-asia&from=2026-0${n}&to=2026-06`
  for (const n of [1, 2, 3]) t.equal((await ask(reader, q(n))).statusCode, 200, `query ${n}`)
  t.equal((await ask(reader, q(1))).statusCode, 200, 'a repeat is free')
  t.equal((await ask(reader, 'region=central-asia&to=2026-06&from=2026-01')).statusCode, 200, 'so is another spelling of the same query')
  const over = await ask(reader, q(4))
  t.equal(over.statusCode, 429, over.body)
  t.match(over.headers['content-type'], /application\/problem\+json/)
  t.ok(Math.abs(Number(over.headers['retry-after']) - secondsToNextDay(new Date())) <= 5, 'Retry-After: until 00:00 UTC')
  t.match(over.json(), { status: 429, budget: 3 })
  t.notOk('cells' in over.json(), 'never a partial answer')
  t.equal((await ask(other, q(4))).statusCode, 200, 'another partner has its own budget')
  for (const n of [1, 2, 3, 4, 5]) t.equal((await ask(ministry, `region=KAZ&from=2026-0${n}&to=2026-06`)).statusCode, 200, 'own-country reads are exact and free')
  const counted = async (db: typeof budgeted.database.db, partnerId: string) => Number((await db.execute(sql`SELECT count(*) AS n FROM query_budget WHERE partner_id = ${partnerId}`) as unknown as { rows: Array<{ n: string }> }).rows[0].n)
  t.equal(await counted(budgeted.database.db, reader.id), 3, 'three distinct queries counted, kept in the database')
  // New data is a new data version: the same query is a new estimate, and costs again.
  await budgeted.database.db.execute(sql`UPDATE cells SET count = count + 1, updated_at = now() WHERE country = 'KGZ'`)
  budgeted.cellVersions.changed(['KGZ'])
  t.equal((await ask(reader, q(1))).statusCode, 429, 'the same query on new data is a new query')

  // The day turns at 00:00 UTC; a process that has not seen a query asks the database (shared by every process).
  const clock = { now: new Date('2026-07-01T23:59:00Z') }
  const first = createQueryBudget(budgeted.database, 1, () => clock.now)
  const second = createQueryBudget(budgeted.database, 1, () => clock.now)
  await first.charge('day-test', 'a')
  await second.charge('day-test', 'a')
  const refused = await second.charge('day-test', 'b').then(() => undefined, (err: unknown) => err)
  t.match(refused, { status: 429, extra: { retryAfter: 60 } }, 'the other process sees the day spent')
  clock.now = new Date('2026-07-02T00:00:01Z')
  await second.charge('day-test', 'b')
  t.equal(await first.purge(), 1, 'the past day purged, today kept')
})

t.test('the admin API refuses a grant set that allows subtraction, keeping the old grants', async (t) => {
  const admin = await hub.token(hub.admin)
  const asAdmin = { authorization: `Bearer ${admin}` }
  for (const [code, members] of [['north4', ['KAZ', 'KGZ', 'TJK', 'TKM']], ['tu', ['TKM', 'UZB']], ['ab', ['KAZ', 'KGZ']], ['bc', ['KGZ', 'TJK']], ['ac', ['KAZ', 'TJK']]] as const) {
    const made = await hub.app.inject({ method: 'POST', url: '/v1/admin/regions', headers: asAdmin, payload: { code, name: code, members } })
    t.equal(made.statusCode, 201, made.body)
  }
  const partner = await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }] })
  const put = (grants: object[]) => hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${partner.id}/grants`, headers: asAdmin, payload: { grants } })
  const overlap = await put([{ region: 'central-asia' }, { region: 'north4' }, { region: 'tu' }])
  t.equal(overlap.statusCode, 409, overlap.body)
  t.same(overlap.json().countries, ['TKM', 'UZB'])
  t.match(overlap.json().detail, /TKM, UZB/)
  const pairs = await put([{ region: 'ab' }, { region: 'bc' }, { region: 'ac' }])
  t.equal(pairs.statusCode, 409, pairs.body)
  t.same(pairs.json().countries, ['KAZ', 'KGZ', 'TJK'])
  const kept = await hub.app.inject({ url: `/v1/admin/partners/${partner.id}/grants`, headers: asAdmin })
  t.same(kept.json().grants.map((g: { region: string }) => g.region), ['central-asia'], 'the refused sets changed nothing')
})

t.test('read turns: at most max reads of one partner run at once, the others wait; other partners do not', async (t) => {
  const gate = createPartnerGate(2)
  let running = 0
  let peak = 0
  const releases: Array<() => void> = []
  const work = () => gate('p', async () => {
    running++
    peak = Math.max(peak, running)
    await new Promise<void>((resolve) => releases.push(resolve))
    running--
  })
  const all = Array.from({ length: 5 }, work)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(running, 2, 'two run')
  let otherRan = false
  await gate('q', async () => { otherRan = true })
  t.ok(otherRan, 'another partner is not held')
  while (releases.length > 0 || running > 0) {
    releases.shift()?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(all)
  t.equal(peak, 2)
})
