// Bearer authentication: verify the hub's access token, then check the partner as it is now.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose'
import { problem } from '../problem.js'
import type { PartnerDirectory } from './directory.js'
import type { HubKeys } from './hub-keys.js'
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

export interface BearerDeps { directory: PartnerDirectory, keys: HubKeys, publicUrl: string, now: () => Date }

interface VerifiedToken { partnerId: string, scopes: string[], tokenId: string, expMs: number }

const MAX_CACHED_TOKENS = 50_000
const unauthorized = (why: string) => problem('unauthorized', why)

/**
 * Returns `authenticate(authorization header) → Caller`. The signature check of a token is cached
 * until its exp (reads are hot); the partner's status and roles come from the partner directory,
 * invalidated on every change, so a suspension acts on the next request, not at expiry.
 */
export function createAuthenticator (deps: BearerDeps) {
  const verified = new Map<string, VerifiedToken>()

  async function verify (token: string): Promise<VerifiedToken> {
    const nowMs = deps.now().getTime()
    const hit = verified.get(token)
    if (hit && hit.expMs > nowMs) return hit
    if (hit) verified.delete(token)

    let payload: JWTPayload
    try {
      const { kid } = decodeProtectedHeader(token)
      const key = typeof kid === 'string' ? await deps.keys.publicKey(kid) : undefined
      if (!key) throw new Error('unknown kid')
      payload = (await jwtVerify(token, key, {
        algorithms: ['EdDSA', 'ES256'],
        issuer: deps.publicUrl,
        audience: deps.publicUrl,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        currentDate: deps.now()
      })).payload
    } catch {
      throw unauthorized('the access token is invalid or expired')
    }
    const entry: VerifiedToken = {
      partnerId: payload.sub as string,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
      tokenId: payload.jti as string,
      expMs: (payload.exp as number) * 1000
    }
    if (verified.size >= MAX_CACHED_TOKENS) verified.delete(verified.keys().next().value as string)
    verified.set(token, entry)
    return entry
  }

  return async function authenticate (authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(authorization ?? '')
    if (!match) throw unauthorized('an access token is required: Authorization: Bearer <token>')
    const token = await verify(match[1])
    const partner = await deps.directory.get(token.partnerId)
    if (!partner) throw unauthorized('the partner of this token no longer exists')
    if (partner.status !== 'active') throw unauthorized('the partner of this token is suspended')
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

/** A preHandler that admits a caller holding `scope` (403 names it) and sets request.caller. */
export function createAuthorize (authenticate: Authenticate): Authorize {
  return (scope) => async (request, reply) => {
    try {
      request.caller = await authenticate(request.headers.authorization)
    } catch (err) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      throw err
    }
    if (scope && !request.caller.scopes.has(scope)) throw problem('forbidden', `this route needs the scope ${scope}`)
  }
}

/** The caller set by an authorize preHandler (routes without one never call this). */
export function callerOf (request: FastifyRequest): Caller {
  if (!request.caller) throw new Error('route has no authorize preHandler')
  return request.caller
}

/** The OpenAPI security requirement of every bearer-protected route. */
export const BEARER = [{ bearer: [] }]
