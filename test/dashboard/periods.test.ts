// A series' periods and gaps (web/src/periods.ts): a period nobody published is a gap, never a zero.
import t from 'tap'
import { coverageOf, monthsOf, periodEnd, periodLabels, periodStart, seriesPoints, type CoverageItem } from '../../web/src/periods.js'

t.test('months, quarters and years', async (t) => {
  t.same(periodLabels('2025-11', '2026-04', 'quarter'), ['2025-Q4', '2026-Q1', '2026-Q2'])
  t.same(periodLabels('2025-11', '2026-04', 'year'), ['2025', '2026'])
  t.same(periodLabels('2026-01', '2026-03', 'month'), ['2026-01', '2026-02', '2026-03'])
  t.equal(periodStart('2026-05', 'quarter'), '2026-04')
  t.equal(periodEnd('2026-05', 'quarter'), '2026-06')
  t.equal(periodEnd('2026-05', 'year'), '2026-12')
  t.same(monthsOf('2026-Q2'), ['2026-04', '2026-05', '2026-06'])
  t.equal(monthsOf('2026').length, 12)
})

t.test('coverage of a period', async (t) => {
  const coverage: CoverageItem[] = [{ country: 'TKM', period: '2026-03', status: 'not_reported' }, { country: 'KAZ', period: '2026-03', status: 'open' }]
  t.same(coverageOf('2026-03', ['KAZ', 'TKM'], coverage).none, true, 'both countries missing: nothing rests on data')
  t.same(coverageOf('2026-03', ['KAZ', 'TKM', 'UZB'], coverage).none, false, 'UZB published')
  t.equal(coverageOf('2026-Q1', ['KAZ', 'TKM'], coverage).missing.length, 2, 'a quarter gathers its months')
})

t.test('a period nobody published is a gap; one everybody published is a zero', async (t) => {
  const coverage: CoverageItem[] = [
    { country: 'KAZ', period: '2026-06', status: 'open' }, { country: 'TKM', period: '2026-06', status: 'not_reported' },
    { country: 'TKM', period: '2026-05', status: 'not_reported' }
  ]
  const cells = [
    { period: '2026-04', sex: 'male', count: 20, suppressed: null },
    { period: '2026-04', sex: 'female', count: null, suppressed: 'primary' as const },
    { period: '2026-05', sex: 'male', count: 12, suppressed: null }
  ]
  const points = seriesPoints({ dim: 'sex', cells, periods: ['2026-03', '2026-04', '2026-05', '2026-06'], countries: ['KAZ', 'TKM'], coverage })
  const at = (group: string, period: string) => points.find((p) => p.group === group && p.period === period)!
  t.equal(at('male', '2026-06').kind, 'gap', 'June: KAZ open, TKM not reported, no data: a gap')
  t.equal(at('male', '2026-06').count, null, 'a gap has no count (not 0)')
  t.same(at('male', '2026-06').missing.map((m) => m.status).sort(), ['not_reported', 'open'])
  t.equal(at('female', '2026-05').kind, 'zero', 'May has data in another group: the missing group is zero')
  t.equal(at('female', '2026-05').missing.length, 1, 'but incomplete (TKM not reported)')
  t.equal(at('male', '2026-03').kind, 'zero', 'March published everywhere with no records: a true zero')
  t.equal(at('female', '2026-04').kind, 'protected')
  const byCountry = seriesPoints({ dim: 'country', cells: [{ period: '2026-05', country: 'KAZ', count: 30 }], periods: ['2026-05', '2026-06'], countries: ['KAZ', 'TKM'], coverage })
  t.equal(byCountry.find((p) => p.group === 'TKM' && p.period === '2026-05')!.kind, 'gap', 'by country: TKM not reported is a gap although KAZ has data')
  t.equal(byCountry.find((p) => p.group === 'KAZ' && p.period === '2026-06')!.kind, 'gap', 'KAZ June open and not counted: a gap')
})
