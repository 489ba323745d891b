// The aggregation queue as the API sees it: a place to announce that a submission's effect changed.
// Adapters: BullMQ on Redis, or in-process when REDIS_URL is unset.

/** Ids only: job data sits in Redis in clear text, and the processor reads the rest from the database. */
export interface AggregationJob { submissionId: string, generation: number }

export interface AggregationQueue {
  kind: 'bullmq' | 'in-process'
  /** May fail (Redis down): the submission is committed already and the outbox sweep catches it up. */
  enqueue (job: AggregationJob): Promise<void>
  /** Whether jobs can be handed over now (readiness). */
  ready (): Promise<boolean>
  close (): Promise<void>
}

/** BullMQ job ids never contain ':'. */
export function aggregationJobId (job: AggregationJob): string {
  return `agg-${job.submissionId}-${job.generation}`
}
