// Partner keys on the partner's side: make a key pair, read a private JWK file, sign a client assertion.
import { randomUUID } from 'node:crypto'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import { CliError } from './io.js'

export const KEYGEN_ALGS = ['ES256', 'EdDSA', 'RS256'] as const
export type KeygenAlg = typeof KEYGEN_ALGS[number]

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

export interface GeneratedKey { privateJwk: JWK, publicJwk: JWK }

export async function generatePartnerKey (alg: KeygenAlg, kid: string): Promise<GeneratedKey> {
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}), ...(alg === 'RS256' ? { modulusLength: 3072 } : {}) })
  return {
    privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg },
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' }
  }
}

/** Writes the private JWK readable by its owner only; never overwrites a key file. */
export function writePrivateJwk (file: string, jwk: JWK): void {
  try {
    writeFileSync(file, JSON.stringify(jwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${file} already exists: choose another --out (a key file is never overwritten)`)
    throw new CliError(`cannot write ${file}: ${(err as Error).message}`)
  }
  chmodSync(file, 0o600)
}

export function publicPart (jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk }
  for (const member of PRIVATE_MEMBERS) delete copy[member]
  return copy as JWK
}

export function hasPrivateMembers (jwk: JWK): boolean {
  return PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))
}

export interface PartnerKey { kid: string | undefined, alg: string, key: CryptoKey }

/** A private JWK file (or a JWKS holding one private key), with its alg (and kid) named in it. */
export async function readPrivateKey (file: string): Promise<PartnerKey> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(code === 'ENOENT' ? `key file ${file} does not exist` : `key file ${file} is not a JWK: ${(err as Error).message}`)
  }
  const candidates = (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)
    ? (parsed as { keys: JWK[] }).keys
    : [parsed as JWK]).filter((k) => typeof k === 'object' && k !== null && typeof k.d === 'string')
  if (candidates.length === 0) throw new CliError(`key file ${file} holds no private key (a private JWK has "d"; mhx keygen writes one)`)
  if (candidates.length > 1) throw new CliError(`key file ${file} holds ${candidates.length} private keys: keep one per file`)
  const jwk = candidates[0]
  const alg = jwk.alg ?? inferAlg(jwk)
  if (!alg) throw new CliError(`key file ${file}: the JWK has no "alg" and none can be inferred`)
  try {
    return { kid: jwk.kid, alg, key: await importJWK(jwk, alg) as CryptoKey }
  } catch (err) {
    throw new CliError(`key file ${file}: not a usable ${alg} private key (${(err as Error).message})`)
  }
}

function inferAlg (jwk: JWK): string | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384'
  if (jwk.kty === 'RSA') return 'RS256'
  return undefined
}

/** RFC 7523 client assertion: iss = sub = partner, aud = the token endpoint, 2 minutes, fresh jti. */
export async function signClientAssertion (partner: string, key: PartnerKey, audience: string, now = new Date()): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .setIssuer(partner)
    .setSubject(partner)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 120)
    .setJti(randomUUID())
    .sign(key.key)
}

export function defaultKid (alg: KeygenAlg, now = new Date()): string {
  return `${alg.toLowerCase()}-${now.toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`
}
