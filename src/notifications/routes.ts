// Webhook subscriptions: a reader (or a steward) asks to be told when months are published or
// revised; each partner sees and deletes only its own. docs/notifications.md.
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { COUNTRY_CODE_PATTERN, REGION_CODE_PATTERN } from '../admin/regions.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { pageOf, PageQuery } from '../paging.js'
import { problem, problemResponses } from '../problem.js'
import { systemResolve } from './address.js'
import { EVENT_TYPES } from './events.js'
import { createSubscription, deleteSubscription, getSubscription, listDeliveries, listSubscriptions, MAX_SUBSCRIPTIONS } from './subscriptions.js'

const EventType = Type.Union([Type.Literal(EVENT_TYPES[0]), Type.Literal(EVENT_TYPES[1])], { description: 'period.published: a month\'s first revision; period.revised: a later one' })

const subscriptionFields = {
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  events: Type.Array(EventType),
  regions: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'only events about these regions\' countries; null: every country the partner may read' }),
  createdAt: Type.String({ format: 'date-time' })
}
const Subscription = Type.Object(subscriptionFields)

const NewSubscription = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https, at a public address (http and private addresses only for hosts in MHX_WEBHOOK_ALLOW_HOSTS)' }),
  events: Type.Array(EventType, { minItems: 1, maxItems: EVENT_TYPES.length, uniqueItems: true }),
  regions: Type.Optional(Type.Array(Type.String({ maxLength: 64, pattern: `${COUNTRY_CODE_PATTERN}|${REGION_CODE_PATTERN}` }), { minItems: 1, maxItems: 50, uniqueItems: true }))
}, { additionalProperties: false })

const Attempt = Type.Object({
  at: Type.String({ format: 'date-time' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: 'the receiver\'s HTTP status; null when none came' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the try failed (a status outside 2xx, a refused address, a timeout); null when it succeeded' }),
  ms: Type.Integer({ description: 'how long the try took' })
})

const Delivery = Type.Object({
  id: Type.String({ format: 'uuid' }),
  event: Type.Object({ id: Type.String({ format: 'uuid' }), type: EventType, country: Type.String(), period: Type.String(), revision: Type.Integer() }),
  state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('withheld')], {
    description: 'pending: to be tried again; delivered: a 2xx came; failed: every try failed; withheld: not sent again, the partner may no longer read the country'
  }),
  attempts: Type.Array(Attempt),
  createdAt: Type.String({ format: 'date-time' })
})

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

/** Readers hear of what they read, stewards of their own country: either scope admits. */
const SCOPES = [SCOPE.aggregatesRead, SCOPE.steward] as const

export const notificationsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { db } = deps.database
  await app.register(async (plugin) => {
    const partner = plugin.withTypeProvider<TypeBoxTypeProvider>()
    const authenticate = deps.authorize()
    // Authentication, then either scope, before the body is read (401 before 403 before 422).
    partner.addHook('onRequest', async (request, reply) => {
      await authenticate(request, reply)
      const caller = callerOf(request)
      if (!SCOPES.some((scope) => caller.scopes.has(scope))) {
        throw problem('forbidden', `subscriptions need the scope ${SCOPES.join(' or ')}`, { requiredScope: SCOPES[0] })
      }
    })
    const security = securedBy(...SCOPES)

    partner.post('/v1/subscriptions', {
      schema: {
        tags: ['notifications'], operationId: 'createSubscription', summary: 'Subscribe a URL to events (signed as Standard Webhooks); the answer holds the signing secret, shown this once', security,
        body: NewSubscription,
        response: {
          201: Type.Object({ ...subscriptionFields, secret: Type.String({ description: 'whsec_<base64>: verify each delivery\'s webhook-signature with it; never shown again' }) }),
          ...problemResponses(401, 403, 409, 422)
        }
      }
    }, async (request, reply) => {
      const made = await createSubscription({
        database: deps.database, sealer: deps.keys, allowHosts: deps.config.webhookAllowHosts, resolve: systemResolve, now: deps.now()
      }, callerOf(request).partnerId, request.body)
      return reply.code(201).header('location', `/v1/subscriptions/${made.id}`).send(made)
    })

    partner.get('/v1/subscriptions', {
      schema: {
        tags: ['notifications'], operationId: 'listSubscriptions', summary: `The partner's subscriptions (at most ${MAX_SUBSCRIPTIONS})`, security,
        response: { 200: Type.Object({ items: Type.Array(Subscription) }), ...problemResponses(401, 403) }
      }
    }, async (request) => ({ items: await listSubscriptions(db, callerOf(request).partnerId) }))

    partner.get('/v1/subscriptions/:id', {
      schema: {
        tags: ['notifications'], operationId: 'getSubscription', summary: 'One of the partner\'s subscriptions (its secret is never shown again)', security,
        params: IdParams,
        response: { 200: Subscription, ...problemResponses(401, 403, 404) }
      }
    }, async (request) => getSubscription(db, callerOf(request).partnerId, request.params.id))

    partner.delete('/v1/subscriptions/:id', {
      schema: {
        tags: ['notifications'], operationId: 'deleteSubscription', summary: 'End a subscription: nothing more is sent to it, pending deliveries included', security,
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) }
      }
    }, async (request, reply) => {
      await deleteSubscription(deps.database, callerOf(request).partnerId, request.params.id, deps.now())
      return reply.code(204).send(null)
    })

    partner.get('/v1/subscriptions/:id/deliveries', {
      schema: {
        tags: ['notifications'], operationId: 'listSubscriptionDeliveries', summary: 'The delivery log of a subscription, newest first: each event sent, every try with its status', security,
        params: IdParams,
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: { 200: pageOf(Delivery), ...problemResponses(400, 401, 403, 404) }
      }
    }, async (request) => listDeliveries(db, callerOf(request).partnerId, request.params.id, request.query.limit, request.query.cursor))
  })
}
