// Property tests of record validation: records generated from the schema file and the catalogs are
// accepted; every single-field mutation that breaks a record is refused with a fault naming the field.
import t from 'tap'
import fc from 'fast-check'
import { randomUUID } from 'node:crypto'
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { v5 as uuidv5 } from 'uuid'
import { dataValueRecordId, uuidV5 } from '../../src/intake/data-value-key.js'
import { defaultSchemasDir, loadSchemaRegistry } from '../../src/intake/registry.js'
import { valueOf, type CanonicalRecord, type RecordFault } from '../../src/intake/registry.js'
import { record } from './intake-fixtures.js'

type Rec = Record<string, unknown>
interface PropertySchema {
  enum?: string[]
  pattern?: string
}
interface Area {
  code: string
  country: string
  validFrom: string | null
  validTo: string | null
}

const SCHEMA = 'migrant-health-event'
const VERSION = '1.0.0'
const dir = defaultSchemasDir()
const readJson = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
const schema = readJson(`${SCHEMA}/${VERSION}.json`) as { properties: Record<string, PropertySchema>, required: string[] }
const countries = (readJson('countries/1.0.0.json').countries as Array<{ alpha3: string }>).map((c) => c.alpha3)
const areas = readJson('subnational-areas/1.0.0.json').areas as Area[]
const reportingCountries = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB', 'RUS', 'TUR', 'DEU']
const enumFields = Object.entries(schema.properties).filter(([, p]) => Array.isArray(p.enum)).map(([field]) => field)

const registry = await loadSchemaRegistry()
const validate = (records: unknown[], reportingCountry: string, maxErrors?: number) =>
  registry.validate(SCHEMA, VERSION, records, { reportingCountry, maxErrors })

// mostly recent months, so that sub-national validity windows matter; sometimes any month the pattern allows
const periodArb = fc.oneof(
  fc.tuple(fc.integer({ min: 2015, max: 2030 }), fc.integer({ min: 1, max: 12 })).map(([y, m]) => `${y}-${String(m).padStart(2, '0')}`),
  fc.stringMatching(new RegExp(schema.properties.period.pattern as string))
)

function areasValidFor (country: string, period: string): string[] {
  return areas
    .filter((a) => a.country === country && (a.validFrom === null || a.validFrom <= period) && (a.validTo === null || period <= a.validTo))
    .map((a) => a.code)
}

/** Arbitrary field values from the schema file: enums as they are, codes from their pattern or their catalog. */
function fieldArb (field: string, property: PropertySchema, reportingCountry: string): fc.Arbitrary<unknown> {
  if (property.enum) return fc.constantFrom(...property.enum)
  if (field === 'countryOfOrigin') return fc.constantFrom(...countries, 'unknown')
  if (field === 'reportingCountry') return fc.constant(reportingCountry)
  if (field === 'period') return periodArb
  return fc.stringMatching(new RegExp(property.pattern as string))
}

// building a stringMatching arbitrary is costly: one record arbitrary per reporting country
const recordArbs = new Map<string, fc.Arbitrary<Rec>>()
function recordArb (reportingCountry: string): fc.Arbitrary<Rec> {
  let arb = recordArbs.get(reportingCountry)
  if (!arb) {
    arb = buildRecordArb(reportingCountry)
    recordArbs.set(reportingCountry, arb)
  }
  return arb
}

function buildRecordArb (reportingCountry: string): fc.Arbitrary<Rec> {
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [field, property] of Object.entries(schema.properties)) {
    if (field !== 'subnationalArea') model[field] = fieldArb(field, property, reportingCountry)
  }
  return fc.record(model, { requiredKeys: schema.required }).chain((record) => {
    const codes = areasValidFor(reportingCountry, record.period as string)
    if (codes.length === 0) return fc.constant(record as Rec)
    return fc.option(fc.constantFrom(...codes), { nil: undefined }).map((area) => (area ? { ...record, subnationalArea: area } : record) as Rec)
  })
}

function batchArb (minLength: number): fc.Arbitrary<{ country: string, records: Rec[] }> {
  return fc.constantFrom(...reportingCountries).chain((country) =>
    fc
      .uniqueArray(recordArb(country), { selector: (r) => String(r.recordId).toLowerCase(), minLength, maxLength: 12 })
      .map((records) => ({ country, records }))
  )
}

