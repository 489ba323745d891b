// Indicators in SDMX (MIGRANT_HEALTH_IND: structure valid against the SDMX-JSON 2.0 structure schema,
// data against the data schema) and FHIR (MeasureReports valid against HL7's R4 schema), agreeing
// with the JSON answer of GET /v1/indicators/{id}/values.
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { buildTestHub } from '../helpers.js'
import { CENTRAL_ASIA, insertCells } from '../release/fixtures.js'
import { fhirValidator, sdmxJsonValidator } from '../release/formats/standards.js'

const hub = await buildTestHub(t)
const { app } = hub
const cells = []
for (const [i, country] of CENTRAL_ASIA.entries()) {
  for (const period of ['2026-01', '2026-02', '2026-03']) {
    cells.push({ country, period, sex: 'female', count: 20 + i, recordType: 'case_notification', conditionGroup: 'tb', tbOutcome: 'cured' })
    cells.push({ country, period, sex: 'male', count: 15 + 3 * i, recordType: 'case_notification', conditionGroup: 'tb', tbOutcome: 'died' })
    cells.push({ country, period, sex: 'male', count: 4, recordType: 'case_notification', conditionGroup: 'tb', tbOutcome: '_Z' })
    cells.push({ country, period, sex: 'female', count: 30, recordType: 'contact', insurance: 'none' })
    cells.push({ country, period, sex: 'male', count: 2 + i, recordType: 'contact', insurance: 'public' })
  }
}
await insertCells(hub.database, cells)
const admin = await hub.token(hub.admin)
for (const country of ['KAZ', 'KGZ', 'TJK', 'UZB']) {
  await app.inject({ method: 'PUT', url: `/v1/denominators/${country}/2025/migrant_stock`, headers: { authorization: `Bearer ${admin}` }, payload: { value: 500_000, source: 'illustrative (test)', vintage: '2024' } })
}
const reader = await hub.token(await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] }))
const get = (url: string, accept?: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${reader}`, ...(accept ? { accept } : {}) } })
const SDMX_JSON = 'application/vnd.sdmx.data+json;version=2.0.0'
const SDMX_CSV = 'application/vnd.sdmx.data+csv;version=2.0.0'

t.test('the structure holds MIGRANT_HEALTH_IND, valid against the SDMX-JSON 2.0 structure schema', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/sdmx/structure' })
  t.equal(res.statusCode, 200)
  const message = res.json()
  t.same(sdmxJsonValidator('structure-2.0.0')(message), [], 'valid')
  const dsd = message.data.dataStructures.find((d: { id: string }) => d.id === 'MIGRANT_HEALTH_IND')
  t.ok(dsd, 'its data structure')
  t.same(dsd.dataStructureComponents.dimensionList.dimensions.map((d: { id: string }) => d.id), ['INDICATOR', 'REF_AREA', 'SEX'])
  t.same(dsd.dataStructureComponents.attributeList.attributes.map((a: { id: string }) => a.id), ['UNIT_MEASURE', 'UNIT_MULT', 'OBS_STATUS', 'LOWER_BOUND', 'UPPER_BOUND'])
  t.ok(message.data.dataflows.some((f: { id: string }) => f.id === 'MIGRANT_HEALTH_IND'), 'its dataflow')
  const indicators = message.data.codelists.find((c: { id: string }) => c.id === 'CL_INDICATOR')
  const catalog = (await app.inject({ method: 'GET', url: '/v1/indicators' })).json().items
  t.same(indicators.codes.map((c: { id: string }) => c.id), catalog.map((i: { id: string }) => i.id), 'every indicator is a code')
  t.match(indicators.codes[0].names, { en: String, ru: String })
  // Every codelist a dimension references is in the message.
  const urns = new Set(message.data.codelists.map((c: { id: string, version: string }) => `MHX:${c.id}(${c.version})`))
  for (const d of dsd.dataStructureComponents.dimensionList.dimensions) t.ok(urns.has(d.localRepresentation.enumeration.split('=')[1]), `${d.id}'s codelist is in the message`)
  const byPath = await app.inject({ method: 'GET', url: '/v1/sdmx/structure/dataflow/MHX/MIGRANT_HEALTH_IND/1.0.0' })
  t.equal(byPath.statusCode, 200)
  t.same(byPath.json().data.dataflows.map((f: { id: string }) => f.id), message.data.dataflows.map((f: { id: string }) => f.id))
})

