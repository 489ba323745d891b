// Operator routes: partners, keys, grants, regions, the hub signing keys.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { appendAudit } from '../audit/log.js'
import { MAX_PARTNER_KEYS } from '../auth/partner-keys.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { ROLES, SCOPE } from '../auth/scopes.js'
import { PageQuery, pageOf } from '../paging.js'
import { inTransaction } from '../db/connect.js'
import { problem, problemResponses } from '../problem.js'
import { partnerGrants } from '../auth/directory.js'
import { changePartner, createPartner, getPartner, listPartners, replaceGrants } from './partners.js'
import { COUNTRY_CODE_PATTERN, createRegion, listRegions, REGION_CODE_PATTERN } from './regions.js'

const PartnerId = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{1,62}$', description: 'lower-case id, e.g. kaz-moh' })
const CountryCode = Type.String({ pattern: COUNTRY_CODE_PATTERN, description: 'ISO 3166-1 alpha-3' })
const UnitCode = Type.String({ maxLength: 64, pattern: `${COUNTRY_CODE_PATTERN}|${REGION_CODE_PATTERN}`, description: 'a country (KAZ) or region (central-asia) code' })
const Jwk = Type.Object({
  kty: Type.String(),
  kid: Type.String({ minLength: 1, maxLength: 128 }),
  alg: Type.String()
}, { additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]) })
const Jwks = Type.Object({ keys: Type.Array(Jwk, { maxItems: MAX_PARTNER_KEYS }) }, { additionalProperties: false })

const Partner = Type.Object({
  id: Type.String(),
  name: Type.String(),
  roles: Type.Array(Type.String()),
  country: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  jwks: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }),
  createdAt: Type.String(),
  updatedAt: Type.String()
})
const Grant = Type.Object({
  region: UnitCode,
  k: Type.Optional(Type.Union([Type.Integer({ minimum: 3, maximum: 1000 }), Type.Null()])),
  countryOfOrigin: Type.Optional(Type.Union([CountryCode, Type.Null()], { description: 'an origin grant: only the unit\'s data about nationals of this country, every query filtering on it' }))
}, { additionalProperties: false })
const GrantOut = Type.Object({ region: Type.String(), k: Type.Union([Type.Integer(), Type.Null()]), countryOfOrigin: Type.Optional(Type.Union([Type.String(), Type.Null()])) })
const Region = Type.Object({ code: Type.String(), name: Type.String(), members: Type.Array(Type.String()), kind: Type.String() })
const IdParams = Type.Object({ id: PartnerId })

