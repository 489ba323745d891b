// Record model 1.1 and aggregate intake: a 1.1 field from intake to an answer, every cross-field
// rule refused with its own message, counts as JSON, ADX and DHIS2 dataValueSets joining the same
// cells as the equivalent records, duplicates (409), retraction, and bad documents refused whole.
// @server-only: aggregate intake and its answers; the worker only makes the counts readable
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { CELL_COLUMNS } from '../../src/model/cells.js'
import { buildTestHub, startTestAggregation } from '../helpers.js'
import { reporterOf, type Rec } from './intake-fixtures.js'

const hub = await buildTestHub(t)
const db = hub.database.db
await startTestAggregation(t, hub)
// Tajikistan's ministry reads its own country: exact counts (cell-key perturbation is for other readers).
const reader = await hub.partner({ roles: ['reader'], country: 'TJK', grants: [{ region: 'TJK' }] })
const readerAuth = { authorization: `Bearer ${await hub.token(reader)}` }

const V11 = { schema: 'migrant-health-event', version: '1.1.0' }
const AGG = { schema: 'migrant-health-aggregate', version: '1.0.0' }

function record11 (overrides: Rec = {}): Rec {
  return {
    recordId: randomUUID(), recordType: 'contact', period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant',
    migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none', ...overrides
  }
}

function dataValue (overrides: Rec = {}): Rec {
  const { recordId: _, ...rest } = record11(overrides)
  return { count: 1, ...rest }
}

/** The cells of a country as sorted dimension rows with counts (every column). */
async function cellsOf (country: string): Promise<string[]> {
  const found = await rows<Record<string, unknown>>(db, sql`SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count FROM cells WHERE country = ${country}`)
  return found.map((c) => CELL_COLUMNS.map((col) => String(c[col])).join('|') + `=${String(c.count)}`).sort()
}

t.test('a 1.1 field goes from intake to an aggregate answer, JSON and CSV', async (t) => {
  const tjk = await reporterOf(hub, 'TJK')
  const recs = [
    ...Array.from({ length: 6 }, () => record11({ recordType: 'case_notification', condition: 'A15.0', tbOutcome: 'cured', serviceCoverage: 'covered' })),
    ...Array.from({ length: 7 }, () => record11({ migrationStage: 'return', returnedFrom: 'RUS' }))
  ]
  const res = await tjk.post({ ...V11, records: recs })
  t.equal(res.statusCode, 202, res.body)
  await hub.queue.drain()
  const answer = await hub.app.inject({ url: '/v1/aggregates?region=TJK&from=2026-03&to=2026-03&by=recordType,tbOutcome,returnedFrom', headers: readerAuth })
  t.equal(answer.statusCode, 200, answer.body)
  const cells = answer.json().cells as Rec[]
  t.same(answer.json().disclosure, { method: 'none', ptable: null })
  t.match(cells.find((c) => c.recordType === 'case_notification'), { tbOutcome: 'cured', count: 6 })
  t.match(cells.find((c) => c.recordType === 'contact'), { returnedFrom: 'RUS', count: 7 })
  const csv = await hub.app.inject({ url: '/v1/aggregates?region=TJK&from=2026-03&to=2026-03&by=serviceCoverage', headers: { ...readerAuth, accept: 'text/csv' } })
  t.equal(csv.statusCode, 200, csv.body)
  t.match(csv.body, /serviceCoverage/)
  t.match(csv.body, /covered,6/)
  const sdmx = await hub.app.inject({ url: '/v1/aggregates?region=TJK&from=2026-03&to=2026-03&by=recordType', headers: { ...readerAuth, accept: 'application/vnd.sdmx.data+csv;version=2.0.0' } })
  t.equal(sdmx.statusCode, 200, sdmx.body)
  t.match(sdmx.body.split('\n')[0], /RECORD_TYPE/, 'SDMX-CSV names the 1.1 dimension by its SDMX id')
  t.match(sdmx.body, /case_notification/)
  const filtered = await hub.app.inject({ url: '/v1/aggregates?region=TJK&from=2026-03&to=2026-03&by=country&recordType=case_notification', headers: readerAuth })
  t.equal(filtered.json().cells[0].count, 6, 'a 1.1 dimension filters too')
})

