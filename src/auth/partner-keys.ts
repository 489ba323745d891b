// Rules for the public keys a partner registers to sign its client assertions.
import { importJWK, type JWK } from 'jose'
import type { FieldError } from '../problem.js'

export const PARTNER_KEY_ALGS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'RS384', 'PS256'] as const
export const MAX_PARTNER_KEYS = 5
// Members that only a private (or symmetric) key has: never accepted, never stored.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

const KEY_TYPE: Record<string, { kty: string, crv?: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  PS256: { kty: 'RSA' }
}

/** Every fault of a JWKS a partner wants to register; empty when it may be stored. */
export async function partnerJwksFaults (jwks: { keys: JWK[] }, path = '/jwks'): Promise<FieldError[]> {
  const faults: FieldError[] = []
  if (jwks.keys.length === 0) faults.push({ path: `${path}/keys`, message: 'at least one key is needed' })
  if (jwks.keys.length > MAX_PARTNER_KEYS) faults.push({ path: `${path}/keys`, message: `at most ${MAX_PARTNER_KEYS} keys` })
  const kids = new Set<string>()
  for (const [i, jwk] of jwks.keys.entries()) {
    const at = `${path}/keys/${i}`
    const privateMembers = PRIVATE_MEMBERS.filter((m) => Object.hasOwn(jwk, m))
    if (privateMembers.length > 0) {
      faults.push({ path: at, message: `private key material (${privateMembers.join(', ')}) must never be sent: register the public key only` })
      continue
    }
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) faults.push({ path: `${at}/kid`, message: 'kid is required' })
    else if (kids.has(jwk.kid)) faults.push({ path: `${at}/kid`, message: `kid "${jwk.kid}" appears twice` })
    else kids.add(jwk.kid)
    const expected = typeof jwk.alg === 'string' ? KEY_TYPE[jwk.alg] : undefined
    if (!expected) {
      faults.push({ path: `${at}/alg`, message: `alg must be one of ${PARTNER_KEY_ALGS.join(', ')}` })
      continue
    }
    if (jwk.kty !== expected.kty || (expected.crv && jwk.crv !== expected.crv)) {
      faults.push({ path: `${at}/kty`, message: `alg ${jwk.alg} needs kty ${expected.kty}${expected.crv ? ` with crv ${expected.crv}` : ''}` })
      continue
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') faults.push({ path: `${at}/use`, message: 'use must be "sig"' })
    if (expected.kty === 'RSA' && rsaModulusBits(jwk) < 2048) {
      faults.push({ path: `${at}/n`, message: 'RSA keys must be at least 2048 bits' })
      continue
    }
    try {
      await importJWK(jwk, jwk.alg)
    } catch (err) {
      faults.push({ path: at, message: `not a usable ${jwk.alg} public key: ${(err as Error).message}` })
    }
  }
  return faults
}

function rsaModulusBits (jwk: JWK): number {
  if (typeof jwk.n !== 'string') return 0
  const n = Buffer.from(jwk.n, 'base64url')
  const first = n.findIndex((byte) => byte !== 0)
  if (first < 0) return 0
  return (n.length - first) * 8 - Math.clz32(n[first]) + 24
}
