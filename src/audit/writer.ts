// Group commit for the audit rows of reads: entries that arrive while one batch is being written go
// together into the next transaction, under one chain lock.
//
// Two modes (MHX_READ_AUDIT). `sync` (the default, docs/operations.md): a read is answered once
// its row is committed. `async`: a read is answered once its row is queued; the row is committed by
// the next batch (milliseconds later), retried until it is, and reads are refused (503) while rows
// cannot be written or too many wait — so no read goes unaudited unless the process dies in that
// window. Either way a read whose row cannot be written is refused with 503.
import type { Logger } from 'pino'
import { createBatcher } from '../db/batch.js'
import type { Queryable } from '../db/connect.js'
import type { Outage } from '../ops/outage.js'
import { problem } from '../problem.js'
import { appendAudit, type AuditEntry } from './log.js'

export type AuditMode = 'sync' | 'async'

export interface AuditWriter {
  /** sync: resolves once the entry is committed; async: once it is queued. Throws 503 when the log cannot be written. */
  append (entry: AuditEntry): Promise<void>
  /** Waits until every entry appended so far is committed (throws if the log cannot be written). */
  drain (): Promise<void>
  /** Writes what is pending, then stops retrying. */
  close (): Promise<void>
  /** Batches written so far (to observe the grouping in tests and benchmarks). */
  readonly batches: number
}

export interface AuditWriterOptions {
  mode?: AuditMode
  now?: () => Date
  /** async: entries waiting at most; past it reads are refused until the log catches up. */
  maxPending?: number
  /** async: wait before writing again after a failure. */
  retryMs?: number
  logger?: Pick<Logger, 'error'>
  /** The database's outage: a failure it explains is counted there, not logged once per read. */
  outage?: Pick<Outage, 'explains'>
}

const MAX_BATCH = 500

export function createAuditWriter (q: Queryable, options: AuditWriterOptions = {}): AuditWriter {
  const now = options.now ?? (() => new Date())
  return options.mode === 'async' ? asyncWriter(q, now, options) : syncWriter(q, now, options)
}

function syncWriter (q: Queryable, now: () => Date, options: AuditWriterOptions): AuditWriter {
  const batcher = createBatcher<AuditEntry, void>(async (entries) => {
    await appendAudit(q, entries)
    return entries.map(() => undefined)
  })
  return {
    async append (entry) {
      try {
        await batcher.queue({ ...entry, at: entry.at ?? now() })
      } catch (err) {
        if (!await options.outage?.explains(err, 'requests')) options.logger?.error({ err }, 'an audit row could not be written; the read is refused')
        throw problem('unavailable', 'the audit log cannot be written now: reads are refused until it can')
      }
    },
    drain: () => batcher.drain(),
    close: () => batcher.drain(),
    get batches () { return batcher.runs }
  }
}

function asyncWriter (q: Queryable, now: () => Date, options: AuditWriterOptions): AuditWriter {
  const maxPending = options.maxPending ?? 10_000
  const retryMs = options.retryMs ?? 500
  const pending: AuditEntry[] = []
  let flushing: Promise<void> | null = null
  let failing = false
  let closed = false
  let retry: NodeJS.Timeout | undefined
  let batches = 0

  async function writeAll (): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_BATCH)
      await appendAudit(q, batch)
      // Only the front was taken: entries queued meanwhile stay behind it, in order.
      pending.splice(0, batch.length)
      batches++
    }
  }

  function flush (): Promise<void> {
    flushing ??= writeAll().then(() => { failing = false }, async (err) => {
      failing = true
      if (!await options.outage?.explains(err)) options.logger?.error({ err, pending: pending.length }, 'audit rows could not be written; reads are refused until they are')
      if (!closed) retry = setTimeout(() => { void flush() }, retryMs).unref()
    }).finally(() => {
      flushing = null
      if (pending.length > 0 && !failing) void flush()
    })
    return flushing
  }

  async function drain (): Promise<void> {
    for (;;) {
      if (flushing) { await flushing; continue }
      if (pending.length === 0) return
      if (failing) throw problem('unavailable', `${pending.length} audit rows are waiting to be written`)
      await flush()
    }
  }

  return {
    async append (entry) {
      if (failing) throw problem('unavailable', 'the audit log cannot be written now: reads are refused until it can')
      if (pending.length >= maxPending) throw problem('unavailable', 'the audit log is behind: try again shortly')
      pending.push({ ...entry, at: entry.at ?? now() })
      void flush()
    },
    drain,
    async close () {
      closed = true
      clearTimeout(retry)
      failing = false
      try {
        await drain()
      } catch (err) {
        options.logger?.error({ err, lost: pending.length }, 'audit rows lost at shutdown: the database could not be written')
      }
    },
    get batches () { return batches }
  }
}
