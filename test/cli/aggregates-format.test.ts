// mhx aggregates tells an open month from an empty one: unpublished country-months are listed
// with their status, and an answer without cells says why.
import t from 'tap'
import { formatAggregates, type AggregateAnswer } from '../../src/cli/aggregates.js'

const answer = (over: Partial<AggregateAnswer>): AggregateAnswer => ({ region: 'KAZ', from: '2026-01', to: '2026-03', by: ['sex'], k: 5, cells: [], ...over })

t.test('open months are reported, not published: never read as nothing', async (t) => {
  const text = formatAggregates(answer({ coverage: [{ country: 'KAZ', period: '2026-02', status: 'open' }, { country: 'KAZ', period: '2026-03', status: 'open' }] }))
  t.match(text, /coverage: KAZ open \(reported, not published\): 2026-02, 2026-03/)
  t.match(text, /no cells: nothing to show yet: open months are reported but not published/)
})

t.test('months nobody reported say so', async (t) => {
  const text = formatAggregates(answer({ coverage: [{ country: 'KAZ', period: '2026-01', status: 'not_reported' }] }))
  t.match(text, /coverage: KAZ not reported: 2026-01/)
  t.match(text, /no cells: nothing reported for these months/)
})

t.test('published months with no records in the query, and cells beside an open month', async (t) => {
  t.match(formatAggregates(answer({ coverage: [] })), /no cells: nothing recorded for this query in its published months/)
  const mixed = formatAggregates(answer({ cells: [{ sex: 'female', count: 12, suppressed: null }], coverage: [{ country: 'KAZ', period: '2026-03', status: 'open' }] }))
  t.match(mixed, /coverage: KAZ open \(reported, not published\): 2026-03\n/)
  t.match(mixed, /female\s+12/)
  t.match(mixed.split('\n')[1], /^sex\s+count$/, 'the table comes first, its columns under the head; coverage is its footnote')
})
