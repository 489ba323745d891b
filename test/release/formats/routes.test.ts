// The formats through HTTP: the public SDMX structure and FHIR Measure, and every representation of one read
// carrying the JSON answer's counts; SDMX-CSV of several query shapes loads into one table.
import { parse } from 'csv-parse/sync'
import { XMLParser } from 'fast-xml-parser'
import t from 'tap'
import { SDMX_NAME } from '../../../src/release/dimensions.js'
import { SDMX_DIMENSIONS } from '../../../src/release/formats/sdmx.js'
import { buildTestHub } from '../../helpers.js'
import { CENTRAL_ASIA, insertCells } from '../fixtures.js'
import { fhirValidator } from './standards.js'

const hub = await buildTestHub(t)
const { app } = hub
// Cells of 1.1.0 records (a record type each): contacts and one month of TB case notifications.
await insertCells(hub.database, [
  { country: 'KAZ', ageBand: '80+', sex: 'female', count: 12, subnationalArea: 'KZ-75', recordType: 'contact' },
  { country: 'KAZ', ageBand: '0-4', sex: 'male', count: 2, recordType: 'contact' },
  { country: 'KGZ', period: '2026-02', sex: 'female', conditionGroup: 'tb', count: 30, recordType: 'case_notification' },
  { country: 'TJK', period: '2026-03', count: 40, conditionGroup: 'hiv', recordType: 'contact' },
  { country: 'UZB', period: '2026-05', count: 60, sex: 'female', outcome: 'treated', recordType: 'contact' }
])
const iom = await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] })
const bearer = await hub.token(iom)
const read = (query: string, accept?: string) =>
  app.inject({ method: 'GET', url: `/v1/aggregates?${query}`, headers: { authorization: `Bearer ${bearer}`, ...(accept ? { accept } : {}) } })
const SDMX = 'application/vnd.sdmx.data+csv;version=2.0.0'
const SPAN = 'region=central-asia&from=2026-01&to=2026-06'
const invalidFhir = fhirValidator()

t.test('GET /v1/sdmx/structure is public and lists the stored regions', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/sdmx/structure' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/vnd\.sdmx\.structure\+json; version=2\.0\.0/)
  const { data } = res.json()
  t.ok(data.codelists.find((c: { id: string }) => c.id === 'CL_AREA').codes.some((c: { id: string }) => c.id === 'central-asia'))
  t.equal(data.dataStructures[0].dataStructureComponents.dimensionList.dimensions.length + 1, SDMX_DIMENSIONS.length)

  const created = await app.inject({ method: 'POST', url: '/v1/admin/regions', headers: { authorization: `Bearer ${await hub.token(hub.admin)}` }, payload: { code: 'caspian', name: 'Caspian', members: ['KAZ', 'TKM'] } })
  t.equal(created.statusCode, 201, created.body)
  const after = (await app.inject({ method: 'GET', url: '/v1/sdmx/structure' })).json().data
  t.same(after.codelists.find((c: { id: string }) => c.id === 'CL_AREA').codes.find((c: { id: string }) => c.id === 'caspian')?.names, { en: 'Caspian', ru: 'Caspian' }, 'a region created since is listed')
})

