// The disclosure attacks, run together and scored against the true counts.
// Run: npx tsx bench/attacks/run.ts [--scale small|demo] [--db pglite|postgres] [--attack NAME,…] [--budget N]
//      [--simulate-cellkey D,V,js]  (counts replaced by a simulated cell-key release: see simulate.ts)
//   NAME: differencing, averaging, padding, time, policy, utility, indicators (default: all). --db defaults to PostgreSQL
//   when DATABASE_URL is set, else PGlite. Prints each attack's figures, its baseline and the targets.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { averaging, printAveraging, type AveragingFigures } from './averaging.js'
import { COUNTRY_TABLES, differencing, printDifferencing, REGION_TABLES, type DifferencingFigures } from './differencing.js'
import { buildWorld, pct, type Dim, type Scale, type Score, type World } from './harness.js'
import { padding, printReporter, timeDifferencing, type ReporterFigures } from './reporter.js'
import { parsePtable, simulateCellKey } from './simulate.js'
import { policyAttacks, printPolicy, type PolicyFigures } from './policy.js'
import { recoveryCeiling, TARGETS } from './targets.js'
import { printUtility, utility, type UtilityFigures } from './utility.js'
import { printIndicatorAttacks, throughIndicators, type IndicatorAttackFigures } from './indicators.js'

export const ATTACKS = ['differencing', 'averaging', 'padding', 'time', 'policy', 'utility', 'indicators'] as const
export type AttackName = typeof ATTACKS[number]

/** What each attack reads, per scale: CI's small data must take seconds. */
export interface Plan {
  /** The query budget of a day (the hub is told it; attacks also hold themselves to it). */
  budget: number
  averagingTargets: number
  averagingBy: Dim[]
  reporterBy: Dim[]
  timeRounds: number
}

export const PLANS: Record<Scale, Plan> = {
  small: { budget: 400, averagingTargets: 16, averagingBy: ['country', 'conditionGroup', 'sex'], reporterBy: ['sex', 'ageBand', 'encounter'], timeRounds: 6 },
  demo: { budget: 2000, averagingTargets: 20, averagingBy: ['country', 'conditionGroup', 'sex'], reporterBy: ['sex', 'ageBand', 'encounter'], timeRounds: 12 }
}

export interface Figures {
  differencing?: DifferencingFigures[]
  averaging?: AveragingFigures
  padding?: ReporterFigures
  time?: ReporterFigures
  policy?: PolicyFigures[]
  utility?: UtilityFigures
  indicators?: IndicatorAttackFigures
}

/** Runs the named attacks on `world`, each as a partner of its own (its own day's budget). */
export async function runAttacks (world: World, plan: Plan, names: readonly AttackName[] = ATTACKS, log: (line: string) => void = () => {}): Promise<Figures> {
  const figures: Figures = {}
  let mark = performance.now()
  const took = () => { const now = performance.now(); const s = ((now - mark) / 1000).toFixed(1); mark = now; return `  (${s} s)` }
  if (names.includes('utility')) {
    // First, on the data as pushed (the reporter attacks retract what they push, but run it first anyway).
    figures.utility = await utility(world, await world.reader('analyst'), [...COUNTRY_TABLES, ...REGION_TABLES])
    printUtility(figures.utility, log)
    log(took())
  }
  if (names.includes('differencing')) {
    figures.differencing = [
      await differencing(world, await world.reader('iom-differencing'), COUNTRY_TABLES),
      await differencing(world, await world.reader('ngo-differencing', { k: 11, regionOnly: true }), REGION_TABLES)
    ]
    for (const f of figures.differencing) printDifferencing(f, log)
    log(took())
  }
  if (names.includes('averaging')) {
    figures.averaging = await averaging(world, await world.reader('iom-averaging'), { by: plan.averagingBy, targets: plan.averagingTargets, budget: plan.budget })
    printAveraging(figures.averaging, log)
    log(took())
  }
  const kaz = world.ministries.get('KAZ')
  if (!kaz) throw new Error('no KAZ ministry')
  if (names.includes('padding')) {
    figures.padding = await padding(world, kaz, { by: plan.reporterBy })
    printReporter(figures.padding, log)
    log(took())
  }
  if (names.includes('time')) {
    figures.time = await timeDifferencing(world, kaz, { by: plan.reporterBy, rounds: plan.timeRounds })
    printReporter(figures.time, log)
    log(took())
  }
  if (names.includes('policy')) {
    figures.policy = await policyAttacks(world)
    printPolicy(figures.policy, log)
    log(took())
  }
  if (names.includes('indicators')) {
    figures.indicators = await throughIndicators(world, { averagingBy: plan.averagingBy, averagingTargets: plan.averagingTargets, budget: plan.budget })
    printIndicatorAttacks(figures.indicators, log)
    log(took())
  }
  return figures
}

