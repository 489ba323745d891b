// Bearer authentication: verify the hub's access token, then check the partner as it is now.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose'
import { problem } from '../problem.js'
import { partnerVersion, type PartnerDirectory } from './directory.js'
import type { HubKeys, PublicKey } from './hub-keys.js'
import type { RateLimiter } from './rate-limits.js'
import { scopesForRoles, type Scope } from './scopes.js'

/** Who is calling: the partner behind a verified token, with the scopes it holds right now. */
export interface Caller {
  partnerId: string
  scopes: ReadonlySet<string>
  roles: readonly string[]
  country: string | null
  tokenId: string
}

declare module 'fastify' {
  interface FastifyRequest { caller: Caller | null }
}

export interface BearerDeps { directory: PartnerDirectory, keys: HubKeys, publicUrl: string, tokenTtlS: number, now: () => Date }

interface VerifiedToken { partnerId: string, scopes: string[], tokenId: string, partnerVersion: number, expMs: number, kid: string }

/** Clocks of the hub's replicas may differ this much; a replica may also take this long to hear of a rotation. */
const SKEW_S = 60

const MAX_CACHED_TOKENS = 50_000
const unauthorized = (why: string) => problem('unauthorized', why)

/**
 * Returns `authenticate(authorization header) → Caller`. The signature check of a token is cached
 * until its exp (reads are hot); the partner's status and roles come from the partner directory,
 * invalidated on every change, so a suspension acts on the next request, not at expiry.
 */
export function createAuthenticator (deps: BearerDeps) {
  const verified = new Map<string, VerifiedToken>()

  // A leaked hub key must stop working: revoked (gone) at once, retired once its last token has expired.
  async function usableKey (kid: string, nowMs: number): Promise<PublicKey | undefined> {
    const key = await deps.keys.publicKey(kid)
    if (!key) return undefined
    if (key.retiredAt && nowMs - key.retiredAt.getTime() > (deps.tokenTtlS + SKEW_S) * 1000) return undefined
    return key
  }

  async function verify (token: string): Promise<VerifiedToken> {
    const nowMs = deps.now().getTime()
    const hit = verified.get(token)
    if (hit && hit.expMs > nowMs && await usableKey(hit.kid, nowMs)) return hit
    if (hit) verified.delete(token)

    let payload: JWTPayload
    let kid: unknown
    try {
      kid = decodeProtectedHeader(token).kid
      const key = typeof kid === 'string' ? await usableKey(kid, nowMs) : undefined
      if (!key || key.use !== 'token') throw new Error('unknown, retired or revoked kid')
      payload = (await jwtVerify(token, key.key, {
        algorithms: ['EdDSA', 'ES256'],
        issuer: deps.publicUrl,
        audience: deps.publicUrl,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        currentDate: deps.now()
      })).payload
      // The hub never issues these: a token minted with a stolen key, or by a confused replica.
      const iat = payload.iat as number
      if ((payload.exp as number) - iat > deps.tokenTtlS + SKEW_S) throw new Error('lifetime too long')
      if (iat * 1000 > nowMs + SKEW_S * 1000) throw new Error('issued in the future')
    } catch {
      throw unauthorized('the access token is invalid or expired')
    }
    const entry: VerifiedToken = {
      kid: kid as string,
      partnerId: payload.sub as string,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
      tokenId: payload.jti as string,
      partnerVersion: typeof payload.partner_version === 'number' ? payload.partner_version : 0,
      expMs: (payload.exp as number) * 1000
    }
    if (verified.size >= MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value as string)
    verified.set(token, entry)
    return entry
  }

  return async function authenticate (authorization: string | undefined): Promise<Caller> {
    // RFC 7235: the scheme name is case-insensitive.
    const match = /^bearer +([A-Za-z0-9_.~+/=-]+) *$/i.exec(authorization ?? '')
    if (!match) throw unauthorized('an access token is required: Authorization: Bearer <token>')
    const token = await verify(match[1])
    const partner = await deps.directory.get(token.partnerId)
    if (!partner) throw unauthorized('the partner of this token no longer exists')
    if (partner.status !== 'active') throw unauthorized('the partner of this token is suspended')
    // A suspension (reactivation after it included), a key or role change or a narrower grant set
    // ends every token issued before it.
    if (token.partnerVersion !== partnerVersion(partner.changedAt)) throw unauthorized('the access token was issued before the partner\'s last change (suspension, keys, roles or grants): get a new one')
    // A role removed since the token was issued takes its scope with it.
    const current = new Set<string>(scopesForRoles(partner.roles))
    return {
      partnerId: token.partnerId,
      scopes: new Set(token.scopes.filter((s) => current.has(s))),
      roles: partner.roles,
      country: partner.country,
      tokenId: token.tokenId
    }
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>
/** `authorize(scope)` admits callers holding the scope; `authorize()` any authenticated partner. */
export type Authorize = (scope?: Scope) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/**
 * An onRequest hook (every route context registers it there: authentication before the body is
 * read or validated, 401 before 422) that admits a caller holding `scope` (403 names it) and sets
 * request.caller. Each
 * request counts against its partner's budget (`limit`), or its address's when authentication fails.
 */
export function createAuthorize (authenticate: Authenticate, limit: RateLimiter): Authorize {
  return (scope) => {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        request.caller = await authenticate(request.headers.authorization)
      } catch (err) {
        await withinBudget(limit, request, reply, `address:${request.ip}`)
        reply.header('www-authenticate', 'Bearer error="invalid_token"')
        throw err
      }
      await withinBudget(limit, request, reply, `partner:${request.caller.partnerId}`)
      if (scope && !request.caller.scopes.has(scope)) throw problem('forbidden', `this route needs the scope ${scope}`, { requiredScope: scope })
    }
  }
}

async function withinBudget (limit: RateLimiter, request: FastifyRequest, reply: FastifyReply, key: string): Promise<void> {
  const waitS = await limit(request, key)
  if (waitS === undefined) return
  reply.header('retry-after', String(waitS))
  throw problem('tooManyRequests', `too many requests; retry in ${waitS} s`)
}

/** The caller set by the authorize hook (routes without one never call this). */
export function callerOf (request: FastifyRequest): Caller {
  if (!request.caller) throw new Error('route has no authorize hook')
  return request.caller
}

/**
 * The OpenAPI security requirement of a bearer-protected route: one alternative per scope that
 * admits (none: any partner's token). The order test holds each route's hook to what it declares.
 */
export function securedBy (...scopes: Scope[]): Array<{ bearer: string[] }> {
  return scopes.length === 0 ? [{ bearer: [] }] : scopes.map((scope) => ({ bearer: [scope] }))
}

/** Any partner's token. */
export const BEARER = securedBy()
