// The hub's own signing keys: one for access tokens, one for receipts, rotated by the operator.
// Private halves are sealed with AES-256-GCM under a key-encryption key kept outside the database.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { privateDataDir, type Db, type Tx } from '../db/connect.js'
import { hubKeys } from '../db/schema.js'

/** NOTIFY channel: a hub key was rotated or revoked; every API process reloads its keys. */
export const HUB_KEYS_CHANNEL = 'mhx_hub_keys_changed'

export type KeyUse = 'token' | 'receipt'
const ALG: Record<KeyUse, 'EdDSA' | 'ES256'> = { token: 'EdDSA', receipt: 'ES256' }

export interface SigningKey { kid: string, alg: string, key: CryptoKey }

/** A hub public key, with when it stopped signing (null while it is the active one). */
export interface PublicKey { key: CryptoKey, use: KeyUse, retiredAt: Date | null }

/** Work done in the same transaction as a key change (its audit row): a failure undoes the change. */
export type AlongWith<T> = (tx: Tx, change: T) => Promise<void>

export interface Rotation { kid: string, retired: string[] }
export interface Revocation { kid: string, use: KeyUse, replacedBy: string | null }

export interface HubKeys {
  /** The newest key for a use, reloaded now and then so that a rotation elsewhere is picked up. */
  signingKey (use: KeyUse): Promise<SigningKey>
  /** A public key by kid, retired ones included; reloads once on a miss (a rotation elsewhere). */
  publicKey (kid: string): Promise<PublicKey | undefined>
  /** Every public key, retired ones included, so old tokens and receipts keep verifying. */
  jwks (): Promise<{ keys: JWK[] }>
  /** Retires the active key of `use` and creates its successor, with `alongWith`, in one transaction. */
  rotate (use: KeyUse, alongWith?: AlongWith<Rotation>): Promise<Rotation>
  /**
   * Drops a key at once (a leaked key): out of the JWKS, no longer verifying anything. If it was
   * the active key of its use, a successor is created in the same transaction. Undefined: no such kid.
   */
  revoke (kid: string, alongWith?: AlongWith<Revocation>): Promise<Revocation | undefined>
  /** Reads the keys again now (another process changed them). */
  reload (): Promise<void>
  /** Seals another secret of the hub's (a webhook signing secret) under the same key-encryption key; `aad` binds it to its row. */
  seal (plain: string, aad: string): string
  unseal (sealed: string, aad: string): string
}

/** MHX_KEK if set, else `<dataDir>/hub.kek`, made at first start with mode 0600. */
export function loadKek (kek: string | undefined, dataDir: string): Buffer {
  if (kek) return Buffer.from(kek, 'base64')
  const file = join(dataDir, 'hub.kek')
  if (!existsSync(file)) {
    privateDataDir(dataDir)
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  }
  chmodSync(file, 0o600)
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
}

