// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), scoped per partner, kept ≥ 24 h.
//
// A key is claimed by the transaction that stores the submission, as its first statement, with the
// answer it will give (known before the transaction: the submission id and receipt are made first).
// So the claim lives and dies with the work it guards: until that transaction ends, PostgreSQL makes
// a concurrent request with the key wait on the uncommitted row; once it commits, the other request
// finds the stored answer; if it rolls back or dies (its API killed, the database restarted), the
// key is free at once. No claim outlives its transaction (docs/operations.md, "Idempotency-Key").
import { and, eq, lt, sql } from 'drizzle-orm'
import { sqlState, type Queryable } from '../db/connect.js'
import { idempotencyKeys } from '../db/schema.js'
import { problem } from '../problem.js'

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255
/** Keys are kept at least this long. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000
/** How long a request waits for another one still storing under its key before it answers 409. */
export const CLAIM_WAIT_MS = 5_000
/** What a 409 for a key still in progress tells the client to wait (Retry-After). */
const IN_PROGRESS_RETRY_S = 5
// A 'running' row is written by versions before claims joined the submission's transaction (during
// a rolling upgrade); one that old belongs to a request that died: requestTimeout is 120 s.
const ABANDONED_AFTER_MS = 5 * 60 * 1000

export interface StoredResponse {
  statusCode: number
  body: unknown
  location?: string
}

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

type KeyRow = typeof idempotencyKeys.$inferSelect

async function keyRow (q: Queryable, partnerId: string, key: string): Promise<KeyRow | undefined> {
  const [found] = await q.select().from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key))).limit(1)
  return found
}

/** The answer stored under a completed key of the same request; 422 for another request under the key. */
function storedFor (found: KeyRow, requestSha256: string): StoredResponse | undefined {
  if (found.state !== 'done' || found.statusCode === null) return undefined
  if (found.requestSha256 !== requestSha256) {
    throw problem('validation', 'this Idempotency-Key was already used with a different request; use a new key for a new request',
      { errors: [{ path: 'Idempotency-Key', message: 'reused with a different request' }] })
  }
  return { statusCode: found.statusCode, ...(found.response as { body: unknown, location?: string }) }
}

const expired = (found: KeyRow, now: Date) => now.getTime() - found.createdAt.getTime() > IDEMPOTENCY_KEY_TTL_MS

/**
 * Before the work, outside any transaction: the answer a completed request with this key got (so a
 * replay costs no validation), or undefined when the work must be done (the claim decides then).
 */
export async function storedAnswer (q: Queryable, partnerId: string, key: string, requestSha256: string, now: Date): Promise<StoredResponse | undefined> {
  const found = await keyRow(q, partnerId, key)
  return found && !expired(found, now) ? storedFor(found, requestSha256) : undefined
}

/** A 409 for a key another request is still storing under; the client retries with the same key. */
export function keyInProgress () {
  return problem('conflict', `a request with this Idempotency-Key is still being processed; retry with the same key after ${IN_PROGRESS_RETRY_S} s`,
    { errors: [{ path: 'Idempotency-Key', message: 'in progress' }], retryAfter: IN_PROGRESS_RETRY_S })
}

/**
 * Claims `key` inside the transaction `tx` that does the work, storing `response` as its answer:
 * undefined when claimed (the answer commits with the work, or vanishes with it), else the answer
 * another request under the key stored meanwhile (the caller writes nothing and sends it).
 * Waits at most CLAIM_WAIT_MS for a request still storing under the key (then 409); call it first
 * in the transaction, before anything is written.
 */
export async function claimIdempotencyKey (tx: Queryable, partnerId: string, key: string, requestSha256: string, response: StoredResponse, now: Date): Promise<StoredResponse | undefined> {
  const stored = { body: response.body, ...(response.location !== undefined ? { location: response.location } : {}) }
  for (let attempt = 0; attempt < 3; attempt++) {
    // Waiting on another transaction's uncommitted row is a lock wait: lock_timeout bounds it (55P03).
    await tx.execute(sql.raw(`SET LOCAL lock_timeout = ${CLAIM_WAIT_MS}`))
    const inserted = await tx.insert(idempotencyKeys)
      .values({ partnerId, key, requestSha256, state: 'done', statusCode: response.statusCode, response: stored, createdAt: now })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key })
      .catch((err: unknown) => { throw sqlState(err) === '55P03' ? keyInProgress() : err })
    await tx.execute(sql.raw('SET LOCAL lock_timeout = DEFAULT'))
    if (inserted.length > 0) return undefined

    // Each statement of a READ COMMITTED transaction sees what committed before it began.
    const found = await keyRow(tx, partnerId, key)
    if (!found) continue // pruned in between: claim again
    const abandoned = found.state === 'running' && now.getTime() - found.createdAt.getTime() > ABANDONED_AFTER_MS
    if (expired(found, now) || abandoned) {
      // Take the key over only if nobody else did in between.
      const taken = await tx.update(idempotencyKeys)
        .set({ requestSha256, state: 'done', statusCode: response.statusCode, response: stored, createdAt: now })
        .where(and(eq(idempotencyKeys.partnerId, partnerId), eq(idempotencyKeys.key, key),
          eq(idempotencyKeys.state, found.state), eq(idempotencyKeys.createdAt, found.createdAt)))
        .returning({ key: idempotencyKeys.key })
      if (taken.length > 0) return undefined
      continue
    }
    const answer = storedFor(found, requestSha256)
    if (answer) return answer
    // a 'running' row of an older version's request, not yet abandoned
    throw keyInProgress()
  }
  throw keyInProgress()
}

/** Deletes keys older than the 24 h they are kept; returns how many. The API calls it on an interval, a sweep may too. */
export async function pruneIdempotencyKeys (q: Queryable, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)
  const deleted = await q.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, cutoff)).returning({ key: idempotencyKeys.key })
  return deleted.length
}
