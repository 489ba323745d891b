// Readers' routes: the regions they may read, and the aggregates behind their grants.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { createRegionLookup } from '../admin/regions.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { problem, problemResponses } from '../problem.js'
import { every } from '../ops/periodic.js'
import { sendRepresentation } from '../ops/http.js'
import { createRollupCache } from './rollup.js'
import { createPartnerGate, createQueryBudget } from './budget.js'
import { DIMENSIONS, loadVocabulary } from './dimensions.js'
import { CONTENT_TYPE, loadNames, negotiate, type Language } from './formats/index.js'
import { adxQuery, hasReleasedValue } from './formats/adx.js'
import { sdmxFault } from './formats/sdmx.js'
import { sdmxRoutes } from './sdmx-routes.js'
import { fhirRoutes } from './fhir-routes.js'
import { indicatorRoutes } from '../indicators/routes.js'
import { loadIndicatorCatalog } from '../indicators/catalog.js'
import { indicatorFlow } from '../indicators/sdmx-flow.js'
import { indicatorMeasure } from '../indicators/fhir.js'
import { badParameter } from './query.js'
import { aggregatesQuery, PeriodType } from './query-schema.js'
import { buildPtable } from './ptable.js'
import { createPolicyContext } from '../policy/context.js'
import { createCoverage } from '../stewardship/periods.js'
import { holdWhole } from '../db/held.js'
import { FIGURES_CHANNEL, loadFigures } from '../indicators/denominators.js'
import { disclosureNotice, readAggregates, regionsFor, type ReleaseDeps } from './release.js'

const BUDGET_PURGE_EVERY_MS = 60 * 60_000

const Nullable = (s: ReturnType<typeof Type.String>) => Type.Union([s, Type.Null()])
const Dimension = Type.Unsafe<string>({ type: 'string', enum: [...DIMENSIONS], description: 'a dimension of the aggregates' })

const Cell = Type.Object({
  ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Nullable(Type.String({ description: `its ${d} (a by dimension); null: absent in the records (_Z in SDMX)` })))])),
  count: Type.Union([Type.Integer(), Type.Null()], { description: 'the released count (perturbed unless disclosure.method is none); null when withheld' }),
  suppressed: Type.Union([Type.Literal('primary'), Type.Null()], { description: 'primary: the released count is below k and withheld' })
}, { description: 'One cell of an answer: its by dimensions and its count', examples: [{ sex: 'female', count: 42, suppressed: null }, { sex: 'other', count: null, suppressed: 'primary' }] })

const DisclosureOfAnswer = Type.Object({
  method: Type.Union([Type.Literal('cellkey'), Type.Literal('none')], { description: 'cellkey: counts perturbed by the cell-key method (see GET /v1/disclosure); none: exact counts, for a partner reading only its own country' }),
  ptable: Nullable(Type.String({ description: 'the perturbation table used (cellkey)' }))
})

const DisclosureSchema = Type.Object({
  method: Type.Literal('cellkey'),
  description: Type.String(),
  ptable: Type.String({ description: 'version of the perturbation table, as answers name it' }),
  D: Type.Integer({ description: 'largest deviation of a released count from the true count' }),
  V: Type.Number({ description: 'variance of the deviation' }),
  js: Type.Integer({ description: 'counts 1..js-1 are never released unchanged' }),
  k: Type.Integer({ description: 'the hub\'s k: released counts below it are withheld' }),
  sensitiveK: Type.Integer({ description: 'k of a read that uses a sensitive dimension' }),
  sensitiveDimensions: Type.Array(Type.String()),
  queryBudget: Type.Integer({ description: 'distinct queries per partner per UTC day (0: none); repeats of an answered query are free' }),
  atoms: Type.String({ description: 'what is perturbed one by one' }),
  additive: Type.Boolean({ description: 'whether cells add up to margins (they do not: margins are perturbed on their own)' }),
  distributions: Type.Array(Type.Object({
    n: Type.Integer({ description: 'true count (the last row: this count and above)' }),
    deviations: Type.Array(Type.Object({ d: Type.Integer(), p: Type.Number() }))
  }))
})