t.test('SDMX-CSV of several query shapes loads into one table, every code in the published codelists', async (t) => {
  const { data } = (await app.inject({ method: 'GET', url: '/v1/sdmx/structure' })).json()
  const dsd = data.dataStructures[0].dataStructureComponents
  const codes = new Map<string, Set<string>>()
  for (const c of [...dsd.dimensionList.dimensions, ...dsd.attributeList.attributes]) {
    const id = /Codelist=MHX:(\w+)\(/.exec(c.localRepresentation.enumeration)![1]
    codes.set(c.id, new Set(data.codelists.find((l: { id: string }) => l.id === id).codes.map((code: { id: string }) => code.id)))
  }
  const queries = [
    SPAN,
    `${SPAN}&by=country,sex`,
    `${SPAN}&by=period,ageBand`,
    `${SPAN}&by=period&periodType=quarter`,
    `${SPAN}&by=conditionGroup&sex=female&country=KGZ`,
    'region=KAZ&from=2026-01&to=2026-01&by=subnationalArea,ageBand'
  ]
  const rows: Record<string, string>[] = []
  let header: string[] | undefined
  for (const query of queries) {
    const res = await read(query, SDMX)
    t.equal(res.statusCode, 200, `${query}: ${res.body}`)
    const table = parse(res.body, { columns: true }) as Record<string, string>[]
    t.ok(table.length > 0, `${query} has rows`)
    header ??= Object.keys(table[0])
    t.same(Object.keys(table[0]), header, `${query}: the same columns`)
    rows.push(...table)
  }
  const keys = rows.map((r) => SDMX_DIMENSIONS.map((d) => r[SDMX_NAME[d]]).join('|'))
  t.equal(new Set(keys).size, keys.length, 'no two rows share a key')
  const unpublished = rows.flatMap((r) => [...codes].filter(([column, set]) => !set.has(r[column])).map(([column]) => `${column}=${r[column]}`))
  t.same(unpublished, [])
  t.ok(rows.every((r) => r.TIME_PERIOD !== ''), 'TIME_PERIOD always')
  t.ok(rows.some((r) => r.AGE_BAND === 'Y_GE80'))

  const refused = await read(`${SPAN}&by=country&sex=female,male`, SDMX)
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { errors: [{ path: 'sex' }] })
  t.equal((await read(`${SPAN}&by=country&sex=female,male`)).statusCode, 200, 'the same query is fine as JSON')
})

/** Every URL under the hub's own address a resource names (canonical URLs, systems, references), but the hub's own address. */
function hubUrls (resource: unknown, out = new Set<string>()): Set<string> {
  if (typeof resource === 'string' && resource.startsWith('http://mhx.test/')) out.add(resource)
  else if (Array.isArray(resource)) resource.forEach((r) => hubUrls(r, out))
  else if (typeof resource === 'object' && resource !== null) Object.values(resource).forEach((r) => hubUrls(r, out))
  return out
}

