// ADX out: groups per orgUnit and period, dataValues with the record schema's attribute names, escaped by the library.
import { XMLParser } from 'fast-xml-parser'
import t from 'tap'
import { render } from '../../../src/release/formats/index.js'
import { answerOf, names, PUBLIC_URL } from './fixtures.js'

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'group' || name === 'dataValue' })
const adxOf = (answer: ReturnType<typeof answerOf>) => {
  const text = render(answer, 'adx', { names, publicUrl: PUBLIC_URL })
  return { text, adx: parser.parse(text).adx }
}

t.test('by country and month: one group per country-month, the other dimensions as attributes', async (t) => {
  const { text, adx } = adxOf(answerOf({
    by: ['country', 'period', 'sex', 'conditionGroup'],
    filters: { ageBand: ['80+'] },
    cells: [
      { key: ['KAZ', '2026-01', 'female', 'tb'], count: 12, suppressed: null },
      { key: ['KAZ', '2026-01', 'male', '_Z'], count: 30, suppressed: null },
      { key: ['KGZ', '2026-02', 'female', 'hiv'], count: null, suppressed: 'primary' }
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
  ], 'absent values left out; a one-value filter is an attribute too')
  t.same(adx.group[1].dataValue, [{ dataElement: 'contact', sex: 'female', ageBand: '80+', conditionGroup: 'hiv', annotation: 'not released: count below k (5)' }], 'a protected cell: no value, an annotation')
})

t.test('orgUnit is the sub-national area when there is one; periods other than months are ISO 8601 durations', async (t) => {
  const { adx } = adxOf(answerOf({
    region: 'KAZ', by: ['subnationalArea', 'period'], periodType: 'quarter',
    cells: [{ key: ['KZ-75', '2026-Q2'], count: 7, suppressed: null }, { key: ['_Z', '2026-Q2'], count: 9, suppressed: null }]
  }))
  t.same(adx.group.map((g: Record<string, string>) => [g.orgUnit, g.period]), [['KZ-75', '2026-04-01/P3M'], ['KAZ', '2026-04-01/P3M']])
  const totals = adxOf(answerOf({ cells: [{ key: [], count: 180, suppressed: null }] })).adx
  t.same([totals.group[0].orgUnit, totals.group[0].period], ['central-asia', '2026-01-01/P6M'])
  const year = adxOf(answerOf({ from: '2026-01', to: '2026-12', periodType: 'year', by: ['period'], cells: [{ key: ['2026'], count: 1, suppressed: null }] })).adx
  t.equal(year.group[0].period, '2026-01-01/P1Y')
})

t.test('attribute values are escaped by the XML library', async (t) => {
  const { text, adx } = adxOf(answerOf({ region: 'a"<&>b', disclosure: { method: 'cellkey', ptable: 'x"&<y' }, cells: [{ key: [], count: 1, suppressed: null }] }))
  t.notMatch(text, /a"<&>b/)
  t.equal(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true }).parse(text).adx.ptable, 'x"&<y')
  t.ok(adx.group)
})

t.test('the record type is the dataElement, not an attribute; contact when the answer does not tell it', async (t) => {
  const { adx } = adxOf(answerOf({
    by: ['country', 'period', 'recordType'],
    cells: [{ key: ['KAZ', '2026-01', 'case_notification'], count: 6, suppressed: null }, { key: ['KAZ', '2026-01', '_Z'], count: 9, suppressed: null }]
  }))
  t.same(adx.group[0].dataValue, [{ dataElement: 'case_notification', value: '6' }, { dataElement: 'contact', value: '9' }])
})