const freeText = ['Aibek Nurlanov', '850101350123', 'AN1234567', 'Almaty, Abay ave 10', '+7 701 123 4567', '1985-01-01']

interface Mutation {
  label: string
  /** the field the fault must name; '' for the record as a whole */
  field: string
  apply: (record: Rec, country: string) => unknown
}

const set = (field: string, value: unknown) => (record: Rec) => ({ ...record, [field]: value })

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // a value outside an enum, including free text and wrong JSON types
  fc
    .tuple(fc.constantFrom(...enumFields), fc.constantFrom<unknown>(...freeText, 'FEMALE', 'Male', '', ' ', 42, null, true, ['female'], {}))
    .filter(([field, value]) => !(schema.properties[field].enum as unknown[]).includes(value))
    .map(([field, value]) => ({ label: `${field}=${JSON.stringify(value)}`, field, apply: set(field, value) })),
  fc
    .constantFrom<unknown>('2026-03-15', '2026-03-15T10:00:00Z', '2026-3', '2026-13', '2026-00', '03.2026', 202603, '')
    .map((value) => ({ label: `period=${JSON.stringify(value)}`, field: 'period', apply: set('period', value) })),
  fc
    .constantFrom<unknown>(...freeText, '3f1c2b4a1d2e4f5a8b9c0d1e2f3a4b5c', 'g3f1c2b4-1d2e-4f5a-8b9c-0d1e2f3a4b5c', 12345, '')
    .map((value) => ({ label: `recordId=${JSON.stringify(value)}`, field: 'recordId', apply: set('recordId', value) })),
  fc
    .constantFrom<unknown>('Kazakhstan', 'KZ', 'kaz', 'XXX', 'ZZZ', 'Unknown', ...freeText, 398)
    .map((value) => ({ label: `countryOfOrigin=${JSON.stringify(value)}`, field: 'countryOfOrigin', apply: set('countryOfOrigin', value) })),
  fc
    .constantFrom<unknown>('tuberculosis', 'a15', 'A15.123', 'A1', 'A150', ...freeText)
    .map((value) => ({ label: `condition=${JSON.stringify(value)}`, field: 'condition', apply: set('condition', value) })),
  fc.constantFrom(...areas).map((area) => ({
    label: `subnationalArea of another country (${area.code})`,
    field: 'subnationalArea',
    apply: (record: Rec, country: string) => (area.country === country ? set('subnationalArea', 'XX-1')(record) : set('subnationalArea', area.code)(record))
  })),
  fc
    .constantFrom<unknown>('KZ-99', 'Almaty', 'kz-75', 'KZ-75-01', ...freeText)
    .map((value) => ({ label: `subnationalArea=${JSON.stringify(value)}`, field: 'subnationalArea', apply: set('subnationalArea', value) })),
  fc.constantFrom(...countries).map((other) => ({
    label: `reportingCountry=${other}`,
    field: 'reportingCountry',
    apply: (record: Rec, country: string) => set('reportingCountry', other === country ? 'ZZZ' : other)(record)
  })),
  fc
    .tuple(fc.constantFrom('name', 'fullName', 'passportNumber', 'nationalId', 'iin', 'dateOfBirth', 'address', 'phone', 'legalStatus', 'visaType', 'notes', 'period2'), fc.constantFrom(...freeText))
    .map(([field, value]) => ({ label: `unknown field ${field}`, field, apply: set(field, value) })),
  fc.constantFrom(...schema.required).map((field) => ({
    label: `missing ${field}`,
    field,
    apply: (record: Rec) => {
      const copy = { ...record }
      delete copy[field]
      return copy
    }
  })),
  fc.constantFrom('__proto__', 'constructor', 'prototype').map((field) => ({
    label: `own ${field} key`,
    field,
    // JSON.parse makes __proto__ an own key, as a request body would
    apply: (record: Rec) => JSON.parse(JSON.stringify(record).replace('{', `{"${field}":{"isAdmin":true},`))
  })),
  fc.constantFrom<unknown>(null, [], 'record', 7, true).map((value) => ({ label: `record=${JSON.stringify(value)}`, field: '', apply: () => value }))
)

