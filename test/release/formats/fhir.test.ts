// FHIR R4: MeasureReports and Measures valid against the FHIR R4 JSON Schema, with the answer's counts.
import t from 'tap'
import { measure, toMeasureReport } from '../../../src/release/formats/fhir.js'
import { render } from '../../../src/release/formats/index.js'
import { fhirValidator } from './standards.js'
import { answerOf, names, PUBLIC_URL } from './fixtures.js'

const invalid = fhirValidator()

t.test('the validator refuses what is not FHIR (so a pass means something)', async (t) => {
  t.not(invalid({ resourceType: 'MeasureReport', status: 'finished', type: 'summary', measure: 'x', period: {} }).length, 0, 'a status outside the value set')
  t.not(invalid({ resourceType: 'MeasureReport', status: 'complete', type: 'summary', measure: 'x', period: {}, group: [{ population: [{ count: 'seven' }] }] }).length, 0)
  t.not(invalid({ resourceType: 'MeasureReport', status: 'complete', type: 'summary', measure: 'x', period: {}, unknownField: 1 }).length, 0)
})

t.test('a totals answer: the group population is the total', async (t) => {
  const report = JSON.parse(render(answerOf({ cells: [{ key: [], count: 180, suppressed: null }] }), 'fhir', { names, publicUrl: PUBLIC_URL }))
  t.same(invalid(report), [])
  t.match(report, {
    resourceType: 'MeasureReport', status: 'complete', type: 'summary',
    measure: 'http://mhx.test/v1/fhir/Measure/migrant-health-contacts',
    period: { start: '2026-01-01', end: '2026-06-30' },
    date: '2026-07-01T10:00:00.000Z',
    subject: { identifier: { value: 'central-asia' } }
  })
  t.equal(report.group.length, 1)
  t.equal(report.group[0].population[0].count, 180)
  t.equal(report.group[0].population[0].code.coding[0].code, 'initial-population')
  t.notOk(report.group[0].stratifier, 'no by, no stratifier')
  const disclosure = report.extension.find((e: { url: string }) => e.url.endsWith('/disclosure'))
  t.same(disclosure.extension, [{ url: 'method', valueCode: 'cellkey' }, { url: 'ptable', valueString: 'v1' }, { url: 'k', valueInteger: 5 }])
})

t.test('one by dimension: strata with a value; protected counts absent with data-absent-reason masked', async (t) => {
  const report = toMeasureReport(answerOf({
    by: ['sex'], region: 'KAZ', from: '2024-02', to: '2024-02',
    cells: [{ key: ['female'], count: null, suppressed: 'primary' }, { key: ['male'], count: 30, suppressed: null }]
  }), PUBLIC_URL, names, 'ru')
  t.same(invalid(report), [])
  t.same(report.period, { start: '2024-02-01', end: '2024-02-29' }, 'a leap February ends on the 29th')
  t.same(report.subject.identifier, { system: 'urn:iso:std:iso:3166', value: 'KAZ' })
  const group = report.group[0] as { population: unknown[], stratifier: Array<{ code: Array<{ coding: Array<{ code: string }> }>, stratum: Array<Record<string, Record<string, unknown> & Array<Record<string, unknown>>>> }> }
  t.same(group.population, [{ code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population', display: 'Initial Population' }] } }], 'with by, the total is not summed from cells')
  const [stratifier] = group.stratifier
  t.same(stratifier.code.map((c) => c.coding[0].code), ['sex'])
  t.same(stratifier.stratum[0].value, { coding: [{ system: 'http://mhx.test/v1/fhir/CodeSystem/sex', code: 'female', display: 'Женский' }], text: 'Женский' })
  t.notOk('count' in stratifier.stratum[0].population[0])
  t.same(stratifier.stratum[0].population[0]._count, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] })
  t.equal(stratifier.stratum[1].population[0].count, 30)
})

t.test('several by dimensions: one stratifier, strata with a component per dimension; absent values not-applicable', async (t) => {
  const report = toMeasureReport(answerOf({
    by: ['country', 'subnationalArea', 'period'],
    cells: [{ key: ['KAZ', 'KZ-75', '2026-01'], count: 12, suppressed: null }, { key: ['KGZ', '_Z', '2026-02'], count: 40, suppressed: null }]
  }), PUBLIC_URL, names)
  t.same(invalid(report), [])
  interface Coded { coding: Array<{ system: string, code: string }> }
  const stratum = (report.group[0] as { stratifier: Array<{ stratum: Array<{ component: Array<{ code: Coded, value: Coded }> }> }> }).stratifier[0].stratum
  t.same(stratum[0].component.map((c) => [c.code.coding[0].code, c.value.coding[0].system, c.value.coding[0].code]), [
    ['country', 'urn:iso:std:iso:3166', 'KAZ'],
    ['subnationalArea', 'urn:iso:std:iso:3166:-2', 'KZ-75'],
    ['period', 'http://mhx.test/v1/fhir/CodeSystem/period', '2026-01']
  ])
  t.same(stratum[1].component[1].value.coding[0], { system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-applicable', display: 'Not Applicable' })
})

t.test('the Measure is valid and names every stratifier', async (t) => {
  const m = measure('migrant-health-contacts', PUBLIC_URL, names)
  t.same(invalid(m), [])
  t.equal(m.url, 'http://mhx.test/v1/fhir/Measure/migrant-health-contacts')
  t.ok(m.group[0].stratifier.some((s) => s.code.coding[0].code === 'ageBand'))
})
