// The aggregation queue as the API sees it: a place to announce that a submission's effect changed.
// Adapters: BullMQ on Redis, or in-process when REDIS_URL is unset.

/** Ids only: job data sits in Redis in clear text, and the processor reads the rest from the database. */
export interface AggregationJob { submissionId: string, generation: number }

export interface AggregationQueue {
  kind: 'bullmq' | 'in-process'
  /** May fail (Redis down): the submission is committed already and the outbox sweep catches it up. */
  enqueue (job: AggregationJob): Promise<void>
  /**
   * Enqueues again for the outbox sweep: like enqueue, but a finished (completed or failed) job
   * left under the same id is replaced, since the submission's effect is still pending.
   */
  requeue (job: AggregationJob): Promise<void>
  /** Jobs waiting, delayed or running (metrics); undefined when it cannot be read now. */
  depth (): Promise<number | undefined>
  /** Whether jobs can be handed over now (readiness). */
  ready (): Promise<boolean>
  close (): Promise<void>
}

/**
 * A job the queue could not take because its store (Redis) is away: the queue's outage log counts it,
 * so the caller need not log it (the outbox sweep enqueues it once the queue is back).
 */
export class QueueUnavailable extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'QueueUnavailable'
  }
}

/** The BullMQ queue name (keys are `<prefix>:aggregate:…`). */
export const AGGREGATE_QUEUE = 'aggregate'

/** BullMQ job ids never contain ':'. */
export function aggregationJobId (job: AggregationJob): string {
  return `agg-${job.submissionId}-${job.generation}`
}