t.test('1.0.0 records keep working: contacts, _Z for the other 1.1 dimensions', async (t) => {
  const kgz = await reporterOf(hub, 'KGZ')
  const res = await kgz.post({ schema: 'migrant-health-event', version: '1.0.0', records: [{ ...record11(), recordType: undefined }] })
  t.equal(res.statusCode, 202, res.body)
  const [row] = await rows<Record<string, string>>(db, sql`SELECT record_type, returned_from, tb_outcome, service_coverage FROM records WHERE submission_id = ${res.json().id}`)
  t.same(row, { record_type: 'contact', returned_from: '_Z', tb_outcome: '_Z', service_coverage: '_Z' })
})

t.test('every cross-field rule is refused with its own message, at its index', async (t) => {
  const kaz = await reporterOf(hub, 'KAZ')
  const rules = JSON.parse(readFileSync(new URL('../../schemas/cross-field-rules/1.0.0.json', import.meta.url), 'utf8')).rules as Array<{ id: string, path: string, message: string }>
  const breaking: Record<string, Rec> = {
    'maternal-encounter-not-male': { sex: 'male', encounter: 'delivery' },
    'occupational-injury-not-under-5': { ageBand: '0-4', encounter: 'occupational_injury' },
    'screening-consequence-needs-context': { screeningConsequence: 'removal' },
    'tb-outcome-on-tb-case-notification': { recordType: 'contact', condition: 'A15', tbOutcome: 'died' },
    'returned-from-needs-return-stage': { returnedFrom: 'RUS' },
    'condition-is-icd10-category': { condition: 'U99' }
  }
  t.same(Object.keys(breaking).sort(), rules.map((r) => r.id).sort(), 'a breaking record for every rule of the catalog')
  const recs = [record11(), ...rules.map((rule) => record11(breaking[rule.id]))]
  for (const [body, items] of [[{ ...V11, records: recs }, 'records'], [{ ...AGG, dataValues: recs.map(({ recordId: _, ...r }) => ({ ...r, count: 3 })) }, 'dataValues']] as const) {
    const res = await kaz.post(body)
    t.equal(res.statusCode, 422, res.body)
    const errors = res.json().errors as Array<{ index: number, path: string, message: string }>
    t.equal(errors.length, rules.length, `one fault per broken rule (${items})`)
    rules.forEach((rule, i) => {
      const fault = errors.find((e) => e.index === i + 1)
      // A code outside every chapter is outside WHO's categories too: the field's own fault
      // (icd10-categories) answers for it, and the rule is not told twice.
      if (rule.id === 'condition-is-icd10-category') t.match(fault, { index: i + 1, path: `/${items}/${i + 1}/condition`, message: /^condition must be a category of WHO's ICD-10/ }, rule.id)
      else t.same(fault, { index: i + 1, path: `/${items}/${i + 1}${rule.path}`, message: rule.message }, rule.id)
    })
  }
  t.equal((await kaz.post({ ...V11, records: [record11({ recordId: '3f1c2b4a-1d2e-1f5a-8b9c-0d1e2f3a4b5c' })] })).statusCode, 422, 'a version-1 UUID is refused in 1.1.0')
  t.equal((await kaz.post({ ...V11, records: [record11({ countryOfOrigin: 'SKH' })] })).statusCode, 422, 'a country outside the catalog')
})

/** Data values and the records they stand for: a record per counted contact. */
const COUNTS: Array<[Rec, number]> = [
  [{ sex: 'male', ageBand: '30-34' }, 3],
  [{ sex: 'female', recordType: 'case_notification', condition: 'B20' }, 2],
  [{ sex: 'female', subnationalArea: 'UZ-TO', serviceCoverage: 'not_covered' }, 4]
]

function adxOf (counts: Array<[Rec, number]>): string {
  const values = counts.map(([dims, n]) => {
    const { recordType, period: _p, subnationalArea: _s, ...rest } = dataValue(dims)
    const attributes = Object.entries(rest).filter(([k]) => k !== 'count').map(([k, v]) => `${k}="${String(v)}"`).join(' ')
    return { place: (dims.subnationalArea as string | undefined) ?? 'UZB', xml: `<dataValue dataElement="${String(recordType)}" ${attributes} value="${n}"/>` }
  })
  const groups = [...new Set(values.map((v) => v.place))].map((place) =>
    `  <group orgUnit="${place}" period="2026-03-01/P1M" dataSet="mhx">\n${values.filter((v) => v.place === place).map((v) => '    ' + v.xml).join('\n')}\n  </group>`)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015" exported="2026-04-01T00:00:00Z">\n${groups.join('\n')}\n</adx>\n`
}

t.test('JSON counts, ADX and DHIS2 dataValueSets make the same cells as the equivalent records', async (t) => {
  const asRecords = await reporterOf(hub, 'UZB')
  const recs = COUNTS.flatMap(([dims, n]) => Array.from({ length: n }, () => record11(dims)))
  t.equal((await asRecords.post({ ...V11, records: recs })).statusCode, 202)
  await hub.queue.drain()
  const fromRecords = await cellsOf('UZB')
  t.equal(fromRecords.length, 3)

  const check = async (label: string, send: () => Promise<{ statusCode: number, body: string, json: () => { id: string } }>) => {
    await db.execute(sql`DELETE FROM cells WHERE country = 'UZB'`)
    await db.execute(sql`UPDATE records SET live = false WHERE country = 'UZB'`)
    const res = await send()
    t.equal(res.statusCode, 202, `${label}: ${res.body}`)
    await hub.queue.drain()
    t.same(await cellsOf('UZB'), fromRecords, `${label} makes the same cells`)
    const [stored] = await rows<{ n: string, total: string }>(db, sql`SELECT count(*) AS n, sum(count) AS total FROM records WHERE submission_id = ${res.json().id}`)
    t.same([Number(stored.n), Number(stored.total)], [3, 9], `${label}: one row per data value, holding its count`)
  }
  const uzb = await reporterOf(hub, 'UZB')
  await check('JSON', () => uzb.post({ ...AGG, dataValues: COUNTS.map(([dims, n]) => dataValue({ ...dims, count: n })) }))
  await check('ADX', () => uzb.post(adxOf(COUNTS), { headers: { 'content-type': 'application/adx+xml' } }))
  const mapping = {
    dataElements: { deContact0001: { recordType: 'contact' }, deCase000001: { recordType: 'case_notification', condition: 'B20' } },
    categoryOptionCombos: {
      cocMale30: { sex: 'male', ageBand: '30-34', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', encounter: 'primary_care', insurance: 'none' },
      cocFemale25: { sex: 'female', ageBand: '25-29', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', encounter: 'primary_care', insurance: 'none' }
    },
    attributeOptionCombos: { aocNotCovered: { serviceCoverage: 'not_covered' } },
    // DHIS2 ADX exports name data elements and org units by code, disaggregations by category and option code
    categories: {
      SEX: { FEMALE: { sex: 'female' }, MALE: { sex: 'male' } },
      AGE: { Y25_29: { ageBand: '25-29' }, Y30_34: { ageBand: '30-34' } },
      MIGRANT: { UZB_LABOUR: { countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', encounter: 'primary_care', insurance: 'none' } },
      COVERAGE: { NOT_COVERED: { serviceCoverage: 'not_covered' } }
    },
    orgUnits: { ouUzbekistan: 'UZB', ouTashkent: 'UZ-TO', OU_UZB: 'UZB', OU_UZ_TASHKENT: 'UZ-TO' }
  }
  Object.assign(mapping.dataElements, { MHX_CONTACTS: { recordType: 'contact' }, MHX_HIV_CASES: { recordType: 'case_notification', condition: 'B20' } })
  const put = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: uzb.auth, payload: mapping })
  t.equal(put.statusCode, 204, put.body)
  t.same((await hub.app.inject({ url: '/v1/mappings/dhis2', headers: uzb.auth })).json(), mapping)
  const dhis2 = {
    dataSet: 'mhxDataSet1', period: '202603',
    dataValues: [
      { dataElement: 'deContact0001', orgUnit: 'ouUzbekistan', categoryOptionCombo: 'cocMale30', value: '3' },
      { dataElement: 'deCase000001', orgUnit: 'ouUzbekistan', categoryOptionCombo: 'cocFemale25', value: '2' },
      { dataElement: 'deContact0001', orgUnit: 'ouTashkent', categoryOptionCombo: 'cocFemale25', attributeOptionCombo: 'aocNotCovered', value: '4' }
    ]
  }
  await check('DHIS2 dataValueSet', () => uzb.post(dhis2, { url: '/v1/submissions?format=dhis2' }))
  // the same counts as a DHIS2 ADX export: a category option combo or category attributes, an
  // attribute category on the group, and a protected dataValue (annotation, no value) that is skipped
  const dhis2Adx = `<?xml version="1.0" encoding="UTF-8"?>
<adx xmlns="urn:ihe:qrph:adx:2015" exported="2026-04-02T08:00:00.000+0000">
  <group orgUnit="OU_UZB" period="2026-03-01/P1M" dataSet="MHX_MONTHLY" completeDate="2026-04-02">
    <dataValue dataElement="MHX_CONTACTS" categoryOptionCombo="cocMale30" value="3"/>
    <dataValue dataElement="MHX_HIV_CASES" SEX="FEMALE" AGE="Y25_29" MIGRANT="UZB_LABOUR" value="2"/>
  </group>
  <group orgUnit="OU_UZ_TASHKENT" period="2026-03-01/P1M" dataSet="MHX_MONTHLY" COVERAGE="NOT_COVERED">
    <dataValue dataElement="MHX_CONTACTS" SEX="MALE" AGE="Y30_34" MIGRANT="UZB_LABOUR"><annotation>not released: count below k (5)</annotation></dataValue>
    <dataValue dataElement="MHX_CONTACTS" SEX="FEMALE" AGE="Y25_29" MIGRANT="UZB_LABOUR" value="4"/>
  </group>
</adx>
`
  await check('DHIS2 ADX', () => uzb.post(dhis2Adx, { url: '/v1/submissions?format=dhis2', headers: { 'content-type': 'application/adx+xml' } }))

  // the live DHIS2 data values are now the reporter's: the same ones again are a 409 naming them, nothing stored
  const again = await uzb.post(dhis2, { url: '/v1/submissions?format=dhis2' })
  t.equal(again.statusCode, 409, again.body)
  t.same(again.json().errors.map((e: { path: string }) => e.path), ['/dataValues/0', '/dataValues/1', '/dataValues/2'])
  const adxAgain = await uzb.post(adxOf(COUNTS), { headers: { 'content-type': 'application/adx+xml' } })
  t.equal(adxAgain.statusCode, 409, 'the same data values in another format are the same data values')
  t.equal(adxAgain.json().errors[0].path, '/adx/group[1]/dataValue[1]')

  // retracted, they count no more and may be sent again
  const [live] = await rows<{ submission_id: string }>(db, sql`SELECT DISTINCT submission_id FROM records WHERE country = 'UZB' AND live`)
  const retract = await hub.app.inject({ method: 'DELETE', url: `/v1/submissions/${live.submission_id}`, headers: uzb.auth })
  t.equal(retract.statusCode, 202)
  await hub.queue.drain()
  t.same(await cellsOf('UZB'), [], 'retraction subtracts the counts')
  t.equal((await uzb.post(dhis2, { url: '/v1/submissions?format=dhis2' })).statusCode, 202)
})

t.test('bad aggregate documents are refused whole, naming the element', async (t) => {
  const tjk = await reporterOf(hub, 'TJK')
  const before = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM records`)
  const adx = (body: string) => tjk.post(body, { headers: { 'content-type': 'application/adx+xml' } })
  const good = adxOf([[{}, 2]]).replace(/UZB"/g, 'TJK"')

  const xxe = await adx('<?xml version="1.0"?>\n<!DOCTYPE adx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="TJK" period="2026-03-01/P1M"><dataValue dataElement="contact" value="&xxe;"/></group></adx>')
  t.equal(xxe.statusCode, 400, 'XXE')
  t.match(xxe.json().errors[0], { path: '<!DOCTYPE>', line: 2 })
  const laughs = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<adx xmlns="urn:ihe:qrph:adx:2015"/>'
  t.equal((await adx(laughs)).statusCode, 400, 'billion laughs')
  const period = await adx(good.replace('2026-03-01/P1M', '2026-03-01/P3M'))
  t.equal(period.statusCode, 422)
  t.equal(period.json().errors[0].path, '/adx/group[1]/@period')
  for (const value of ['0', '-4', '2.5', 'many', '1000001']) {
    const res = await adx(good.replace('value="2"', `value="${value}"`))
    t.equal(res.statusCode, 422, `count ${value}`)
    t.equal(res.json().errors[0].path, '/adx/group[1]/dataValue[1]/@value')
  }
  const sex = await adx(good.replace('sex="female"', 'sex="F"'))
  t.same(sex.json().errors[0].path, '/adx/group[1]/dataValue[1]/@sex')
  t.equal((await adx(good.replace('urn:ihe:qrph:adx:2015', 'urn:other'))).statusCode, 400, 'another namespace')
  const prefixed = good.replace(/<(\/?)(adx|group|dataValue)\b/g, '<$1a:$2').replace('xmlns=', 'xmlns:a=')
  t.same((await tjk.post(prefixed, { url: '/v1/submissions?dryRun=true', headers: { 'content-type': 'application/adx+xml' } })).json(), { valid: true, recordCount: 1 }, 'a prefixed ADX namespace')
  t.equal((await adx(prefixed.replace('xmlns:a=', 'xmlns:b='))).statusCode, 400, 'the root prefix bound to another namespace')
  t.equal((await adx('<adx xmlns="urn:ihe:qrph:adx:2015"><group')).statusCode, 400, 'not well-formed')

  const put = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: tjk.auth, payload: { dataElements: { de1: { recordType: 'contact' } }, categoryOptionCombos: { coc1: { sex: 'male' } }, orgUnits: { ou1: 'TJK' } } })
  t.equal(put.statusCode, 204)
  const unmapped = await tjk.post({ dataValues: [{ dataElement: 'de1', period: '202603', orgUnit: 'ou1', categoryOptionCombo: 'cocX', value: '5' }] }, { url: '/v1/submissions?format=dhis2' })
  t.equal(unmapped.statusCode, 422)
  t.match(unmapped.json().errors[0], { path: '/dataValues/0/categoryOptionCombo', message: /unmapped categoryOptionCombo "cocX"/ })
  const quarter = await tjk.post({ dataValues: [{ dataElement: 'de1', period: '2026Q1', orgUnit: 'ou1', categoryOptionCombo: 'coc1', value: '5' }] }, { url: '/v1/submissions?format=dhis2' })
  t.match(quarter.json().errors[0], { path: '/dataValues/0/period', message: /YYYYMM/ })
  const badMapping = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: tjk.auth, payload: { dataElements: { de1: { passportNumber: 'x' } }, categoryOptionCombos: {}, orgUnits: {} } })
  t.equal(badMapping.statusCode, 422, 'a mapping may only name dimensions')
  t.equal(badMapping.json().errors[0].path, '/dataElements/de1/passportNumber')

  // DHIS2 ADX: an unmapped category, option, data element or org unit is named by its attribute
  const put2 = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: tjk.auth, payload: { dataElements: { DE_1: { recordType: 'contact' } }, categoryOptionCombos: {}, categories: { SEX: { M: { sex: 'male' } } }, orgUnits: { OU_1: 'TJK' } } })
  t.equal(put2.statusCode, 204, put2.body)
  const dhis2Adx = (group: string, value: string) => tjk.post(`<adx xmlns="urn:ihe:qrph:adx:2015">\n<group ${group} period="2026-03-01/P1M">\n<dataValue ${value}/>\n</group>\n</adx>`, { url: '/v1/submissions?format=dhis2', headers: { 'content-type': 'application/adx+xml' } })
  const faults = async (group: string, value: string) => (await dhis2Adx(group, value)).json().errors as Array<{ path: string, message: string, line: number }>
  t.match(await faults('orgUnit="OU_1"', 'dataElement="DE_1" SEX="M" AGE="Y20" value="3"'), [{ path: '/adx/group[1]/dataValue[1]/@AGE', message: /unmapped category "AGE"/, line: 3 }])
  t.match(await faults('orgUnit="OU_1"', 'dataElement="DE_1" SEX="F" value="3"'), [{ path: '/adx/group[1]/dataValue[1]/@SEX', message: /unmapped option "F" of category SEX/ }])
  t.match(await faults('orgUnit="OU_2"', 'dataElement="DE_2" SEX="M" value="3"'), [{ path: '/adx/group[1]/@orgUnit', line: 2 }, { path: '/adx/group[1]/dataValue[1]/@dataElement', message: /unmapped dataElement "DE_2"/ }])
  t.match(await faults('orgUnit="OU_1"', 'dataElement="DE_1" SEX="M" value="3"'), [{ path: '/adx/group[1]/dataValue[1]', message: /countryOfOrigin is required/, line: 3 }], 'a dimension no attribute gave: the fault names the dataValue')
  // a protected cell (annotation, no value) is skipped; a document of nothing else holds no count
  const onlyProtected = await adx('<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="TJK" period="2026-03-01/P1M"><dataValue dataElement="contact" sex="male"><annotation>not released</annotation></dataValue></group></adx>')
  t.equal(onlyProtected.statusCode, 422)
  t.match(onlyProtected.json().errors[0], { path: '/adx', message: /protected/ })
  const noValue = await adx(good.replace(' value="2"', ''))
  t.match(noValue.json().errors[0], { path: '/adx/group[1]/dataValue[1]/@value', line: 4 }, 'no value and no annotation is a fault, with its line')

  // the same dimensions twice in one document would count twice: a 422 naming the second, found by
  // the store's unique index (or at once for a dry run), whatever else is live
  const twice = [dataValue({ count: 3 }), dataValue({ sex: 'male' }), dataValue({ count: 4 }), dataValue({ sex: 'male', count: 9 })]
  for (const url of ['/v1/submissions', '/v1/submissions?dryRun=true']) {
    const res = await tjk.post({ ...AGG, dataValues: twice }, { url })
    t.equal(res.statusCode, 422, `${url}: ${res.body}`)
    t.match(res.json().errors, [
      { index: 2, path: '/dataValues/2', message: 'data value has the same dimensions as data value 0: add their counts into one' },
      { index: 3, path: '/dataValues/3', message: /same dimensions as data value 1/ }
    ])
  }
  const twiceAdx = await adx(adxOf([[{}, 2], [{ sex: 'male' }, 1], [{}, 5]]).replace(/UZB"/g, 'TJK"'))
  t.equal(twiceAdx.statusCode, 422, twiceAdx.body)
  t.match(twiceAdx.json().errors, [{ path: '/adx/group[1]/dataValue[3]', line: 6, message: /same dimensions as data value 0/ }], 'ADX names the dataValue element and its line')

  const after = await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM records`)
  t.equal(after[0].n, before[0].n, 'nothing was stored')
})

t.test('the example files in docs/ are accepted, and are the same data values in four formats', async (t) => {
  const kaz = await reporterOf(hub, 'KAZ')
  const example = (file: string) => readFileSync(new URL(`../../docs/examples/${file}`, import.meta.url), 'utf8')
  const mapping = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: kaz.auth, payload: JSON.parse(example('dhis2-mapping.json')) })
  t.equal(mapping.statusCode, 204, mapping.body)
  const sends = {
    json: (query = '') => kaz.post(example('aggregate.json'), { url: `/v1/submissions${query}` }),
    adx: (query = '') => kaz.post(example('aggregate.adx.xml'), { url: `/v1/submissions${query}`, headers: { 'content-type': 'application/adx+xml' } }),
    dhis2: (query = '') => kaz.post(example('dhis2-datavalueset.json'), { url: `/v1/submissions?format=dhis2${query.replace('?', '&')}` }),
    dhis2Adx: (query = '') => kaz.post(example('dhis2.adx.xml'), { url: `/v1/submissions?format=dhis2${query.replace('?', '&')}`, headers: { 'content-type': 'application/adx+xml' } })
  }
  t.equal((await kaz.post(example('records-1.1.0.json'), { url: '/v1/submissions?dryRun=true' })).statusCode, 200, 'records-1.1.0.json')
  for (const [format, send] of Object.entries(sends)) {
    const dry = await send('?dryRun=true')
    const summary = format.startsWith('dhis2') ? { importSummary: { received: 2, imported: 2, summed: 0, ignored: [] } } : {}
    t.same([dry.statusCode, dry.json()], [200, { valid: true, recordCount: 2, ...summary }], `${format} example`)
  }
  t.equal((await sends.json()).statusCode, 202)
  t.equal((await sends.adx()).statusCode, 409, 'the ADX example holds the same data values')
  t.equal((await sends.dhis2()).statusCode, 409, 'the DHIS2 example holds the same data values')
  t.equal((await sends.dhis2Adx()).statusCode, 409, 'the DHIS2 ADX example holds the same data values')
})

t.test('ADX out of one hub is ADX in of another: the same cells, sub-national areas and condition groups included', async (t) => {
  // hub A is this file's hub; hub B a second app with its own database and aggregation worker
  const hubB = await buildTestHub(t)
  await startTestAggregation(t, hubB)
  const cellsIn = async (database: typeof hub.database, country: string) => {
    const found = await rows<Record<string, unknown>>(database.db, sql`SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count FROM cells WHERE country = ${country}`)
    return found.map((c) => CELL_COLUMNS.map((col) => String(c[col])).join('|') + `=${String(c.count)}`).sort()
  }

  // A's records vary in period, sub-national area, condition (so its group) and record type; the other
  // dimensions are one value each, which the reader fixes by filters (an answer has at most 4 by dimensions)
  const tkm = await reporterOf(hub, 'TKM')
  const recs: Rec[] = []
  const add = (n: number, dims: Rec) => { for (let i = 0; i < n; i++) recs.push(record11(dims)) }
  add(3, { period: '2026-01' })
  add(1, { period: '2026-01', subnationalArea: 'TM-A' })
  add(2, { period: '2026-01', recordType: 'case_notification', condition: 'A15.0' })
  add(1, { period: '2026-02', recordType: 'case_notification', condition: 'B20', subnationalArea: 'TM-A' })
  add(4, { period: '2026-02', condition: 'J18' })
  add(2, { period: '2026-02', condition: 'A16', subnationalArea: 'TM-L' })
  const sent = await tkm.post({ ...V11, records: recs })
  t.equal(sent.statusCode, 202, sent.body)
  await hub.queue.drain()
  const cellsA = await cellsIn(hub.database, 'TKM')
  t.equal(cellsA.length, 6)

  // its ministry reads its own country: exact counts
  const reader = await hub.partner({ roles: ['reader'], country: 'TKM', grants: [{ region: 'TKM' }] })
  const fixed = 'countryOfOrigin=UZB&migrationStatus=labour_migrant&migrationStage=destination&sex=female&ageBand=25-29&encounter=primary_care&insurance=none'
  const answer = await hub.app.inject({
    url: `/v1/aggregates?region=TKM&from=2026-01&to=2026-02&by=period,subnationalArea,conditionGroup,recordType&${fixed}`,
    headers: { authorization: `Bearer ${await hub.token(reader)}`, accept: 'application/adx+xml' }
  })
  t.equal(answer.statusCode, 200, answer.body)
  t.match(answer.headers['content-type'], /application\/adx\+xml/)
  t.match(answer.body, /disclosure="none"/)
  t.match(answer.body, /orgUnit="TM-A"/, 'a sub-national orgUnit')
  t.match(answer.body, /dataElement="case_notification"[^>]*conditionGroup="tb"/, 'the record type as dataElement, the condition group as an attribute')

  // B's reporter of the same country imports A's document as it is
  const tkmB = await reporterOf(hubB, 'TKM')
  const imported = await tkmB.post(answer.body, { headers: { 'content-type': 'application/adx+xml' } })
  t.equal(imported.statusCode, 202, imported.body)
  t.equal(imported.json().recordCount, 6)
  await hubB.queue.drain()
  t.same(await cellsIn(hubB.database, 'TKM'), cellsA, 'B\'s cells equal A\'s')
  const again = await tkmB.post(answer.body, { headers: { 'content-type': 'application/adx+xml' } })
  t.equal(again.statusCode, 409, 'the same document twice is the same data values twice')

  // a cell A did not release arrives as a dataValue with an annotation and no value: skipped, not a zero
  const protectedCell = answer.body.replace(/<group /, '<group ').replace(/value="(\d+)"\s*\/>/, '><annotation>not released: count below k (5)</annotation></dataValue>')
  const dry = await tkmB.post(protectedCell, { url: '/v1/submissions?dryRun=true', headers: { 'content-type': 'application/adx+xml' } })
  t.same(dry.json(), { valid: true, recordCount: 5 }, 'one protected cell skipped')
})
