// The delivery queue: BullMQ on Redis (retries with exponential backoff kept in Redis, any worker
// process takes them), or in this process when REDIS_URL is unset (the embedded default). Jobs carry
// a delivery id only; the outbox (webhook_deliveries) is the record of what is pending, and the
// sweep enqueues again whatever a queue lost.
import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { QueueUnavailable } from '../aggregation/queue.js'
import { createOutage, type Outage } from '../ops/outage.js'

export interface DeliveryJob { deliveryId: string }

/** Runs try `attempt` of a job (`final`: the last one); a throw is a failed try, retried after the backoff. */
export type DeliveryHandler = (job: DeliveryJob, attempt: number, final: boolean) => Promise<void>

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The wait before the second try; each later one waits twice as long as the one before. */
  backoffMs: number
}

/**
 * 12 tries over about 17 hours (30 s, 1, 2, 4 … 512 minutes apart: Standard Webhooks' guidance
 * retries for about a day with growing gaps), so a receiver down for a night still gets it.
 */
export const RETRY: RetryPolicy = { attempts: 12, backoffMs: 30_000 }

export interface DeliveryQueue {
  kind: 'bullmq' | 'in-process'
  /** May fail (Redis down): the delivery is in the outbox, and the sweep enqueues it later. */
  enqueue (job: DeliveryJob): Promise<void>
  /** Like enqueue, but a finished job left under the same id (the delivery is still pending) is replaced. */
  requeue (job: DeliveryJob): Promise<void>
  /** Starts taking jobs with `handler`. */
  process (handler: DeliveryHandler): void
  /** Resolves when no job is waiting or running (tests). */
  drain (): Promise<void>
  close (): Promise<void>
}

const jobId = (job: DeliveryJob) => `wh-${job.deliveryId}`

/** Without Redis: each job is tried in this process, with the same backoff, until it succeeds or its tries run out. */
export function createInProcessDeliveryQueue (retry: RetryPolicy = RETRY): DeliveryQueue {
  let handler: DeliveryHandler | undefined
  const waiting: DeliveryJob[] = []
  const running = new Map<string, Promise<void>>()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => { timers.delete(timer); resolve() }, ms)
    timers.add(timer)
  })

  async function run (work: DeliveryHandler, job: DeliveryJob): Promise<void> {
    for (let attempt = 1; !closed; attempt++) {
      const final = attempt >= retry.attempts
      try {
        await work(job, attempt, final)
        return
      } catch {
        if (final) return
        await sleep(retry.backoffMs * 2 ** (attempt - 1))
      }
    }
  }

  function pump (): void {
    if (!handler) return
    while (waiting.length > 0) {
      const job = waiting.shift()!
      const id = jobId(job)
      running.set(id, run(handler, job).finally(() => running.delete(id)))
    }
  }

  async function enqueue (job: DeliveryJob): Promise<void> {
    if (closed) throw new Error('queue closed')
    // As a BullMQ jobId: a job waiting or in its backoff is not added twice.
    if (running.has(jobId(job)) || waiting.some((w) => w.deliveryId === job.deliveryId)) return
    waiting.push(job)
    pump()
  }

  return {
    kind: 'in-process',
    enqueue,
    requeue: enqueue,
    process (next) {
      handler = next
      pump()
    },
    async drain () {
      while (running.size > 0 || (handler && waiting.length > 0)) await Promise.all([...running.values()])
    },
    async close () {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      // a job in its backoff stops there; the sweep of the next start takes it
      await Promise.race([Promise.all([...running.values()]), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    }
  }
}

export const DELIVERY_QUEUE = 'webhook'

export interface BullmqDeliverySettings {
  redisUrl: string
  prefix: string
  concurrency: number
  lockMs: number
  retry?: RetryPolicy
  logger: Pick<Logger, 'warn' | 'info' | 'error'>
  /** The process's log of Redis outages (the aggregation queue's): one line at each end, whoever notices. */
  outage?: Outage
}

const ENQUEUE_TIMEOUT_MS = 2_000
// ioredis's words for a connection that is gone or never came (an error may arrive while the status still says ready)
const REDIS_AWAY = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|Connection is closed|connect ETIMEDOUT/
const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 3_000)

