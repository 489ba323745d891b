// An outage of a dependency (the database, Redis) is logged once when it starts and once when it
// ends, with how many requests and jobs it touched: during a 13 s outage a line (and a stack) per
// request or job buried the one fact an operator needs (docs/operations.md, "When a dependency is away").
import type { Logger } from 'pino'
import { databaseFault, type Database } from '../db/connect.js'

export type Affected = 'requests' | 'jobs'

/** What a fault says of a dependency: it is away ('down'), it may be ('maybe', a timeout: a probe decides), or nothing. */
export type FaultKind = 'down' | 'maybe' | undefined

export interface Outage {
  readonly dependency: string
  /** An outage is under way: it started and has not ended. */
  readonly down: boolean
  /**
   * Whether `err` is this dependency being away; if so the outage starts (logged once) and, with
   * `what`, one more request or job is counted against it.
   */
  explains (err: unknown, what?: Affected): Promise<boolean>
  /** The dependency answers again (a reconnection said so): the end is logged, with the counts. */
  recovered (): void
  /** Stops probing; an outage still under way is not logged as over. */
  close (): void
}

export interface OutageOptions {
  /** Named in the log lines: `PostgreSQL`, `Redis`. */
  dependency: string
  /** What the service does meanwhile, for the first line: "requests that need it are answered 503". */
  meanwhile: string
  logger: Pick<Logger, 'warn' | 'info'>
  classify: (err: unknown) => FaultKind
  /** Whether the dependency answers now: polled while it is away, so the end is logged without waiting for traffic. */
  probe: () => Promise<boolean>
  probeEveryMs?: number
}

export function createOutage (options: OutageOptions): Outage {
  const { dependency, logger } = options
  const probeEveryMs = options.probeEveryMs ?? 1_000
  let since: number | undefined
  let counts: Record<Affected, number> = { requests: 0, jobs: 0 }
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function answers (): Promise<boolean> {
    try {
      return await options.probe()
    } catch {
      return false
    }
  }

  function probeLater (): void {
    if (closed) return
    timer = setTimeout(() => {
      void answers().then((ok) => {
        if (ok) recovered()
        else if (since !== undefined) probeLater()
      })
    }, probeEveryMs)
    timer.unref()
  }

  function start (err: unknown): void {
    if (since !== undefined) return
    since = Date.now()
    counts = { requests: 0, jobs: 0 }
    logger.warn({ dependency, cause: causeOf(err) }, `${dependency} unavailable: ${options.meanwhile} until it is back`)
    probeLater()
  }

  function recovered (): void {
    if (since === undefined) return
    clearTimeout(timer)
    logger.info({ dependency, downMs: Date.now() - since, ...counts }, `${dependency} available again after ${((Date.now() - since) / 1000).toFixed(1)} s (${counts.requests} requests, ${counts.jobs} jobs affected)`)
    since = undefined
  }

  return {
    dependency,
    get down () { return since !== undefined },
    async explains (err, what) {
      const kind = options.classify(err)
      if (kind === undefined) return false
      // a timeout is the dependency's fault only if it does not answer a probe either
      if (kind === 'maybe' && since === undefined && await answers()) return false
      start(err)
      if (what) counts[what]++
      return true
    },
    recovered,
    close () {
      closed = true
      clearTimeout(timer)
    }
  }
}

/** The innermost cause's code and message (drizzle wraps driver errors; a connection to several addresses fails with an AggregateError). */
function causeOf (err: unknown): { code?: string, message: string } {
  let e = err as { code?: unknown, message?: unknown, cause?: unknown, errors?: unknown[] } | undefined
  for (let depth = 0; depth < 4 && e; depth++) {
    const inner = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e
    if (!inner) break
    e = inner
  }
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: String(e?.message ?? err) }
}

/** The database's outage: its faults classified by databaseFault, its return found by a ping. */
export function databaseOutage (database: Pick<Database, 'kind' | 'ping'>, logger: Pick<Logger, 'warn' | 'info'>): Outage {
  return createOutage({
    dependency: database.kind === 'postgres' ? 'PostgreSQL' : 'the embedded database',
    meanwhile: 'requests that need it are answered 503 with Retry-After, jobs wait',
    logger,
    classify: databaseFault,
    probe: () => database.ping()
  })
}
