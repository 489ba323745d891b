// The disclosure attacks of bench/attacks/ on small data (30 % of the demo's records), through the
// HTTP API, scored against the true counts of the records pushed. Each must recover the true counts
// 1…k−1 no more often than the baseline guess allows (bench/attacks/targets.ts), and the release
// must keep its utility. The first wave (suppression) fails these: that is the measurement.
import t from 'tap'
import { buildWorld } from '../../bench/attacks/harness.js'
import { ATTACKS, PLANS, runAttacks, verdicts } from '../../bench/attacks/run.js'
import { TARGETS } from '../../bench/attacks/targets.js'

const plan = PLANS.small
const world = await buildWorld({ scale: 'small', budget: plan.budget, t })
const figures = await runAttacks(world, plan, ATTACKS, (line) => t.comment(line))

t.test('every attack scores a real set of small counts within one day\'s budget', async (t) => {
  for (const f of figures.differencing ?? []) {
    t.ok(f.overall.small >= 50, `differencing (${f.attacker}) scores ${f.overall.small} true counts 1…k−1`)
    t.ok(f.queries <= plan.budget, `differencing (${f.attacker}) used ${f.queries} queries`)
  }
  t.ok((figures.averaging?.score.small ?? 0) >= 1, 'averaging has small targets')
  t.ok((figures.averaging?.queries ?? Infinity) <= plan.budget, 'averaging stays within the budget')
  t.ok((figures.padding?.score.small ?? 0) >= 50, 'padding has small targets')
  t.ok((figures.time?.score.small ?? 0) >= 50, 'time differencing has small targets')
})

t.test('a retraction gives back the release of the record set before it', async (t) => {
  t.ok(figures.padding?.restored, 'after padding')
  t.ok(figures.time?.restored, 'after time differencing')
})

t.test('no attack recovers true counts 1…k−1 better than guessing from the released value', async (t) => {
  for (const v of verdicts(figures)) {
    t.ok(v.holds, `${v.name}: ${(100 * v.score.rate).toFixed(1)} % of ${v.score.small} recovered; at most ${(100 * v.ceiling).toFixed(1)} % (baseline ${(100 * v.score.baseline.rate).toFixed(1)} %)`)
  }
})

t.test('utility: large cells of 3-D tables are released, with small relative error', async (t) => {
  const u = figures.utility!
  t.ok(u.big >= 1, `${u.big} cells with true count ≥ ${TARGETS.largeCount}`)
  t.ok(u.releasedShare >= TARGETS.releasedShareMin, `${(100 * u.releasedShare).toFixed(1)} % of ${u.large} cells with true count ≥ 2k released`)
  t.ok(u.medianRelativeError < TARGETS.medianRelativeErrorMax, `median relative error ${(100 * u.medianRelativeError).toFixed(1)} % over ${u.big} cells ≥ ${TARGETS.largeCount}`)
})
