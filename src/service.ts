// Start-up shared by `npm start` (API + worker) and `npm run worker`: config → database →
// migrations → keys → queue → the roles this process plays.
import closeWithGrace from 'close-with-grace'
import pino, { type Logger } from 'pino'
import { bootstrapAdmin } from './admin/bootstrap.js'
import { buildApp, LOG_REDACT, type App } from './app.js'
import { createBullmqQueue } from './aggregation/bullmq-queue.js'
import { createInProcessQueue } from './aggregation/in-process-queue.js'
import { startAggregation, type AggregationRuntime } from './aggregation/worker-runtime.js'
import { createCellVersions } from './aggregation/versions.js'
import type { AggregationQueue } from './aggregation/queue.js'
import { loadHubKeys, loadKek } from './auth/hub-keys.js'
import { connectRateLimitRedis } from './auth/rate-limits.js'
import type { Redis } from 'ioredis'
import { ConfigError, type Config } from './config.js'
import { connectPglite, connectPostgres, type Database } from './db/connect.js'
import { migrate } from './db/migrate.js'
import { loadSchemaRegistry } from './intake/registry.js'
import { createMetrics, serveMetrics, type Metrics } from './ops/metrics.js'
import { databaseOutage as databaseOutageOf } from './ops/outage.js'
import { createBullmqDeliveryQueue, createInProcessDeliveryQueue } from './notifications/queue.js'
import { startNotifications, type Notifications } from './notifications/runtime.js'
import { unseal } from './auth/hub-keys.js'
import type { BullmqQueue } from './aggregation/bullmq-queue.js'

export interface Service {
  app?: App
  database: Database
  queue: AggregationQueue
  metrics: Metrics
  close (): Promise<void>
}

export function createLogger (config: Config): Logger {
  return pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } })
}

export async function openDatabase (config: Config): Promise<Database> {
  return config.databaseUrl
    ? connectPostgres({ url: config.databaseUrl, poolMax: config.dbPoolMax, statementTimeoutMs: config.dbStatementTimeoutMs })
    : connectPglite(config.dataDir)
}

export async function startService (config: Config, logger: Logger): Promise<Service> {
  const started = Date.now()
  // Whatever the service writes (the embedded database, the KEK, the admin's key) is for its user only.
  process.umask(0o077)
  // A malformed schema file stops the start, before anything else is opened.
  const schemas = await loadSchemaRegistry()
  const database = await openDatabase(config)
  await migrate(database)
  const now = () => new Date()

  // Producers fail fast while Redis is down; the outbox sweep enqueues what they could not.
  const queue: AggregationQueue = config.redisUrl
    ? createBullmqQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix }, logger)
    : createInProcessQueue()
  const metrics = createMetrics({ queue, database, processMetrics: true })
  // one log of the database's outages for the process: its API and worker count into it
  const databaseOutage = databaseOutageOf(database, logger)
  // With MHX_ROLE=all the worker tells the API's data versions of its changes at once (others hear NOTIFY).
  const cellVersions = config.role === 'all' ? await createCellVersions(database) : undefined
  // The worker (and the sweep) run in every role but api: with MHX_ROLE=all, next to the API.
  const aggregation: AggregationRuntime | undefined = config.role !== 'api'
    ? await startAggregation({ config, database, queue, metrics, logger, cellVersions, databaseOutage })
    : undefined
  // Webhook deliveries run beside aggregation; they open subscriptions' secrets with the same KEK as the API.
  let notifications: Notifications | undefined
  if (config.role !== 'api') {
    // Loaded at the first delivery: a worker that never delivers leaves MHX_DATA_DIR alone.
    let kek: Buffer | undefined
    const deliveryQueue = config.redisUrl
      ? createBullmqDeliveryQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix, concurrency: config.workerConcurrency, lockMs: config.workerLockMs, logger, outage: (queue as BullmqQueue).outage })
      : createInProcessDeliveryQueue()
    notifications = await startNotifications({ config, database, queue: deliveryQueue, unseal: (sealed, aad) => unseal(kek ??= loadKek(config.kek, config.dataDir), sealed, aad), logger, databaseOutage })
  }
  const metricsServer = config.role === 'worker' && config.metricsPort !== undefined && config.metricsToken
    ? await serveMetrics(metrics, { port: config.metricsPort, host: config.host, token: config.metricsToken })
    : undefined

  let app: App | undefined
  let rateLimitRedis: Redis | undefined
  if (config.role !== 'worker') {
    // Only the API signs (tokens, receipts) and admits the admin: a worker needs neither, nor the KEK.
    const keys = await loadHubKeys(database.db, loadKek(config.kek, config.dataDir), now)
    const admin = await bootstrapAdmin(database, { adminPublicJwkPath: config.adminPublicJwkPath, dataDir: config.dataDir, now: now() })
    if (admin.privateKeyFile) logger.warn({ file: admin.privateKeyFile }, `created the admin partner; its private key is in ${admin.privateKeyFile} (keep it safe)`)
    else if (admin.created) logger.info('created the admin partner with the key from MHX_ADMIN_PUBLIC_JWK')
    // Rate-limit counters in Redis when there is one: every API replica counts against the same budget.
    rateLimitRedis = config.redisUrl ? connectRateLimitRedis(config.redisUrl) : undefined
    app = await buildApp({ config, database, queue, keys, schemas, metrics, cellVersions, now, logger, rateLimitRedis, databaseOutage })
    await app.listen({ port: config.port, host: config.host })
  }
  logger.info({ role: config.role, database: database.kind, queue: queue.kind, ms: Date.now() - started }, 'mhx started')

  return {
    app,
    database,
    queue,
    metrics,
    async close () {
      await app?.close()
      rateLimitRedis?.disconnect()
      await aggregation?.close()
      await notifications?.close()
      await cellVersions?.close()
      await new Promise((resolve) => metricsServer ? metricsServer.close(resolve) : resolve(undefined))
      await queue.close()
      databaseOutage.close()
      await database.close()
    }
  }
}

/** Runs the service until a signal; a configuration fault is one line, not a stack trace. */
export async function runService (config: () => Config): Promise<void> {
  let resolved: Config
  try {
    resolved = config()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mhx: configuration error: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const logger = createLogger(resolved)
  let service: Service
  try {
    service = await startService(resolved, logger)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mhx: configuration error: ${err.message}\n`)
      process.exit(1)
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`mhx: configuration error: PORT: ${resolved.port} is already in use on ${resolved.host}\n`)
      process.exit(1)
    }
    throw err
  }
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down')
    await service.close()
  })
}
