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

/** JSON with object keys sorted, so the hash survives jsonb's own key order. (Hot: every read's row.) */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (canonicalJson(value[i]) ?? '')
    return out + ']'
  }
  const object = value as Record<string, unknown>
  let out = '{'
  for (const key of Object.keys(object).sort()) {
    if (object[key] === undefined) continue
    out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(object[key])
  }
  return out + '}'
}

export function auditHash (prevHash: string, row: { at: Date, partnerId: string | null, action: string, subject: string | null, detail: unknown }): string {
  return createHash('sha256').update(prevHash).update(auditPayload(row)).digest('hex')
}

/** The text the hash covers after the previous hash: canonical JSON of the row. */
export function auditPayload (row: { at: Date, partnerId: string | null, action: string, subject: string | null, detail: unknown }): string {
  return payloadWith(row, canonicalJson(row.detail))
}

/** canonicalJson of the row, with its detail already in canonical JSON (keys in sorted order). */
function payloadWith (row: { at: Date, partnerId: string | null, action: string, subject: string | null }, detailJson: string): string {
  return `{"action":${JSON.stringify(row.action)},"at":"${row.at.toISOString()}","detail":${detailJson},`
    + `"partnerId":${JSON.stringify(row.partnerId)},"subject":${JSON.stringify(row.subject)}}`
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
  let out = '['
  for (const entry of entries) {
    const row = { at: entry.at ?? at, partnerId: entry.partnerId, action: entry.action, subject: entry.subject ?? null }
    // The canonical detail is valid JSON of the detail: written once, used twice.
    const detailJson = canonicalJson(entry.detail ?? {})
    out += (out.length === 1 ? '' : ',') + `{"at":"${row.at.toISOString()}","partnerId":${JSON.stringify(row.partnerId)},`
      + `"action":${JSON.stringify(row.action)},"subject":${JSON.stringify(row.subject)},"detail":${detailJson},`
      + `"payload":${JSON.stringify(payloadWith(row, detailJson))}}`
  }
  return out + ']'
}
