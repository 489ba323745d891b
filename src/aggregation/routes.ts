// Admin routes over the cells: check the invariant, rebuild from the stored records.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { appendAudit } from '../audit/log.js'
import { SCOPE } from '../auth/scopes.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { problemResponses } from '../problem.js'
import { rebuildCells, verifyCells } from './cells.js'

const Difference = Type.Object({
  cell: Type.Record(Type.String(), Type.String(), { description: 'the cell key: period, country and every dimension (_Z = absent)' }),
  expected: Type.Integer({ description: 'records of aggregated submissions with these dimensions' }),
  actual: Type.Integer({ description: 'the count the cell holds' }),
  keySumDiffers: Type.Optional(Type.Boolean({ description: 'the cell\'s key sum (cell-key method) differs from its records\' keys' }))
})
const Verify = Type.Object({
  ok: Type.Boolean(),
  differences: Type.Array(Difference),
  differencesOmitted: Type.Integer(),
  cells: Type.Integer(),
  records: Type.Integer(),
  marginDifferences: Type.Integer({ description: 'pre-rolled margins (one dimension per month and country) that differ from the cells they sum; rebuild repairs them' })
})
const Rebuild = Type.Object({
  cells: Type.Integer(),
  records: Type.Integer(),
  changed: Type.Integer({ description: 'cells whose count changed, appeared or disappeared' }),
  remapped: Type.Integer({ description: 'records whose condition group was re-mapped from the newest catalog' })
})

export const aggregationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  app.get('/v1/admin/aggregates/verify', {
    schema: {
      tags: ['admin'], operationId: 'verifyAggregates', summary: 'Check every cell against the stored records', security: securedBy(SCOPE.admin),
      response: { 200: Verify, ...problemResponses(401, 403) }
    }
  }, async (request) => {
    const result = await verifyCells(deps.database.db)
    await appendAudit(deps.database.db, {
      partnerId: callerOf(request).partnerId,
      action: 'aggregates.verify',
      detail: { ok: result.ok, differences: result.differences.length + result.differencesOmitted, cells: result.cells, marginDifferences: result.marginDifferences }
    }, deps.now())
    return result
  })

  app.post('/v1/admin/aggregates/rebuild', {
    schema: {
      tags: ['admin'], operationId: 'rebuildAggregates', summary: 'Recompute every cell from the stored records (after a catalog change, or to repair)', security: securedBy(SCOPE.admin),
      response: { 200: Rebuild, ...problemResponses(401, 403) }
    }
  }, async (request) => {
    // Records are re-mapped with the newest condition-group catalog, so a catalog change reaches the cells.
    const result = await rebuildCells(deps.database, { conditionGroupOf: (icd10) => deps.schemas.conditionGroup(icd10) })
    deps.cellVersions.changed()
    await appendAudit(deps.database.db, {
      partnerId: callerOf(request).partnerId,
      action: 'aggregates.rebuild',
      detail: { ...result }
    }, deps.now())
    return result
  })
}
