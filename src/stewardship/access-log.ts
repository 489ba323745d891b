// Who read my data: the audit chain's reads and refused reads whose query counted, or tried to
// count, the steward's country (the read path records them in `detail.countries`).
import { sql } from 'drizzle-orm'
import { rows, type Queryable } from '../db/connect.js'
import { decodeCursor, encodeCursor, type Page } from '../paging.js'
import { problem } from '../problem.js'

/** The audit actions of reads: answered, and refused (no grant, no consent, wrong origin). */
export const READ_ACTIONS = ['aggregates.read', 'aggregates.denied'] as const

export interface AccessItem {
  at: string
  reader: string | null
  /** The reader's registered name (null for a partner since removed). */
  readerName: string | null
  action: string
  query: unknown
  cells: number | null
  k: number | null
  seq: number
  hash: string
}

export interface AccessFilter { from?: Date, to?: Date }

/** The reads of `country`, oldest first, each with its audit `seq` and `hash` (check them against a checkpoint). */
export async function accessLog (q: Queryable, country: string, filter: AccessFilter, limit: number, cursor?: string): Promise<Page<AccessItem>> {
  const after = cursor === undefined ? undefined : decodeCursor<number>(cursor)
  if (after !== undefined && !Number.isSafeInteger(after)) {
    throw problem('badRequest', 'cursor is not one this service handed out', { errors: [{ path: 'cursor', message: 'invalid cursor' }] })
  }
  const found = await rows<{ seq: string | number, at: string | Date, partner_id: string | null, partner_name: string | null, action: string, detail: Record<string, unknown>, hash: string }>(q, sql`
    SELECT a.seq, a.at, a.partner_id, p.name AS partner_name, a.action, a.detail, a.hash
    FROM audit_log a LEFT JOIN partners p ON p.id = a.partner_id
    WHERE a.action IN (${sql.join(READ_ACTIONS.map((a) => sql`${a}`), sql`, `)})
      AND (a.detail -> 'countries') @> ${JSON.stringify([country])}::jsonb
      ${filter.from ? sql`AND a.at >= ${filter.from}` : sql``}
      ${filter.to ? sql`AND a.at <= ${filter.to}` : sql``}
      ${after !== undefined ? sql`AND a.seq > ${after}` : sql``}
    ORDER BY a.seq LIMIT ${limit + 1}`)
  const items = found.slice(0, limit).map((row) => ({
    at: new Date(row.at).toISOString(),
    reader: row.partner_id,
    readerName: row.partner_name,
    action: row.action,
    query: row.detail.query ?? null,
    cells: typeof row.detail.cells === 'number' ? row.detail.cells : null,
    k: typeof row.detail.k === 'number' ? row.detail.k : null,
    seq: Number(row.seq),
    hash: row.hash
  }))
  return { items, nextCursor: found.length > limit ? encodeCursor(items[items.length - 1].seq) : null }
}
