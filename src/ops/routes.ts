// Liveness, readiness, the OpenAPI document and the metrics.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { securedBy } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import type { RouteDeps } from '../deps.js'
import { hasMetricsToken } from './metrics.js'

const Check = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('down')]), kind: Type.String() })

export const opsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  app.get('/health/live', {
    schema: { tags: ['ops'], operationId: 'getLiveness', summary: 'The process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  const Ready = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]), database: Check, queue: Check })
  app.get('/health/ready', {
    schema: { tags: ['ops'], operationId: 'getReadiness', summary: 'The database and the queue answer', response: { 200: Ready, 503: Ready } }
  }, async (request, reply) => {
    const [database, queue] = await Promise.all([deps.database.ping(), deps.queue.ready()])
    const body = {
      status: database && queue ? 'ready' as const : 'not ready' as const,
      database: { status: database ? 'ok' as const : 'down' as const, kind: deps.database.kind },
      queue: { status: queue ? 'ok' as const : 'down' as const, kind: deps.queue.kind }
    }
    return reply.code(database && queue ? 200 : 503).send(body)
  })

  app.get('/openapi.json', {
    schema: { tags: ['ops'], operationId: 'getOpenApi', summary: 'This OpenAPI 3.1 document', response: { 200: Type.Object({}, { additionalProperties: true }) } }
  }, async () => app.swagger())
}

/** GET /metrics: the Prometheus text format, for an admin token or the metrics token. */
export const metricsRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const admin = deps.authorize(SCOPE.admin)
  app.get('/metrics', {
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      if (hasMetricsToken(request.headers.authorization, deps.config.metricsToken)) return
      await admin(request, reply)
    },
    schema: {
      tags: ['ops'], operationId: 'getMetrics',
      summary: 'Prometheus metrics (admin token or MHX_METRICS_TOKEN)',
      security: securedBy(SCOPE.admin),
      produces: ['text/plain']
    }
  }, async (_request, reply) => {
    const text = await deps.metrics.registry.metrics()
    return reply.type(deps.metrics.registry.contentType).send(text)
  })
}
