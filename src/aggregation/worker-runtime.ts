// The worker role: runs the processor for every job (BullMQ workers, or the in-process queue) and the
// outbox sweep (once at start, then on an interval).
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Database } from '../db/connect.js'
import type { Metrics } from '../ops/metrics.js'
import { databaseOutage as databaseOutageOf, type Outage } from '../ops/outage.js'
import { startBullmqWorker, type BullmqQueue } from './bullmq-queue.js'
import type { InProcessQueue } from './in-process-queue.js'
import { sweepOutbox } from './outbox.js'
import { processSubmission } from './processor.js'
import type { AggregationJob, AggregationQueue } from './queue.js'
import type { CellVersions } from './versions.js'

export interface AggregationRuntime {
  /** Runs one sweep now (tests); the interval keeps running. */
  sweep (olderThanMs?: number): Promise<number>
  /** Stops the sweep, then finishes (or releases) the jobs in hand. */
  close (): Promise<void>
}

export interface RuntimeDeps {
  config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'workerConcurrency' | 'workerLockMs' | 'sweepIntervalMs' | 'sweepAfterMs'>
  database: Database
  queue: AggregationQueue
  metrics: Metrics
  logger: Logger
  /** This process's data versions, when it also answers reads: told of a change at once. */
  cellVersions?: CellVersions
  /** The database's outages, shared with the process's API (one log line at each end); without it, the worker's own. */
  databaseOutage?: Outage
}

/** Processes one job and records it in the metrics; throws on failure (the queue retries). */
export function jobHandler (deps: Pick<RuntimeDeps, 'database' | 'metrics' | 'cellVersions' | 'databaseOutage'>) {
  return async (job: AggregationJob, attempt: number): Promise<void> => {
    if (attempt > 1) deps.metrics.jobsRetried.inc()
    try {
      const outcome = await processSubmission(deps.database, job.submissionId)
      if (outcome.kind === 'applied') {
        deps.cellVersions?.changed(outcome.countries)
        deps.metrics.recordsAggregated.inc({ operation: outcome.operation }, outcome.records)
        if (outcome.freshnessS !== null) deps.metrics.freshness.observe(outcome.freshnessS)
      }
      deps.metrics.jobs.inc({ outcome: 'completed' })
    } catch (err) {
      deps.metrics.jobs.inc({ outcome: 'failed' })
      // a job is counted against an outage once, at its first attempt
      await deps.databaseOutage?.explains(err, attempt === 1 ? 'jobs' : undefined)
      throw err
    }
  }
}

const IN_PROCESS_ATTEMPTS = 5

export async function startAggregation (deps: RuntimeDeps): Promise<AggregationRuntime> {
  const { config, database, queue, metrics, logger } = deps
  const databaseOutage = deps.databaseOutage ?? databaseOutageOf(database, logger)
  const handle = jobHandler({ ...deps, databaseOutage })
  let closeWorker: () => Promise<void>

  if (queue.kind === 'in-process') {
    const local = queue as InProcessQueue
    // Same retry policy as BullMQ's, in small: a transient database fault should not wait for the sweep.
    local.process(async (job) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await handle(job, attempt)
        } catch (err) {
          if (attempt >= IN_PROCESS_ATTEMPTS) {
            if (!await databaseOutage.explains(err)) logger.error({ err, submissionId: job.submissionId }, 'aggregation job failed; the outbox sweep will retry it')
            return
          }
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
        }
      }
    })
    closeWorker = async () => {}
  } else {
    if (!config.redisUrl) throw new Error('a BullMQ queue needs REDIS_URL')
    const worker = startBullmqWorker({
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      handler: handle,
      logger,
      outage: (queue as BullmqQueue).outage,
      explained: (err) => databaseOutage.explains(err)
    })
    closeWorker = () => worker.close()
  }

  let sweeping: Promise<number> | undefined
  async function sweep (olderThanMs = config.sweepAfterMs): Promise<number> {
    if (sweeping) return sweeping
    sweeping = (async () => {
      try {
        const result = await sweepOutbox(database.db, queue, { olderThanMs })
        metrics.sweepReenqueued.inc(result.enqueued)
        // a queue that is away is told by its own outage log
        if (result.enqueued > 0) logger.info({ found: result.found, enqueued: result.enqueued, queueDown: result.failed }, 'outbox sweep')
        return result.enqueued
      } catch (err) {
        if (!await databaseOutage.explains(err)) logger.warn({ err }, 'outbox sweep failed; the next one tries again')
        return 0
      } finally {
        sweeping = undefined
      }
    })()
    return sweeping
  }

  // At start: an in-process queue lost everything it held with the last process, so every pending
  // submission is taken at once; on BullMQ their jobs may still be in Redis, and the threshold applies.
  await sweep(queue.kind === 'in-process' ? 0 : config.sweepAfterMs)
  const timer = setInterval(() => { void sweep() }, config.sweepIntervalMs)
  timer.unref()

  return {
    sweep,
    async close () {
      clearInterval(timer)
      await sweeping
      await closeWorker()
      if (!deps.databaseOutage) databaseOutage.close()
    }
  }
}
