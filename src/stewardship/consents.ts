// Consent: a country's steward decides, reader by reader, whether its data may be read, at which k
// and from which release. A read needs the consent of every country it counts: never a partial answer.
import { sql } from 'drizzle-orm'
import { appendAudit } from '../audit/log.js'
import { inTransaction, rows, type Database, type Queryable } from '../db/connect.js'
import { consents } from '../db/schema.js'
import { problem } from '../problem.js'
import { announceStewardshipChange, type Release } from './book.js'
import type { Steward } from './steward.js'

/** The UTC day of a moment, YYYY-MM-DD. */
export const dayOf = (at: Date) => at.toISOString().slice(0, 10)

export interface ConsentItem {
  reader: string
  /** The reader's name as the hub registered it (what a steward recognises, beside the id). */
  readerName: string | null
  state: 'pending' | 'granted' | 'refused'
  k: number | null
  release: Release | null
  until: string | null
  decidedAt: string | null
}

/**
 * The steward's list: every reader whose grants reach its country (a grant on the country or on a
 * region holding it), pending until decided, and every reader it decided about.
 */
export async function listConsents (q: Queryable, country: string): Promise<ConsentItem[]> {
  const found = await rows<{ reader: string, reader_name: string | null, state: string | null, k: number | null, release: string | null, until: string | null, decided_at: string | Date | null }>(q, sql`
    WITH reaching AS (
      SELECT DISTINCT g.partner_id AS reader FROM grants g LEFT JOIN regions r ON r.code = g.region
      WHERE g.region = ${country} OR ${country} = ANY(r.members)
    ), readers AS (
      SELECT reader FROM reaching UNION SELECT reader_id FROM consents WHERE country = ${country}
    )
    SELECT rd.reader, p.name AS reader_name, c.state, c.k, c.release, c.until::text AS until, c.decided_at
    FROM readers rd
    JOIN partners p ON p.id = rd.reader
    LEFT JOIN consents c ON c.country = ${country} AND c.reader_id = rd.reader
    -- The country's own partners need no consent.
    WHERE p.country IS DISTINCT FROM ${country}
    ORDER BY rd.reader`)
  return found.map((r) => ({
    reader: r.reader,
    readerName: r.reader_name,
    state: (r.state ?? 'pending') as ConsentItem['state'],
    k: r.k,
    release: r.state === 'granted' ? r.release as Release : null,
    until: r.until,
    decidedAt: r.decided_at === null ? null : new Date(r.decided_at).toISOString()
  }))
}

export interface ConsentDecision {
  decision: 'grant' | 'refuse'
  k?: number
  release?: Release
  until?: string
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

function validDay (day: string): boolean {
  const m = DAY.exec(day)
  if (!m) return false
  const d = new Date(`${day}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && dayOf(d) === day
}

/**
 * Records the steward's decision about `readerId` for the steward's own country (no other country
 * can be named: acting on another country is impossible by construction), audited, and announced
 * to every process. A k below the hub's, an impossible or past `until`, or an unknown reader is a
 * 422 naming the field, and nothing changes.
 */
export async function decideConsent (database: Database, steward: Steward, readerId: string, decision: ConsentDecision, hubK: number, now: Date): Promise<ConsentItem> {
  const country = steward.country
  const faults: { path: string, message: string }[] = []
  if (decision.k !== undefined && decision.k < hubK) faults.push({ path: '/k', message: `k may only be stricter than the hub's: at least ${hubK}` })
  if (decision.until !== undefined) {
    if (!validDay(decision.until)) faults.push({ path: '/until', message: `${decision.until} is not a day YYYY-MM-DD` })
    else if (decision.until < dayOf(now)) faults.push({ path: '/until', message: `${decision.until} is in the past` })
  }
  if (decision.decision === 'refuse') {
    for (const field of ['k', 'release', 'until'] as const) {
      if (decision[field] !== undefined) faults.push({ path: `/${field}`, message: 'only a grant has this' })
    }
  }
  if (faults.length > 0) throw problem('validation', faults[0].message, { errors: faults })

  return inTransaction(database, async (tx) => {
    const [reader] = await rows<{ id: string, name: string | null }>(tx, sql`SELECT id, name FROM partners WHERE id = ${readerId}`)
    if (!reader) throw problem('validation', `no partner ${readerId}`, { errors: [{ path: 'readerId', message: 'no such partner' }] })
    const granted = decision.decision === 'grant'
    const row = {
      country,
      readerId,
      state: granted ? 'granted' : 'refused',
      k: granted ? decision.k ?? null : null,
      release: granted ? decision.release ?? 'published' : 'published',
      until: granted ? decision.until ?? null : null,
      decidedAt: now,
      decidedBy: steward.partnerId
    }
    await tx.insert(consents).values(row).onConflictDoUpdate({
      target: [consents.country, consents.readerId],
      set: { state: row.state, k: row.k, release: row.release, until: row.until, decidedAt: row.decidedAt, decidedBy: row.decidedBy }
    })
    await appendAudit(tx, {
      partnerId: steward.partnerId,
      action: granted ? 'consent.grant' : 'consent.refuse',
      subject: readerId,
      detail: { country, k: row.k, release: granted ? row.release : null, until: row.until }
    }, now)
    await announceStewardshipChange(tx)
    return {
      reader: readerId,
      readerName: reader.name,
      state: granted ? 'granted' : 'refused',
      k: row.k,
      release: granted ? row.release as Release : null,
      until: row.until,
      decidedAt: now.toISOString()
    }
  })
}
