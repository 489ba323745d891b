// ADX out: groups per orgUnit and period, a dataValue per released cell with the record schema's attribute
// names, escaped by the library; every document valid against IHE's adx_loose.xsd (test/standards/).
import { XMLParser } from 'fast-xml-parser'
import t, { type Test } from 'tap'
import { adxQuery, hasReleasedValue } from '../../../src/release/formats/adx.js'
import { render } from '../../../src/release/formats/index.js'
import { answerOf, names, PUBLIC_URL } from './fixtures.js'
import { adxFaults, XMLLINT } from './standards.js'

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', commentPropName: '#comment', isArray: (name) => name === 'group' || name === 'dataValue' || name === '#comment' })
function adxOf (t: Test, answer: ReturnType<typeof answerOf>) {
  const text = render(answer, 'adx', { names, publicUrl: PUBLIC_URL })
  if (XMLLINT) t.equal(adxFaults(text), '', 'valid against adx_loose.xsd')
  return { text, adx: parser.parse(text).adx }
}

t.test('the validator refuses what IHE\'s schema refuses (so a pass means something)', { skip: !XMLLINT && 'no xmllint (apt-get install libxml2-utils)' }, async (t) => {
  const doc = (dataValue: string) => `<adx xmlns="urn:ihe:qrph:adx:2015" exported="2026-07-01T10:00:00Z"><group orgUnit="KAZ" period="2026-01-01/P1M">${dataValue}</group></adx>`
  t.equal(adxFaults(doc('<dataValue dataElement="contact" value="3"/>')), '')
  t.match(adxFaults(doc('<dataValue dataElement="contact"><annotation>withheld</annotation></dataValue>')), /value.*required/, 'a dataValue without value')
  t.not(adxFaults(doc('')), '', 'a group without dataValue')
})

t.test('by country and month: one group per country-month, the other dimensions as attributes', async (t) => {
  const { text, adx } = adxOf(t, answerOf({
    by: ['country', 'period', 'sex', 'conditionGroup'],
    filters: { ageBand: ['80+'], recordType: ['contact'] },
    cells: [
      { key: ['KAZ', '2026-01', 'female', 'tb'], count: 12, suppressed: null },
      { key: ['KAZ', '2026-01', 'male', '_Z'], count: 30, suppressed: null },
      { key: ['KAZ', '2026-01', 'other', 'tb'], count: null, suppressed: 'primary' },
      { key: ['KGZ', '2026-02', 'female', 'hiv'], count: 9, suppressed: null }
    ]
  }))
  t.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>/)
  t.equal(adx.xmlns, 'urn:ihe:qrph:adx:2015')
  t.equal(adx.exported, '2026-07-01T10:00:00.000Z')
  t.equal(adx.disclosure, 'cellkey')
  t.same(adx.group.map((g: Record<string, string>) => [g.orgUnit, g.period, g.dataSet]), [['KAZ', '2026-01-01/P1M', 'MIGRANT_HEALTH'], ['KGZ', '2026-02-01/P1M', 'MIGRANT_HEALTH']])
  t.same(adx.group[0].dataValue, [
    { dataElement: 'contact', sex: 'female', ageBand: '80+', conditionGroup: 'tb', value: '12' },
    { dataElement: 'contact', sex: 'male', ageBand: '80+', value: '30' }
  ], 'absent values left out; a one-value filter is an attribute too; the withheld cell is not a dataValue')
  t.same(adx.group[0]['#comment'], [' not released (count below k = 5): dataElement=contact sex=other ageBand=80+ conditionGroup=tb '], 'the withheld cell is named in a comment of its group')
  t.notOk(adx.group[1]['#comment'])
})

t.test('a group with nothing released is left out and named in a comment of the document', async (t) => {
  const { adx } = adxOf(t, answerOf({
    by: ['country', 'recordType'],
    cells: [
      { key: ['KAZ', 'contact'], count: 40, suppressed: null },
      { key: ['KGZ', 'case_notification'], count: null, suppressed: 'primary' }
    ]
  }))
  t.same(adx.group.map((g: Record<string, string>) => g.orgUnit), ['KAZ'])
  t.same(adx['#comment'], [' not released (count below k = 5): orgUnit=KGZ period=2026-01-01/P6M dataSet=MIGRANT_HEALTH dataElement=case_notification '])
})