t.test('FHIR: a valid MeasureReport with the JSON answer\'s counts; every canonical URL it names resolves to a valid resource', async (t) => {
  const resolved = new Map<string, Record<string, unknown>>()
  const queue: string[] = []
  for (const query of [SPAN, `${SPAN}&by=country`, `${SPAN}&by=country,sex&labels=ru`, `${SPAN}&by=recordType,countryOfOrigin`, `${SPAN}&recordType=contact&by=ageBand`, 'region=KAZ&from=2026-01&to=2026-06&by=subnationalArea,period']) {
    const json = (await read(query)).json()
    const res = await read(query, 'application/fhir+json')
    t.equal(res.statusCode, 200, res.body)
    t.match(res.headers['content-type'], /^application\/fhir\+json; fhirVersion=4\.0/)
    const report = res.json()
    t.same(invalidFhir(report), [], `${query}: valid FHIR R4`)
    const counts = json.by.length === 0
      ? [report.group[0].population[0].count ?? null]
      : report.group[0].stratifier[0].stratum.map((s: { population: Array<{ count?: number }> }) => s.population[0].count ?? null)
    t.same(counts, json.cells.map((c: { count: number | null }) => c.count), `${query}: the same counts`)
    t.equal(report.measure, `http://mhx.test/v1/fhir/Measure/${query.includes('recordType=contact') ? 'migrant-health-contacts' : 'migrant-health-records'}`)
    queue.push(...hubUrls(report))
  }
  queue.push('http://mhx.test/v1/fhir/metadata')
  // Follow every URL of every resource fetched, until none is new: the whole graph resolves.
  while (queue.length > 0) {
    const url = queue.shift()!
    if (resolved.has(url)) continue
    t.match(url, /^http:\/\/mhx\.test\/v1\/fhir\//, `${url} lives under /v1/fhir/`)
    const res = await app.inject({ method: 'GET', url: new URL(url).pathname })
    t.equal(res.statusCode, 200, `${url} resolves`)
    t.match(res.headers['content-type'], /^application\/fhir\+json/)
    const resource = res.json()
    t.same(invalidFhir(resource), [], `${url}: valid ${resource.resourceType}`)
    if ('url' in resource) t.equal(resource.url, url, `${url}: the canonical URL of what it answers`)
    resolved.set(url, resource)
    queue.push(...[...hubUrls(resource)].filter((u) => u.startsWith('http://mhx.test/v1/fhir/')))
  }
  const types = [...resolved.values()].map((r) => r.resourceType)
  for (const type of ['Measure', 'CodeSystem', 'ValueSet', 'StructureDefinition', 'Organization', 'CapabilityStatement']) t.ok(types.includes(type), `a ${type} among the ${resolved.size} resolved`)
  t.ok(resolved.has('http://mhx.test/v1/fhir/CodeSystem/region') && resolved.has('http://mhx.test/v1/fhir/StructureDefinition/disclosure'))

  const contacts = (await read(`${SPAN}&recordType=contact`, 'application/fhir+json')).json()
  const notifications = (await read(`${SPAN}&recordType=case_notification`, 'application/fhir+json')).json()
  t.equal(notifications.measure, 'http://mhx.test/v1/fhir/Measure/migrant-health-case-notifications')
  t.ok(contacts.group[0].population[0].count !== notifications.group[0].population[0].count, 'contacts and case notifications are counted apart')
})

t.test('FHIR errors are OperationOutcome: on /v1/fhir/ routes and whenever Accept asks for FHIR', async (t) => {
  const outcome = (res: Awaited<ReturnType<typeof read>>, status: number, code: string) => {
    t.equal(res.statusCode, status)
    t.match(res.headers['content-type'], /^application\/fhir\+json/)
    const body = res.json()
    t.same(invalidFhir(body), [], 'a valid OperationOutcome')
    t.match(body, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code }] })
    return body
  }
  outcome(await app.inject({ method: 'GET', url: '/v1/fhir/Measure/nothing' }), 404, 'not-found')
  outcome(await app.inject({ method: 'GET', url: '/v1/fhir/Patient/1' }), 404, 'not-found')
  const bad = outcome(await read('region=KAZ&from=2026-13&to=2026-01', 'application/fhir+json'), 400, 'invalid')
  t.match(bad.issue[0].details.coding[0], { system: 'http://mhx.test/v1/fhir/CodeSystem/problem-type' })
  t.ok(bad.issue.length > 1, 'an issue per field named')
  outcome(await app.inject({ method: 'GET', url: `/v1/aggregates?${SPAN}`, headers: { accept: 'application/fhir+json' } }), 401, 'login')
  const json = await read('region=KAZ&from=2026-13&to=2026-01')
  t.match(json.headers['content-type'], /^application\/problem\+json/, 'other requests keep problem+json')
})

t.test('ADX: the JSON answer\'s released counts by record type, a group per country-month; nothing released is 404 no-results', async (t) => {
  const query = `${SPAN}&by=country,period,sex`
  const json = (await read(`${query},recordType`)).json()
  const res = await read(query, 'application/adx+xml')
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/adx\+xml/)
  const adx = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'group' || n === 'dataValue' }).parse(res.body).adx
  const cells = adx.group.flatMap((g: { orgUnit: string, period: string, dataValue: Array<{ dataElement: string, sex: string, value: string }> }) =>
    g.dataValue.map((v) => ({ country: g.orgUnit, period: g.period.slice(0, 7), sex: v.sex, recordType: v.dataElement, count: Number(v.value) })))
  t.same(cells, json.cells.filter((c: { count: number | null }) => c.count !== null)
    .map((c: Record<string, unknown>) => ({ country: c.country, period: c.period, sex: c.sex, recordType: c.recordType === null ? 'contact' : c.recordType, count: c.count })))
  t.ok(adx.group.every((g: { period: string }) => /^\d{4}-\d{2}-01\/P1M$/.test(g.period)))

  const none = await read('region=KAZ&from=2026-01&to=2026-01&ageBand=0-4', 'application/adx+xml')
  t.equal(none.statusCode, 404, 'the one cell is below k')
  t.match(none.headers['content-type'], /^application\/problem\+json/)
  t.equal(none.json().type, 'http://mhx.test/problems/no-results')
  t.equal((await read('region=KAZ&from=2026-01&to=2026-01&ageBand=0-4')).statusCode, 200, 'the same read as JSON lists its withheld cell')
  t.equal((await read(`${SPAN}&by=country,period,sex,ageBand`, 'application/adx+xml')).statusCode, 400, 'no room left in by for recordType')
})