// tap assertions inside properties are slow by the thousand: collect problems instead
function canonicalProblems (record: Rec, canonical: CanonicalRecord, country: string): string[] {
  const problems: string[] = []
  const value = (field: string) => field === 'recordId' ? canonical.recordId : valueOf(canonical, field)
  if (value('reportingCountry') !== country) problems.push(`reportingCountry ${value('reportingCountry')}`)
  if (value('conditionGroup') !== (registry.conditionGroup(record.condition as string | undefined) ?? '_Z')) problems.push('conditionGroup')
  if (canonical.count !== 1) problems.push(`count ${canonical.count}`)
  for (const field of Object.keys(schema.properties)) {
    const expected = field === 'reportingCountry' ? country : field === 'recordId' ? String(record.recordId).toLowerCase() : (record[field] ?? '_Z')
    if (value(field) !== expected) problems.push(`${field}: ${value(field)} instead of ${String(expected)}`)
  }
  // fields of a later version are absent, never dropped or invented; a 1.0.0 record is a contact
  if (value('recordType') !== 'contact') problems.push(`recordType ${value('recordType')}, not contact`)
  for (const field of ['returnedFrom', 'tbOutcome', 'serviceCoverage']) if (value(field) !== '_Z') problems.push(`${field} not _Z`)
  return problems
}

function faultsOnlyAt (faults: RecordFault[], index: number): boolean {
  return faults.every((fault) => fault.index === index)
}

t.test('records generated from the schema and catalogs are valid', async (t) => {
  fc.assert(
    fc.property(batchArb(0), ({ country, records }) => {
      const result = validate(records, country)
      if (result.faults.length > 0) throw new Error(JSON.stringify(result.faults))
      if (result.records.length !== records.length) throw new Error('records missing from the result')
      for (const [i, canonical] of result.records.entries()) {
        const problems = canonicalProblems(records[i], canonical, country)
        if (problems.length > 0) throw new Error(problems.join('; '))
      }
      return true
    }),
    { numRuns: 200 }
  )
  t.pass('200 generated batches accepted')
})

t.test('every single-field mutation is refused with a fault naming the field', async (t) => {
  fc.assert(
    fc.property(batchArb(1), fc.nat(), mutationArb, ({ country, records }, pick, mutation) => {
      const index = pick % records.length
      const batch: unknown[] = records.slice()
      batch[index] = mutation.apply({ ...records[index] }, country)
      const result = validate(batch, country)
      const expectedPath = mutation.field === '' ? '' : `/${mutation.field}`
      const fault = result.faults.find((f) => f.path === expectedPath)
      const ok
        = fault !== undefined
          && fault.index === index
          && fault.message.includes(mutation.field === '' ? 'record' : mutation.field)
          && faultsOnlyAt(result.faults, index)
          && result.records.length === 0
      if (!ok) throw new Error(`${mutation.label}: ${JSON.stringify(result.faults)}`)
      return true
    }),
    { numRuns: 1000 }
  )
  t.pass('1000 mutated batches refused')
})

t.test('a recordId twice in one batch is a fault on the second occurrence', async (t) => {
  fc.assert(
    fc.property(batchArb(2), fc.nat(), fc.nat(), fc.boolean(), ({ country, records }, a, b, upper) => {
      const first = a % (records.length - 1)
      const second = first + 1 + (b % (records.length - first - 1))
      const batch = records.slice()
      const id = String(records[first].recordId)
      batch[second] = { ...records[second], recordId: upper ? id.toUpperCase() : id }
      const result = validate(batch, country)
      const ok
        = result.faults.length === 1
          && result.faults[0].index === second
          && result.faults[0].path === '/recordId'
          && result.faults[0].message.includes(`first at index ${first}`)
      if (!ok) throw new Error(JSON.stringify(result.faults))
      return true
    }),
    { numRuns: 200 }
  )
  t.pass()
})

