// Group commit for audit rows written outside another transaction (aggregate reads): entries that
// arrive while one batch is being written go together into the next transaction, under one chain lock.
import type { Queryable } from '../db/connect.js'
import { appendAudit, type AuditEntry } from './log.js'

const MAX_BATCH = 500

interface Pending { entry: AuditEntry, resolve: () => void, reject: (err: unknown) => void }

export interface AuditWriter {
  /** Resolves once the entry is committed (a read's answer waits for it). */
  append (entry: AuditEntry): Promise<void>
  /** Waits for every pending entry. */
  drain (): Promise<void>
  /** Batches written so far (to observe the grouping in tests and benchmarks). */
  readonly batches: number
}

export function createAuditWriter (q: Queryable, now: () => Date = () => new Date()): AuditWriter {
  let pending: Pending[] = []
  let flushing: Promise<void> | null = null
  let batches = 0

  async function flush (): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_BATCH)
      pending = pending.slice(batch.length)
      try {
        await appendAudit(q, batch.map((p) => p.entry))
        batches++
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
  }

  function start () {
    flushing ??= flush().finally(() => { flushing = null; if (pending.length > 0) start() })
  }

  return {
    append (entry) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ entry: { ...entry, at: entry.at ?? now() }, resolve, reject })
        start()
      })
    },
    async drain () {
      while (flushing) await flushing
    },
    get batches () { return batches }
  }
}
