// CSV: by columns, <dim>_label beside each with ?labels=, quoting by RFC 4180, the disclosure method per row.
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { render } from '../../../src/release/formats/index.js'
import { answerOf, names, PUBLIC_URL } from './fixtures.js'

const answer = answerOf({
  by: ['country', 'conditionGroup'],
  cells: [
    { key: ['KAZ', 'maternal'], count: 7, suppressed: null },
    { key: ['KGZ', '_Z'], count: null, suppressed: 'primary' }
  ]
})

t.test('without labels', async (t) => {
  const text = render(answer, 'csv', { names, publicUrl: PUBLIC_URL })
  t.ok(text.endsWith('\r\n'), 'CRLF line ends')
  t.same(parse(text), [
    ['country', 'conditionGroup', 'count', 'suppressed', 'disclosure'],
    ['KAZ', 'maternal', '7', '', 'cellkey'],
    ['KGZ', '', '', 'primary', 'cellkey']
  ])
})

t.test('labels beside codes; a name with a comma is quoted', async (t) => {
  const text = render(answer, 'csv', { names, publicUrl: PUBLIC_URL, labels: 'en' })
  t.match(text, /"Pregnancy, childbirth and the puerperium"/)
  t.same(parse(text), [
    ['country', 'country_label', 'conditionGroup', 'conditionGroup_label', 'count', 'suppressed', 'disclosure'],
    ['KAZ', 'Kazakhstan', 'maternal', 'Pregnancy, childbirth and the puerperium', '7', '', 'cellkey'],
    ['KGZ', 'Kyrgyzstan', '', '', '', 'primary', 'cellkey']
  ])
  const ru = parse(render(answer, 'csv', { names, publicUrl: PUBLIC_URL, labels: 'ru' }))
  t.same(ru[1].slice(0, 4), ['KAZ', 'Казахстан', 'maternal', 'Беременность, роды и послеродовой период'])
})

t.test('exact counts say so', async (t) => {
  const exact = parse(render({ ...answer, disclosure: { method: 'none', ptable: null } }, 'csv', { names, publicUrl: PUBLIC_URL }))
  t.same(exact.slice(1).map((r: string[]) => r.at(-1)), ['none', 'none'])
})
