// Property: the answers of random reads, in every standard format, are what the standard's own schema accepts
// (ADX: IHE's adx_loose.xsd through xmllint; SDMX-JSON data: the 2.1.0 data schema; FHIR: HL7's R4 JSON schema,
// and every canonical URL a MeasureReport names resolves to a valid resource) and carry only codes of the
// published SDMX codelists, on every dimension; the SDMX REST data path releases the counts GET /v1/aggregates does.
import { parse } from 'csv-parse/sync'
import fc from 'fast-check'
import t from 'tap'
import type { Dimension } from '../../../src/release/dimensions.js'
import { sdmxCode, sdmxDimensions, SDMX_VERSION, TOTAL } from '../../../src/release/formats/sdmx.js'
import { MAX_BY } from '../../../src/release/query.js'
import { buildTestHub } from '../../helpers.js'
import { CENTRAL_ASIA, insertCells, type CellInput } from '../fixtures.js'
import { adxFaults, fhirValidator, sdmxJsonValidator, XMLLINT } from './standards.js'

const hub = await buildTestHub(t)
const { app } = hub

/** Values each dimension takes in the cells (1.1.0 ones included), and the filters the random reads name. */
const VALUES: Partial<Record<Dimension, string[]>> = {
  sex: ['female', 'male', 'other', 'unknown'],
  ageBand: ['0-4', '25-29', '80+', 'unknown'],
  countryOfOrigin: ['UZB', 'TJK', 'AFG', 'unknown'],
  migrationStatus: ['labour_migrant', 'refugee_or_asylum_seeker', 'returnee'],
  migrationStage: ['destination', 'return'],
  encounter: ['primary_care', 'screening', 'delivery'],
  conditionGroup: ['_Z', 'tb', 'hiv', 'maternal'],
  insurance: ['public', 'none', 'unknown'],
  outcome: ['_Z', 'treated', 'referred'],
  recordType: ['contact', 'case_notification'],
  returnedFrom: ['_Z', 'RUS', 'TUR'],
  tbOutcome: ['_Z', 'cured', 'lost_to_follow_up'],
  serviceCoverage: ['_Z', 'covered', 'not_covered'],
  screeningContext: ['_Z', 'arrival', 'work_permit'],
  screeningConsequence: ['_Z', 'none', 'referral'],
  subnationalArea: ['_Z', 'KZ-75', 'KG-C']
}
const DIMS = Object.keys(VALUES) as Dimension[]
const MONTHS = ['2026-01', '2026-02', '2026-03']

// Cells of 1.1.0 records, drawn once from a fixed seed: every dimension varies, returnedFrom only on a return, a
// TB outcome only on a case notification.
const drawn = fc.sample(fc.record({
  country: fc.constantFrom('KAZ', 'KGZ', 'TJK', 'UZB'),
  period: fc.constantFrom(...MONTHS),
  count: fc.integer({ min: 1, max: 40 }),
  ...Object.fromEntries(DIMS.filter((d) => d !== 'subnationalArea').map((d) => [d, fc.constantFrom(...VALUES[d]!)]))
}), { numRuns: 400, seed: 2326 }) as Array<CellInput & Record<string, string>>
const cells: CellInput[] = drawn.map((c) => ({
  ...c,
  subnationalArea: c.country === 'KAZ' ? 'KZ-75' : c.country === 'KGZ' ? 'KG-C' : '_Z',
  returnedFrom: c.migrationStage === 'return' ? c.returnedFrom : '_Z',
  tbOutcome: c.recordType === 'case_notification' ? c.tbOutcome : '_Z'
}))
const unique = new Map(cells.map((c) => [JSON.stringify({ ...c, count: 0 }), c]))
await insertCells(hub.database, [...unique.values()])

