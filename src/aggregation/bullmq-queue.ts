// The BullMQ adapter: a producer that fails fast when Redis is down (the outbox sweep catches up),
// and workers that wait out Redis outages and reconnect on READONLY (a failover).
import { Queue, Worker, type Job } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { AGGREGATE_QUEUE, aggregationJobId, type AggregationJob, type AggregationQueue } from './queue.js'

export interface BullmqSettings {
  redisUrl: string
  prefix: string
}

export interface BullmqQueue extends AggregationQueue {
  kind: 'bullmq'
  /** The underlying queue (tests, benchmarks). */
  queue: Queue
}

const ENQUEUE_TIMEOUT_MS = 2_000

/** A failover leaves clients on a replica that answers READONLY: reconnect and resend. */
const reconnectOnReadonly: RedisOptions['reconnectOnError'] = (err) => err.message.includes('READONLY') ? 2 : false
const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 3_000)

export const JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential' as const, delay: 250 },
  // Bounded: job data is ids only, and the outbox (not Redis) is the record of what is pending.
  removeOnComplete: { count: 1_000, age: 3_600 },
  removeOnFail: { count: 10_000, age: 7 * 86_400 }
}

export function createBullmqQueue (settings: BullmqSettings, logger?: Pick<Logger, 'warn'>): BullmqQueue {
  // No offline queue: while Redis is down, add() fails at once instead of piling up in memory.
  const connection = new Redis(settings.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy,
    reconnectOnError: reconnectOnReadonly
  })
  let lastWarned = 0
  connection.on('error', (err) => {
    // One line per outage, not one per reconnect attempt.
    if (Date.now() - lastWarned > 30_000) logger?.warn({ err: err.message }, 'aggregation queue: Redis unavailable')
    lastWarned = Date.now()
  })
  const queue = new Queue<AggregationJob>(AGGREGATE_QUEUE, { connection, prefix: settings.prefix, defaultJobOptions: JOB_OPTIONS })
  queue.on('error', () => {})

  // Until the first connection is made, a job waits for it (a new process's first submissions are
  // not refused); after that, a connection that is not ready means Redis is down: fail fast.
  const firstConnection = new Promise<void>((resolve) => connection.once('ready', resolve))
  let connectedOnce = false
  void firstConnection.then(() => { connectedOnce = true })

  async function usable (): Promise<void> {
    if (connection.status !== 'ready' && !connectedOnce) await within(firstConnection, ENQUEUE_TIMEOUT_MS).catch(() => {})
    if (connection.status !== 'ready') throw new Error(`aggregation queue unavailable (Redis ${connection.status})`)
  }

  async function add (job: AggregationJob): Promise<void> {
    await usable()
    await within(queue.add('aggregate', job, { jobId: aggregationJobId(job) }), ENQUEUE_TIMEOUT_MS)
  }

  return {
    kind: 'bullmq',
    queue,
    enqueue: add,
    async requeue (job) {
      await usable()
      const existing = await within(queue.getJob(aggregationJobId(job)), ENQUEUE_TIMEOUT_MS)
      if (existing) {
        const state = await existing.getState()
        // A finished job under this id would swallow the add (same jobId): the effect is still
        // pending, so the finished one is stale. A waiting or running one will do the work.
        if (state === 'completed' || state === 'failed') await existing.remove().catch(() => {})
        else if (state !== 'unknown') return
      }
      await add(job)
    },
    async depth () {
      if (connection.status !== 'ready') return undefined
      const counts = await within(queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'), ENQUEUE_TIMEOUT_MS)
      return Object.values(counts).reduce((a, b) => a + b, 0)
    },
    async ready () {
      if (connection.status !== 'ready') return false
      try {
        return await within(connection.ping(), 1_000) === 'PONG'
      } catch {
        return false
      }
    },
    async close () {
      await queue.close().catch(() => {})
      connection.disconnect()
    }
  }
}

export interface WorkerSettings extends BullmqSettings {
  concurrency: number
  lockMs: number
  /** Runs one job; a throw is a failed attempt, retried with exponential backoff. */
  handler: (job: AggregationJob, attempt: number) => Promise<void>
  logger?: Pick<Logger, 'warn' | 'error'>
}

export interface AggregationWorker {
  worker: Worker
  /** Finishes the jobs in hand (or, past the grace delay, leaves them to stall back into the queue). */
  close (): Promise<void>
}

export function startBullmqWorker (settings: WorkerSettings): AggregationWorker {
  // Workers wait out an outage: maxRetriesPerRequest null keeps blocking commands alive across reconnects.
  const connection = new Redis(settings.redisUrl, {
    maxRetriesPerRequest: null,
    retryStrategy,
    reconnectOnError: reconnectOnReadonly
  })
  let lastWarned = 0
  const warn = (err: Error) => {
    if (Date.now() - lastWarned > 30_000) settings.logger?.warn({ err: err.message }, 'aggregation worker: Redis unavailable')
    lastWarned = Date.now()
  }
  connection.on('error', warn)
  const worker = new Worker<AggregationJob>(AGGREGATE_QUEUE, async (job: Job<AggregationJob>) => {
    await settings.handler(job.data, job.attemptsMade + 1)
  }, {
    connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    lockDuration: settings.lockMs,
    stalledInterval: settings.lockMs,
    // A stalled job (its worker died) is safe to run again: the processor is idempotent.
    maxStalledCount: 10,
    removeOnComplete: JOB_OPTIONS.removeOnComplete,
    removeOnFail: JOB_OPTIONS.removeOnFail
  })
  worker.on('error', warn)
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      settings.logger?.error({ err: err.message, jobId: job.id }, 'aggregation job failed for good; the outbox sweep will enqueue it again')
    }
  })
  return {
    worker,
    async close () {
      await worker.close()
      connection.disconnect()
    }
  }
}

async function within<T> (value: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`aggregation queue: no answer from Redis within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([value, timeout])
  } finally {
    clearTimeout(timer)
  }
}
