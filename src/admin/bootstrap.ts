// First start on an empty database: the operator's `admin` partner, with a key the operator holds.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { privateDataDir } from '../db/connect.js'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { appendAudit } from '../audit/log.js'
import { partnerJwksFaults } from '../auth/partner-keys.js'
import { inTransaction, type Database } from '../db/connect.js'
import { partners } from '../db/schema.js'

export const ADMIN_ID = 'admin'

export interface BootstrapResult { created: boolean, privateKeyFile?: string }

/** A JWK file or a JWKS file, reduced to public members only. */
export function readPublicJwks (file: string): { keys: JWK[] } {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as JWK | { keys: JWK[] }
  const keys = 'keys' in parsed ? parsed.keys : [parsed]
  return { keys: keys.map(({ d, p, q, dp, dq, qi, oth, k, ...publicPart }) => publicPart) }
}

export async function bootstrapAdmin (database: Database, options: { adminPublicJwkPath?: string, dataDir: string, now: Date }): Promise<BootstrapResult> {
  const [existing] = await database.db.select({ id: partners.id }).from(partners).where(eq(partners.id, ADMIN_ID)).limit(1)
  if (existing) return { created: false }

  let jwks: { keys: JWK[] }
  let privateJwk: JWK | undefined
  if (options.adminPublicJwkPath) {
    jwks = readPublicJwks(options.adminPublicJwkPath)
    const faults = await partnerJwksFaults(jwks)
    if (faults.length > 0) throw new Error(`MHX_ADMIN_PUBLIC_JWK: ${faults.map((f) => `${f.path} ${f.message}`).join('; ')}`)
  } else {
    const kid = `admin-${options.now.toISOString().slice(0, 10)}`
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: 'EdDSA' }
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA', use: 'sig' }] }
  }

  const created = await inTransaction(database, async (tx) => {
    const inserted = await tx.insert(partners).values({
      id: ADMIN_ID, name: 'Hub operator', roles: ['admin'], country: null, jwks, createdAt: options.now, updatedAt: options.now
    }).onConflictDoNothing().returning({ id: partners.id })
    if (inserted.length === 0) return false
    await appendAudit(tx, { partnerId: null, action: 'partner.create', subject: ADMIN_ID, detail: { roles: ['admin'], kids: jwks.keys.map((k) => k.kid) } }, options.now)
    return true
  })
  if (!created || !privateJwk) return { created }
  privateDataDir(options.dataDir)
  const privateKeyFile = join(options.dataDir, 'admin.private.jwk')
  writeFileSync(privateKeyFile, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600 })
  chmodSync(privateKeyFile, 0o600)
  return { created, privateKeyFile }
}
