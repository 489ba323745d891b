// Reading the audit log: filtered pages, and a walk of the chain that reports the first broken link.
import { and, asc, desc, eq, gt, gte, lt, lte, type SQL } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'
import { auditLog } from '../db/schema.js'
import { decodeCursor, encodeCursor, type Page } from '../paging.js'
import { problem } from '../problem.js'
import { auditHash, GENESIS_HASH } from './log.js'

export interface AuditRow {
  seq: number
  at: string
  partnerId: string | null
  action: string
  subject: string | null
  detail: unknown
  prevHash: string
  hash: string
}

export interface AuditFilter { partner?: string, action?: string, since?: Date, until?: Date, order: 'asc' | 'desc' }

type Row = typeof auditLog.$inferSelect

function toRow (row: Row): AuditRow {
  return { seq: row.seq, at: row.at.toISOString(), partnerId: row.partnerId, action: row.action, subject: row.subject, detail: row.detail, prevHash: row.prevHash, hash: row.hash }
}

export async function listAudit (q: Queryable, filter: AuditFilter, limit: number, cursor?: string): Promise<Page<AuditRow>> {
  const after = cursor === undefined ? undefined : decodeCursor<number>(cursor)
  if (after !== undefined && !Number.isSafeInteger(after)) {
    throw problem('badRequest', 'cursor is not one this service handed out', { errors: [{ path: 'cursor', message: 'invalid cursor' }] })
  }
  const where: SQL[] = []
  if (filter.partner !== undefined) where.push(eq(auditLog.partnerId, filter.partner))
  if (filter.action !== undefined) where.push(eq(auditLog.action, filter.action))
  if (filter.since !== undefined) where.push(gte(auditLog.at, filter.since))
  if (filter.until !== undefined) where.push(lte(auditLog.at, filter.until))
  if (after !== undefined) where.push(filter.order === 'asc' ? gt(auditLog.seq, after) : lt(auditLog.seq, after))
  const found = await q.select().from(auditLog).where(and(...where))
    .orderBy(filter.order === 'asc' ? asc(auditLog.seq) : desc(auditLog.seq)).limit(limit + 1)
  const items = found.slice(0, limit).map(toRow)
  return { items, nextCursor: found.length > limit ? encodeCursor(items[items.length - 1].seq) : null }
}

export interface ChainReport {
  ok: boolean
  /** Rows checked (all of them when ok). */
  checked: number
  /** seq and hash of the last row checked: record it elsewhere to detect a cut-off tail later. */
  lastSeq: number | null
  headHash: string
  /** The first row that does not follow from the one before it. */
  broken?: { seq: number, reason: 'prev_hash' | 'hash', expected: string, found: string }
}

/**
 * Walks the chain from the first row: each row's prev_hash must be the hash of the row before,
 * and its hash must be recomputed from its content. An edited row breaks its own hash; a deleted
 * or inserted row breaks the next row's prev_hash. Seq gaps alone are not faults (a rolled-back
 * insert consumes a sequence value). A removed tail leaves no trace in the chain itself: compare
 * lastSeq/headHash with a copy kept elsewhere.
 */
export async function verifyAudit (q: Queryable, pageSize = 5_000): Promise<ChainReport> {
  let prev = GENESIS_HASH
  let checked = 0
  let lastSeq: number | null = null
  for (;;) {
    const page = await q.select().from(auditLog)
      .where(lastSeq === null ? undefined : gt(auditLog.seq, lastSeq))
      .orderBy(asc(auditLog.seq)).limit(pageSize)
    for (const row of page) {
      if (row.prevHash !== prev) {
        return { ok: false, checked, lastSeq, headHash: prev, broken: { seq: row.seq, reason: 'prev_hash', expected: prev, found: row.prevHash } }
      }
      const hash = auditHash(prev, { at: row.at, partnerId: row.partnerId, action: row.action, subject: row.subject, detail: row.detail })
      if (hash !== row.hash) {
        return { ok: false, checked, lastSeq, headHash: prev, broken: { seq: row.seq, reason: 'hash', expected: hash, found: row.hash } }
      }
      prev = row.hash
      lastSeq = row.seq
      checked++
    }
    if (page.length < pageSize) return { ok: true, checked, lastSeq, headHash: prev }
  }
}