t.test('sub-national areas are checked against their validity window', async (t) => {
  const base = record({ encounter: 'antenatal_care' })
  const check = (area: string, period: string) => validate([{ ...base, subnationalArea: area, period }], 'KAZ').faults
  t.same(check('KZ-10', '2022-11'), [], 'Abai from its first month')
  t.same(check('KZ-ALA', '2022-10'), [], 'old letter code until its last month')
  t.same(check('KZ-75', '2026-03'), [])
  t.match(check('KZ-10', '2022-05'), [{ path: '/subnationalArea', message: /KZ-10 is valid from 2022-11, not in period 2022-05/ }])
  t.match(check('KZ-ALA', '2024-01'), [{ path: '/subnationalArea', message: /KZ-ALA is valid until 2022-10, not in period 2024-01; it became KZ-75/ }])
  t.match(check('KG-GB', '2024-01'), [{ path: '/subnationalArea', message: /belongs to KGZ, not to the reporting country KAZ/ }])
  t.match(check('KZ-99', '2024-01'), [{ path: '/subnationalArea', message: /KZ-99 is not/ }])
  const kazNow = areas.filter((a) => a.country === 'KAZ' && a.validTo === null)
  const kazOld = areas.filter((a) => a.country === 'KAZ' && a.validTo === '2022-10')
  t.equal(kazNow.length, 20, 'Kazakhstan has 20 first-level units since 2022-11')
  t.equal(kazOld.length, 17, 'and 17 letter codes before')
})

t.test('messages say what is expected', async (t) => {
  const record: Rec = { recordId: randomUUID(), period: '2026-03-15', countryOfOrigin: 'KAZ', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'M', ageBand: '25-29', encounter: 'other', insurance: 'public', name: 'Aibek Nurlanov', reportingCountry: 'KGZ' }
  const { faults } = validate([record], 'KAZ')
  t.match(faults, [
    { index: 0, path: '/name', message: 'unknown field "name" (records are closed: no free text or identifiers)' },
    { index: 0, path: '/period', message: /^period must be a month YYYY-MM/ },
    { index: 0, path: '/sex', message: 'sex must be one of female, male, other, unknown' },
    { index: 0, path: '/reportingCountry', message: /reportingCountry must be your own country KAZ/ }
  ])
  const missing = validate([{ ...record, name: undefined, period: '2026-03', sex: undefined, reportingCountry: undefined }].map((r) => JSON.parse(JSON.stringify(r))), 'KAZ')
  t.same(missing.faults, [{ index: 0, path: '/sex', message: 'sex is required: one of female, male, other, unknown' }])
})

t.test('faults are capped at maxErrors and the rest counted', async (t) => {
  const bad = Array.from({ length: 150 }, () => ({ recordId: 'x' }))
  const capped = validate(bad, 'KAZ')
  const all = validate(bad, 'KAZ', 100000)
  t.equal(capped.faults.length, 100)
  t.equal(capped.faultsOmitted, all.faults.length - 100)
  const three = validate(bad, 'KAZ', 3)
  t.equal(three.faults.length, 3)
  t.equal(three.faultsOmitted, all.faults.length - 3)
  t.same(capped.records, [])
})

t.test('condition groups come from the catalog', async (t) => {
  const expected: Array<[string | undefined, string | null]> = [
    ['A15', 'tb'], ['A19.9', 'tb'], ['A20', 'other'], ['B20', 'hiv'], ['B24', 'hiv'], ['Z21', 'hiv'], ['B15.9', 'viral_hepatitis'],
    ['A50.1', 'sti'], ['A64', 'sti'], ['O00', 'maternal'], ['O80.1', 'maternal'], ['F32.1', 'mental_health'], ['S72.0', 'injury'],
    ['T98.3', 'injury'], ['W19', 'injury'], ['I10', 'cardiovascular'], ['E11.9', 'diabetes'], ['E15', 'other'], ['J18.9', 'respiratory'],
    ['U07.1', 'covid19'], ['U07.2', 'covid19'], ['U07.3', 'other'], ['U09.9', 'covid19'], ['Z00.0', 'other'], [undefined, null]
  ]
  for (const [code, group] of expected) t.equal(registry.conditionGroup(code), group, `${code} → ${group}`)
  t.same(registry.conditionGroupNames(), ['tb', 'hiv', 'viral_hepatitis', 'sti', 'covid19', 'maternal', 'mental_health', 'injury', 'cardiovascular', 'diabetes', 'respiratory', 'other'])
  t.throws(() => registry.conditionGroup('A15', '9.9.9'))
})

