// SDMX: the structure message, and SDMX-CSV that carries every dimension, TIME_PERIOD and only published codes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { SDMX_NAME, type Dimension } from '../../../src/release/dimensions.js'
import { render } from '../../../src/release/formats/index.js'
import { DIMENSION_FIELDS } from '../../../src/model/fields.js'
import { recordCode, SDMX_DIMENSIONS, sdmxCode, sdmxDimensions, sdmxFault, sdmxStructure, SDMX_VERSION, SDMX_VERSIONS, spanTimePeriod } from '../../../src/release/formats/sdmx.js'
import { answerOf, names, PUBLIC_URL, vocabulary } from './fixtures.js'
import { sdmxJsonValidator } from './standards.js'

const REGIONS = [{ code: 'central-asia', name: 'Central Asia', members: ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'], kind: 'region' as const }]
const structure = sdmxStructure({ names, vocabulary, regions: REGIONS }, '2026-07-01T00:00:00.000Z')
const invalidStructure = sdmxJsonValidator('structure-2.0.0')
/** SDMX 3.0 IDType. */
const SDMX_ID = /^[A-Za-z0-9_@$-]+$/

function codelistOf (column: string): Set<string> {
  const dsd = structure.data.dataStructures[0]
  const dim = dsd.dataStructureComponents.dimensionList.dimensions.find((d) => d.id === column)
  const attribute = dsd.dataStructureComponents.attributeList.attributes.find((a) => a.id === column)
  const urn = (dim ?? attribute)!.localRepresentation.enumeration
  const id = /Codelist=MHX:(\w+)\(/.exec(urn)![1]
  return new Set(structure.data.codelists.find((c) => c.id === id)!.codes.map((c) => c.id))
}

t.test('the structure: every dimension in a fixed order, TIME_PERIOD last, codelists in English and Russian', async (t) => {
  const dsd = structure.data.dataStructures[0]
  const { dimensions, timeDimensions } = dsd.dataStructureComponents.dimensionList
  t.same([...dimensions.map((d) => d.id), ...timeDimensions.map((d) => d.id)], SDMX_DIMENSIONS.map((d) => SDMX_NAME[d]))
  t.same(dimensions.map((d) => d.position), dimensions.map((_, i) => i))
  t.equal(dimensions[0].id, 'REF_AREA')
  t.equal(timeDimensions[0].id, 'TIME_PERIOD')
  t.same(dsd.dataStructureComponents.attributeList.attributes.map((a) => a.id), ['OBS_STATUS', 'CONF_STATUS'])
  t.same(dsd.dataStructureComponents.measureList.measures.map((m) => m.id), ['OBS_VALUE'])
  t.equal(structure.data.dataflows[0].structure, `urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=MHX:MIGRANT_HEALTH(${SDMX_VERSION})`)
  for (const list of structure.data.codelists) {
    t.ok(list.names.en && list.names.ru, `${list.id} is named in both languages`)
    const bad = list.codes.filter((c) => !SDMX_ID.test(c.id) || !c.names.en || !c.names.ru).map((c) => c.id)
    t.same(bad, [], `${list.id}: every code a valid id with both names`)
    t.equal(new Set(list.codes.map((c) => c.id)).size, list.codes.length, `${list.id}: no code twice`)
  }
  t.ok(codelistOf('REF_AREA').has('central-asia'), 'stored regions are areas')
  t.ok(codelistOf('REF_AREA').has('KAZ'))
  t.notOk(codelistOf('REF_AREA').has('_T'), 'REF_AREA is never summed out: it is the region')
  t.ok(codelistOf('AGE_BAND').has('Y_GE80') && codelistOf('AGE_BAND').has('Y0T4') && codelistOf('AGE_BAND').has('_T'))
  t.ok(codelistOf('SUBNATIONAL_AREA').has('KZ-75') && codelistOf('SUBNATIONAL_AREA').has('_Z'))
  const kaz = structure.data.codelists.find((c) => c.id === 'CL_AREA')!.codes.find((c) => c.id === 'KAZ')!
  t.same(kaz.names, { en: 'Kazakhstan', ru: 'Казахстан' })
  const y80 = structure.data.codelists.find((c) => c.id === 'CL_AGE_BAND')!.codes.find((c) => c.id === 'Y_GE80')!
  t.same(y80.names, { en: '80 years and over', ru: '80 лет и старше' })
})

t.test('the structure follows the fields: a version per set of dimensions, each valid against SDMX-JSON 2.0.0', async (t) => {
  t.same(SDMX_VERSIONS, ['1.0.0', '1.1.0'], 'the versions of the record schema that added a dimension')
  t.equal(SDMX_VERSION, '1.1.0')
  const newest = sdmxDimensions('1.1.0').map((d) => SDMX_NAME[d])
  t.same(newest.slice(-5), ['RECORD_TYPE', 'RETURNED_FROM', 'TB_OUTCOME', 'SERVICE_COVERAGE', 'TIME_PERIOD'])
  t.same(sdmxDimensions('1.0.0').map((d) => SDMX_NAME[d]), newest.filter((id) => !['RECORD_TYPE', 'RETURNED_FROM', 'TB_OUTCOME', 'SERVICE_COVERAGE'].includes(id)), '1.0.0: the dimensions of the 1.0.0 fields')
  t.equal(sdmxDimensions('1.1.0').length, DIMENSION_FIELDS.length, 'every dimension field is a dimension of the newest structure')
  t.not(invalidStructure({ data: { dataStructures: [{ agencyID: 'MHX' }] } }).length, 0, 'the validator refuses a data structure without an id (so a pass means something)')
  for (const version of SDMX_VERSIONS) {
    const message = sdmxStructure({ names, vocabulary, regions: REGIONS }, '2026-07-01T00:00:00.000Z', version)
    t.same(invalidStructure(message), [], `${version}: valid against structure-2.0.0.schema.json`)
    const dsd = message.data.dataStructures[0]
    t.equal(dsd.version, version)
    t.same([...dsd.dataStructureComponents.dimensionList.dimensions.map((d) => d.id), 'TIME_PERIOD'], sdmxDimensions(version).map((d) => SDMX_NAME[d]))
    t.ok(message.data.codelists.every((c) => c.version === version) && message.data.dataflows[0].version === version)
    t.equal(new Set(message.data.codelists.map((c) => c.id)).size, message.data.codelists.length, 'no codelist twice')
  }
  t.match(sdmxStructure({ names, vocabulary, regions: REGIONS }, '2026-07-01T00:00:00.000Z', '1.0.0').data.dataStructures[0].description, /RECORD_TYPE contact of version 1\.1\.0/, '1.0.0 says what its data count')
})

t.test('every codelist holds every code its field can take, named in English and Russian', async (t) => {
  const returned = codelistOf('RETURNED_FROM')
  t.ok(['RUS', 'TUR', 'KAZ', '_Z', '_T'].every((c) => returned.has(c)), 'RETURNED_FROM: countries, _Z, _T')
  t.ok(codelistOf('COUNTRY_OF_ORIGIN').has('unknown') && codelistOf('COUNTRY_OF_ORIGIN').has('UZB'))
  t.ok(['contact', 'case_notification', '_T'].every((c) => codelistOf('RECORD_TYPE').has(c)))
  t.ok(['cured', 'not_evaluated', '_Z', '_T'].every((c) => codelistOf('TB_OUTCOME').has(c)))
  t.ok(['covered', 'not_covered', '_Z', '_T'].every((c) => codelistOf('SERVICE_COVERAGE').has(c)))
  for (const field of DIMENSION_FIELDS.filter((f) => f.codes)) {
    const list = codelistOf(field.sdmx!)
    const missing = field.codes!.map((c) => sdmxCode(field.dimension as Dimension, c)).filter((c) => !list.has(c))
    t.same(missing, [], `${field.sdmx}: every code of the field`)
  }
  const rus = structure.data.codelists.find((c) => c.id === 'CL_RETURNED_FROM')!.codes.find((c) => c.id === 'RUS')!
  t.same(rus.names, { en: 'Russian Federation', ru: 'Российская Федерация' }, 'a country a migrant returned from is named as a country')
  const unnamed = structure.data.codelists.flatMap((list) => list.codes.filter((c) => c.id !== '_Z' && c.id !== '_T' && c.name === c.id).map((c) => `${list.id}:${c.id}`))
  t.same(unnamed, [], 'every code has a name of its own')
})

t.test('age bands become SDMX ids and back; other codes stay', async (t) => {
  for (const band of DIMENSION_FIELDS.find((f) => f.dimension === 'ageBand')!.codes!) t.equal(recordCode('ageBand', sdmxCode('ageBand', band)), band)
  t.equal(sdmxCode('ageBand', '0-4'), 'Y0T4')
  t.equal(sdmxCode('ageBand', '15-19'), 'Y15T19')
  t.equal(sdmxCode('ageBand', '80+'), 'Y_GE80')
  t.equal(sdmxCode('ageBand', 'unknown'), 'unknown')
  t.equal(sdmxCode('ageBand', '_T'), '_T')
  t.equal(sdmxCode('sex', 'female'), 'female')
})

t.test('TIME_PERIOD of an answer not by period: the period when whole, else a time range', async (t) => {
  t.equal(spanTimePeriod(answerOf({ from: '2026-03', to: '2026-03' })), '2026-03')
  t.equal(spanTimePeriod(answerOf({ from: '2026-04', to: '2026-06', periodType: 'quarter' })), '2026-Q2')
  t.equal(spanTimePeriod(answerOf({ from: '2026-01', to: '2026-12', periodType: 'year' })), '2026')
  t.equal(spanTimePeriod(answerOf({ from: '2026-01', to: '2026-06' })), '2026-01-01/P6M')
  t.equal(spanTimePeriod(answerOf({ from: '2025-11', to: '2026-02' })), '2025-11-01/P4M')
})

t.test('a filter of several values outside by is refused, naming the parameter', async (t) => {
  t.equal(sdmxFault({ region: 'KAZ', by: 'country', country: 'KAZ,KGZ' }), undefined, 'several values of a by dimension are several cells')
  t.equal(sdmxFault({ region: 'KAZ', sex: 'female' }), undefined, 'one value is that code')
  const fault = sdmxFault({ region: 'KAZ', by: 'ageBand', sex: 'female,male' })
  t.match(fault, { status: 400, extra: { errors: [{ path: 'sex' }] } })
})

t.test('answers of several shapes load into one table: same columns, no key twice, every code published', async (t) => {
  const shapes = [
    answerOf({ by: [], cells: [{ key: [], count: 180, suppressed: null }] }),
    answerOf({ by: ['country', 'sex'], cells: [{ key: ['KAZ', 'female'], count: 9, suppressed: null }, { key: ['KGZ', 'male'], count: null, suppressed: 'primary' }] }),
    answerOf({ by: ['period', 'ageBand'], cells: [{ key: ['2026-01', '80+'], count: 6, suppressed: null }, { key: ['2026-02', '0-4'], count: 11, suppressed: null }] }),
    answerOf({ by: ['period'], periodType: 'quarter', cells: [{ key: ['2026-Q1'], count: 100, suppressed: null }] }),
    answerOf({ by: ['conditionGroup'], filters: { sex: ['female'], country: ['KAZ'] }, cells: [{ key: ['_Z'], count: 20, suppressed: null }, { key: ['tb'], count: 8, suppressed: null }] }),
    answerOf({ by: ['subnationalArea'], region: 'KAZ', disclosure: { method: 'none', ptable: null }, cells: [{ key: ['KZ-75'], count: null, suppressed: 'primary' }] })
  ]
  const tables = shapes.map((a) => parse(render(a, 'sdmx', { names, publicUrl: PUBLIC_URL }), { columns: true }) as Record<string, string>[])
  const header = Object.keys(tables[0][0])
  t.same(header, ['STRUCTURE', 'STRUCTURE_ID', 'ACTION', ...SDMX_DIMENSIONS.map((d) => SDMX_NAME[d]), 'OBS_VALUE', 'OBS_STATUS', 'CONF_STATUS'])
  const rows = tables.flat()
  t.ok(tables.every((table) => table.every((row) => Object.keys(row).join() === header.join())), 'the same columns in every answer')
  const keys = rows.map((row) => SDMX_DIMENSIONS.map((d) => row[SDMX_NAME[d]]).join('|'))
  t.equal(new Set(keys).size, keys.length, 'no key collides')
  const unpublished: string[] = []
  for (const row of rows) {
    for (const column of [...SDMX_DIMENSIONS.filter((d) => d !== 'period').map((d) => SDMX_NAME[d]), 'OBS_STATUS', 'CONF_STATUS']) {
      if (!codelistOf(column).has(row[column])) unpublished.push(`${column}=${row[column]}`)
    }
    if (!/^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-\d{2}-01\/P\d+M)?$/.test(row.TIME_PERIOD)) unpublished.push(`TIME_PERIOD=${row.TIME_PERIOD}`)
  }
  t.same(unpublished, [])
  t.same(tables[0][0], {
    ...tables[0][0], REF_AREA: 'central-asia', SEX: '_T', AGE_BAND: '_T', SUBNATIONAL_AREA: '_T', TIME_PERIOD: '2026-01-01/P6M', OBS_VALUE: '180', OBS_STATUS: 'E', CONF_STATUS: 'F'
  }, 'a totals read: the region, _T everywhere, the span as a time range, perturbed')
  t.match(tables[1][1], { REF_AREA: 'KGZ', SEX: 'male', OBS_VALUE: '', OBS_STATUS: 'O', CONF_STATUS: 'A' }, 'a protected cell')
  t.match(tables[2][0], { TIME_PERIOD: '2026-01', AGE_BAND: 'Y_GE80' })
  t.match(tables[4][0], { REF_AREA: 'KAZ', SEX: 'female', CONDITION_GROUP: '_Z' }, 'a one-value filter is that code')
  t.match(tables[5][0], { REF_AREA: 'KAZ', SUBNATIONAL_AREA: 'KZ-75', OBS_STATUS: 'O', CONF_STATUS: 'A' })
  const exact = parse(render(answerOf({ disclosure: { method: 'none', ptable: null }, cells: [{ key: [], count: 4, suppressed: null }] }), 'sdmx', { names, publicUrl: PUBLIC_URL }), { columns: true }) as Record<string, string>[]
  t.equal(exact[0].OBS_STATUS, 'A', 'an exact count is a normal value')
})

/**
 * The table of dimensions docs/formats.md shows, made from the structure messages of every version (no stored
 * region: the doc says that REF_AREA adds them): a position, concept, name, codelist, codes and first version.
 */
export function structureTable (): string {
  const messages = SDMX_VERSIONS.map((version) => sdmxStructure({ names, vocabulary, regions: [] }, '2026-01-01T00:00:00.000Z', version))
  const newest = messages.at(-1)!
  const { dimensions, timeDimensions } = newest.data.dataStructures[0].dataStructureComponents.dimensionList
  const since = (id: string) => SDMX_VERSIONS.find((_, i) => [...messages[i].data.dataStructures[0].dataStructureComponents.dimensionList.dimensions, { id: 'TIME_PERIOD' }].some((d) => d.id === id))
  const rows = [...dimensions, ...timeDimensions].map((d, i) => {
    const representation = d.localRepresentation as { enumeration?: string }
    if (!representation.enumeration) return `| ${i + 1} | \`${d.id}\` | ${newest.data.conceptSchemes[0].concepts.find((c) => c.id === d.id)!.name} | – | \`2026-03\`, \`2026-Q1\`, \`2026\`, \`2026-01-01/P6M\` | ${since(d.id)} |`
    const list = newest.data.codelists.find((c) => representation.enumeration!.includes(`Codelist=MHX:${c.id}(`))!
    const ids = list.codes.map((c) => c.id)
    const special = ids.filter((id) => ['unknown', '_Z', '_T'].includes(id))
    const codes = ids.length <= 20
      ? ids.map((id) => `\`${id}\``).join(', ')
      : `${ids.length - special.length} codes (${ids.slice(0, 3).map((id) => `\`${id}\``).join(', ')} …)${special.length > 0 ? `, ${special.map((id) => `\`${id}\``).join(', ')}` : ''}`
    return `| ${i + 1} | \`${d.id}\` | ${list.name} | \`${list.id}\` | ${codes} | ${since(d.id)} |`
  })
  return ['| # | concept | name | codelist | codes | since |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n')
}

t.test('docs/formats.md shows the structure as it is (its table of dimensions is made from the structure)', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '../../../docs/formats.md'), 'utf8')
  const block = /<!-- sdmx-dimensions: begin[^>]*-->\n([\s\S]*?)\n<!-- sdmx-dimensions: end -->/.exec(doc)
  t.ok(block, 'the doc has the table between its markers')
  const expected = structureTable()
  t.equal(block?.[1], expected, `docs/formats.md, "SDMX": replace the table between the markers with\n${expected}`)
  t.match(doc, `MHX:MIGRANT_HEALTH(${SDMX_VERSION})`, 'the doc names the newest version')
})