export function createBullmqDeliveryQueue (settings: BullmqDeliverySettings): DeliveryQueue {
  const retry = settings.retry ?? RETRY
  // The producer fails fast while Redis is down (no offline queue): the outbox keeps the delivery.
  const producer = new Redis(settings.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy })
  const outage = settings.outage ?? createOutage({
    dependency: 'Redis',
    meanwhile: 'webhook deliveries wait in the outbox',
    logger: settings.logger,
    classify: () => 'down',
    probe: async () => producer.status === 'ready'
  })
  const ownOutage = settings.outage === undefined
  producer.on('error', (err) => { void outage.explains(err) })
  producer.on('ready', () => outage.recovered())
  const queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, {
    connection: producer,
    prefix: settings.prefix,
    defaultJobOptions: {
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      removeOnComplete: { count: 1_000, age: 3_600 },
      removeOnFail: { count: 10_000, age: 7 * 86_400 }
    }
  })
  queue.on('error', () => {})
  const firstConnection = new Promise<void>((resolve) => producer.once('ready', resolve))
  let worker: Worker<DeliveryJob> | undefined
  let workerConnection: Redis | undefined

  async function onRedis<T> (work: () => Promise<T>): Promise<T> {
    try {
      if (producer.status !== 'ready') await within(firstConnection, ENQUEUE_TIMEOUT_MS)
      if (producer.status !== 'ready') throw new Error(`delivery queue unavailable (Redis ${producer.status})`)
      return await within(work(), ENQUEUE_TIMEOUT_MS)
    } catch (err) {
      await outage.explains(err, 'jobs')
      throw new QueueUnavailable((err as Error).message, { cause: err })
    }
  }

  return {
    kind: 'bullmq',
    async enqueue (job) {
      await onRedis(() => queue.add('deliver', job, { jobId: jobId(job) }))
    },
    async requeue (job) {
      const existing = await onRedis(() => queue.getJob(jobId(job)))
      if (existing) {
        const state = await existing.getState()
        // A finished job would swallow the add (same jobId) while the delivery is still pending.
        if (state === 'completed' || state === 'failed') await existing.remove().catch(() => {})
        else if (state !== 'unknown') return
      }
      await onRedis(() => queue.add('deliver', job, { jobId: jobId(job) }))
    },
    process (handler) {
      // Workers wait out an outage (blocking commands survive reconnects); the outage is logged once.
      const connection = workerConnection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null, retryStrategy })
      connection.on('error', (err) => { void outage.explains(err) })
      connection.on('ready', () => outage.recovered())
      worker = new Worker<DeliveryJob>(DELIVERY_QUEUE, async (job: Job<DeliveryJob>) => {
        const attempt = job.attemptsMade + 1
        await handler(job.data, attempt, attempt >= (job.opts.attempts ?? 1))
      }, {
        connection,
        prefix: settings.prefix,
        concurrency: settings.concurrency,
        lockDuration: settings.lockMs,
        stalledInterval: Math.max(500, Math.round(settings.lockMs / 2)),
        maxStalledCount: 10,
        removeOnComplete: { count: 1_000, age: 3_600 },
        removeOnFail: { count: 10_000, age: 7 * 86_400 }
      })
      let lastWarned = 0
      worker.on('error', (err) => {
        // Redis away: its outage log says so once; anything else at most every 30 s.
        if (connection.status !== 'ready' || REDIS_AWAY.test(err.message)) void outage.explains(err)
        else if (Date.now() - lastWarned > 30_000) {
          lastWarned = Date.now()
          settings.logger.warn({ err: err.message }, 'webhook delivery worker: Redis error')
        }
      })
    },
    async drain () {
      for (;;) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')
        if (Object.values(counts).every((n) => n === 0)) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async close () {
      if (ownOutage) outage.close()
      await worker?.close()
      workerConnection?.disconnect()
      await queue.close().catch(() => {})
      producer.disconnect()
    }
  }
}

async function within<T> (value: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`delivery queue: no answer from Redis within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([value, timeout])
  } finally {
    clearTimeout(timer)
  }
}
