// DHIS2 as DHIS2 2.40 exports it: a dataValueSets JSON export and the same values as ADX, with
// per-value period, orgUnit, attributeOptionCombo, storedBy, created, lastUpdated, comment and
// followup, a zero, a deleted value, two facilities of one area and two category option combos
// mapped alike. Zeros and deleted values count nothing, values of one mhx key are summed, and the
// answer's importSummary says so; faults name the data value; nothing is stored on a refusal.
import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { buildTestHub } from '../helpers.js'
import { reporterOf } from './intake-fixtures.js'

const hub = await buildTestHub(t)
const db = hub.database.db
const fixture = (file: string) => readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')
const MAPPING = JSON.parse(fixture('dhis2-2.40-mapping.json'))
const EXPORT = fixture('dhis2-2.40-export.json')
const EXPORT_ADX = fixture('dhis2-2.40-export.adx.xml')
const DHIS2 = '/v1/submissions?format=dhis2'
const ADX = { 'content-type': 'application/adx+xml' }

/** A KAZ reporter holding the fixture's mapping. */
async function dhis2Reporter () {
  const reporter = await reporterOf(hub, 'KAZ')
  const put = await hub.app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: reporter.auth, payload: MAPPING })
  if (put.statusCode !== 204) throw new Error(put.body)
  return reporter
}

/** A submission's stored data values as `period area recordType sex ageBand origin=count`, sorted. */
async function storedOf (submissionId: string): Promise<string[]> {
  const found = await rows<Record<string, string | number>>(db, sql`
    SELECT period, subnational_area, record_type, sex, age_band, country_of_origin, count FROM records WHERE submission_id = ${submissionId}`)
  return found.map((r) => `${r.period} ${r.subnational_area} ${r.record_type} ${r.sex} ${r.age_band} ${r.country_of_origin}=${r.count}`).sort()
}

const recordCount = async () => Number((await rows<{ n: string }>(db, sql`SELECT count(*) AS n FROM records`))[0].n)

// what both documents hold once zeros and deleted values are left out and facilities summed into their area
const EXPECTED = [
  '2026-03 KZ-71 contact female 25-29 UZB=5', // 4 + 1: two category option combos mapped alike
  '2026-03 KZ-71 contact male 30-34 UZB=7',
  '2026-03 KZ-75 case_notification male 30-34 UZB=2',
  '2026-03 KZ-75 contact female 25-29 UZB=17', // 12 + 5: two facilities of Almaty
  '2026-04 KZ-75 contact female 25-29 UZB=6'
]

t.test('a DHIS2 2.40 dataValueSets export loads as exported, with its importSummary', async (t) => {
  const kaz = await dhis2Reporter()
  const dry = await kaz.post(EXPORT, { url: `${DHIS2}&dryRun=true` })
  t.equal(dry.statusCode, 200, dry.body)
  const summary = { received: 9, imported: 5, summed: 2, ignored: [{ index: 3, reason: 'zero' }, { index: 4, reason: 'deleted' }] }
  t.same(dry.json(), { valid: true, recordCount: 5, importSummary: summary }, 'a dry run answers the same summary')
  const res = await kaz.post(EXPORT, { url: DHIS2 })
  t.equal(res.statusCode, 202, res.body)
  t.equal(res.json().recordCount, 5, 'one stored data value per mhx key')
  t.same(res.json().importSummary, summary)
  t.same(await storedOf(res.json().id), EXPECTED)
  const receipt = JSON.parse(Buffer.from(res.json().receipt.split('.')[1], 'base64url').toString())
  t.equal(receipt.recordCount, 5, 'the receipt counts what was stored')

  // the same export again: the summed data values are live, a 409 naming the first value of each key
  const again = await kaz.post(EXPORT, { url: DHIS2 })
  t.equal(again.statusCode, 409, again.body)
  t.same(again.json().errors.map((e: { index: number, path: string }) => [e.index, e.path]),
    [[0, '/dataValues/0'], [2, '/dataValues/2'], [5, '/dataValues/5'], [6, '/dataValues/6'], [8, '/dataValues/8']])
})

t.test('the same values as a DHIS2 ADX export give the same data values and summary', async (t) => {
  const kaz = await dhis2Reporter()
  const res = await kaz.post(EXPORT_ADX, { url: DHIS2, headers: ADX })
  t.equal(res.statusCode, 202, res.body)
  t.same(res.json().importSummary, {
    received: 9,
    imported: 5,
    summed: 2,
    ignored: [
      { index: 1, reason: 'zero', path: '/adx/group[1]/dataValue[2]', line: 5 },
      { index: 2, reason: 'deleted', path: '/adx/group[1]/dataValue[3]', line: 6 }
    ]
  })
  t.same(await storedOf(res.json().id), EXPECTED)
})

