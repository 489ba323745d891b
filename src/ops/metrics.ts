// Prometheus metrics (prom-client), one Registry per process: API and worker share it when they share
// a process. No label carries a country, partner or region: counts per country are data, not metrics.
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { pendingCount } from '../aggregation/outbox.js'
import type { AggregationQueue } from '../aggregation/queue.js'
import type { Database } from '../db/connect.js'

export interface Metrics {
  registry: Registry
  /** Jobs finished by this process's worker, by outcome (completed | failed). */
  jobs: Counter<'outcome'>
  /** Jobs started again after a failed or interrupted attempt. */
  jobsRetried: Counter
  /** Records added to (or subtracted from) the cells. */
  recordsAggregated: Counter<'operation'>
  /** Seconds from a submission's acceptance to its records being in the cells. */
  freshness: Histogram
  /** Pending submissions the outbox sweep handed to the queue again. */
  sweepReenqueued: Counter
}

export interface MetricSources {
  queue?: AggregationQueue
  database?: Database
  /** Process metrics (CPU, memory, event loop): on for a service, off in tests. */
  processMetrics?: boolean
}

const COLLECT_TIMEOUT_MS = 1_000

export function createMetrics (sources: MetricSources = {}): Metrics {
  const registry = new Registry()
  const registers = [registry]
  if (sources.processMetrics) collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    jobs: new Counter({ name: 'mhx_aggregation_jobs_total', help: 'Aggregation jobs finished by this process, by outcome', labelNames: ['outcome'] as const, registers }),
    jobsRetried: new Counter({ name: 'mhx_aggregation_jobs_retried_total', help: 'Aggregation jobs started again after a failed or interrupted attempt', registers }),
    recordsAggregated: new Counter({ name: 'mhx_aggregation_records_total', help: 'Records added to or subtracted from the cells', labelNames: ['operation'] as const, registers }),
    freshness: new Histogram({
      name: 'mhx_aggregation_freshness_seconds',
      help: 'Time from a submission being accepted to its records being in the cells',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers
    }),
    sweepReenqueued: new Counter({ name: 'mhx_aggregation_sweep_reenqueued_total', help: 'Pending submissions enqueued again by the outbox sweep', registers })
  }
  for (const outcome of ['completed', 'failed']) metrics.jobs.inc({ outcome }, 0)
  for (const operation of ['add', 'subtract']) metrics.recordsAggregated.inc({ operation }, 0)

  const { queue, database } = sources
  if (queue) {
    new Gauge({
      name: 'mhx_aggregation_queue_depth',
      help: 'Aggregation jobs waiting, delayed or running in the queue',
      registers,
      async collect () {
        const depth = await withTimeout(queue.depth())
        if (depth !== undefined) this.set(depth)
      }
    })
  }
  if (database) {
    new Gauge({
      name: 'mhx_aggregation_outbox_pending',
      help: 'Submissions whose effect on the cells is still pending',
      registers,
      async collect () {
        const pending = await withTimeout(pendingCount(database.db))
        if (pending !== undefined) this.set(pending)
      }
    })
  }
  return metrics
}

/** A down Redis or database must not hang the scrape: the gauge keeps its last value. */
async function withTimeout<T> (value: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), COLLECT_TIMEOUT_MS) })
  try {
    return await Promise.race([value.catch(() => undefined), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Whether an Authorization header carries the metrics token (compared in constant time). */
export function hasMetricsToken (authorization: string | undefined, token: string | undefined): boolean {
  if (!token || !authorization) return false
  return timingSafeEqual(digest(authorization), digest(`Bearer ${token}`))
}

/**
 * A worker-only process has no API: it serves /metrics on its own port, to the metrics token only
 * (it holds no partner tokens to check an admin's).
 */
export async function serveMetrics (metrics: Metrics, options: { port: number, host: string, token: string }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    if (!hasMetricsToken(req.headers.authorization, options.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end()
      return
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end()
    )
  })
  server.requestTimeout = 10_000
  server.headersTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  return server
}
