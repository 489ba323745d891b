// The query budget: each partner may ask MHX_QUERY_BUDGET distinct queries per UTC day. Distinct
// filter lists address distinct record sets; a budget keeps the number of independent estimates of
// one count small. A query already answered for the same data version is free (its key includes
// the version), so dashboards that repeat themselves never run out.
import { sql } from 'drizzle-orm'
import { inTransaction, rows, type Database } from '../db/connect.js'
import { problem } from '../problem.js'

export interface QueryBudget {
  /** Counts `queryKey` against the partner's day, or throws 429 when the day's budget is spent. */
  charge (partnerId: string, queryKey: string): Promise<void>
  /** Forgets the days before today (rows and memo). */
  purge (): Promise<number>
}

/** UTC day of `now`, YYYY-MM-DD. */
export function utcDay (now: Date): string {
  return now.toISOString().slice(0, 10)
}

/** Seconds until the next UTC midnight, when a new day's budget starts. */
export function secondsToNextDay (now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000))
}

const MEMO_LIMIT = 200_000

/**
 * Shared by every process through the database (one row per partner, day and query). Queries this
 * process has already counted are free without a round trip. A first ask counts and admits under
 * a lock of its partner-day, so no concurrency admits more than `limit` distinct queries a day.
 */
export function createQueryBudget (database: Database, limit: number, now: () => Date): QueryBudget {
  const counted = new Set<string>()
  return {
    async charge (partnerId, queryKey) {
      if (limit === 0) return
      const day = utcDay(now())
      const memo = `${partnerId}\u0000${day}\u0000${queryKey}`
      if (counted.has(memo)) return
      const admitted = await inTransaction(database, async (tx) => {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`mhx:budget:${partnerId}:${day}`}))`)
        const [known] = await rows<{ known: boolean, used: string | number }>(tx, sql`
          SELECT EXISTS (SELECT 1 FROM query_budget WHERE partner_id = ${partnerId} AND day = ${day} AND query_key = ${queryKey}) AS known,
            (SELECT count(*) FROM query_budget WHERE partner_id = ${partnerId} AND day = ${day}) AS used`)
        if (known.known) return true
        if (Number(known.used) >= limit) return false
        await tx.execute(sql`INSERT INTO query_budget (partner_id, day, query_key) VALUES (${partnerId}, ${day}, ${queryKey})`)
        return true
      })
      if (!admitted) {
        const retryAfter = secondsToNextDay(now())
        throw problem('queryBudgetExhausted', `the query budget of ${limit} distinct queries per UTC day is spent; repeating a query already answered is free, new ones can be asked again in ${retryAfter} s (at 00:00 UTC)`, { retryAfter, budget: limit })
      }
      if (counted.size >= MEMO_LIMIT) counted.clear()
      counted.add(memo)
    },
    async purge () {
      const { db } = database
      const today = utcDay(now())
      for (const memo of counted) if (memo.split('\u0000')[1] !== today) counted.delete(memo)
      const result = await rows<{ n: string | number }>(db, sql`WITH gone AS (DELETE FROM query_budget WHERE day < ${today} RETURNING 1) SELECT count(*) AS n FROM gone`)
      return Number(result[0]?.n ?? 0)
    }
  }
}

/**
 * At most `max` aggregate reads of one partner run at once in this process; the others wait their
 * turn, so one partner's heavy reads cannot take every database connection from the others.
 */
export function createPartnerGate (max: number) {
  const running = new Map<string, { active: number, waiting: Array<() => void> }>()
  return async function withTurn<T> (partnerId: string, work: () => Promise<T>): Promise<T> {
    let state = running.get(partnerId)
    if (!state) running.set(partnerId, state = { active: 0, waiting: [] })
    if (state.active >= max) await new Promise<void>((resolve) => state!.waiting.push(resolve))
    else state.active++
    try {
      return await work()
    } finally {
      const next = state.waiting.shift()
      if (next) next()
      else if (--state.active === 0) running.delete(partnerId)
    }
  }
}
export type PartnerGate = ReturnType<typeof createPartnerGate>
