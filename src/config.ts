// The only module that reads process.env. Everything else receives a Config.
import { resolve } from 'node:path'

export type Role = 'all' | 'api' | 'worker'

export interface Config {
  port: number
  host: string
  databaseUrl: string | undefined
  redisUrl: string | undefined
  dataDir: string
  publicUrl: string
  suppressionK: number
  /** k of a read that uses a sensitive dimension (x-mhx-sensitive) in `by` or a filter. */
  sensitiveK: number
  /** Distinct aggregate queries a partner may ask per UTC day (0: no budget). */
  queryBudget: number
  /** Roll-ups (uncached aggregate reads) of one partner that run at once in one process; the rest wait. */
  readsPerPartner: number
  /** sync (the default): a read is answered once its audit row is committed; async: once it is queued (committed milliseconds later). */
  readAudit: 'sync' | 'async'
  tokenTtlS: number
  adminPublicJwkPath: string | undefined
  role: Role
  maxRecords: number
  logLevel: string
  kek: string | undefined
  metricsToken: string | undefined
  workerConcurrency: number
  sweepIntervalMs: number
  sweepAfterMs: number
  /** Redis key prefix of the BullMQ queues (several services or test runs can share one Redis). */
  queuePrefix: string
  /** BullMQ job lock: a worker killed mid-job gives its job back within about 1.5 times this. */
  workerLockMs: number
  /** A worker-only process serves /metrics on this port (needs MHX_METRICS_TOKEN). */
  metricsPort: number | undefined
  dbPoolMax: number
  dbStatementTimeoutMs: number
  /** Token requests a minute per claimed client (failures per address: ten times this); 0 turns the limits off. */
  rateToken: number
  /** Fastify's trustProxy: whether (and which) proxies' X-Forwarded-For decides a request's address. */
  trustProxy: boolean | number | string
  /** Requests a minute per partner on every other authenticated route; 0 turns the limit off. */
  rateApi: number
  /** Browser origins allowed to call the API (CORS); none by default. */
  corsOrigins: string[]
  /** required: a read needs the consent of every country it counts (stewardship); grants: the grant alone. */
  consent: 'required' | 'grants'
  /** A month is published on time by this day of the next month (UTC). */
  dueDay: number
  /**
   * Webhook hosts allowed without https and at private, loopback or link-local addresses, each
   * exactly as written in a subscription's URL (a name, an IPv4 address or a bracketed IPv6 one).
   */
  webhookAllowHosts: string[]
}

/** A configuration fault: one line naming the variable, shown instead of a stack trace. */
export class ConfigError extends Error {
  constructor (readonly variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/**
 * The most records one submission may hold (MHX_MAX_RECORDS at most). Measured (bench/faults.ts,
 * bench/RESULTS.md): a 566,000-record CSV took 48 s and 1.1 GB on this 2-core machine, its COPY alone
 * 28 s of the 30 s statement timeout; 100,000 records take about 6 s. `mhx push` splits a file into
 * batches of 10,000 anyway.
 */
export const MAX_RECORDS_LIMIT = 100_000
/**
 * Records PostgreSQL stores per millisecond of a submission's COPY, counted low: about 20 were
 * measured on this machine under a load average of 12 (bench/RESULTS.md). A limit the statement
 * timeout cannot cover at this rate is refused at start.
 */
export const RECORDS_PER_STATEMENT_MS = 10

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

function url (env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(name, 'is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`)
  }
  return raw
}

function oneOf<T extends string> (env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`)
  }
  return raw as T
}

function maxRecords (env: Env): number {
  const value = integer(env, 'MHX_MAX_RECORDS', 10000, 1, Number.MAX_SAFE_INTEGER)
  if (value > MAX_RECORDS_LIMIT) {
    throw new ConfigError('MHX_MAX_RECORDS', `must be at most ${MAX_RECORDS_LIMIT}, got ${value}: a larger submission does not fit its statement timeout and memory (docs/operations.md); `
      + '`mhx push` sends a file of any size in batches')
  }
  return value
}

function queuePrefix (env: Env): string {
  const raw = env.MHX_QUEUE_PREFIX
  if (raw === undefined || raw === '') return 'mhx'
  // BullMQ joins keys with ':'; a prefix holding one would split them.
  if (!/^[A-Za-z0-9_.{}-]{1,64}$/.test(raw)) throw new ConfigError('MHX_QUEUE_PREFIX', `must be 1-64 letters, digits, _ . - { }, got "${raw}"`)
  return raw
}

/** MHX_CORS_ORIGINS: a comma list of origins (scheme://host[:port], no path). */
function origins (env: Env): string[] {
  const raw = env.MHX_CORS_ORIGINS
  if (raw === undefined || raw.trim() === '') return []
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((origin) => {
    let parsed: URL | undefined
    try {
      parsed = new URL(origin)
    } catch {}
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError('MHX_CORS_ORIGINS', `"${origin}" is not an origin like https://dashboard.example.org (scheme, host and port only)`)
    }
    return origin
  })
}

