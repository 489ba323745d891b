// FHIR R4: MeasureReports and Measures valid against the FHIR R4 JSON Schema, with the answer's counts.
import t from 'tap'
import { measure, measureOf, MEASURES, toMeasureReport, type MeasureId } from '../../../src/release/formats/fhir.js'
import { capabilityStatement, codeSystem, codeSystemNames, EXTENSION_NAMES, hubOrganization, operationOutcome, structureDefinition, valueSet } from '../../../src/release/formats/fhir-terminology.js'
import { render } from '../../../src/release/formats/index.js'
import { PROBLEM_TYPES, problemFor } from '../../../src/problem.js'
import { fhirValidator } from './standards.js'
import { answerOf, names, PUBLIC_URL, vocabulary } from './fixtures.js'

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
    measure: 'http://mhx.test/v1/fhir/Measure/migrant-health-records',
    period: { start: '2026-01-01', end: '2026-06-30' },
    date: '2026-07-01T10:00:00.000Z',
    subject: { identifier: { system: 'http://mhx.test/v1/fhir/CodeSystem/region', value: 'central-asia' } },
    reporter: { reference: 'http://mhx.test/v1/fhir/Organization/hub', type: 'Organization', display: 'Migrant Health Exchange' }
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
  t.same(stratifier.stratum[0].value, { coding: [{ system: 'http://hl7.org/fhir/administrative-gender', code: 'female', display: 'Женский' }], text: 'Женский' }, 'sex from administrative-gender')
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

t.test('the Measure a report names is the one its answer counts: a filtered record type, else every record', async (t) => {
  t.equal(measureOf(answerOf({ filters: { recordType: ['contact'] } })), 'migrant-health-contacts')
  t.equal(measureOf(answerOf({ filters: { recordType: ['case_notification'], sex: ['male'] } })), 'migrant-health-case-notifications')
  t.equal(measureOf(answerOf({ filters: { recordType: ['contact', 'case_notification'] } })), 'migrant-health-records')
  t.equal(measureOf(answerOf({ by: ['recordType'] })), 'migrant-health-records')
  const report = toMeasureReport(answerOf({ filters: { recordType: ['case_notification'] }, cells: [{ key: [], count: 12, suppressed: null }] }), PUBLIC_URL, names)
  t.equal(report.measure, 'http://mhx.test/v1/fhir/Measure/migrant-health-case-notifications')
})

t.test('each Measure is valid, counts its record type and names every other stratifier', async (t) => {
  for (const id of Object.keys(MEASURES) as MeasureId[]) {
    const m = measure(id, PUBLIC_URL, names)
    t.same(invalid(m), [], `${id}: valid`)
    t.equal(m.url, `http://mhx.test/v1/fhir/Measure/${id}`)
    t.ok(m.group[0].stratifier.some((s) => s.code.coding[0].code === 'ageBand'))
    const { recordType } = MEASURES[id]
    t.equal(m.group[0].stratifier.some((s) => s.code.coding[0].code === 'recordType'), recordType === null, `${id}: stratified by record type only when it counts every type`)
    t.match(m.group[0].population[0].criteria.expression, recordType === null ? /^true$/ : new RegExp(`recordType = '${recordType}'`))
  }
  t.match(measure('migrant-health-contacts', PUBLIC_URL, names).group[0].population[0].criteria.expression, /recordType\.empty\(\)/, 'contacts: 1.0.0 records (no record type) count')
})

t.test('the terminology behind the canonical URLs: every resource valid against the R4 schema', async (t) => {
  const sources = { publicUrl: PUBLIC_URL, names, vocabulary, regions: [{ code: 'central-asia', name: 'Central Asia', members: ['KAZ', 'KGZ'], kind: 'region' as const }] }
  for (const name of codeSystemNames()) {
    const system = codeSystem(name, sources)!
    t.same(invalid(system), [], `CodeSystem ${name}`)
    t.equal(system.url, `http://mhx.test/v1/fhir/CodeSystem/${name}`)
    t.equal(system.valueSet, `http://mhx.test/v1/fhir/ValueSet/${name}`)
    t.same(invalid(valueSet(name, sources)!), [], `ValueSet ${name}`)
  }
  const ageBand = codeSystem('ageBand', sources)!
  t.same(ageBand.concept!.find((c) => c.code === '80+'), { code: '80+', display: '80 years and over', designation: [{ language: 'ru', value: '80 лет и старше' }] })
  t.notOk(codeSystem('conditionGroup', sources)!.concept!.some((c) => c.code === '_Z'), 'absent is a data-absent reason, not a code')
  t.same(codeSystem('region', sources)!.concept!.map((c) => c.code), ['central-asia'])
  t.equal(codeSystem('sex', sources), undefined, 'sex is administrative-gender')
  t.equal(codeSystem('nothing', sources), undefined)
  for (const name of EXTENSION_NAMES) t.same(invalid(structureDefinition(name, PUBLIC_URL)!), [], `StructureDefinition ${name}`)
  t.same(invalid(hubOrganization('hub', PUBLIC_URL)!), [])
  t.same(invalid(capabilityStatement(PUBLIC_URL, '2026-07-01T00:00:00.000Z')), [])
  const outcome = operationOutcome({ ...problemFor(400, 'region: is required', { errors: [{ path: 'region', message: 'is required' }] }), type: `http://mhx.test${PROBLEM_TYPES.badRequest}`, instance: 'req-1' }, PUBLIC_URL)
  t.same(invalid(outcome), [])
  t.match(outcome.issue, [
    { severity: 'error', code: 'invalid', details: { coding: [{ system: 'http://mhx.test/v1/fhir/CodeSystem/problem-type', code: PROBLEM_TYPES.badRequest.split('/').pop() }] }, diagnostics: 'region: is required (request req-1)' },
    { code: 'invalid', diagnostics: 'region: is required' }
  ])
})
