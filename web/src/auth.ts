// Sign-in without sending the key: the private JWK is imported into WebCrypto as non-extractable, and the page
// signs its own RFC 7523 client assertions (iss = sub = partner id, aud = the hub's token endpoint, 2 min, fresh jti).
import { importJWK, SignJWT, type JWK } from 'jose'

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface SigningKey {
  key: CryptoKey
  kid: string
  alg: string
}

export class KeyProblem extends Error {
  constructor (readonly reason: 'notJson' | 'notPrivate' | 'needsKidAlg' | 'unusable', message: string) {
    super(message)
  }
}

/** The private key of a pasted or chosen JWK (or a JWKS holding one), as a non-extractable CryptoKey. */
export async function importPrivateKey (text: string): Promise<SigningKey> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new KeyProblem('notJson', (err as Error).message)
  }
  const candidates = (parsed && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys))
    ? (parsed as { keys: JWK[] }).keys
    : [parsed as JWK]
  const jwk = candidates.find((k) => k && typeof k === 'object' && typeof k.d === 'string')
  if (!jwk) throw new KeyProblem('notPrivate', 'no private member')
  if (typeof jwk.kid !== 'string' || typeof jwk.alg !== 'string') throw new KeyProblem('needsKidAlg', 'kid and alg are required')
  let key: CryptoKey
  try {
    key = await importJWK({ ...jwk, ext: false }, jwk.alg, { extractable: false }) as CryptoKey
  } catch (err) {
    throw new KeyProblem('unusable', (err as Error).message)
  }
  if (key.extractable || key.type !== 'private') throw new KeyProblem('unusable', 'not a non-extractable private key')
  return { key, kid: jwk.kid, alg: jwk.alg }
}

export async function clientAssertion (partnerId: string, signing: SigningKey, tokenEndpoint: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .setIssuer(partnerId)
    .setSubject(partnerId)
    .setAudience(tokenEndpoint)
    .setIssuedAt()
    .setExpirationTime('2m')
    .setJti(crypto.randomUUID())
    .sign(signing.key)
}
