// The outbox: submissions whose wanted effect (counted) differs from the applied one. The intake
// announces each change after its commit; the sweep finds what was never announced or got lost.
import { sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import { rows, type Queryable } from '../db/connect.js'
import { QueueUnavailable, type AggregationJob, type AggregationQueue } from './queue.js'

/**
 * Called by the intake after its transaction commits. Never throws: when the queue is down the
 * submission is committed already, and the sweep enqueues it later.
 */
export async function announce (queue: AggregationQueue, job: AggregationJob, logger?: Pick<Logger, 'warn'>): Promise<boolean> {
  try {
    await queue.enqueue(job)
    return true
  } catch (err) {
    // an outage of the queue is logged by the queue, once, with the jobs it left to the sweep
    if (!(err instanceof QueueUnavailable)) logger?.warn({ err, submissionId: job.submissionId, generation: job.generation }, 'aggregation job not enqueued; the outbox sweep will enqueue it')
    return false
  }
}

/** How many submissions have an effect still pending (metrics, readiness of the data). */
export async function pendingCount (q: Queryable): Promise<number> {
  const [row] = await rows<{ n: string | number }>(q, sql`SELECT count(*) AS n FROM submissions WHERE counted <> applied`)
  return Number(row?.n ?? 0)
}

export interface SweepOptions {
  /** Only submissions unchanged for at least this long (their own job may still be on its way). */
  olderThanMs: number
  /** At most this many per sweep; the next sweep takes the rest. */
  limit?: number
  /** Jobs handed to the queue at once. */
  parallel?: number
}

export interface SweepResult { found: number, enqueued: number, failed: boolean }

/**
 * Enqueues again every pending submission older than the threshold (oldest first). Stops at the
 * first queue fault: the queue is down, and the next sweep tries again.
 */
export async function sweepOutbox (q: Queryable, queue: AggregationQueue, options: SweepOptions): Promise<SweepResult> {
  const limit = options.limit ?? 10_000
  const pending = await rows<{ id: string, generation: number }>(q, sql`
    SELECT id, generation FROM submissions
    WHERE counted <> applied AND changed_at <= now() - make_interval(secs => ${options.olderThanMs / 1000})
    ORDER BY changed_at LIMIT ${limit}`)
  let enqueued = 0
  const parallel = options.parallel ?? 16
  for (let i = 0; i < pending.length; i += parallel) {
    const batch = pending.slice(i, i + parallel)
    const results = await Promise.allSettled(batch.map((s) => queue.requeue({ submissionId: s.id, generation: s.generation })))
    enqueued += results.filter((r) => r.status === 'fulfilled').length
    if (results.some((r) => r.status === 'rejected')) return { found: pending.length, enqueued, failed: true }
  }
  return { found: pending.length, enqueued, failed: false }
}