t.test('SDMX REST data of MIGRANT_HEALTH_IND: valid, and the values of the JSON answer', async (t) => {
  const url = '/v1/sdmx/data/MHX,MIGRANT_HEALTH_IND,1.0.0/tb-notification-rate+tb-treatment-success+uninsured-share.KAZ+KGZ+TKM.?startPeriod=2026-Q1&endPeriod=2026-Q1'
  const res = await get(url, SDMX_JSON)
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const message = res.json()
  t.same(sdmxJsonValidator('data-2.1.0')(message), [], 'valid against the SDMX-JSON data schema')
  const csv = parse((await get(url, SDMX_CSV)).body, { columns: true }) as Array<Record<string, string>>
  t.equal(csv[0].STRUCTURE_ID, 'MHX:MIGRANT_HEALTH_IND(1.0.0)')
  t.equal(csv.length, Object.keys(message.data.dataSets[0].observations).length, 'one row per observation')
  for (const id of ['tb-notification-rate', 'tb-treatment-success', 'uninsured-share']) {
    for (const area of ['KAZ', 'KGZ', 'TKM']) {
      const json = (await get(`/v1/indicators/${id}/values?region=${area}&from=2026-01&to=2026-03&periodType=quarter&by=sex`)).json()
      for (const cell of json.cells) {
        const row = csv.find((r) => r.INDICATOR === id && r.REF_AREA === area && r.SEX === cell.sex)
        t.ok(row, `${id} ${area} ${cell.sex}`)
        if (!row) continue
        t.equal(row.TIME_PERIOD, '2026-Q1')
        t.equal(row.OBS_VALUE, cell.value === null ? '' : String(cell.value), `${id} ${area} ${cell.sex}: the value`)
        t.equal(row.OBS_STATUS, { released: 'E', withheld: 'O', 'no-denominator': 'M' }[cell.status as string])
        t.equal(row.UNIT_MEASURE, json.indicator.unit.code)
      }
    }
  }
  t.ok(csv.some((r) => r.OBS_STATUS === 'M'), 'TKM has no denominator')
  const unknown = await get('/v1/sdmx/data/MHX,MIGRANT_HEALTH_IND,1.0.0/tb-nothing.KAZ.?startPeriod=2026-Q1', SDMX_CSV)
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().errors[0].path, 'key')
  t.equal((await get('/v1/sdmx/data/MHX,MIGRANT_HEALTH_IND,9.9.9/.KAZ.?startPeriod=2026-Q1', SDMX_CSV)).statusCode, 404)
  t.equal((await get('/v1/sdmx/data/MHX,MIGRANT_HEALTH_IND,1.0.0/uninsured-share.central-asia._T?startPeriod=2026-Q1')).statusCode, 200, 'a region, SEX total')
})

t.test('FHIR: each indicator a Measure (proportion or ratio), its values a MeasureReport valid against HL7\'s R4 schema', async (t) => {
  const invalid = fhirValidator()
  const catalog = (await app.inject({ method: 'GET', url: '/v1/indicators' })).json().items as Array<{ id: string, kind: string }>
  for (const i of catalog) {
    const res = await app.inject({ method: 'GET', url: `/v1/fhir/Measure/${i.id}` })
    t.equal(res.statusCode, 200, i.id)
    const measure = res.json()
    t.same(invalid(measure), [], `Measure ${i.id} valid`)
    t.equal(measure.scoring.coding[0].code, i.kind === 'rate' ? 'ratio' : 'proportion')
    t.same(measure.group[0].population.map((p: { code: { coding: Array<{ code: string }> } }) => p.code.coding[0].code), ['numerator', 'denominator'])
  }
  const extension = await app.inject({ method: 'GET', url: '/v1/fhir/StructureDefinition/indicator-interval' })
  t.equal(extension.statusCode, 200, 'the interval extension resolves')
  t.same(invalid(extension.json()), [])
  for (const query of ['region=KAZ&by=sex', 'region=central-asia&by=country,sex', 'region=KGZ', 'region=TKM&by=period']) {
    for (const id of ['tb-notification-rate', 'tb-treatment-success', 'uninsured-share']) {
      const url = `/v1/indicators/${id}/values?${query}&from=2026-01&to=2026-03`
      const res = await get(url, 'application/fhir+json')
      t.equal(res.statusCode, 200, url)
      const report = res.json()
      t.same(invalid(report), [], `${url}: valid`)
      t.equal(report.measure, `http://mhx.test/v1/fhir/Measure/${id}`)
      const json = (await get(url)).json()
      const scores = (report.group[0].stratifier?.[0].stratum ?? [report.group[0]]).map((s: { measureScore?: { value: number } }) => s.measureScore?.value ?? null)
      t.same(scores, json.cells.map((c: { value: number | null }) => c.value), `${url}: measureScore is the value`)
    }
  }
  const problem = await get('/v1/indicators/tb-nothing/values?region=KAZ&from=2026-01&to=2026-03', 'application/fhir+json')
  t.equal(problem.json().resourceType, 'OperationOutcome', 'errors of a FHIR request are OperationOutcome')
})