t.test('the registry lists and serves every file', async (t) => {
  t.same(
    registry.list().map((e) => `${e.kind} ${e.name}@${e.version}`),
    ['catalog condition-groups@1.0.0', 'catalog countries@1.0.0', 'catalog cross-field-rules@1.0.0', 'catalog cross-field-rules@1.1.0', 'catalog icd10-categories@1.0.0', 'catalog indicators@1.0.0', 'catalog labels@1.0.0',
      'record-schema migrant-health-aggregate@1.0.0', 'record-schema migrant-health-aggregate@1.1.0',
      `record-schema ${SCHEMA}@${VERSION}`, `record-schema ${SCHEMA}@1.1.0`, 'catalog populations@1.0.0', 'catalog subnational-areas@1.0.0']
  )
  t.ok(registry.has(SCHEMA, VERSION))
  t.notOk(registry.has('countries', '1.0.0'), 'a catalog is not a record schema')
  t.notOk(registry.has(SCHEMA, '9.9.9'))
  t.same(registry.document(SCHEMA, VERSION), schema)
  t.ok(Object.isFrozen(registry.document(SCHEMA, VERSION)), 'served documents cannot be changed by a caller')
  t.equal(registry.document(SCHEMA, '9.9.9'), undefined)
  t.same(registry.fields(SCHEMA, VERSION), Object.keys(schema.properties))
  t.ok(registry.isCountry('KAZ'))
  t.notOk(registry.isCountry('XXX'))
  t.equal(registry.subnationalArea('KZ-75')?.country, 'KAZ')
  t.throws(() => registry.validate('countries', '1.0.0', [], { reportingCountry: 'KAZ' }), 'a catalog is not a record schema')
})

t.test('a malformed schemas folder stops the load', async (t) => {
  const tmp = await mkdtemp(path.join(tmpdir(), 'mhx-schemas-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  await mkdir(path.join(tmp, 'thing'))
  await writeFile(path.join(tmp, 'thing', 'latest.json'), '{}')
  await t.rejects(loadSchemaRegistry(tmp), /not laid out as <name>\/<major.minor.patch>.json/)
  await rm(path.join(tmp, 'thing'), { recursive: true })
  await mkdir(path.join(tmp, 'thing'))
  await writeFile(path.join(tmp, 'thing', '1.0.0.json'), JSON.stringify({ name: 'other', version: '1.0.0', description: 'x' }))
  await t.rejects(loadSchemaRegistry(tmp), /must have name "thing"/)
})

t.test('10,000 valid records come back whole, in input order, with their recordIds lower-cased', async (t) => {
  // the speed of this path is bench/intake.ts's to measure (a timed assertion here failed on a loaded machine or under coverage)
  const sample = fc.sample(recordArb('KAZ'), { numRuns: 10000, seed: 42 }).map((r, i) => ({ ...r, recordId: i % 2 ? randomUUID().toUpperCase() : randomUUID() }))
  const result = validate(sample, 'KAZ')
  t.same(result.faults, [])
  t.equal(result.records.length, 10000)
  t.ok(result.records.every((r, i) => r.recordId === String(sample[i].recordId).toLowerCase() && r.count === 1), 'each in its place, recordId lower-cased, counting one')
})

t.test('a data value key is the RFC 9562 UUIDv5 the uuid package computes', async (t) => {
  const namespace = '6f1c5d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
  for (const name of ['', 'kaz-ministry\t2026-03\tKAZ\t_Z', 'ü€𝄞 '.repeat(40), 'ж'.repeat(700), 'after a long one']) t.equal(uuidV5(name), uuidv5(name, namespace), JSON.stringify(name.slice(0, 12)))
})

t.test('a data value\'s recordId is the UUIDv5 of its reporter and values', async (t) => {
  const namespace = '6f1c5d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
  const calls: Array<[string, string[]]> = [
    ['kaz-ministry', ['2026-03', 'KAZ', '_Z']],
    ['uzb-ministry', ['ж'.repeat(900), 'ü€𝄞']],
    ['ё€𝄞-partner', ['2026-05', 'TJK', '_Z']]
  ]
  for (const [reporter, values] of calls) {
    t.equal(dataValueRecordId(reporter, values), uuidv5(`${reporter}\t${values.join('\t')}`, namespace), `${reporter} ${values.join(' ').slice(0, 20)}`)
  }
})
