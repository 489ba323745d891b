// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), scoped per partner, kept ≥ 24 h.
// The key is claimed in its own short statement (so a concurrent retry sees it at once) and
// completed inside the submission's transaction (so the stored answer commits with the submission).
import { and, eq, lt } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'
import { idempotencyKeys } from '../db/schema.js'
import { problem } from '../problem.js'

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255
/** Keys are kept at least this long. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000
// A claim still 'running' after this long belongs to a request that died (crash, restart): requestTimeout is 120 s.
const ABANDONED_AFTER_MS = 5 * 60 * 1000

export interface StoredResponse {
  statusCode: number
  body: unknown
  location?: string
}

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay', response: StoredResponse }

/** The header's value, checked: printable ASCII, 1–255 characters (400 otherwise). */
export function idempotencyKeyOf (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  if (Array.isArray(header)) throw badKey('send one Idempotency-Key header, not several')
  // Structured-field string per the draft ("…"); a bare token is accepted as well.
  const key = /^".*"$/.test(header) ? header.slice(1, -1) : header
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) throw badKey(`Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`)
  if (!/^[\x20-\x7e]+$/.test(key)) throw badKey('Idempotency-Key must be printable ASCII')
  return key
}

function badKey (message: string) {
  return problem('badRequest', message, { errors: [{ path: 'Idempotency-Key', message }] })
}

/**
 * Claims `key` for this request, or answers what a previous request with the key got:
 * same request done → its stored response; another request → 422; still running → 409.
 */
export async function claimIdempotencyKey (q: Queryable, partnerId: string, key: string, requestSha256: string, now: Date): Promise<IdempotencyClaim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await q.insert(idempotencyKeys)
      .values({ partnerId, key, requestSha256, state: 'running', createdAt: now })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key })
    if (inserted.length > 0) return { kind: 'claimed' }

    const [found] = await q.select().from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key))).limit(1)
    if (!found) continue // released in between: claim again
    const age = now.getTime() - found.createdAt.getTime()
    const expired = age > IDEMPOTENCY_KEY_TTL_MS
    const abandoned = found.state === 'running' && age > ABANDONED_AFTER_MS
    if (expired || abandoned) {
      // Take the key over only if nobody else did in between.
      const taken = await q.update(idempotencyKeys)
        .set({ requestSha256, state: 'running', statusCode: null, response: null, createdAt: now })
        .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key),
          eq(idempotencyKeys.state, found.state), eq(idempotencyKeys.createdAt, found.createdAt)))
        .returning({ key: idempotencyKeys.key })
      if (taken.length > 0) return { kind: 'claimed' }
      continue
    }
    if (found.requestSha256 !== requestSha256) {
      throw problem('validation', 'this Idempotency-Key was already used with a different request; use a new key for a new request',
        { errors: [{ path: 'Idempotency-Key', message: 'reused with a different request' }] })
    }
    if (found.state !== 'done' || found.statusCode === null) {
      throw problem('conflict', 'a request with this Idempotency-Key is still being processed; retry later',
        { errors: [{ path: 'Idempotency-Key', message: 'in progress' }] })
    }
    return { kind: 'replay', response: { statusCode: found.statusCode, ...(found.response as { body: unknown, location?: string }) } }
  }
  throw problem('conflict', 'this Idempotency-Key is contended; retry later', { errors: [{ path: 'Idempotency-Key', message: 'contended' }] })
}

/** Stores the answer under the key; call inside the transaction that makes the answer true. */
export async function completeIdempotencyKey (q: Queryable, partnerId: string, key: string, response: StoredResponse): Promise<void> {
  await q.update(idempotencyKeys)
    .set({ state: 'done', statusCode: response.statusCode, response: { body: response.body, location: response.location } })
    .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key)))
}

/** Forgets a claim whose request stored nothing (refused or failed), so the client may retry with the key. */
export async function releaseIdempotencyKey (q: Queryable, partnerId: string, key: string): Promise<void> {
  await q.delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key), eq(idempotencyKeys.state, 'running')))
}

/** Deletes keys older than the 24 h they are kept; returns how many. The API calls it on an interval, a sweep may too. */
export async function pruneIdempotencyKeys (q: Queryable, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)
  const deleted = await q.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff)).returning({ key: idempotencyKeys.key })
  return deleted.length
}