export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { db } = deps.database

  app.post('/v1/admin/partners', {
    schema: {
      tags: ['admin'], operationId: 'createPartner', summary: 'Register a partner with its public keys', security: securedBy(SCOPE.admin),
      body: Type.Object({
        id: PartnerId,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, maxItems: 4, uniqueItems: true }),
        country: Type.Optional(Type.Union([CountryCode, Type.Null()])),
        jwks: Jwks
      }, { additionalProperties: false }),
      response: { 201: Partner, ...problemResponses(401, 403, 409, 422) }
    }
  }, async (request, reply) => {
    const partner = await createPartner(deps.database, callerOf(request).partnerId, request.body, deps.now())
    return reply.code(201).header('location', `/v1/admin/partners/${partner.id}`).send(partner)
  })

  app.get('/v1/admin/partners', {
    schema: {
      tags: ['admin'], operationId: 'listPartners', summary: 'List partners', security: securedBy(SCOPE.admin),
      querystring: Type.Object(PageQuery),
      response: { 200: pageOf(Partner), ...problemResponses(400, 401, 403) }
    }
  }, async (request) => listPartners(db, request.query.limit, request.query.cursor))

  app.get('/v1/admin/partners/:id', {
    schema: {
      tags: ['admin'], operationId: 'getPartner', summary: 'One partner', security: securedBy(SCOPE.admin), params: IdParams,
      response: { 200: Partner, ...problemResponses(401, 403, 404) }
    }
  }, async (request) => getPartner(db, request.params.id))

  app.patch('/v1/admin/partners/:id', {
    schema: {
      tags: ['admin'], operationId: 'changePartner', summary: 'Suspend or reactivate a partner, rename it, replace its keys or change its roles', security: securedBy(SCOPE.admin), params: IdParams,
      description: 'A suspension, a key change or a role change refuses every token the partner holds at once (its tokens issued before the change stop working, reactivation included). A role change is checked against the grant-set rule like a grant change (409 grant-set-exposes-country). A partner\'s country is its identity: changing it is a 422.',
      body: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        jwks: Type.Optional(Jwks),
        roles: Type.Optional(Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, maxItems: 4, uniqueItems: true })),
        country: Type.Optional(Type.Unknown({ description: 'not changeable: always refused (422)' }))
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Partner, ...problemResponses(401, 403, 404, 409, 422) }
    }
  }, async (request) => {
    const partner = await changePartner(deps.database, callerOf(request).partnerId, request.params.id, request.body, deps.now())
    deps.directory.invalidate(partner.id)
    return partner
  })

  app.get('/v1/admin/partners/:id/grants', {
    schema: {
      tags: ['admin'], operationId: 'getPartnerGrants', summary: 'A partner\'s grants', security: securedBy(SCOPE.admin), params: IdParams,
      response: { 200: Type.Object({ grants: Type.Array(GrantOut) }), ...problemResponses(401, 403, 404) }
    }
  }, async (request) => {
    await getPartner(db, request.params.id)
    return { grants: await partnerGrants(db, request.params.id) }
  })

  app.put('/v1/admin/partners/:id/grants', {
    schema: {
      tags: ['admin'], operationId: 'replacePartnerGrants', summary: 'Replace a partner\'s grants', security: securedBy(SCOPE.admin), params: IdParams,
      body: Type.Object({ grants: Type.Array(Grant, { maxItems: 500 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ grants: Type.Array(GrantOut) }), ...problemResponses(401, 403, 404, 409, 422) }
    }
  }, async (request) => {
    const wanted = request.body.grants.map((g) => ({ region: g.region, k: g.k ?? null, countryOfOrigin: g.countryOfOrigin ?? null }))
    const granted = await replaceGrants(deps.database, callerOf(request).partnerId, request.params.id, wanted, deps.config.suppressionK, deps.now())
    deps.directory.invalidate(request.params.id)
    return { grants: granted }
  })

  app.get('/v1/admin/regions', {
    schema: {
      tags: ['admin'], operationId: 'listStoredRegions', summary: 'Stored regions (every ISO country is also a region of one)', security: securedBy(SCOPE.admin),
      response: { 200: Type.Object({ items: Type.Array(Region) }), ...problemResponses(401, 403) }
    }
  }, async () => ({ items: await listRegions(db) }))

  app.post('/v1/admin/regions', {
    schema: {
      tags: ['admin'], operationId: 'createRegion', summary: 'Create a region (immutable once created)', security: securedBy(SCOPE.admin),
      body: Type.Object({
        code: Type.String({ pattern: REGION_CODE_PATTERN, minLength: 2, maxLength: 64 }),
        name: Type.String({ minLength: 1, maxLength: 200 }),
        members: Type.Array(CountryCode, { minItems: 1, maxItems: 250 })
      }, { additionalProperties: false }),
      response: { 201: Region, ...problemResponses(401, 403, 409, 422) }
    }
  }, async (request, reply) => {
    const region = await inTransaction(deps.database, async (tx) => {
      const created = await createRegion(tx, request.body)
      await appendAudit(tx, { partnerId: callerOf(request).partnerId, action: 'region.create', subject: created.code, detail: { members: created.members } }, deps.now())
      return created
    })
    return reply.code(201).send(region)
  })

  app.post('/v1/admin/keys/rotate', {
    schema: {
      tags: ['admin'], operationId: 'rotateHubKey', summary: 'Rotate a hub signing key; retired public keys stay in the JWKS', security: securedBy(SCOPE.admin),
      body: Type.Optional(Type.Object({ use: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('receipt')])) }, { additionalProperties: false })),
      response: { 200: Type.Object({ use: Type.String(), kid: Type.String(), retired: Type.Array(Type.String()) }), ...problemResponses(401, 403, 422) }
    }
  }, async (request) => {
    const use = request.body?.use ?? 'token'
    const actor = callerOf(request).partnerId
    // The audit row is written in the rotation's transaction: a rotation is never unrecorded.
    const rotated = await deps.keys.rotate(use, (tx, done) =>
      appendAudit(tx, { partnerId: actor, action: 'keys.rotate', subject: done.kid, detail: { use, retired: done.retired } }, deps.now()))
    return { use, ...rotated }
  })

  app.post('/v1/admin/keys/revoke', {
    schema: {
      tags: ['admin'],
      summary: 'Revoke a hub signing key at once (leaked): gone from the JWKS, its tokens and receipts no longer verify; an active key is replaced',
      security: securedBy(SCOPE.admin),
      body: Type.Object({ kid: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ kid: Type.String(), use: Type.String(), replacedBy: Type.Union([Type.String(), Type.Null()]) }),
        ...problemResponses(401, 403, 404, 422)
      }
    }
  }, async (request) => {
    const actor = callerOf(request).partnerId
    const revoked = await deps.keys.revoke(request.body.kid, (tx, done) =>
      appendAudit(tx, { partnerId: actor, action: 'keys.revoke', subject: done.kid, detail: { use: done.use, replacedBy: done.replacedBy } }, deps.now()))
    if (!revoked) throw problem('notFound', `no hub key ${request.body.kid}`)
    return revoked
  })
}