t.test('labels: CSV <dim>_label columns and the JSON labels map, in English or Russian; other languages refused', async (t) => {
  const csv = parse((await read(`${SPAN}&by=country,ageBand&labels=ru`, 'text/csv')).body, { columns: true }) as Record<string, string>[]
  t.same(Object.keys(csv[0]), ['country', 'country_label', 'ageBand', 'ageBand_label', 'count', 'suppressed', 'disclosure'])
  t.ok(csv.some((r) => r.country_label === 'Казахстан' && r.ageBand_label === '80 лет и старше'))
  const json = (await read(`${SPAN}&by=subnationalArea&labels=en`)).json()
  t.same(json.labels, { subnationalArea: { 'KZ-75': 'Almaty' } })
  t.equal((await read(`${SPAN}&labels=fr`)).statusCode, 400)
  t.notOk('labels' in (await read(SPAN)).json())
})

t.test('what no format offers is still 406', async (t) => {
  const res = await read(SPAN, 'application/xml')
  t.equal(res.statusCode, 406)
  t.match(res.json().detail, /application\/fhir\+json/)
})

t.test('SDMX: each version of the structure at its SDMX REST path; the data path reads as GET /v1/aggregates does', async (t) => {
  const structureAt = async (version: string) => app.inject({ method: 'GET', url: `/v1/sdmx/structure/datastructure/MHX/MIGRANT_HEALTH/${version}` })
  const old = (await structureAt('1.0.0')).json().data.dataStructures[0]
  t.equal(old.version, '1.0.0')
  t.notOk(old.dataStructureComponents.dimensionList.dimensions.some((d: { id: string }) => d.id === 'RECORD_TYPE'), '1.0.0 has no record type')
  t.equal((await structureAt('latest')).json().data.dataStructures[0].version, '1.1.0')
  t.equal((await app.inject({ method: 'GET', url: '/v1/sdmx/structure/dataflow/MHX/MIGRANT_HEALTH/~' })).json().data.dataflows[0].version, '1.1.0')
  t.equal((await structureAt('2.0.0')).statusCode, 400)

  const key = SDMX_DIMENSIONS.filter((d) => d !== 'period').map((d) => d === 'country' ? 'KAZ' : d === 'sex' ? '' : '_T').join('.')
  const url = `/v1/sdmx/data/MHX,MIGRANT_HEALTH,1.1.0/${key}?startPeriod=2026-01&endPeriod=2026-01`
  const csv = await read('region=KAZ&from=2026-01&to=2026-01&by=sex', SDMX)
  const data = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}`, accept: SDMX } })
  t.equal(data.statusCode, 200, data.body)
  t.match(data.headers['content-type'], /^application\/vnd\.sdmx\.data\+csv; version=2\.0\.0/)
  t.equal(data.body, csv.body, 'the same read, the same SDMX-CSV as GET /v1/aggregates')
  const again = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}`, accept: SDMX, 'if-none-match': data.headers.etag as string } })
  t.equal(again.statusCode, 304, 'a tag of the data message')
  const json = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } })
  t.match(json.headers['content-type'], /^application\/vnd\.sdmx\.data\+json; version=2\.0\.0/)
  t.equal(json.json().data.dataSets[0].action, 'Information')

  t.equal((await app.inject({ method: 'GET', url })).statusCode, 401, 'a token first')
  const stranger = await hub.partner({ roles: ['reader'], grants: [{ region: 'KGZ' }] })
  const refused = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await hub.token(stranger)}` } })
  t.equal(refused.statusCode, 403, 'the grants of GET /v1/aggregates')
  t.equal((await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}`, accept: 'application/xml' } })).statusCode, 406)
  t.equal((await app.inject({ method: 'GET', url: url.replace('MHX,MIGRANT_HEALTH,1.1.0', 'ECB,EXR,1.0'), headers: { authorization: `Bearer ${bearer}` } })).statusCode, 404)
  const nothing = await app.inject({ method: 'GET', url: url.replace(/2026-01/g, '2025-01'), headers: { authorization: `Bearer ${bearer}` } })
  t.equal(nothing.statusCode, 404)
  t.equal(nothing.json().type, 'http://mhx.test/problems/no-results')
})
