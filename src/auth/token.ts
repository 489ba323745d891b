// The token endpoint's logic: RFC 7523 client assertions (private_key_jwt) in, hub-signed access tokens out.
import { randomUUID } from 'node:crypto'
import { eq, lt } from 'drizzle-orm'
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { Db } from '../db/connect.js'
import { partners, usedAssertions } from '../db/schema.js'
import type { HubKeys } from './hub-keys.js'
import { PARTNER_KEY_ALGS } from './partner-keys.js'
import { scopesForRoles } from './scopes.js'
import { partnerVersion } from './directory.js'

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const MAX_ASSERTION_LIFETIME_S = 300
/** A signed assertion is a few hundred bytes; a large one only costs the hub parsing time. */
export const MAX_ASSERTION_BYTES = 8 * 1024
const CLOCK_SKEW_S = 30
/** How far ahead of the hub's clock an assertion's iat may be. */
const MAX_IAT_AHEAD_S = 60
/**
 * Every client-authentication failure says the same: which partners exist, which are suspended
 * and which keys they hold is nobody's business but the operator's (the log keeps the reason).
 */
export const CLIENT_AUTH_FAILED = 'client authentication failed'

/** An RFC 6749 error: `{error, error_description}` with 400, 401 or 429; `reason` goes to the log only. */
export class OAuthError extends Error {
  constructor (readonly error: string, readonly description: string, readonly status = 400, readonly reason = description, readonly retryAfterS?: number) {
    super(description)
  }
}

export interface TokenRequest {
  grant_type?: string
  client_assertion_type?: string
  client_assertion?: string
  scope?: string
  client_id?: string
}

export interface TokenDeps { db: Db, keys: HubKeys, publicUrl: string, tokenTtlS: number, now: () => Date, importedKeys: ImportedKeys }

export interface AccessToken { access_token: string, token_type: 'Bearer', expires_in: number, scope: string }

const invalidClient = (reason: string) => new OAuthError('invalid_client', CLIENT_AUTH_FAILED, 401, reason)