const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] })
const bearer = await hub.token(reader)
const get = (url: string, accept?: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}`, ...(accept ? { accept } : {}) } })

const structure = (await app.inject({ method: 'GET', url: '/v1/sdmx/structure' })).json().data
/** Column → the codes its codelist holds (dimensions and attributes of the newest structure). */
const CODELISTS = new Map<string, Set<string>>()
{
  const dsd = structure.dataStructures[0].dataStructureComponents
  for (const c of [...dsd.dimensionList.dimensions, ...dsd.attributeList.attributes]) {
    const id = /Codelist=MHX:(\w+)\(/.exec(c.localRepresentation.enumeration)![1]
    CODELISTS.set(c.id, new Set(structure.codelists.find((l: { id: string }) => l.id === id).codes.map((code: { id: string }) => code.id)))
  }
}
const TIME_PERIOD = /^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-\d{2}-01\/P\d+M)?$/
/** Codes of an SDMX row (column → code) outside the published codelists. */
const unpublished = (row: Record<string, string>) => [
  ...[...CODELISTS].filter(([column, codes]) => !codes.has(row[column])).map(([column]) => `${column}=${row[column]}`),
  ...(TIME_PERIOD.test(row.TIME_PERIOD) ? [] : [`TIME_PERIOD=${row.TIME_PERIOD}`])
]
const invalidData = sdmxJsonValidator('data-2.1.0')
const invalidFhir = fhirValidator()
/** Every canonical URL the MeasureReports named (strings under the hub's FHIR path). */
const canonical = new Set<string>()
function collectUrls (node: unknown): void {
  if (typeof node === 'string' && node.startsWith('http://mhx.test/')) canonical.add(node)
  else if (Array.isArray(node)) node.forEach(collectUrls)
  else if (typeof node === 'object' && node !== null) Object.values(node).forEach(collectUrls)
}

interface Read { region: string, span: [string, string, 'month' | 'quarter'], by: Dimension[], filters: Array<[Dimension, string[]]> }
const readArbitrary = fc.record({
  region: fc.constantFrom('central-asia', 'KAZ', 'KGZ'),
  span: fc.constantFrom<Read['span']>(['2026-01', '2026-01', 'month'], ['2026-01', '2026-03', 'month'], ['2026-02', '2026-03', 'month'], ['2026-01', '2026-03', 'quarter']),
  by: fc.subarray(DIMS, { maxLength: MAX_BY - 1 }),
  filters: fc.uniqueArray(fc.constantFrom(...DIMS).chain((d) => fc.tuple(fc.constant(d), fc.subarray(VALUES[d]!, { minLength: 1, maxLength: 2 }))), { maxLength: 2, selector: ([d]) => d })
})
const queryOf = (r: Read, by: readonly string[] = r.by) => [
  `region=${r.region}`, `from=${r.span[0]}`, `to=${r.span[1]}`, `periodType=${r.span[2]}`,
  ...(by.length > 0 ? [`by=${by.join(',')}`] : []),
  ...r.filters.map(([d, values]) => `${d}=${encodeURIComponent(values.join(','))}`)
].join('&')

/** The series key of the same read: by → wildcard (or its filter's codes), a filter → its codes, else _T. */
function keyOf (r: Read): string {
  const filters = new Map(r.filters)
  return sdmxDimensions(SDMX_VERSION).filter((d) => d !== 'period').map((d) => {
    if (d === 'country') return r.region
    const values = filters.get(d)?.map((v) => sdmxCode(d, v))
    return r.by.includes(d) ? (values ?? []).join('+') : values ? values.join('+') : TOTAL
  }).join('.')
}

t.test('random reads: every ADX, FHIR, SDMX-CSV and SDMX-JSON answer valid, every code in its codelist', async (t) => {
  const seen = { json: 0, refused: 0, adx: 0, adxNoResults: 0, sdmxCsv: 0, sdmxData: 0, sdmxRefused: 0 }
  await fc.assert(fc.asyncProperty(readArbitrary, async (r) => {
    const query = queryOf(r)
    const json = await get(`/v1/aggregates?${query}`)
    if (json.statusCode !== 200) {
      // A filter outside the region (an area of another country) is refused whatever the format.
      if (json.statusCode !== 400 || (await get(`/v1/aggregates?${query}`, 'application/adx+xml')).statusCode !== 400) throw new Error(`${query}: ${json.statusCode} ${json.body}`)
      seen.refused++
      return
    }
    seen.json++
    const answer = json.json()

    if (XMLLINT) {
      const adx = await get(`/v1/aggregates?${query}`, 'application/adx+xml')
      if (adx.statusCode === 404) {
        seen.adxNoResults++
        const split = (await get(`/v1/aggregates?${queryOf(r, r.by.includes('recordType') || r.filters.some(([d, v]) => d === 'recordType' && v.length === 1) ? r.by : [...r.by, 'recordType'])}`)).json()
        if (adx.json().type !== 'http://mhx.test/problems/no-results' || split.cells.some((c: { count: number | null }) => c.count !== null)) throw new Error(`${query}: ADX 404 with released values: ${adx.body}`)
      } else {
        if (adx.statusCode !== 200) throw new Error(`${query}: ADX ${adx.statusCode} ${adx.body}`)
        const faults = adxFaults(adx.body)
        if (faults !== '') throw new Error(`${query}: ADX not valid against adx_loose.xsd: ${faults}\n${adx.body}`)
        seen.adx++
      }
    }

    const fhir = await get(`/v1/aggregates?${query}&labels=ru`, 'application/fhir+json')
    const report = fhir.json()
    const fhirFaults = invalidFhir(report)
    if (fhir.statusCode !== 200 || fhirFaults.length > 0) throw new Error(`${query}: FHIR ${fhir.statusCode}, not valid against HL7's R4 schema: ${fhirFaults.join('; ')}`)
    collectUrls(report)

    const csv = await get(`/v1/aggregates?${query}`, 'application/vnd.sdmx.data+csv;version=2.0.0')
    const several = r.filters.some(([d, values]) => values.length > 1 && !r.by.includes(d))
    if (several) {
      if (csv.statusCode !== 400) throw new Error(`${query}: SDMX-CSV of a several-value filter outside by answered ${csv.statusCode}`)
      seen.sdmxRefused++
    } else {
      if (csv.statusCode !== 200) throw new Error(`${query}: SDMX-CSV ${csv.statusCode} ${csv.body}`)
      const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>
      const bad = rows.flatMap((row) => [...unpublished(row), ...(row.STRUCTURE_ID === `MHX:MIGRANT_HEALTH(${SDMX_VERSION})` ? [] : [`STRUCTURE_ID=${row.STRUCTURE_ID}`])])
      if (bad.length > 0) throw new Error(`${query}: SDMX-CSV codes outside the codelists: ${[...new Set(bad)].join(', ')}`)
      if (rows.length !== answer.cells.length) throw new Error(`${query}: ${rows.length} SDMX-CSV rows for ${answer.cells.length} cells`)
      seen.sdmxCsv++
    }

    // The SDMX REST data path: the same read as a key, TIME_PERIOD varying when the span holds several periods.
    const [from, to, periodType] = r.span
    const periods = periodType === 'quarter' ? ['2026-Q1', '2026-Q1'] : [from, to]
    const url = `/v1/sdmx/data/MHX,MIGRANT_HEALTH,${SDMX_VERSION}/${keyOf(r)}?startPeriod=${periods[0]}&endPeriod=${periods[1]}`
    // What varies in SDMX: TIME_PERIOD over several periods, the by dimensions, and the dimensions of several codes.
    const restBy = [...(periods[0] !== periods[1] ? ['period'] : []), ...r.by, ...r.filters.filter(([d, values]) => values.length > 1 && !r.by.includes(d)).map(([d]) => d)]
    const data = await get(url)
    if (restBy.length > MAX_BY) {
      if (data.statusCode !== 400 || data.json().errors[0].path !== 'key') throw new Error(`${url}: ${restBy.length} dimensions vary, but ${data.statusCode}`)
      return
    }
    const same = restBy.length === r.by.length ? answer : (await get(`/v1/aggregates?${queryOf(r, restBy)}`)).json()
    if (same.cells.length === 0) {
      if (data.statusCode !== 404 || data.json().type !== 'http://mhx.test/problems/no-results') throw new Error(`${url}: no cells, but ${data.statusCode}`)
      return
    }
    if (data.statusCode !== 200) throw new Error(`${url}: ${data.statusCode} ${data.body}`)
    const message = data.json()
    const faults = invalidData(message)
    if (faults.length > 0) throw new Error(`${url}: not valid against the SDMX-JSON 2.1.0 data schema: ${faults.join('; ')}`)
    const dims: Array<{ id: string, values: Array<{ id: string }> }> = message.data.structures[0].dimensions.observation
    const rows = Object.entries(message.data.dataSets[0].observations as Record<string, [number | null, number, number]>).map(([key, [value, obs, conf]]) => ({
      ...Object.fromEntries(key.split(':').map((at, i) => [dims[i].id, dims[i].values[Number(at)].id])),
      OBS_STATUS: message.data.structures[0].attributes.observation[0].values[obs].id,
      CONF_STATUS: message.data.structures[0].attributes.observation[1].values[conf].id,
      OBS_VALUE: value
    })) as unknown as Array<Record<string, string>>
    const bad = rows.flatMap(unpublished)
    if (bad.length > 0) throw new Error(`${url}: SDMX-JSON codes outside the codelists: ${[...new Set(bad)].join(', ')}`)
    const released = (values: Array<number | null>) => values.map((v) => v ?? -1).sort((a, b) => a - b).join(',')
    if (released(rows.map((row) => row.OBS_VALUE as unknown as number | null)) !== released(same.cells.map((c: { count: number | null }) => c.count))) {
      throw new Error(`${url}: the SDMX data release other counts than GET /v1/aggregates?${queryOf(r, restBy)}`)
    }
    const sdmxCsv = parse((await get(url, 'application/vnd.sdmx.data+csv;version=2.0.0')).body, { columns: true }) as Array<Record<string, string>>
    if (sdmxCsv.length !== rows.length || sdmxCsv.flatMap(unpublished).length > 0) throw new Error(`${url}: SDMX-CSV of the data path differs from its SDMX-JSON`)
    seen.sdmxData++
  }), { numRuns: 30, seed: 2323 })
  t.comment(JSON.stringify(seen))
  t.ok(seen.json > 20 && seen.sdmxCsv > 5 && seen.sdmxData > 5 && seen.sdmxRefused > 0, `reads of each kind: ${JSON.stringify(seen)}`)
  if (XMLLINT) t.ok(seen.adx > 5 && seen.adx + seen.adxNoResults === seen.json, 'ADX answers validated')

  const unresolved: string[] = []
  for (const url of canonical) {
    const res = await app.inject({ method: 'GET', url: new URL(url).pathname })
    if (res.statusCode !== 200 || !url.startsWith('http://mhx.test/v1/fhir/') || invalidFhir(res.json()).length > 0) unresolved.push(`${url}: ${res.statusCode}`)
  }
  t.ok(canonical.size > 10, `${canonical.size} canonical URLs named`)
  t.same(unresolved, [], 'every canonical URL of every MeasureReport resolves to a valid FHIR resource')
})
