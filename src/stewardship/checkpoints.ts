// Checkpoints of the audit chain: the hub signs its head `{seq, hash, at}` with its receipt key, at
// least every minute while the log grows. Anyone who kept an older checkpoint can later tell a cut
// tail (its seq is gone) or a rewritten chain (its seq holds another hash).
import { desc, eq } from 'drizzle-orm'
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose'
import type { HubKeys } from '../auth/hub-keys.js'
import type { Queryable } from '../db/connect.js'
import { auditCheckpoints, auditLog } from '../db/schema.js'

export const CHECKPOINT_TYPE = 'mhx-audit-checkpoint+jwt'
/** A checkpoint is renewed once the log moved past it and it is this old. */
export const CHECKPOINT_EVERY_MS = 60_000

export interface Checkpoint { seq: number, hash: string, at: string, jws: string }
export interface CheckpointClaims { seq: number, hash: string, at: string }

async function head (q: Queryable) {
  const [row] = await q.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1)
  return row
}

async function latest (q: Queryable): Promise<Checkpoint | undefined> {
  const [row] = await q.select().from(auditCheckpoints).orderBy(desc(auditCheckpoints.seq)).limit(1)
  return row ? { seq: row.seq, hash: row.hash, at: row.at.toISOString(), jws: row.jws } : undefined
}

/**
 * Signs the chain's head unless the latest checkpoint already covers it, or (with `minAgeMs`) is
 * younger than that. Returns the latest checkpoint, or undefined while the log is empty.
 */
export async function checkpointAudit (q: Queryable, keys: HubKeys, issuer: string, now: Date, minAgeMs = 0): Promise<Checkpoint | undefined> {
  const [top, last] = await Promise.all([head(q), latest(q)])
  if (!top) return undefined
  if (last && (last.seq >= top.seq || now.getTime() - Date.parse(last.at) < minAgeMs)) return last
  const at = now.toISOString()
  const { kid, alg, key } = await keys.signingKey('receipt')
  const jws = await new SignJWT({ seq: top.seq, hash: top.hash, at })
    .setProtectedHeader({ alg, kid, typ: CHECKPOINT_TYPE })
    .setIssuer(issuer)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .sign(key)
  await q.insert(auditCheckpoints).values({ seq: top.seq, hash: top.hash, at: now, jws }).onConflictDoNothing()
  return (await latest(q))!
}

/** The latest checkpoint, renewed first if the log moved past it more than a minute ago. */
export async function latestCheckpoint (q: Queryable, keys: HubKeys, issuer: string, now: Date): Promise<Checkpoint | undefined> {
  return checkpointAudit(q, keys, issuer, now, CHECKPOINT_EVERY_MS)
}

/** Checks a checkpoint's signature against a JWKS (the hub's /.well-known/jwks.json); throws when it does not verify. */
export async function verifyCheckpoint (jws: string, jwks: JSONWebKeySet, issuer?: string): Promise<CheckpointClaims> {
  const { payload } = await jwtVerify(jws, createLocalJWKSet(jwks), { typ: CHECKPOINT_TYPE, algorithms: ['ES256'], ...(issuer ? { issuer } : {}) })
  if (!Number.isSafeInteger(payload.seq) || typeof payload.hash !== 'string' || typeof payload.at !== 'string') throw new Error('not a checkpoint')
  return { seq: payload.seq as number, hash: payload.hash, at: payload.at }
}

/** Whether the chain as stored now still holds the checkpointed row: same seq, same hash. */
export async function chainMatches (q: Queryable, claims: CheckpointClaims): Promise<{ ok: boolean, found: string | null }> {
  const [row] = await q.select({ hash: auditLog.hash }).from(auditLog).where(eq(auditLog.seq, claims.seq)).limit(1)
  return { ok: row?.hash === claims.hash, found: row?.hash ?? null }
}
