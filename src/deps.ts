// What buildApp takes (AppDeps) and what every capability's routes receive (RouteDeps): types only,
// kept apart from app.ts so that route modules depend on these shapes, not on the module that
// registers them (no import circle through the app).
import type { Logger } from 'pino'
import type { Redis } from 'ioredis'
import type { AggregationQueue } from './aggregation/queue.js'
import type { CellVersions } from './aggregation/versions.js'
import type { AuditWriter } from './audit/writer.js'
import type { Authorize } from './auth/bearer.js'
import type { PartnerDirectory } from './auth/directory.js'
import type { HubKeys } from './auth/hub-keys.js'
import type { RateLimits } from './auth/rate-limits.js'
import type { Config } from './config.js'
import type { Database } from './db/connect.js'
import type { SchemaRegistry } from './intake/registry.js'
import type { Metrics } from './ops/metrics.js'
import type { Outage } from './ops/outage.js'
import type { StewardshipBook } from './stewardship/book.js'

export interface AppDeps {
  config: Config
  database: Database
  queue: AggregationQueue
  keys: HubKeys
  /** The shared record schemas and catalogs, compiled once at start. */
  schemas: SchemaRegistry
  /** The process's Prometheus registry (shared with its worker); without one, a registry of this app's own. */
  metrics?: Metrics
  /** Partner status, roles and grants, cached and invalidated on change; without one, the app opens its own. */
  directory?: PartnerDirectory
  /** When each country's cells last changed, cached and invalidated on change; without one, the app opens its own. */
  cellVersions?: CellVersions
  /** Stewards, consents and publications, cached and invalidated on change; without one, the app opens its own. */
  stewardship?: StewardshipBook
  now?: () => Date
  /** The process logger; without one, a pino logger at config.logLevel. */
  logger?: Logger
  /** Where rate-limit counters live, shared by every API process; without it, in this process. */
  rateLimitRedis?: Redis
  /** The database's outages, shared with the process's worker (one log line at each end); without it, the app's own. */
  databaseOutage?: Outage
}

/** What every capability's routes receive: the app's dependencies, resolved. */
export interface RouteDeps extends Required<Omit<AppDeps, 'logger' | 'rateLimitRedis' | 'databaseOutage'>> {
  authorize: Authorize
  rateLimits: RateLimits
  /** Audit rows of reads, group-committed (MHX_READ_AUDIT); the audit routes drain it before they look. */
  readAudit: AuditWriter
}