const AnswerSchema = Type.Object({
  region: Type.String(),
  from: Type.String(),
  to: Type.String(),
  periodType: PeriodType,
  by: Type.Array(Dimension),
  filters: Type.Record(Type.String(), Type.Array(Type.String())),
  k: Type.Integer({ description: 'cells whose released count is below k are withheld (1 when nothing is: disclosure.method none)' }),
  disclosure: DisclosureOfAnswer,
  lastUpdated: Nullable(Type.String({ format: 'date-time', description: 'when the cells of this region last changed' })),
  coverage: Type.Array(Type.Object({
    country: Type.String(), period: Type.String(), status: Type.Union([Type.Literal('not_reported'), Type.Literal('open')])
  }), { description: 'the country-months of the query that are not published: not reported is not 0' }),
  cells: Type.Array(Cell),
  labels: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()), { description: 'with ?labels=: per dimension, the name of every code the answer shows' }))
}, {
  description: 'An aggregates answer (application/json)',
  examples: [{ region: 'central-asia', from: '2026-01', to: '2026-03', periodType: 'month', by: ['sex'], filters: {}, k: 5, disclosure: { method: 'cellkey', ptable: 'mhx-ptable-D3-V2-js3' }, lastUpdated: '2026-04-02T08:15:00.000Z', coverage: [{ country: 'TKM', period: '2026-03', status: 'not_reported' }], cells: [{ sex: 'female', count: 42, suppressed: null }, { sex: 'other', count: null, suppressed: 'primary' }] }]
})

/** Shapes the OpenAPI document shares by $ref (see src/ops/openapi.ts). */
export const OPENAPI_SHAPES = { Answer: AnswerSchema, Cell, Dimension, PeriodType }

const RegionListing = Type.Object({
  code: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('country'), Type.Literal('region')]),
  members: Type.Array(Type.String()),
  readable: Type.Boolean({ description: 'the caller may read this unit\'s totals' }),
  byCountry: Type.Boolean({ description: 'the caller may also read it country by country (by=country, by=subnationalArea, country filters)' }),
  k: Type.Union([Type.Integer(), Type.Null()], { description: 'the k of a totals read, when readable' }),
  countryOfOrigin: Type.Union([Type.String(), Type.Null()], { description: 'an origin grant: every read of this unit must filter on exactly this countryOfOrigin' }),
  missingConsents: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'when the grants allow the read but consents do not: the countries whose stewards have not consented to the caller' })
})

const ACCEPTED = 'application/json, text/csv, application/vnd.sdmx.data+csv;version=2.0.0, application/fhir+json or application/adx+xml'

