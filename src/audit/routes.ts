// The operator's view of the audit log and its verification.
import { SCOPE } from '../auth/scopes.js'
import { securedBy } from '../auth/bearer.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { PageQuery, pageOf } from '../paging.js'
import { problemResponses } from '../problem.js'
import { listAudit, verifyAudit } from './chain.js'

const AuditRow = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  partnerId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String({ description: 'e.g. aggregates.read, aggregates.denied, submission.create, grants.replace' }),
  subject: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Unknown(),
  prevHash: Type.String(),
  hash: Type.String()
})

const ChainReport = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  lastSeq: Type.Union([Type.Integer(), Type.Null()]),
  headHash: Type.String(),
  broken: Type.Optional(Type.Object({
    seq: Type.Integer(),
    reason: Type.Union([Type.Literal('prev_hash'), Type.Literal('hash')], { description: 'prev_hash: a row before it was deleted or inserted; hash: this row was edited' }),
    expected: Type.String(),
    found: Type.String()
  }))
})

export const auditRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { db } = deps.database

  app.get('/v1/admin/audit', {
    schema: {
      tags: ['admin'], operationId: 'listAudit', summary: 'The audit log, filtered by partner, action and time, paginated', security: securedBy(SCOPE.admin),
      querystring: Type.Object({
        ...PageQuery,
        partner: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z0-9][a-z0-9._-]{1,62}$', description: 'a partner id (the actor)' })),
        action: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z]+(\\.[a-z_]+)*$', description: 'an action, e.g. aggregates.read, aggregates.denied, submission.accept, grants.replace' })),
        since: Type.Optional(Type.String({ format: 'date-time', description: 'at or after this time' })),
        until: Type.Optional(Type.String({ format: 'date-time', description: 'at or before this time' })),
        order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc', description: 'desc: newest first' })
      }, { additionalProperties: false }),
      response: { 200: pageOf(AuditRow), ...problemResponses(400, 401, 403) }
    }
  }, async (request) => {
    // Reads' rows still queued in this process are shown too.
    await deps.readAudit.drain()
    const { limit, cursor, partner, action, since, until, order } = request.query
    return listAudit(db, {
      partner, action, order,
      since: since === undefined ? undefined : new Date(since),
      until: until === undefined ? undefined : new Date(until)
    }, limit, cursor)
  })

  app.get('/v1/admin/audit/verify', {
    schema: {
      tags: ['admin'], operationId: 'verifyAudit', summary: 'Walk the hash chain of the audit log; report the first broken link', security: securedBy(SCOPE.admin),
      response: { 200: ChainReport, ...problemResponses(401, 403) }
    }
  }, async () => {
    await deps.readAudit.drain()
    return verifyAudit(db)
  })
}