/** Each attack's recovery beside the most it may be (targets.ts). */
export function verdicts (figures: Figures): Array<{ name: string, score: Score, ceiling: number, holds: boolean }> {
  const scores: Array<[string, Score | undefined]> = [
    ...(figures.differencing ?? []).map((f): [string, Score] => [`differencing (${f.attacker})`, f.overall]),
    ['averaging', figures.averaging?.score],
    ['padding', figures.padding?.score],
    ['time differencing', figures.time?.score],
    ...(figures.policy ?? []).map((f): [string, Score] => [`policy (${f.attack})`, f.score]),
    ...Object.values(figures.indicators?.routes ?? {}).flatMap((r): Array<[string, Score]> => [
      [`differencing through ${r.route} (${figures.indicators?.indicator})`, r.differencing.overall],
      [`averaging through ${r.route} (${figures.indicators?.indicator})`, r.averaging.score]
    ])
  ]
  return scores.flatMap(([name, score]) => {
    if (!score) return []
    const ceiling = recoveryCeiling(score.baseline.rate, score.small)
    return [{ name, score, ceiling, holds: score.rate <= ceiling }]
  })
}

export function printVerdicts (figures: Figures, log: (line: string) => void = console.log): void {
  log('targets:')
  for (const v of verdicts(figures)) {
    log(`  ${v.name}: recovery ${pct(v.score.rate)} of ${v.score.small}, at most ${pct(v.ceiling)} allowed (baseline ${pct(v.score.baseline.rate)} + ${pct(TARGETS.recoveryTolerance)} + ${TARGETS.samplingErrors} SE): ${v.holds ? 'met' : 'NOT met'}`)
  }
  if (figures.utility) {
    const u = figures.utility
    log(`  utility: released ${pct(u.releasedShare)} (≥ ${pct(TARGETS.releasedShareMin)}): ${u.releasedShare >= TARGETS.releasedShareMin ? 'met' : 'NOT met'}; `
      + `median relative error ${pct(u.medianRelativeError)} (< ${pct(TARGETS.medianRelativeErrorMax)}): ${u.medianRelativeError < TARGETS.medianRelativeErrorMax ? 'met' : 'NOT met'}`)
  }
}

async function main () {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: 'demo' }, db: { type: 'string', default: 'env' }, attack: { type: 'string', default: ATTACKS.join(',') }, budget: { type: 'string' }, 'simulate-cellkey': { type: 'string' } } })
  const scale = values.scale as Scale
  if (!(scale in PLANS)) throw new Error(`--scale: small or demo, got ${scale}`)
  const names = values.attack.split(',') as AttackName[]
  for (const n of names) if (!ATTACKS.includes(n)) throw new Error(`--attack: one of ${ATTACKS.join(', ')}, got ${n}`)
  const plan = { ...PLANS[scale], ...(values.budget ? { budget: Number(values.budget) } : {}) }
  const started = performance.now()
  const world = await buildWorld({ scale, budget: plan.budget, db: values.db as 'postgres' | 'pglite' | 'env' })
  const inRegion = world.records.filter((r) => ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'].includes(r.country)).length
  console.log(`disclosure attacks — scale ${scale}: ${world.records.length} records pushed (${inRegion} in central-asia), hub k ${world.k}, `
    + `query budget ${plan.budget}, ${world.hub.database.kind} (ready in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  const simulated = values['simulate-cellkey'] ? parsePtable(values['simulate-cellkey']) : undefined
  if (simulated) console.log(`SIMULATED cell-key release (D ${simulated.D}, V ${simulated.V}, js ${simulated.js}): counts are not the hub's\n`)
  try {
    const figures = await runAttacks(simulated ? simulateCellKey(world, simulated) : world, plan, names, (line) => console.log(line))
    console.log('')
    printVerdicts(figures)
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`)
  } finally {
    await world.close()
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
