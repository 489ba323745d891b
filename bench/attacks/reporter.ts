// Attacks 3 and 4, by a partner that reports for its own country (KAZ) and reads the region:
// padding (push k+1 records shaped like each hidden cell of a region table, read, retract, read
// again) and time differencing (push one record into each hidden cell per round, read after each
// round, and difference against the known records added: every round whose read releases the cell
// is an estimate of its count before the pushes; the estimates are averaged). Both target cells
// of the region that count other countries' records; the attacker knows its own records, so a
// recovered cell count is a recovered count of the others.
import { cellKey, describeScore, recordLike, regionTable, score, toCount, type Answer, type Dim, type Reader, type Score, type Scored, type World } from './harness.js'

type Reporter = Reader & { country: string }

export interface ReporterFigures {
  attack: 'padding' | 'time differencing'
  attacker: string
  k: number
  by: Dim[]
  targets: number
  /** Records pushed per target and round, rounds. */
  pushed: number
  rounds: number
  queries: number
  /** After the retraction(s) the table reads as before: the same record set, the same release. */
  restored: boolean
  score: Score
}

/** Cell key → released count (null when hidden). */
function released (answer: Answer): Map<string, number | null> {
  if (answer.status !== 200) throw new Error(`read failed: ${answer.status}`)
  return new Map(answer.cells.map((c) => [cellKey(c.key), c.count]))
}

const same = (a: Map<string, number | null>, b: Map<string, number | null>) => a.size === b.size && [...a].every(([key, v]) => b.has(key) && b.get(key) === v)

async function start (world: World, attacker: Reporter, by: Dim[]) {
  const queries = attacker.queries
  const first = await world.read(attacker, { by }, { fresh: true })
  if (first.status !== 200) throw new Error(`${attacker.id}: ${by.join(',')}: ${first.status}`)
  const t0 = released(first)
  const targets = [...t0].filter(([, v]) => v === null).map(([key]) => key)
  const shape = (key: string) => Object.fromEntries(by.map((d, i) => [d, key.split('|')[i]]))
  return { k: first.k, t0, targets, shape, truth: regionTable(world.records, by), queries }
}

export async function padding (world: World, attacker: Reporter, options: { by: Dim[] }): Promise<ReporterFigures> {
  const { by } = options
  const { k, t0, targets, shape, truth, queries } = await start(world, attacker, by)
  const m = k + 1
  const submission = await world.push(attacker, targets.flatMap((key) => Array.from({ length: m }, () => recordLike(shape(key)))))
  const t1 = released(await world.read(attacker, { by }, { fresh: true }))
  await world.retract(attacker, submission)
  const t2 = released(await world.read(attacker, { by }, { fresh: true }))
  const scored: Scored[] = targets.map((key) => {
    const v = t1.get(key)
    return { truth: truth.get(key) ?? 0, released: null, estimate: typeof v === 'number' ? toCount(v - m) : null }
  })
  return { attack: 'padding', attacker: attacker.id, k, by, targets: targets.length, pushed: m, rounds: 1, queries: attacker.queries - queries, restored: same(t0, t2), score: score(scored, k) }
}

export async function timeDifferencing (world: World, attacker: Reporter, options: { by: Dim[], rounds: number }): Promise<ReporterFigures> {
  const { by, rounds } = options
  const { k, t0, targets, shape, truth, queries } = await start(world, attacker, by)
  const observed = new Map<string, number[]>(targets.map((key) => [key, []]))
  const submissions: string[] = []
  for (let r = 1; r <= rounds; r++) {
    submissions.push(await world.push(attacker, targets.map((key) => recordLike(shape(key)))))
    const answer = await world.read(attacker, { by }, { fresh: true })
    if (answer.status === 429) break
    const tr = released(answer)
    // The difference from before the pushes is the r records added, known: the rest is the cell's count.
    for (const key of targets) {
      const v = tr.get(key)
      if (typeof v === 'number') observed.get(key)!.push(v - r)
    }
  }
  for (const id of submissions) await world.retract(attacker, id)
  const restored = same(t0, released(await world.read(attacker, { by }, { fresh: true })))
  const scored: Scored[] = targets.map((key) => {
    const seen = observed.get(key)!
    return { truth: truth.get(key) ?? 0, released: null, estimate: seen.length === 0 ? null : toCount(seen.reduce((a, b) => a + b, 0) / seen.length) }
  })
  return { attack: 'time differencing', attacker: attacker.id, k, by, targets: targets.length, pushed: 1, rounds: submissions.length, queries: attacker.queries - queries, restored, score: score(scored, k) }
}

export function printReporter (f: ReporterFigures, log: (line: string) => void = console.log): void {
  log(`${f.attack} — attacker ${f.attacker} (reporter and reader, k ${f.k}), by=${f.by.join(',')}: ${f.targets} hidden target cells, `
    + `${f.pushed} record(s) pushed per target × ${f.rounds} round(s), ${f.queries} queries; table restored after retraction: ${f.restored ? 'yes' : 'NO'}`)
  log(`  ${describeScore(f.score)}`)
}
