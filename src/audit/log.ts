// The append-only, hash-chained audit log: each row carries the hash of the one before it.
import { createHash } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'

export const GENESIS_HASH = '0'.repeat(64)

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
  return createHash('sha256').update(prevHash).update(auditPayload(row)).digest('hex')
}

/** The text the hash covers after the previous hash: canonical JSON of the row. */
export function auditPayload (row: { at: Date, partnerId: string | null, action: string, subject: string | null, detail: unknown }): string {
  return canonicalJson({ at: row.at.toISOString(), partnerId: row.partnerId, action: row.action, subject: row.subject, detail: row.detail })
}

/**
 * Appends entries in order, inside the caller's transaction when given one, in one round trip
 * (the audit_append function of migration 0004 takes the chain lock and chains the rows). The
 * lock is transaction-level: held until the outermost transaction commits, so two writers can
 * never both chain onto the same previous row.
 */
export async function appendAudit (q: Queryable, entries: AuditEntry | AuditEntry[], at: Date = new Date()): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries]
  if (list.length === 0) return
  await q.execute(sql`SELECT audit_append(${auditBatch(list, at)}::json)`)
}

/**
 * The argument of audit_append: the entries as one JSON array, each with its canonical payload —
 * far cheaper to send than an escaped array per column. `at` stands in for entries without one.
 */
export function auditBatch (entries: AuditEntry[], at: Date = new Date()): string {
  return JSON.stringify(entries.map((entry) => {
    const row = { at: entry.at ?? at, partnerId: entry.partnerId, action: entry.action, subject: entry.subject ?? null, detail: entry.detail ?? {} }
    return { ...row, at: row.at.toISOString(), payload: auditPayload(row) }
  }))
}
