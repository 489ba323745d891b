// The BullMQ adapter: a producer that fails fast when Redis is down (the outbox sweep catches up),
// and workers that wait out Redis outages and reconnect on READONLY (a failover).
import { Queue, Worker, type Job } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { createOutage, type Affected, type Outage } from '../ops/outage.js'
import { AGGREGATE_QUEUE, aggregationJobId, QueueUnavailable, type AggregationJob, type AggregationQueue } from './queue.js'

export interface BullmqSettings {
  redisUrl: string
  prefix: string
}

export interface BullmqQueue extends AggregationQueue {
  kind: 'bullmq'
  /** The underlying queue (tests, benchmarks). */
  queue: Queue
  /** Redis's outages as this process sees them, logged once at each end (its worker reports here too). */
  outage: Outage
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

type OutageLogger = Pick<Logger, 'warn' | 'info'>
const SILENT: OutageLogger = { warn () {}, info () {} }

export function createBullmqQueue (settings: BullmqSettings, logger: OutageLogger = SILENT): BullmqQueue {
  // No offline queue: while Redis is down, add() fails at once instead of piling up in memory.
  const connection = new Redis(settings.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy,
    reconnectOnError: reconnectOnReadonly
  })
  async function ready (): Promise<boolean> {
    if (connection.status !== 'ready') return false
    try {
      return await within(connection.ping(), 1_000) === 'PONG'
    } catch {
      return false
    }
  }
  // One line when Redis goes away and one when it is back, not one per reconnect attempt or job.
  const outage = createOutage({
    dependency: 'Redis',
    meanwhile: 'submissions are still accepted, their aggregation jobs left to the outbox sweep',
    logger,
    // every fault of this connection is Redis being away or unreachable
    classify: () => 'down',
    probe: ready
  })
  connection.on('error', (err) => { void outage.explains(err) })
  connection.on('ready', () => outage.recovered())
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

  /** Runs `work` on Redis; a failure is Redis being away, counted (`what`) against its outage. */
  async function onRedis<T> (work: () => Promise<T>, what?: Affected): Promise<T> {
    try {
      await usable()
      return await within(work(), ENQUEUE_TIMEOUT_MS)
    } catch (err) {
      await outage.explains(err, what)
      throw new QueueUnavailable((err as Error).message, { cause: err })
    }
  }

  async function add (job: AggregationJob, what?: Affected): Promise<void> {
    await onRedis(() => queue.add('aggregate', job, { jobId: aggregationJobId(job) }), what)
  }

  return {
    kind: 'bullmq',
    queue,
    outage,
    enqueue: (job) => add(job, 'jobs'),
    // the sweep's: its jobs were counted when they were first refused
    async requeue (job) {
      const existing = await onRedis(() => queue.getJob(aggregationJobId(job)))
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
    ready,
    async close () {
      outage.close()
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
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>
  /** Redis's outage log to report into (the process's queue's); without it, the worker's own. */
  outage?: Outage
  /** Whether a job's failure is an outage logged elsewhere (the database's): then it is not logged per job. */
  explained?: (err: unknown) => Promise<boolean>
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
  const outage = settings.outage ?? createOutage({
    dependency: 'Redis',
    meanwhile: 'aggregation waits',
    logger: settings.logger ?? SILENT,
    classify: () => 'down',
    probe: async () => connection.status === 'ready'
  })
  let lastWarned = 0
  const warn = (err: Error) => {
    // Redis away: its outage log says so once; anything else at most every 30 s.
    if (connection.status !== 'ready' || REDIS_AWAY.test(err.message)) {
      void outage.explains(err)
      return
    }
    if (Date.now() - lastWarned > 30_000) settings.logger?.warn({ err: err.message }, 'aggregation worker: Redis error')
    lastWarned = Date.now()
  }
  connection.on('error', warn)
  connection.on('ready', () => outage.recovered())
  const worker = new Worker<AggregationJob>(AGGREGATE_QUEUE, async (job: Job<AggregationJob>) => {
    await settings.handler(job.data, job.attemptsMade + 1)
  }, {
    connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    // The lock is renewed every half of it while the job runs; a killed worker's lock lapses and the
    // next stalled check (every half lock) gives its job back: within 1.5 locks (docs/operations.md).
    lockDuration: settings.lockMs,
    stalledInterval: Math.max(500, Math.round(settings.lockMs / 2)),
    // A stalled job (its worker died) is safe to run again: the processor is idempotent.
    maxStalledCount: 10,
    removeOnComplete: JOB_OPTIONS.removeOnComplete,
    removeOnFail: JOB_OPTIONS.removeOnFail
  })
  worker.on('error', warn)
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      void (settings.explained?.(err) ?? Promise.resolve(false)).then((known) => {
        if (!known) settings.logger?.error({ err: err.message, jobId: job.id }, 'aggregation job failed for good; the outbox sweep will enqueue it again')
      })
    }
  })
  return {
    worker,
    async close () {
      if (!settings.outage) outage.close()
      await worker.close()
      connection.disconnect()
    }
  }
}

// ioredis's words for a connection that is gone or never came
const REDIS_AWAY = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|Connection is closed|connect ETIMEDOUT/

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
