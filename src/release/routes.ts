// Readers' routes: the regions they may read, and the aggregates behind their grants.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../app.js'
import { createRegionLookup } from '../admin/regions.js'
import { BEARER, callerOf } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { problem, problemResponses } from '../problem.js'
import { createRollupCache } from './aggregate.js'
import { DIMENSIONS, loadVocabulary } from './dimensions.js'
import { CONTENT_TYPE, negotiate } from './format.js'
import { badParameter, MAX_BY, MAX_SPAN_MONTHS, PERIOD_TYPES } from './query.js'
import { readAggregates, regionsFor, type ReleaseDeps } from './release.js'

const Nullable = (s: ReturnType<typeof Type.String>) => Type.Union([s, Type.Null()])
const Dimension = Type.Unsafe<string>({ type: 'string', enum: [...DIMENSIONS], description: 'a dimension of the aggregates' })
// No schema `default`: Ajv's useDefaults would write it into the query (and so into audit rows and cache keys).
const PeriodType = Type.Unsafe<string>({ type: 'string', enum: [...PERIOD_TYPES], description: 'month (2026-03, the default), quarter (2026-Q1) or year (2026); from/to on its boundaries' })

const AggregatesQuery = Type.Object({
  region: Type.String({ maxLength: 64, description: 'a country code (KAZ) or a region code (central-asia); exact case' }),
  from: Type.String({ maxLength: 7, description: 'first month, YYYY-MM' }),
  to: Type.String({ maxLength: 7, description: `last month, YYYY-MM (span at most ${MAX_SPAN_MONTHS} months)` }),
  by: Type.Optional(Type.String({ maxLength: 300, description: `comma list of at most ${MAX_BY} of: ${DIMENSIONS.join(', ')}` })),
  periodType: Type.Optional(PeriodType),
  ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Type.String({ maxLength: 4000, description: `filter: a value or a comma list (any of); _Z selects an absent value` }))]))
}, { additionalProperties: false })

const Cell = Type.Object({
  ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Nullable(Type.String({ description: `its ${d} (a by dimension); null: absent in the records (_Z in SDMX)` })))])),
  count: Type.Union([Type.Integer(), Type.Null()], { description: 'null when protected' }),
  suppressed: Type.Union([Type.Literal('primary'), Type.Literal('secondary'), Type.Null()], { description: 'primary: 1 ≤ count < k; secondary: protects a primary one from subtraction' })
}, { description: 'One cell of an answer: its by dimensions and its count', examples: [{ sex: 'female', count: 42, suppressed: null }, { sex: 'male', count: null, suppressed: 'primary' }] })

const AnswerSchema = Type.Object({
  region: Type.String(),
  from: Type.String(),
  to: Type.String(),
  periodType: PeriodType,
  by: Type.Array(Dimension),
  filters: Type.Record(Type.String(), Type.Array(Type.String())),
  k: Type.Integer({ description: 'cells with 1 ≤ count < k are suppressed' }),
  lastUpdated: Nullable(Type.String({ format: 'date-time', description: 'when the cells of this region last changed' })),
  cells: Type.Array(Cell)
}, {
  description: 'An aggregates answer (application/json)',
  examples: [{ region: 'central-asia', from: '2026-01', to: '2026-03', periodType: 'month', by: ['sex'], filters: {}, k: 5, lastUpdated: '2026-04-02T08:15:00.000Z', cells: [{ sex: 'female', count: 42, suppressed: null }, { sex: 'male', count: null, suppressed: 'primary' }] }]
})

/** Shapes the OpenAPI document shares by $ref (see src/ops/openapi.ts). */
export const OPENAPI_SHAPES = { Answer: AnswerSchema, Cell, Dimension, PeriodType }

const RegionListing = Type.Object({
  code: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('country'), Type.Literal('region')]),
  members: Type.Array(Type.String()),
  readable: Type.Boolean({ description: "the caller may read this unit's totals" }),
  byCountry: Type.Boolean({ description: 'the caller may also read it country by country (by=country, by=subnationalArea, country filters)' }),
  k: Type.Union([Type.Integer(), Type.Null()], { description: 'the k of a totals read, when readable' })
})

export const releaseRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const reader = deps.authorize(SCOPE.aggregatesRead)
  const release: ReleaseDeps = {
    db: deps.database.db,
    vocabulary: loadVocabulary(deps.schemas),
    cache: createRollupCache(),
    audit: deps.readAudit,
    regionOf: createRegionLookup(deps.database.db),
    grantsOf: async (partnerId) => (await deps.directory.get(partnerId))?.grants ?? [],
    versions: deps.cellVersions,
    hubK: deps.config.suppressionK
  }

  app.get('/v1/regions', {
    preHandler: reader,
    schema: {
      tags: ['aggregates'], operationId: 'listRegions', summary: 'Regions and their members, and whether the caller may read them', security: BEARER,
      response: { 200: Type.Object({ items: Type.Array(RegionListing) }), ...problemResponses(401, 403) }
    }
  }, async (request) => ({ items: await regionsFor(release, callerOf(request).partnerId) }))

  app.get('/v1/aggregates', {
    preHandler: reader,
    // The query parser makes a repeated parameter an array: refuse it before the schema sees it.
    preValidation: async (request) => {
      for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
        if (Array.isArray(value)) throw badParameter(name, 'must be given once (use a comma list for several values)')
      }
    },
    schema: {
      tags: ['aggregates'],
      operationId: 'readAggregates',
      summary: 'Regional aggregates behind the caller\'s grants, with small cells suppressed',
      description: 'Accept: application/json (default), text/csv, or application/vnd.sdmx.data+csv;version=2.0.0 (SDMX-CSV 2.0 with OBS_VALUE and CONF_STATUS: A primary, D secondary, F free). Every read is audited: its audit row is committed before the answer is sent (with MHX_READ_AUDIT=async, queued before the answer and committed milliseconds later); while the audit log cannot be written, reads are refused with 503.',
      security: BEARER,
      querystring: AggregatesQuery,
      response: {
        200: {
          description: 'The cells, sorted by the by dimensions; zero cells are not listed',
          content: {
            'application/json': { schema: AnswerSchema },
            'text/csv': { schema: Type.String() },
            'application/vnd.sdmx.data+csv': { schema: Type.String() }
          }
        },
        ...problemResponses(400, 401, 403, 406, 503)
      }
    }
  }, async (request, reply) => {
    const format = negotiate(request.headers.accept)
    if (!format) throw problem('notAcceptable', 'this route answers application/json, text/csv or application/vnd.sdmx.data+csv;version=2.0.0')
    const { answer, body } = await readAggregates(release, callerOf(request).partnerId, request.query as Record<string, string>)
    void reply.header('cache-control', 'private, no-cache').header('vary', 'accept, authorization').type(CONTENT_TYPE[format])
    if (answer.lastUpdated) void reply.header('last-modified', new Date(answer.lastUpdated).toUTCString())
    // Rendered once per query, data version and k (the AnswerSchema above documents the JSON).
    return reply.send(body(format))
  })
}