export async function issueAccessToken (deps: TokenDeps, form: TokenRequest): Promise<AccessToken> {
  if (form.grant_type !== 'client_credentials') {
    throw new OAuthError(form.grant_type ? 'unsupported_grant_type' : 'invalid_request',
      'grant_type must be client_credentials')
  }
  if (form.client_assertion_type !== ASSERTION_TYPE) {
    throw new OAuthError('invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`)
  }
  if (!form.client_assertion) throw new OAuthError('invalid_request', 'client_assertion is required')
  if (Buffer.byteLength(form.client_assertion) > MAX_ASSERTION_BYTES) throw invalidClient(`client_assertion is longer than ${MAX_ASSERTION_BYTES} bytes`)

  const partner = await verifyClientAssertion(deps, form.client_assertion, form.client_id)
  const allowed = scopesForRoles(partner.roles)
  const scope = grantedScope(form.scope, allowed)
  const now = Math.floor(deps.now().getTime() / 1000)
  const { kid, alg, key } = await deps.keys.signingKey('token')
  // partner_version: the partner as it was when the token was issued; a later change ends the token.
  const accessToken = await new SignJWT({ scope, ...(partner.country ? { country: partner.country } : {}), partner_version: partnerVersion(partner.changedAt) })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer(deps.publicUrl)
    .setAudience(deps.publicUrl)
    .setSubject(partner.id)
    .setIssuedAt(now)
    .setExpirationTime(now + deps.tokenTtlS)
    .setJti(randomUUID())
    .sign(key)
  return { access_token: accessToken, token_type: 'Bearer', expires_in: deps.tokenTtlS, scope }
}

/** Who a token request claims to be (unverified: used only to count its requests), or undefined. */
export function claimedClient (form: TokenRequest | undefined): string | undefined {
  let claimed = form?.client_id
  if (claimed === undefined && typeof form?.client_assertion === 'string' && form.client_assertion.length <= MAX_ASSERTION_BYTES) {
    try {
      const iss = decodeJwt(form.client_assertion).iss
      if (typeof iss === 'string') claimed = iss
    } catch {
      return undefined
    }
  }
  return typeof claimed === 'string' ? claimed.slice(0, 128) : undefined
}

/** The requested scopes if all are allowed (every allowed one when none is asked for). */
function grantedScope (requested: string | undefined, allowed: string[]): string {
  if (allowed.length === 0) throw new OAuthError('invalid_scope', 'this partner has no role that grants a scope')
  if (requested === undefined || requested.trim() === '') return allowed.join(' ')
  const asked = [...new Set(requested.trim().split(/\s+/))]
  const refused = asked.filter((s) => !allowed.includes(s))
  if (refused.length > 0) throw new OAuthError('invalid_scope', `scope not allowed for this partner: ${refused.join(' ')}`)
  return asked.join(' ')
}

interface PartnerRow { id: string, roles: string[], country: string | null, status: string, jwks: unknown, changedAt: Date | null }

async function verifyClientAssertion (deps: TokenDeps, assertion: string, clientId?: string): Promise<PartnerRow> {
  let header: ReturnType<typeof decodeProtectedHeader>
  let claims: ReturnType<typeof decodeJwt>
  try {
    header = decodeProtectedHeader(assertion)
    claims = decodeJwt(assertion)
  } catch {
    throw invalidClient('client_assertion is not a JWT')
  }
  // Only asymmetric algorithms: never `none`, never HMAC keyed with a public key.
  if (typeof header.alg !== 'string' || !(PARTNER_KEY_ALGS as readonly string[]).includes(header.alg)) {
    throw invalidClient(`client_assertion alg must be one of ${PARTNER_KEY_ALGS.join(', ')}`)
  }
  if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) throw invalidClient('client_assertion iss and sub must both be the partner id')
  if (clientId !== undefined && clientId !== claims.iss) throw invalidClient('client_id does not match the assertion')

  const [partner] = await deps.db.select().from(partners).where(eq(partners.id, claims.iss)).limit(1)
  if (!partner) throw invalidClient('unknown client')

  // The key comes only from the registered JWKS: jku, x5u and jwk headers are never followed.
  const registered = ((partner.jwks as { keys: JWK[] }).keys ?? [])
    .filter((jwk) => jwk.alg === header.alg && (header.kid === undefined || jwk.kid === header.kid))
  if (registered.length === 0) throw invalidClient('no registered key of this client matches the assertion kid and alg')

  let verified = false
  let lastError = 'signature check failed'
  for (const jwk of registered) {
    try {
      await jwtVerify(assertion, await importedKey(deps.importedKeys, jwk), {
        algorithms: [header.alg],
        issuer: partner.id,
        subject: partner.id,
        audience: [`${deps.publicUrl}/v1/oauth/token`, deps.publicUrl],
        requiredClaims: ['exp', 'jti'],
        currentDate: deps.now(),
        clockTolerance: CLOCK_SKEW_S
      })
      verified = true
      break
    } catch (err) {
      lastError = (err as Error).message
    }
  }
  if (!verified) throw invalidClient(`client_assertion rejected: ${lastError}`)
  // After the signature: only the key's holder may learn that its partner is suspended.
  if (partner.status !== 'active') throw invalidClient('client is suspended')

  // jose admits an aud array holding one of ours among others: an assertion meant for another
  // server as well could be replayed here. Every audience must be this hub.
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  const ours = [`${deps.publicUrl}/v1/oauth/token`, deps.publicUrl]
  if (!audiences.every((aud) => typeof aud === 'string' && ours.includes(aud))) throw invalidClient('client_assertion aud names another audience')
  const nowS = Math.floor(deps.now().getTime() / 1000)
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > nowS + MAX_IAT_AHEAD_S)) {
    throw invalidClient(`client_assertion iat is more than ${MAX_IAT_AHEAD_S} s ahead`)
  }
  const exp = claims.exp as number
  if (exp - nowS > MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) {
    throw invalidClient(`client_assertion exp must be at most ${MAX_ASSERTION_LIFETIME_S} s ahead`)
  }
  if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 255) {
    throw invalidClient('client_assertion jti must be a string of 1 to 255 characters')
  }
  await recordAssertionUse(deps, partner.id, claims.jti, exp)
  return partner
}

/** Imported partner keys by their JSON (importing costs more than verifying); one per app. */
export type ImportedKeys = Map<string, Promise<CryptoKey | Uint8Array>>

// Bounded: a replaced key is simply never asked for again.
function importedKey (imported: ImportedKeys, jwk: JWK): Promise<CryptoKey | Uint8Array> {
  const id = JSON.stringify(jwk)
  let key = imported.get(id)
  if (!key) {
    if (imported.size >= 10_000) imported.clear()
    key = importJWK(jwk, jwk.alg)
    imported.set(id, key)
    key.catch(() => imported.delete(id))
  }
  return key
}

/** The primary key decides: of many identical assertions sent at once, exactly one inserts. */
async function recordAssertionUse (deps: TokenDeps, partnerId: string, jti: string, exp: number): Promise<void> {
  const inserted = await deps.db.insert(usedAssertions)
    .values({ partnerId, jti, expiresAt: new Date((exp + CLOCK_SKEW_S) * 1000) })
    .onConflictDoNothing()
    .returning({ jti: usedAssertions.jti })
  if (inserted.length === 0) throw invalidClient('client_assertion jti was already used')
}

/** Forget assertion ids that can no longer be replayed because they have expired. */
export async function purgeUsedAssertions (db: Db, now: Date): Promise<number> {
  const purged = await db.delete(usedAssertions).where(lt(usedAssertions.expiresAt, now)).returning({ jti: usedAssertions.jti })
  return purged.length
}