/**
 * MHX_WEBHOOK_ALLOW_HOSTS: a comma list of hosts as a URL writes them (`receiver.internal`,
 * `10.0.0.7`, `[fd00::7]`; a bare IPv6 address is bracketed). No scheme, port or path: the
 * exception is for a host, and `127.0.0.1` does not allow `localhost`.
 */
function webhookAllowHosts (env: Env): string[] {
  const raw = env.MHX_WEBHOOK_ALLOW_HOSTS
  if (raw === undefined || raw.trim() === '') return []
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const host = item.includes(':') && !item.startsWith('[') ? `[${item}]` : item
    let parsed: URL | undefined
    try {
      parsed = new URL(`https://${host}/`)
    } catch {}
    if (!parsed || parsed.host !== host.toLowerCase() || parsed.port !== '') {
      throw new ConfigError('MHX_WEBHOOK_ALLOW_HOSTS', `"${item}" is not a host name or address as a URL writes it (no scheme, port or path)`)
    }
    return parsed.hostname
  })
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** `role` overrides MHX_ROLE (npm run worker is always a worker). */
export function loadConfig (env: Env = process.env, role?: Role): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const publicUrl = (url(env, 'MHX_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '')
  const suppressionK = integer(env, 'MHX_SUPPRESSION_K', 5, 0, 1000)
  // Below 3 a suppressed cell and its single partner leak each other by subtraction.
  if (suppressionK < 3) throw new ConfigError('MHX_SUPPRESSION_K', `must be at least 3, got ${suppressionK}`)
  const kek = env.MHX_KEK === '' ? undefined : env.MHX_KEK
  if (kek !== undefined && Buffer.from(kek, 'base64').length !== 32) {
    throw new ConfigError('MHX_KEK', 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
  }
  const config: Config = {
    port,
    host: env.HOST || '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    dataDir: resolve(env.MHX_DATA_DIR || './.mhx'),
    publicUrl,
    suppressionK,
    sensitiveK: Math.max(suppressionK, integer(env, 'MHX_SENSITIVE_K', 11, 3, 1000)),
    queryBudget: integer(env, 'MHX_QUERY_BUDGET', 2000, 0, 10_000_000),
    readsPerPartner: integer(env, 'MHX_READS_PER_PARTNER', 2, 1, 64),
    readAudit: oneOf(env, 'MHX_READ_AUDIT', ['sync', 'async'] as const, 'sync'),
    tokenTtlS: integer(env, 'MHX_TOKEN_TTL_S', 300, 10, 3600),
    adminPublicJwkPath: env.MHX_ADMIN_PUBLIC_JWK || undefined,
    role: role ?? oneOf(env, 'MHX_ROLE', ['all', 'api', 'worker'] as const, 'all'),
    maxRecords: maxRecords(env),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    kek,
    metricsToken: env.MHX_METRICS_TOKEN || undefined,
    workerConcurrency: integer(env, 'MHX_WORKER_CONCURRENCY', 4, 1, 256),
    sweepIntervalMs: integer(env, 'MHX_SWEEP_INTERVAL_MS', 10_000, 100, 3_600_000),
    sweepAfterMs: integer(env, 'MHX_SWEEP_AFTER_MS', 30_000, 0, 86_400_000),
    queuePrefix: queuePrefix(env),
    // renewed every half of it: 10 s gives a killed worker's jobs back within 15 s (docs/operations.md)
    workerLockMs: integer(env, 'MHX_WORKER_LOCK_MS', 10_000, 1_000, 600_000),
    metricsPort: env.MHX_METRICS_PORT ? integer(env, 'MHX_METRICS_PORT', 0, 1, 65535) : undefined,
    dbPoolMax: integer(env, 'MHX_DB_POOL_MAX', 10, 1, 1000),
    dbStatementTimeoutMs: integer(env, 'MHX_DB_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
    rateToken: integer(env, 'MHX_RATE_TOKEN', 120, 0, 1_000_000),
    rateApi: integer(env, 'MHX_RATE_API', 1200, 0, 10_000_000),
    trustProxy: trustProxy(env),
    corsOrigins: origins(env),
    consent: oneOf(env, 'MHX_CONSENT', ['required', 'grants'] as const, 'required'),
    dueDay: integer(env, 'MHX_DUE_DAY', 15, 1, 28),
    webhookAllowHosts: webhookAllowHosts(env)
  }
  // the largest submission allowed must be stored within one statement's timeout
  const needsMs = Math.ceil(config.maxRecords / RECORDS_PER_STATEMENT_MS)
  if (config.databaseUrl && config.dbStatementTimeoutMs < needsMs) {
    throw new ConfigError('MHX_MAX_RECORDS', `${config.maxRecords} records cannot be stored within MHX_DB_STATEMENT_TIMEOUT_MS (${config.dbStatementTimeoutMs} ms): `
      + `allow at most ${config.dbStatementTimeoutMs * RECORDS_PER_STATEMENT_MS} records, or a timeout of at least ${needsMs} ms`)
  }
  if (config.metricsPort !== undefined && !config.metricsToken) {
    throw new ConfigError('MHX_METRICS_PORT', 'needs MHX_METRICS_TOKEN: the worker\'s /metrics answers only to that token')
  }
  if (config.role !== 'all' && (!config.databaseUrl || !config.redisUrl)) {
    const missing = !config.databaseUrl ? 'DATABASE_URL' : 'REDIS_URL'
    throw new ConfigError(missing, `MHX_ROLE=${config.role} needs DATABASE_URL and REDIS_URL: the embedded database and in-process queue belong to one process (use MHX_ROLE=all)`)
  }
  return config
}

/**
 * MHX_TRUST_PROXY: unset (no proxy: the peer's address counts), `true` (every hop), a number of hops,
 * or a comma list of proxy addresses or CIDR ranges (what Fastify's trustProxy takes).
 */
function trustProxy (env: Env): boolean | number | string {
  const raw = env.MHX_TRUST_PROXY?.trim()
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return integer(env, 'MHX_TRUST_PROXY', 0, 1, 100)
  const items = raw.split(',').map((item) => item.trim())
  const bad = items.find((item) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(item))
  if (bad !== undefined) throw new ConfigError('MHX_TRUST_PROXY', `must be true, a number of hops or a comma list of addresses or CIDR ranges, got "${bad}"`)
  return items.join(',')
}

/** The `mhx` CLI's settings: the service it talks to and, optionally, who it is. */
export interface CliConfig {
  url: string
  partner: string | undefined
  keyFile: string | undefined
  /** MHX_DATA_DIR: where the service wrote admin.private.jwk at first start (default ./.mhx). */
  dataDir: string | undefined
  /** MHX_CHROMIUM: the Chromium that `mhx bulletin` prints with (default: the system's, /usr/bin/chromium). */
  chromium?: string
}

/** MHX_URL (default http://localhost:3000), MHX_PARTNER, MHX_KEY_FILE, MHX_DATA_DIR, MHX_CHROMIUM; flags override them. */
export function loadCliConfig (env: Env = process.env): CliConfig {
  return {
    url: (url(env, 'MHX_URL', ['http:', 'https:']) ?? 'http://localhost:3000').replace(/\/+$/, ''),
    partner: env.MHX_PARTNER || undefined,
    keyFile: env.MHX_KEY_FILE || undefined,
    dataDir: env.MHX_DATA_DIR || undefined,
    chromium: env.MHX_CHROMIUM || undefined
  }
}
