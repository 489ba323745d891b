// The SDMX REST data path in terms of GET /v1/aggregates: a flow and a key become readAggregates' queries, and
// observations an SDMX-JSON data message valid against the SDMX-JSON 2.1.0 data schema (test/standards/).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { dataQueries, flowVersion, negotiateSdmxData, sdmxJsonData, type DataNames } from '../../../src/release/formats/sdmx-data.js'
import { observationsOf, sdmxDimensions } from '../../../src/release/formats/sdmx.js'
import { SDMX_NAME } from '../../../src/release/dimensions.js'
import { answerOf, names, vocabulary } from './fixtures.js'
import { sdmxJsonValidator } from './standards.js'

const REGIONS = [{ code: 'central-asia', name: 'Central Asia', members: ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'], kind: 'region' as const }]
const TODAY = new Date('2026-05-20T12:00:00Z')
const sources = { vocabulary, regions: REGIONS }
/** A key of the newest structure: `positions` by SDMX id, every other position _T. */
function keyOf (positions: Record<string, string>, version = '1.1.0'): string {
  return sdmxDimensions(version).filter((d) => d !== 'period').map((d) => positions[SDMX_NAME[d]] ?? '_T').join('.')
}
function refusal (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  return undefined
}

t.test('a flow reference names a version of the structure; any other flow is 404', async (t) => {
  t.equal(flowVersion('MHX,MIGRANT_HEALTH,1.0.0'), '1.0.0')
  t.equal(flowVersion('MHX,MIGRANT_HEALTH,1.1.0'), '1.1.0')
  t.equal(flowVersion('MHX,MIGRANT_HEALTH,latest'), '1.1.0')
  t.equal(flowVersion('MHX,MIGRANT_HEALTH,~'), '1.1.0')
  t.equal(flowVersion('MHX,MIGRANT_HEALTH'), '1.1.0')
  t.equal(flowVersion('MIGRANT_HEALTH'), '1.1.0')
  t.equal(flowVersion('all,MIGRANT_HEALTH,1.0.0'), '1.0.0')
  for (const flow of ['ECB,EXR,1.0', 'MHX,MIGRANT_HEALTH,2.0.0', 'MHX,OTHER', 'MHX,MIGRANT_HEALTH,1.0.0,x']) t.match(refusal(() => flowVersion(flow)), { status: 404 }, flow)
})

t.test('a key: one code filters, several vary (by), none varies over every code, _T sums out; REF_AREA is one read per code', async (t) => {
  const queries = dataQueries(keyOf({ REF_AREA: 'KAZ+central-asia', SEX: 'female', AGE_BAND: 'Y0T4+Y_GE80', RECORD_TYPE: '' }), { startPeriod: '2026-01', endPeriod: '2026-03' }, '1.1.0', sources, TODAY)
  t.same(queries, [
    { region: 'KAZ', sex: 'female', ageBand: '0-4,80+', from: '2026-01', to: '2026-03', periodType: 'month', by: 'period,ageBand,recordType' },
    { region: 'central-asia', sex: 'female', ageBand: '0-4,80+', from: '2026-01', to: '2026-03', periodType: 'month', by: 'period,ageBand,recordType' }
  ])
  const one = dataQueries(keyOf({ REF_AREA: 'KGZ', CONDITION_GROUP: '_Z' }), { startPeriod: '2026-Q2' }, '1.1.0', sources, TODAY)
  t.same(one, [{ region: 'KGZ', conditionGroup: '_Z', from: '2026-04', to: '2026-06', periodType: 'quarter' }], 'one period: TIME_PERIOD fixed; endPeriod defaults to the current period')
  t.same(dataQueries(keyOf({ REF_AREA: 'KAZ' }), { startPeriod: '2025', endPeriod: '2026' }, '1.1.0', sources, TODAY)[0], { region: 'KAZ', from: '2025-01', to: '2026-12', periodType: 'year', by: 'period' })
  const old = dataQueries(keyOf({ REF_AREA: 'KAZ', SEX: '' }, '1.0.0'), { startPeriod: '2026-01', endPeriod: '2026-01' }, '1.0.0', sources, TODAY)
  t.same(old, [{ region: 'KAZ', recordType: 'contact', from: '2026-01', to: '2026-01', periodType: 'month', by: 'sex' }], '1.0.0 counts contacts')
})

t.test('faults of a key or a period are 400 naming the part', async (t) => {
  const read = (key: string, parameters: Record<string, string> = { startPeriod: '2026-01' }) => refusal(() => dataQueries(key, parameters, '1.1.0', sources, TODAY))
  t.match(read('KAZ.female'), { status: 400, extra: { errors: [{ path: 'key', message: /has 2 positions; the key of MIGRANT_HEALTH\(1\.1\.0\) has 17/ }] } })
  t.match(read('all'), { status: 400, extra: { errors: [{ path: 'key', message: /REF_AREA \(position 1\) names the countries or regions/ }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ', SEX: 'woman' })), { status: 400, extra: { errors: [{ path: 'key', message: /SEX \(position \d+\): "woman" not in its codelist/ }] } })
  t.match(read(keyOf({ REF_AREA: 'nowhere' })), { status: 400, extra: { errors: [{ path: 'key', message: /REF_AREA/ }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ', SEX: 'female+_T' })), { status: 400, extra: { errors: [{ path: 'key', message: /_T \(the total\) with other codes/ }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ', SEX: '', AGE_BAND: '', ENCOUNTER: '', INSURANCE: '', OUTCOME: '' }), { startPeriod: '2026-01', endPeriod: '2026-01' }), { status: 400, extra: { errors: [{ path: 'key', message: /5 dimensions vary/ }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ', SEX: '', AGE_BAND: '', ENCOUNTER: '', INSURANCE: '' }), { startPeriod: '2026-01', endPeriod: '2026-02' }), { status: 400, extra: { errors: [{ path: 'key', message: /5 dimensions vary \(TIME_PERIOD/ }] } }, 'TIME_PERIOD counts when it varies')
  t.match(read(keyOf({ REF_AREA: 'KAZ' }), {}), { status: 400, extra: { errors: [{ path: 'startPeriod' }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ' }), { startPeriod: '2026-W10' }), { status: 400, extra: { errors: [{ path: 'startPeriod' }] } })
  t.match(read(keyOf({ REF_AREA: 'KAZ' }), { startPeriod: '2026-01', endPeriod: '2026-Q2' }), { status: 400, extra: { errors: [{ path: 'endPeriod' }] } })
})

t.test('Accept: SDMX-JSON 2.0 by default, SDMX-CSV 2.0 on request, other versions 406', async (t) => {
  t.equal(negotiateSdmxData(undefined), 'json')
  t.equal(negotiateSdmxData('application/vnd.sdmx.data+json;version=2.0.0'), 'json')
  t.equal(negotiateSdmxData('application/vnd.sdmx.data+csv;version=2.0.0'), 'csv')
  t.equal(negotiateSdmxData('text/csv'), 'csv')
  t.equal(negotiateSdmxData('application/vnd.sdmx.data+json;version=1.0.0'), undefined)
  t.equal(negotiateSdmxData('application/vnd.sdmx.genericdata+xml;version=2.1'), undefined)
})

const NAMES: DataNames = {
  dimension: (dim) => names.dimension(dim, 'en'),
  code: (dim, code) => names.code(dim, code, 'en'),
  measure: 'Count',
  attributes: { OBS_STATUS: { name: 'Observation status', codes: { A: 'Normal', E: 'Estimated', O: 'Missing' } }, CONF_STATUS: { name: 'Confidentiality', codes: { F: 'Free', A: 'Primary' } } }
}

t.test('the data message: valid against SDMX-JSON 2.1.0 data, one flat data set, attribute indexes', async (t) => {
  const invalid = sdmxJsonValidator('data-2.1.0')
  t.not(invalid({ meta: { id: 'x', prepared: 'now', sender: { id: 'MHX' } } }).length, 0, 'the validator checks formats (so a pass means something)')
  const answer = answerOf({
    region: 'KAZ', by: ['period', 'ageBand'], filters: { sex: ['female'] },
    cells: [{ key: ['2026-01', '80+'], count: 14, suppressed: null }, { key: ['2026-02', '0-4'], count: null, suppressed: 'primary' }]
  })
  for (const version of ['1.0.0', '1.1.0']) {
    const message = sdmxJsonData(observationsOf(answer, version), version, { id: 'MHX-1', prepared: '2026-07-01T10:00:00.000Z', structureUrl: 'http://mhx.test/v1/sdmx/structure/datastructure/MHX/MIGRANT_HEALTH/1.1.0', names: NAMES })
    t.same(invalid(message), [], `${version}: valid`)
    const [structure] = message.data.structures
    const dims = structure.dimensions.observation
    t.same(dims.map((d) => d.id), sdmxDimensions(version).map((d) => SDMX_NAME[d]))
    const observations = Object.entries(message.data.dataSets[0].observations)
    t.equal(observations.length, 2)
    const [first, second] = observations.map(([key, value]) => ({ codes: key.split(':').map((at, i) => dims[i].values[Number(at)].id), value }))
    t.equal(first.codes[dims.findIndex((d) => d.id === 'AGE_BAND')], 'Y_GE80')
    t.equal(first.codes[dims.findIndex((d) => d.id === 'SEX')], 'female')
    t.equal(first.codes[dims.findIndex((d) => d.id === 'TIME_PERIOD')], '2026-01')
    t.same(first.value, [14, 1, 0], 'OBS_VALUE, OBS_STATUS E (perturbed), CONF_STATUS F')
    t.same(second.value, [null, 2, 1], 'withheld: no value, O, A')
    t.equal(dims.find((d) => d.id === 'AGE_BAND')!.values[0].name, '80 years and over')
  }
})

t.test('the example of docs/formats.md is a key of the newest structure', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/formats.md'), 'utf8')
  const example = /\/v1\/sdmx\/data\/MHX,MIGRANT_HEALTH,1\.1\.0\/([^?]+)\?startPeriod=([\d-]+)&endPeriod=([\d-]+)/.exec(doc)!
  t.same(dataQueries(example[1], { startPeriod: example[2], endPeriod: example[3] }, '1.1.0', sources, TODAY).map((q) => [q.region, q.sex, q.by]), [
    ['KAZ', 'female', 'period,ageBand'], ['central-asia', 'female', 'period,ageBand']
  ])
})
