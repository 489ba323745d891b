// Delivering notifications, in every process that aggregates (MHX_ROLE all or worker): jobs from
// the delivery queue run `deliver`; new deliveries are enqueued when their publication commits
// (NOTIFY), and a sweep enqueues again every pending one the queue lost (a Redis outage, a restart).
import { sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { rows, type Database } from '../db/connect.js'
import { listen } from '../db/listen.js'
import type { Outage } from '../ops/outage.js'
import { QueueUnavailable } from '../aggregation/queue.js'
import { systemResolve, type Resolve } from './address.js'
import { AttemptFailed, deliver } from './delivery.js'
import { WEBHOOK_CHANNEL } from './events.js'
import type { DeliveryQueue } from './queue.js'

export interface NotificationsDeps {
  config: Pick<Config, 'webhookAllowHosts' | 'consent' | 'suppressionK' | 'sensitiveK' | 'sweepIntervalMs' | 'sweepAfterMs'>
  database: Database
  queue: DeliveryQueue
  /** Opens a subscription's sealed secret (the key-encryption key's). */
  unseal (sealed: string, aad: string): string
  logger: Pick<Logger, 'warn' | 'info' | 'error'>
  now?: () => Date
  resolve?: Resolve
  /** The database's outages (the process's): a try it fails is not logged per job. */
  databaseOutage?: Outage
  /** A try's time limit (tests). */
  timeoutMs?: number
}

export interface Notifications {
  /** Enqueues pending deliveries unchanged for `olderThanMs` (0: every one); returns how many. */
  sweep (olderThanMs?: number): Promise<number>
  close (): Promise<void>
}

export async function startNotifications (deps: NotificationsDeps): Promise<Notifications> {
  const { database, queue, logger } = deps
  const now = deps.now ?? (() => new Date())
  const deliveryDeps = { db: database.db, unseal: deps.unseal, config: deps.config, resolve: deps.resolve ?? systemResolve, now, timeoutMs: deps.timeoutMs }

  queue.process(async (job, _attempt, final) => {
    try {
      await deliver(deliveryDeps, job.deliveryId, final)
    } catch (err) {
      // A receiver's failure is in the delivery log; the database being away is in its outage log.
      if (!(err instanceof AttemptFailed) && !await deps.databaseOutage?.explains(err, 'jobs')) {
        logger.warn({ err, deliveryId: job.deliveryId }, 'webhook delivery failed; it is retried')
      }
      if (final && err instanceof AttemptFailed) logger.info({ deliveryId: job.deliveryId, error: err.message }, 'webhook delivery failed for good after its last try')
      throw err
    }
  })

  let sweeping: Promise<number> | undefined
  async function sweep (olderThanMs = deps.config.sweepAfterMs, fresh = false): Promise<number> {
    if (sweeping) {
      // a sweep for new deliveries waits for the one under way, then looks again
      if (!fresh) return sweeping
      await sweeping.catch(() => 0)
    }
    sweeping = (async () => {
      try {
        const pending = await rows<{ id: string }>(database.db, sql`
          SELECT id FROM webhook_deliveries
          WHERE state = 'pending' AND updated_at <= now() - make_interval(secs => ${olderThanMs / 1000})
          ORDER BY created_at LIMIT 10000`)
        let enqueued = 0
        for (const { id } of pending) {
          // New ones are added; older ones replace a finished job the queue kept under their id.
          await (fresh ? queue.enqueue({ deliveryId: id }) : queue.requeue({ deliveryId: id }))
          enqueued++
        }
        return enqueued
      } catch (err) {
        // The queue or the database being away is logged by its outage; the next sweep tries again.
        if (!(err instanceof QueueUnavailable) && !await deps.databaseOutage?.explains(err)) logger.warn({ err }, 'webhook sweep failed; the next one tries again')
        return 0
      } finally {
        sweeping = undefined
      }
    })()
    return sweeping
  }

  const listener = { listening: false }
  const stopListening = await listen(database, WEBHOOK_CHANNEL, () => { void sweep(0, true) }, listener)
  // At start: whatever was pending when the last process stopped (an in-process queue lost it).
  await sweep(0)
  const timer = setInterval(() => { void sweep() }, deps.config.sweepIntervalMs)
  timer.unref()

  return {
    sweep: (olderThanMs) => sweep(olderThanMs ?? deps.config.sweepAfterMs),
    async close () {
      clearInterval(timer)
      await stopListening()
      await sweeping
      await queue.close()
    }
  }
}
