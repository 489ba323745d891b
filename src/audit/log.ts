// The append-only, hash-chained audit log: each row carries the hash of the one before it.
import { createHash } from 'node:crypto'
import { desc, sql } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'
import { auditLog } from '../db/schema.js'

export const GENESIS_HASH = '0'.repeat(64)
// One chain, one writer at a time: the lock is taken at the end of the caller's transaction.
const AUDIT_CHAIN_LOCK = 7_220_431_002

export interface AuditEntry {
  partnerId: string | null
  action: string
  subject?: string | null
  detail?: Record<string, unknown>
  /** When it happened; defaults to the `at` given to appendAudit. */
  at?: Date
}

/** JSON with object keys sorted, so the hash survives jsonb's own key order. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object).sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

export function auditHash (prevHash: string, row: { at: Date, partnerId: string | null, action: string, subject: string | null, detail: unknown }): string {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ at: row.at.toISOString(), partnerId: row.partnerId, action: row.action, subject: row.subject, detail: row.detail }))
    .digest('hex')
}

/**
 * Appends entries in order, inside the caller's transaction when given one. The chain lock is a
 * transaction-level advisory lock: held until the outermost transaction commits, so two writers
 * can never both chain onto the same previous row.
 */
export async function appendAudit (q: Queryable, entries: AuditEntry | AuditEntry[], at: Date = new Date()): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries]
  if (list.length === 0) return
  await q.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`)
    const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1)
    let prevHash = last?.hash ?? GENESIS_HASH
    const rows = list.map((entry) => {
      const row = { at: entry.at ?? at, partnerId: entry.partnerId, action: entry.action, subject: entry.subject ?? null, detail: entry.detail ?? {} }
      const hash = auditHash(prevHash, row)
      const out = { ...row, prevHash, hash }
      prevHash = hash
      return out
    })
    await tx.insert(auditLog).values(rows)
  })
}
