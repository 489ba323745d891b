// The hub's own signing keys: one for access tokens, one for receipts, rotated by the operator.
// Private halves are sealed with AES-256-GCM under a key-encryption key kept outside the database.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { and, desc, eq, isNull } from 'drizzle-orm'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import type { Db } from '../db/connect.js'
import { hubKeys } from '../db/schema.js'

export type KeyUse = 'token' | 'receipt'
const ALG: Record<KeyUse, 'EdDSA' | 'ES256'> = { token: 'EdDSA', receipt: 'ES256' }

export interface SigningKey { kid: string, alg: string, key: CryptoKey }

export interface HubKeys {
  /** The newest key for a use, reloaded now and then so that a rotation elsewhere is picked up. */
  signingKey (use: KeyUse): Promise<SigningKey>
  /** A public key by kid, retired ones included; reloads once on a miss (a rotation elsewhere). */
  publicKey (kid: string): Promise<CryptoKey | undefined>
  /** Every public key, retired ones included, so old tokens and receipts keep verifying. */
  jwks (): Promise<{ keys: JWK[] }>
  rotate (use: KeyUse): Promise<{ kid: string, retired: string[] }>
}

/** MHX_KEK if set, else `<dataDir>/hub.kek`, made at first start with mode 0600. */
export function loadKek (kek: string | undefined, dataDir: string): Buffer {
  if (kek) return Buffer.from(kek, 'base64')
  const file = join(dataDir, 'hub.kek')
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
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

const RELOAD_AFTER_MS = 60_000
const MISS_RELOAD_MIN_MS = 1_000

export async function loadHubKeys (db: Db, kek: Buffer, now: () => Date = () => new Date()): Promise<HubKeys> {
  let publicKeys = new Map<string, { jwk: JWK, key: CryptoKey }>()
  const signing = new Map<KeyUse, SigningKey>()
  let loadedAt = 0
  let lastMissReload = 0

  async function createKey (use: KeyUse): Promise<string> {
    const alg = ALG[use]
    const kid = `${use}-${now().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`
    const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' }
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg }
    await db.insert(hubKeys).values({
      kid, use, alg, publicJwk, privateJwkSealed: seal(kek, JSON.stringify(privateJwk), kid), createdAt: now()
    })
    return kid
  }

  async function load (): Promise<void> {
    const all = await db.select().from(hubKeys).orderBy(desc(hubKeys.createdAt), desc(hubKeys.kid))
    const nextPublic = new Map<string, { jwk: JWK, key: CryptoKey }>()
    for (const row of all) {
      // A kid's public key never changes: import it once.
      nextPublic.set(row.kid, publicKeys.get(row.kid) ?? { jwk: row.publicJwk as JWK, key: await importJWK(row.publicJwk as JWK, row.alg) as CryptoKey })
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
      if (found) return found.key
      if (Date.now() - lastMissReload < MISS_RELOAD_MIN_MS) return undefined
      lastMissReload = Date.now()
      await reload()
      return publicKeys.get(kid)?.key
    },
    async jwks () {
      if (Date.now() - loadedAt > RELOAD_AFTER_MS) await reload()
      return { keys: [...publicKeys.values()].map(({ jwk }) => jwk) }
    },
    async rotate (use) {
      const retired = (await db.update(hubKeys).set({ retiredAt: now() })
        .where(and(eq(hubKeys.use, use), isNull(hubKeys.retiredAt))).returning({ kid: hubKeys.kid })).map((r) => r.kid)
      const kid = await createKey(use)
      await load()
      return { kid, retired }
    }
  }
}