export function seal (kek: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', kek, iv)
  cipher.setAAD(Buffer.from(aad))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

export function unseal (kek: Buffer, sealed: string, aad: string): string {
  const raw = Buffer.from(sealed, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
}

async function announceKeyChange (tx: Tx): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${HUB_KEYS_CHANNEL}, '')`)
}

const RELOAD_AFTER_MS = 60_000
const MISS_RELOAD_MIN_MS = 1_000

export async function loadHubKeys (db: Db, kek: Buffer, now: () => Date = () => new Date()): Promise<HubKeys> {
  let publicKeys = new Map<string, { jwk: JWK } & PublicKey>()
  const signing = new Map<KeyUse, SigningKey>()
  let loadedAt = 0
  let lastMissReload = 0

  async function createKey (use: KeyUse, q: Db | Tx = db): Promise<string> {
    const alg = ALG[use]
    const kid = `${use}-${now().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`
    const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' }
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg }
    await q.insert(hubKeys).values({
      kid, use, alg, publicJwk, privateJwkSealed: seal(kek, JSON.stringify(privateJwk), kid), createdAt: now()
    })
    return kid
  }

  async function load (): Promise<void> {
    const all = await db.select().from(hubKeys).orderBy(desc(hubKeys.createdAt), desc(hubKeys.kid))
    const nextPublic = new Map<string, { jwk: JWK } & PublicKey>()
    for (const row of all) {
      // A kid's public key never changes: import it once.
      const key = publicKeys.get(row.kid)?.key ?? await importJWK(row.publicJwk as JWK, row.alg) as CryptoKey
      nextPublic.set(row.kid, { jwk: row.publicJwk as JWK, key, use: row.use as KeyUse, retiredAt: row.retiredAt })
    }
    for (const use of ['token', 'receipt'] as KeyUse[]) {
      const active = all.find((row) => row.use === use && row.retiredAt === null)
      if (!active) continue
      if (signing.get(use)?.kid === active.kid) continue
      const privateJwk = JSON.parse(unseal(kek, active.privateJwkSealed, active.kid)) as JWK
      signing.set(use, { kid: active.kid, alg: active.alg, key: await importJWK(privateJwk, active.alg) as CryptoKey })
    }
    publicKeys = nextPublic
    loadedAt = Date.now()
  }

  async function ensureKeys (): Promise<void> {
    for (const use of ['token', 'receipt'] as KeyUse[]) {
      const [active] = await db.select({ kid: hubKeys.kid }).from(hubKeys)
        .where(and(eq(hubKeys.use, use), isNull(hubKeys.retiredAt))).limit(1)
      if (!active) await createKey(use)
    }
  }

  // Concurrent callers past the reload age share one load (a load that began before a rotation
  // is not enough for the rotation itself, which loads on its own).
  let loading: Promise<void> | null = null
  const reload = (): Promise<void> => (loading ??= load().finally(() => { loading = null }))

  await ensureKeys()
  await load()

  return {
    async signingKey (use) {
      if (Date.now() - loadedAt > RELOAD_AFTER_MS) await reload()
      const key = signing.get(use)
      if (!key) throw new Error(`no active ${use} signing key`)
      return key
    },
    async publicKey (kid) {
      const found = publicKeys.get(kid)
      if (found) return found
      if (Date.now() - lastMissReload < MISS_RELOAD_MIN_MS) return undefined
      lastMissReload = Date.now()
      await reload()
      return publicKeys.get(kid)
    },
    async jwks () {
      if (Date.now() - loadedAt > RELOAD_AFTER_MS) await reload()
      return { keys: [...publicKeys.values()].map(({ jwk }) => jwk) }
    },
    async rotate (use, alongWith) {
      // One transaction: a failure anywhere leaves the old key active and no orphan successor.
      const rotation = await db.transaction(async (tx) => {
        const retired = (await tx.update(hubKeys).set({ retiredAt: now() })
          .where(and(eq(hubKeys.use, use), isNull(hubKeys.retiredAt))).returning({ kid: hubKeys.kid })).map((r) => r.kid)
        const done = { kid: await createKey(use, tx), retired }
        await alongWith?.(tx, done)
        await announceKeyChange(tx)
        return done
      })
      await load()
      return rotation
    },
    async revoke (kid, alongWith) {
      const revocation = await db.transaction(async (tx) => {
        const [dropped] = await tx.delete(hubKeys).where(eq(hubKeys.kid, kid)).returning({ use: hubKeys.use, retiredAt: hubKeys.retiredAt })
        if (!dropped) return undefined
        const use = dropped.use as KeyUse
        const done = { kid, use, replacedBy: dropped.retiredAt === null ? await createKey(use, tx) : null }
        await alongWith?.(tx, done)
        await announceKeyChange(tx)
        return done
      })
      await load()
      return revocation
    },
    reload,
    seal: (plain, aad) => seal(kek, plain, aad),
    unseal: (sealed, aad) => unseal(kek, sealed, aad)
  }
}
