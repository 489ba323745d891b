// One handle on the database, PostgreSQL (pg pool) or embedded PGlite, with the same drizzle API.
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { SQL } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core'
import type { ExtractTablesWithRelations } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { ConfigError } from '../config.js'
import * as schema from './schema.js'

export type Schema = typeof schema
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>
/** Anything that runs statements: the database itself or a transaction. */
export type Queryable = Db | Tx

export interface Database {
  kind: 'postgres' | 'pglite'
  db: Db
  /** Whether a trivial statement answers now (readiness). */
  ping (): Promise<boolean>
  close (): Promise<void>
  /** The raw PGlite instance, for tests that inspect it; undefined on PostgreSQL. */
  pglite?: unknown
  /** The pg pool, for the bulk paths and the migration lock; undefined on PGlite. */
  pool?: pg.Pool
}

/** Rows of a raw `execute`, whose result type differs between the drivers. */
export async function rows<T> (q: Queryable, statement: SQL): Promise<T[]> {
  const result = await q.execute(statement) as unknown as { rows: T[] }
  return result.rows
}

/** Rows a raw `execute` changed, whose result shape differs between the drivers. */
export function affectedRows (result: unknown): number {
  const r = result as { rowCount?: number | null, affectedRows?: number }
  return r.rowCount ?? r.affectedRows ?? 0
}

/** The SQLSTATE of a driver error, also when drizzle wraps it (on the error or its cause). */
export function sqlState (err: unknown): string | undefined {
  for (let e = err as { code?: unknown, cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code
  }
  return undefined
}

// What says the database cannot answer now, as opposed to a fault of the statement: SQLSTATE class 08
// (connection exception), 57P01-57P03 (admin or crash shutdown, cannot connect now: a restart) and
// 53300 (too many connections); the network's errnos; and the drivers' own words for a connection
// that broke, a pool that could not connect in time, or a database already closed.
const UNAVAILABLE_STATE = /^(?:08...|57P0[123]|53300)$/
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
const UNAVAILABLE_MESSAGE = /^(?:Connection terminated|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end|timeout exceeded when trying to connect|Query read timeout|PGlite is closed)/

/**
 * Whether a fault is the database being away ('down'), may be ('maybe': a statement timeout, which
 * an outage causes as well as a heavy statement), or is not (undefined). The one place that knows.
 */
export function databaseFault (err: unknown): 'down' | 'maybe' | undefined {
  const seen = new Set<unknown>()
  const pending: unknown[] = [err]
  while (pending.length > 0 && seen.size < 8) {
    const e = pending.shift() as { code?: unknown, message?: unknown, cause?: unknown, errors?: unknown } | undefined
    if (!e || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const code = typeof e.code === 'string' ? e.code : ''
    if (UNAVAILABLE_STATE.test(code) || UNAVAILABLE_ERRNO.has(code)) return 'down'
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return 'down'
    if (code === '57014' && typeof e.message === 'string' && /statement timeout/.test(e.message)) return 'maybe'
    pending.push(e.cause, ...(Array.isArray(e.errors) ? e.errors : []))
  }
  return undefined
}

/**
 * Runs `work` in a transaction that always gives its connection back. drizzle's node-postgres
 * `transaction` leaks the pool client when BEGIN itself fails (a backend terminated while idle in
 * the pool, as after a PostgreSQL restart); enough of those and the pool is empty for good.
 */
export async function inTransaction<T> (database: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (!database.pool) return database.db.transaction(work)
  const client = await database.pool.connect()
  let failure: Error | undefined
  try {
    const db = drizzlePg(client, { schema }) as unknown as Db
    return await db.transaction(work)
  } catch (err) {
    failure = err as Error
    throw err
  } finally {
    // With an error the connection is dropped, not reused: its state is unknown.
    client.release(failure)
  }
}

export interface PostgresOptions {
  url: string
  poolMax: number
  statementTimeoutMs: number
}

export async function connectPostgres (options: PostgresOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'mhx'
  })
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => {})
  // Nor a checked-out client's (pg-pool listens only while a client is idle): a backend terminated
  // between two statements of a transaction (a PostgreSQL restart) fails that transaction, not the process.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  try {
    const client = await pool.connect()
    client.release()
  } catch (err) {
    await pool.end().catch(() => {})
    const where = safeTarget(options.url)
    throw new ConfigError('DATABASE_URL', `cannot connect to PostgreSQL at ${where}: ${(err as Error).message}`)
  }
  const db = drizzlePg(pool, { schema }) as unknown as Db
  let closed = false
  return {
    kind: 'postgres',
    db,
    pool,
    async ping () {
      try {
        await pool.query('SELECT 1')
        return true
      } catch {
        return false
      }
    },
    async close () {
      if (closed) return
      closed = true
      await pool.end()
    }
  }
}

/** The data directory, made private (0700): it holds the database, the KEK and the admin's key. */
export function privateDataDir (dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

/** Takes group and other permissions off everything under `dir` (PGlite writes its files 0666 less the umask). */
export function keepPrivate (dir: string): void {
  chmodSync(dir, statSync(dir).mode & 0o700)
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) continue
    const path = join(entry.parentPath, entry.name)
    chmodSync(path, statSync(path).mode & 0o700)
  }
}

/**
 * PGlite in `dir` (created if missing, private), or in memory when dir is undefined, then starting
 * from `seed` when given: a data directory PGlite dumped (tests start from a migrated one, which
 * costs a fraction of creating a database).
 */
export async function connectPglite (dir?: string, seed?: Blob): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  let client
  if (dir) {
    privateDataDir(dir)
    // PGlite creates files (relations, WAL) as it goes, with the process umask: make it private.
    process.umask(process.umask() | 0o077)
    client = new PGlite(join(dir, 'pgdata'))
  } else {
    client = new PGlite(seed ? { loadDataDir: seed } : undefined)
  }
  await client.waitReady
  // Files of an older run, made under a looser umask.
  if (dir) keepPrivate(dir)
  const db = drizzlePglite(client, { schema }) as unknown as Db
  let closed = false
  return {
    kind: 'pglite',
    db,
    pglite: client,
    async ping () {
      if (closed) return false
      try {
        await client.query('SELECT 1')
        return true
      } catch {
        return false
      }
    },
    async close () {
      if (closed) return
      closed = true
      await client.close()
    }
  }
}

/** host:port/database of a connection URL, never its password. */
function safeTarget (url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    return '(unparseable URL)'
  }
}
