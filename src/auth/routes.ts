// Token endpoint and the hub's published keys and metadata.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { every } from '../ops/periodic.js'
import { Problem } from '../problem.js'
import { mediaTypeOf } from '../intake/body.js'
import { BEARER, callerOf } from './bearer.js'
import { PARTNER_KEY_ALGS } from './partner-keys.js'
import { ALL_SCOPES } from './scopes.js'
import type { RateLimiter } from './rate-limits.js'
import { ASSERTION_TYPE, claimedClient, issueAccessToken, MAX_ASSERTION_BYTES, OAuthError, purgeUsedAssertions, type TokenRequest } from './token.js'

const PURGE_EVERY_MS = 10 * 60_000

const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() })

const TokenForm = Type.Object({
  grant_type: Type.Optional(Type.String({ description: 'client_credentials' })),
  client_assertion_type: Type.Optional(Type.String({ description: ASSERTION_TYPE })),
  client_assertion: Type.Optional(Type.String({ description: 'JWT signed with a registered partner key (RFC 7523)' })),
  scope: Type.Optional(Type.String({ description: 'space-separated; fewer than the roles allow is fine' })),
  client_id: Type.Optional(Type.String())
}, { additionalProperties: true })

/** RFC 6749's code for "not now" (temporarily_unavailable), with Retry-After: a 429 an OAuth client understands. */
function tooMany (what: string, key: string, waitS: number): OAuthError {
  return new OAuthError('temporarily_unavailable', `too many ${what}; retry in ${waitS} s`, 429, `rate limit ${key}`, waitS)
}

async function withinTokenBudget (limit: RateLimiter, request: FastifyRequest, key: string): Promise<void> {
  const waitS = await limit(request, key)
  if (waitS !== undefined) throw tooMany('token requests for this client', key, waitS)
}

export const authRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const tokenEndpoint = `${deps.config.publicUrl}/v1/oauth/token`
  const tokenDeps = { db: deps.database.db, keys: deps.keys, publicUrl: deps.config.publicUrl, tokenTtlS: deps.config.tokenTtlS, now: deps.now, importedKeys: new Map() }

  // Assertion ids past their exp can no longer be replayed: forget them now and then.
  every(app, PURGE_EVERY_MS, 'purging used assertion ids', () => purgeUsedAssertions(deps.database.db, deps.now()))

  // RFC 6749 section 4.1.3 / 2.3: the token request is form-encoded, nothing else.
  const formOnly = async (request: FastifyRequest) => {
    if (mediaTypeOf(request.headers['content-type']) !== 'application/x-www-form-urlencoded') {
      throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
    }
  }
  // Counted per claimed client before the signature is checked (verifying is what a flood of
  // assertions would cost); per address only failures count, against a ceiling ten times higher,
  // so one client's bad assertions never hold back another partner behind the same address.
  const perClient = async (request: FastifyRequest) => {
    const client = claimedClient(request.body as TokenRequest | undefined)
    if (client !== undefined) await withinTokenBudget(deps.rateLimits.token, request, `client:${client}`)
  }

  app.post('/v1/oauth/token', {
    onRequest: formOnly,
    preValidation: perClient,
    // An assertion is at most MAX_ASSERTION_BYTES; the rest of the form is a few hundred bytes.
    bodyLimit: 2 * MAX_ASSERTION_BYTES,
    schema: {
      tags: ['auth'], operationId: 'requestToken',
      summary: 'Exchange a client assertion (private_key_jwt) for an access token',
      consumes: ['application/x-www-form-urlencoded'],
      body: TokenForm,
      response: {
        200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer(), scope: Type.String() }),
        400: OAuthErrorBody,
        401: OAuthErrorBody,
        429: OAuthErrorBody,
        500: OAuthErrorBody
      }
    },
    // RFC 6749 errors here, not problem+json: OAuth client libraries expect them.
    errorHandler: async (error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode
      let oauth: OAuthError
      if (error instanceof OAuthError) oauth = error
      else if (status !== undefined && status < 500) {
        oauth = new OAuthError('invalid_request', status === 415
          ? 'the body must be application/x-www-form-urlencoded'
          : status === 413 ? `the token request is larger than ${2 * MAX_ASSERTION_BYTES} bytes` : 'malformed token request')
      } else {
        // Our fault (the database is down, …): never tell the client its request was malformed.
        request.log.error({ err: error }, 'token endpoint failed')
        oauth = new OAuthError('server_error', 'the token endpoint failed; try again', 500)
      }
      if (oauth.status === 400 || oauth.status === 401) {
        const key = `address:${request.ip}`
        const waitS = await deps.rateLimits.tokenFailures(request, key)
        if (waitS !== undefined) oauth = tooMany('failed token requests from this address', key, waitS)
      }
      request.log.info({ error: oauth.error, reason: oauth.reason }, 'token request refused')
      if (oauth.retryAfterS !== undefined) void reply.header('retry-after', String(oauth.retryAfterS))
      return reply.code(oauth.status as 400 | 401 | 429 | 500).header('cache-control', 'no-store').send({ error: oauth.error, error_description: oauth.description })
    }
  }, async (request, reply) => {
    const answer = await issueAccessToken(tokenDeps, request.body)
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return answer
  })

  app.get('/v1/me', {
    onRequest: deps.authorize(),
    schema: {
      tags: ['auth'], operationId: 'getMe',
      summary: 'Who the bearer token speaks for, with the scopes it holds now',
      security: BEARER,
      response: {
        200: Type.Object({ partner: Type.String(), roles: Type.Array(Type.String()), scopes: Type.Array(Type.String()), country: Type.Union([Type.String(), Type.Null()]) }),
        401: Problem
      }
    }
  }, async (request) => {
    const caller = callerOf(request)
    return { partner: caller.partnerId, roles: [...caller.roles], scopes: [...caller.scopes], country: caller.country }
  })

  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['auth'], operationId: 'getJwks',
      summary: 'The hub public keys (access tokens and receipts), retired ones included',
      response: { 200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }) }
    }
  }, async (request, reply) => {
    void reply.header('cache-control', 'public, max-age=60')
    return deps.keys.jwks()
  })

  app.get('/.well-known/oauth-authorization-server', {
    schema: {
      tags: ['auth'], operationId: 'getAuthorizationServerMetadata',
      summary: 'RFC 8414 authorization server metadata',
      response: { 200: Type.Object({}, { additionalProperties: true }) }
    }
  }, async () => ({
    issuer: deps.config.publicUrl,
    token_endpoint: tokenEndpoint,
    jwks_uri: `${deps.config.publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...PARTNER_KEY_ALGS],
    scopes_supported: ALL_SCOPES,
    response_types_supported: ['token'],
    service_documentation: `${deps.config.publicUrl}/docs`
  }))
}