t.test('mhx JSON and mhx ADX keep refusing two data values of one key', async (t) => {
  const kaz = await dhis2Reporter()
  const value = { period: '2026-03', subnationalArea: 'KZ-75', recordType: 'contact', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none', count: 3 }
  const res = await kaz.post({ schema: 'migrant-health-aggregate', version: '1.1.0', dataValues: [value, value] })
  t.equal(res.statusCode, 422, res.body)
  t.match(res.json().errors[0], { index: 1, message: /same dimensions as data value 0/ })
  t.notOk('importSummary' in res.json())
})

t.test('bad DHIS2 documents are refused whole, naming the data value; nothing stored', async (t) => {
  const kaz = await dhis2Reporter()
  const before = await recordCount()
  const values = () => JSON.parse(EXPORT).dataValues as Array<Record<string, unknown>>
  const send = (dataValues: unknown[]) => kaz.post({ dataValues }, { url: DHIS2 })

  for (const [period, kind] of [['2026Q3', 'quarterly'], ['2026W10', 'weekly'], ['2026', 'yearly'], ['20260315', 'daily'], ['2026S1', 'six-monthly'], ['202603B', 'bi-monthly'], ['2026April', 'a financial year'], ['2026-03', 'not a month']]) {
    const list = values()
    list[6].period = period
    const res = await send(list)
    t.equal(res.statusCode, 422, period)
    t.match(res.json().errors, [{ index: 6, path: '/dataValues/6/period', message: `period "${period}" is ${kind}: mhx exchanges only monthly data sets, each period a month as YYYYMM, e.g. 202603` }], period)
  }
  const quarterAdx = await kaz.post(EXPORT_ADX.replace('2026-04-01/P1M', '2026-07-01/P3M'), { url: DHIS2, headers: ADX })
  t.equal(quarterAdx.statusCode, 422)
  t.match(quarterAdx.json().errors, [{ path: '/adx/group[4]/@period', line: 17, message: /^period "2026-07-01\/P3M" is quarterly: mhx exchanges only monthly data sets/ }])

  // the document's index is named, past the zero and the deleted value left out before it
  const unmapped = values()
  unmapped[7].categoryOptionCombo = 'xYerKDKCefk'
  unmapped[5].orgUnit = 'ouUnknown01'
  const res = await send(unmapped)
  t.equal(res.statusCode, 422)
  t.match(res.json().errors, [
    { index: 5, path: '/dataValues/5/orgUnit', message: /unmapped orgUnit "ouUnknown01"/ },
    { index: 7, path: '/dataValues/7/categoryOptionCombo', message: /unmapped categoryOptionCombo "xYerKDKCefk"/ }
  ])
  const adxUnmapped = await kaz.post(EXPORT_ADX.replace('MHX_SEX="F"', 'MHX_SEX="X"'), { url: DHIS2, headers: ADX })
  t.match(adxUnmapped.json().errors, [{ path: '/adx/group[3]/dataValue[3]/@MHX_SEX', line: 15, message: /unmapped option "X" of category MHX_SEX/ }])

  // a schema fault of a value after ignored ones names that value's place in the document
  const badCount = values()
  badCount[7].value = '2.5'
  t.match((await send(badCount)).json().errors, [{ index: 7, path: '/dataValues/7/value' }])

  const unknown = values()
  unknown[2].passportNumber = 'N1234567'
  t.match((await send(unknown)).json().errors, [{ index: 2, path: '/dataValues/2/passportNumber', message: /not a member of a DHIS2 data value/ }])
  const deleted = values()
  deleted[2].deleted = 'yes'
  t.match((await send(deleted)).json().errors, [{ index: 2, path: '/dataValues/2/deleted', message: 'deleted must be true or false' }])

  const nothing = await send([{ ...values()[3] }, { ...values()[4] }])
  t.equal(nothing.statusCode, 422, 'a document of zeros and deleted values counts nothing')
  t.match(nothing.json().errors, [{ path: '/dataValues', message: /counts nothing \(zero, deleted\)/ }])

  const big = values()
  big[0].value = '999999'
  const over = await send(big)
  t.equal(over.statusCode, 422, 'a sum above the largest count')
  t.match(over.json().errors, [{ index: 1, path: '/dataValues/1', message: /more than 1000000/ }])

  const malformed = await kaz.post('{"dataValues": [\n  {"dataElement": "VqtIXPdKHzY",\n  "value": }\n]}', { url: DHIS2 })
  t.equal(malformed.statusCode, 400)
  t.match(malformed.json().errors, [{ line: 3 }])
  const malformedAdx = await kaz.post(EXPORT_ADX.replace('<dataValue dataElement="MHX_CONTACTS" MHX_SEX="MALE" MHX_AGE="Y30_34" value="7"/>', '<dataValue dataElement="MHX_CONTACTS" value="7">'), { url: DHIS2, headers: ADX })
  t.equal(malformedAdx.statusCode, 400)
  t.match(malformedAdx.json().errors[0], { line: Number })

  t.equal(await recordCount(), before, 'nothing was stored')
})