export const releaseRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const reader = deps.authorize(SCOPE.aggregatesRead)
  const { config } = deps
  const budget = createQueryBudget(deps.database, config.queryBudget, deps.now)
  const vocabulary = loadVocabulary(deps.schemas)
  const names = loadNames(deps.schemas)
  const { publicUrl } = config
  const release: ReleaseDeps = {
    db: deps.database.db,
    vocabulary,
    cache: createRollupCache(),
    audit: deps.readAudit,
    regionOf: createRegionLookup(deps.database.db),
    ...createPolicyContext(deps),
    coverageOf: createCoverage({ db: deps.database.db, book: deps.stewardship, versions: deps.cellVersions }),
    versions: deps.cellVersions,
    hubK: config.suppressionK,
    sensitiveK: config.sensitiveK,
    ptable: buildPtable(),
    budget,
    gate: createPartnerGate(config.readsPerPartner)
  }
  // A reader, or a steward reading its own country (readAggregates tells them apart).
  const readerOrSteward = [deps.authorize(), async (request: FastifyRequest) => {
    const { scopes } = callerOf(request)
    if (!scopes.has(SCOPE.aggregatesRead) && !scopes.has(SCOPE.steward)) throw problem('forbidden', `this route needs the scope ${SCOPE.aggregatesRead} (or ${SCOPE.steward} for your own country)`)
  }]
  every(app, BUDGET_PURGE_EVERY_MS, 'purging past days of the query budget', () => budget.purge())

  app.get('/v1/disclosure', {
    schema: {
      tags: ['aggregates'],
      operationId: 'getDisclosure',
      security: [],
      summary: 'How released counts are protected: the method and its parameters',
      description: 'Public. The record keys never leave the hub; everything else a reader needs to interpret an answer is here.',
      response: { 200: DisclosureSchema }
    }
  }, async () => disclosureNotice(release, config))

  app.get('/v1/regions', {
    onRequest: reader,
    schema: {
      tags: ['aggregates'], operationId: 'listRegions', summary: 'Regions and their members, and whether the caller may read them', security: securedBy(SCOPE.aggregatesRead),
      response: { 200: Type.Object({ items: Type.Array(RegionListing) }), ...problemResponses(401, 403) }
    }
  }, async (request) => ({ items: await regionsFor(release, callerOf(request)) }))

  app.get('/v1/aggregates', {
    onRequest: readerOrSteward,
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
      description: 'Accept: application/json (default); text/csv; application/vnd.sdmx.data+csv;version=2.0.0 (SDMX-CSV 2.0 of the structure at GET /v1/sdmx/structure: every dimension, _T where summed out, TIME_PERIOD always, OBS_STATUS E perturbed / A exact / O not released, CONF_STATUS A primary / F free); application/fhir+json (a FHIR R4 MeasureReport of the Measure the read counts: migrant-health-contacts or migrant-health-case-notifications when it filters one recordType, else migrant-health-records; errors as OperationOutcome); application/adx+xml (ADX, the shape ADX intake takes, valid against the IHE adx_loose.xsd: split by recordType unless it filters one, withheld cells named in XML comments; a read with no released value is 404 no-results). docs/formats.md shows each. Every read is audited: its audit row is committed before the answer is sent (with MHX_READ_AUDIT=async, queued before the answer and committed milliseconds later); while the audit log cannot be written, reads are refused with 503.',
      security: securedBy(SCOPE.aggregatesRead, SCOPE.steward),
      querystring: aggregatesQuery(vocabulary),
      response: {
        200: {
          description: 'The cells, sorted by the by dimensions; zero cells are not listed',
          content: {
            'application/json': { schema: AnswerSchema },
            'text/csv': { schema: Type.String() },
            'application/vnd.sdmx.data+csv': { schema: Type.String() },
            'application/fhir+json': { schema: Type.Object({ resourceType: Type.Literal('MeasureReport') }, { additionalProperties: true, description: 'FHIR R4 MeasureReport' }) },
            'application/adx+xml': { schema: Type.String() }
          }
        },
        ...problemResponses(400, 401, 403, 404, 406, 429, 503)
      }
    }
  }, async (request, reply) => {
    const format = negotiate(request.headers.accept)
    if (!format) throw problem('notAcceptable', `this route answers ${ACCEPTED}`)
    const { labels, ...asked } = request.query as Record<string, string | undefined>
    if (format === 'sdmx') {
      const fault = sdmxFault(asked)
      if (fault) throw fault
    }
    const raw = format === 'adx' ? adxQuery(asked) : asked
    const { answer, body } = await readAggregates(release, callerOf(request), raw)
    if (format === 'adx' && !hasReleasedValue(answer)) throw problem('noResults', 'no value of this read is released (none counted, or every count below k): an ADX document holds at least one value')
    void reply.header('cache-control', 'private, no-cache').header('vary', 'accept, accept-encoding, authorization').type(CONTENT_TYPE[format])
    if (answer.lastUpdated) void reply.header('last-modified', new Date(answer.lastUpdated).toUTCString())
    // Rendered once per query, data version and k (the AnswerSchema above documents the JSON).
    return sendRepresentation(request, reply, body(format, { names, publicUrl, labels: labels as Language | undefined }))
  })

  const catalog = loadIndicatorCatalog(deps.schemas, vocabulary)
  const figures = await holdWhole(deps.database, FIGURES_CHANNEL, loadFigures)
  app.addHook('onClose', () => figures.close())
  const extraFlow = indicatorFlow({ release, figures: figures.get, catalog, names, publicUrl, now: deps.now })
  await app.register(sdmxRoutes, { release, db: deps.database.db, names, vocabulary, publicUrl, now: deps.now, reader: readerOrSteward, extraFlow })

  const extraMeasures = { ids: catalog.indicators.map((i) => i.id), measure: (id: string) => { const i = catalog.indicator(id); return i && indicatorMeasure(i, publicUrl) } }
  await app.register(fhirRoutes, { db: deps.database.db, names, vocabulary, publicUrl, now: deps.now, extraMeasures })

  await app.register(indicatorRoutes, { release, database: deps.database, figures, schemas: deps.schemas, catalog, authorize: deps.authorize, now: deps.now, reader: readerOrSteward, names, publicUrl })
}