t.test('orgUnit is the sub-national area when there is one; periods other than months are ISO 8601 durations', async (t) => {
  const { adx } = adxOf(t, answerOf({
    region: 'KAZ', by: ['subnationalArea', 'period', 'recordType'], periodType: 'quarter',
    cells: [{ key: ['KZ-75', '2026-Q2', 'contact'], count: 7, suppressed: null }, { key: ['_Z', '2026-Q2', 'contact'], count: 9, suppressed: null }]
  }))
  t.same(adx.group.map((g: Record<string, string>) => [g.orgUnit, g.period]), [['KZ-75', '2026-04-01/P3M'], ['KAZ', '2026-04-01/P3M']])
  const totals = adxOf(t, answerOf({ filters: { recordType: ['contact'] }, cells: [{ key: [], count: 180, suppressed: null }] })).adx
  t.same([totals.group[0].orgUnit, totals.group[0].period], ['central-asia', '2026-01-01/P6M'])
  const year = adxOf(t, answerOf({ from: '2026-01', to: '2026-12', periodType: 'year', by: ['period', 'recordType'], cells: [{ key: ['2026', 'contact'], count: 1, suppressed: null }] })).adx
  t.equal(year.group[0].period, '2026-01-01/P1Y')
})

t.test('attribute values and comments are escaped by the XML library', async (t) => {
  const { text, adx } = adxOf(t, answerOf({
    region: 'a"<&>b', disclosure: { method: 'cellkey', ptable: 'x"&<y' }, by: ['recordType', 'sex'],
    cells: [{ key: ['contact', 'female'], count: 1, suppressed: null }, { key: ['contact', 'x--y'], count: null, suppressed: 'primary' }]
  }))
  t.notMatch(text, /a"<&>b/)
  t.notMatch(text, /x--y/, 'no -- inside a comment')
  t.equal(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true }).parse(text).adx.ptable, 'x"&<y')
  t.ok(adx.group)
})

// Cells stored before record types were migrated to contacts (migration 0013, test/db/contacts-migration.test.ts).
t.test('the record type is the dataElement, not an attribute', async (t) => {
  const { adx } = adxOf(t, answerOf({
    by: ['country', 'period', 'recordType'],
    cells: [{ key: ['KAZ', '2026-01', 'case_notification'], count: 6, suppressed: null }, { key: ['KAZ', '2026-01', 'contact'], count: 9, suppressed: null }]
  }))
  t.same(adx.group[0].dataValue, [{ dataElement: 'case_notification', value: '6' }, { dataElement: 'contact', value: '9' }])
  t.throws(() => render(answerOf({ cells: [{ key: [], count: 1, suppressed: null }] }), 'adx', { names, publicUrl: PUBLIC_URL }), 'an answer that does not tell the record type is not rendered')
})

t.test('an ADX read is split by recordType unless it fixes one; a full by is refused naming it', async (t) => {
  t.same(adxQuery({ region: 'KAZ' }), { region: 'KAZ', by: 'recordType' })
  t.same(adxQuery({ region: 'KAZ', by: 'sex,period' }), { region: 'KAZ', by: 'sex,period,recordType' })
  t.same(adxQuery({ region: 'KAZ', by: 'recordType,sex' }), { region: 'KAZ', by: 'recordType,sex' })
  t.same(adxQuery({ region: 'KAZ', recordType: 'contact' }), { region: 'KAZ', recordType: 'contact' })
  t.same(adxQuery({ region: 'KAZ', recordType: 'contact,case_notification' }), { region: 'KAZ', recordType: 'contact,case_notification', by: 'recordType' })
  const full = (() => { try { adxQuery({ region: 'KAZ', by: 'sex,period,country,ageBand' }) } catch (err) { return err } })()
  t.match(full, { status: 400, extra: { errors: [{ path: 'by' }] } }, 'a full by is refused')
  t.notOk(hasReleasedValue(answerOf({ cells: [{ key: [], count: null, suppressed: 'primary' }] })))
  t.notOk(hasReleasedValue(answerOf({ cells: [] })))
  t.ok(hasReleasedValue(answerOf({ cells: [{ key: [], count: 3, suppressed: null }] })))
})
