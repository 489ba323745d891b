// Group commit for audit rows written outside another transaction: entries that arrive while one
// batch is being written go together into the next transaction, under one chain lock.
import { createBatcher } from '../db/batch.js'
import type { Queryable } from '../db/connect.js'
import { appendAudit, type AuditEntry } from './log.js'

export interface AuditWriter {
  /** Resolves once the entry is committed (a read's answer waits for it). */
  append (entry: AuditEntry): Promise<void>
  /** Waits for every pending entry. */
  drain (): Promise<void>
  /** Batches written so far (to observe the grouping in tests and benchmarks). */
  readonly batches: number
}

export function createAuditWriter (q: Queryable, now: () => Date = () => new Date()): AuditWriter {
  const batcher = createBatcher<AuditEntry, void>(async (entries) => {
    await appendAudit(q, entries)
    return entries.map(() => undefined)
  })
  return {
    append: (entry) => batcher.queue({ ...entry, at: entry.at ?? now() }),
    drain: () => batcher.drain(),
    get batches () { return batcher.runs }
  }
}
