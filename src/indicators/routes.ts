// Indicator routes: the catalogs and the public figures (denominators, reference values) for
// anyone; the values behind a reader's grants, read through the aggregates' read (readAggregates).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { COUNTRY_CODE_PATTERN } from '../admin/regions.js'
import { callerOf, securedBy, type Authorize } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import type { Database } from '../db/connect.js'
import type { Held } from '../db/held.js'
import type { SchemaRegistry } from '../intake/registry.js'
import { problem, problemResponses } from '../problem.js'
import { DIMENSIONS } from '../release/dimensions.js'
import { CONTENT_TYPE, mediaRanges, type Language, type Names } from '../release/formats/index.js'
import { indicatorMeasureReport } from './fhir.js'
import { aggregatesQuery, PeriodType } from '../release/query-schema.js'
import type { ReleaseDeps } from '../release/release.js'
import type { IndicatorCatalog } from './catalog.js'
import { denominatorHistory, listDenominators, listReferences, setDenominator, setReference, type Figures } from './denominators.js'
import { indicatorCsv, indicatorJson } from './formats.js'
import { readIndicatorValues, STATUSES } from './values.js'

export interface IndicatorRouteDeps {
  release: ReleaseDeps
  database: Database
  /** The current denominators and reference values, held per process. */
  figures: Held<Figures>
  schemas: SchemaRegistry
  catalog: IndicatorCatalog
  authorize: Authorize
  now: () => Date
  names: Names
  publicUrl: string
  /** Authenticates a reader of aggregates (or a steward reading its own country), in onRequest. */
  reader: Array<(request: FastifyRequest, reply: FastifyReply) => Promise<void>>
}

const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Integer | typeof Type.Number>>(s: T) => Type.Union([s, Type.Null()])
const Text = Type.Object({ en: Type.String(), ru: Type.String() })
const Filters = Type.Record(Type.String(), Type.Array(Type.String()), { description: 'dimension → the values counted (any of)' })

const PopulationSchema = Type.Object({
  id: Type.String(),
  parent: Nullable(Type.String({ description: 'the population this one is the part of one sex of' })),
  sex: Type.Union([Type.Literal('female'), Type.Literal('male'), Type.Null()]),
  label: Text,
  definition: Text,
  sources: Type.Array(Type.String())
})

const IndicatorSchema = Type.Object({
  id: Type.String(),
  version: Type.String({ description: 'the catalog version that defines it (schemas/indicators/<version>.json)' }),
  kind: Type.Union([Type.Literal('rate'), Type.Literal('proportion')]),
  sdg: Type.Object({ target: Type.String(), indicator: Nullable(Type.String()) }, { description: 'the related SDG target (and indicator, where one matches)' }),
  name: Text,
  definition: Text,
  convention: Type.String({ description: 'the source convention it follows (WHO, ILO)' }),
  numerator: Type.Object({ filters: Filters }),
  denominator: Type.Union([Type.Object({ population: Type.String() }), Type.Object({ filters: Filters })]),
  multiplier: Type.Number(),
  unit: Type.Object({ code: Type.String({ description: 'SDMX UNIT_MEASURE code' }), en: Type.String(), ru: Type.String() }),
  minimumNumerator: Type.Integer({ description: 'a value whose released numerator is below this is withheld' })
}, { examples: [{ id: 'tb-notification-rate', version: '1.0.0', kind: 'rate', sdg: { target: '3.3', indicator: '3.3.2' }, name: { en: 'TB notification rate among migrants', ru: 'Показатель регистрации туберкулёза среди мигрантов' }, definition: { en: 'TB case notifications per 100,000 migrants', ru: 'Случаи туберкулёза на 100 000 мигрантов' }, convention: 'WHO', numerator: { filters: { recordType: ['case_notification'], conditionGroup: ['tb'] } }, denominator: { population: 'migrant_stock' }, multiplier: 100000, unit: { code: 'PER_100000', en: 'per 100,000 migrants', ru: 'на 100 000 мигрантов' }, minimumNumerator: 10 }] })

const DenominatorSchema = Type.Object({
  country: Type.String(), year: Type.Integer(), population: Type.String(),
  value: Type.Integer(), source: Type.String(), sourceUrl: Nullable(Type.String()), vintage: Type.String(), note: Nullable(Type.String()),
  revision: Type.Integer({ description: '1 for the first figure, one more for each change' }), setBy: Type.String(), setAt: Type.String({ format: 'date-time' })
})

const ReferenceSchema = Type.Object({
  indicator: Type.String(), country: Type.String(), year: Type.Integer(),
  value: Type.Number(), source: Type.String(), sourceUrl: Nullable(Type.String()), note: Nullable(Type.String()),
  revision: Type.Integer(), setBy: Type.String(), setAt: Type.String({ format: 'date-time' })
})

const Source = Type.String({ minLength: 1, maxLength: 500, description: 'who published the figure (e.g. UN DESA International Migrant Stock 2024; WHO Global TB Report 2025)' })
const SourceUrl = Type.String({ minLength: 1, maxLength: 2000, format: 'uri', description: 'where the figure is published' })
const Note = Type.String({ maxLength: 1000 })

const DenominatorBody = Type.Object({
  value: Type.Integer({ minimum: 1, maximum: 10_000_000_000, description: 'the population figure (people): a positive integer' }),
  source: Source,
  sourceUrl: Type.Optional(SourceUrl),
  vintage: Type.String({ minLength: 1, maxLength: 100, description: 'the edition or revision of the source (e.g. 2024)' }),
  note: Type.Optional(Note)
}, { additionalProperties: false, examples: [{ value: 3_700_000, source: 'UN DESA, International Migrant Stock 2024', sourceUrl: 'https://www.un.org/development/desa/pd/content/international-migrant-stock', vintage: '2024' }] })

const ReferenceBody = Type.Object({
  value: Type.Number({ minimum: 0, description: 'the comparator in the indicator\'s unit (e.g. the national TB notification rate per 100,000)' }),
  source: Source,
  sourceUrl: Type.Optional(SourceUrl),
  note: Type.Optional(Note)
}, { additionalProperties: false, examples: [{ value: 47, source: 'WHO Global Tuberculosis Report 2025' }] })

const Country = Type.String({ pattern: COUNTRY_CODE_PATTERN, description: 'ISO 3166-1 alpha-3 country code (KAZ)' })
const Year = Type.Integer({ minimum: 1950, maximum: 9999, description: 'the year the figure is for' })
const FigureParams = Type.Object({ country: Country, year: Year, population: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'a population of the catalog (GET /v1/populations)' }) })
const ReferenceParams = Type.Object({ indicator: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'an indicator id (GET /v1/indicators)' }), country: Country, year: Year })
const IndicatorId = Type.Object({ id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'an indicator id (GET /v1/indicators)' }) })

const Dimension = Type.Unsafe<string>({ type: 'string', enum: [...DIMENSIONS] })
const IndicatorCellSchema = Type.Object({
  ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Type.Union([Type.String(), Type.Null()], { description: `its ${d} (a by dimension)` }))])),
  numerator: Nullable(Type.Integer({ description: 'exactly the count GET /v1/aggregates releases for the same query with the indicator\'s numerator filters; null when withheld' })),
  denominator: Nullable(Type.Number({ description: 'a rate: the population (months-weighted mean of the yearly figures); a proportion: the released count of the cohort' })),
  value: Nullable(Type.Number({ description: 'numerator × multiplier ÷ denominator; null unless released' })),
  lower: Nullable(Type.Number({ description: 'lower bound of the 95 % interval' })),
  upper: Nullable(Type.Number({ description: 'upper bound of the 95 % interval' })),
  status: Type.Unsafe<string>({ type: 'string', enum: [...STATUSES], description: 'released; withheld (numerator withheld or below minimumNumerator); no-denominator (no figure for a year of the cell or before)' }),
  reference: Type.Union([Type.Object({ value: Type.Number(), year: Type.Integer(), source: Type.String() }), Type.Null()], { description: 'the comparator set for the cell\'s country (latest year at or before the cell\'s), when the cell has one country' })
})

const IndicatorAnswerSchema = Type.Object({
  indicator: Type.Object({ id: Type.String(), kind: Type.String(), multiplier: Type.Number(), unit: Type.Object({ code: Type.String(), en: Type.String(), ru: Type.String() }), minimumNumerator: Type.Integer(), version: Type.String() }),
  region: Type.String(),
  from: Type.String(),
  to: Type.String(),
  periodType: PeriodType,
  by: Type.Array(Dimension),
  filters: Type.Record(Type.String(), Type.Array(Type.String()), { description: 'the caller\'s filters (the indicator\'s own are in its definition)' }),
  k: Type.Integer(),
  disclosure: Type.Object({ method: Type.Union([Type.Literal('cellkey'), Type.Literal('none')]), ptable: Type.Union([Type.String(), Type.Null()]) }),
  interval: Type.Object({ level: Type.Literal(0.95), method: Type.String({ description: 'poisson-score+perturbation (rates) or wilson+perturbation (proportions); poisson-score or wilson for an exact read (disclosure.method none): docs/indicators.md' }) }),
  annualised: Type.Literal(false),
  lastUpdated: Nullable(Type.String({ format: 'date-time' })),
  coverage: Type.Array(Type.Object({ country: Type.String(), period: Type.String(), status: Type.Union([Type.Literal('not_reported'), Type.Literal('open')]) })),
  denominators: Type.Array(Type.Object({
    country: Type.String(), population: Type.String(), year: Type.Integer({ description: 'the year of the figure used' }),
    forYears: Type.Array(Type.Integer(), { description: 'the years of the answer it stands for (the latest figure at or before each)' }),
    value: Type.Integer(), source: Type.String(), vintage: Type.String()
  }), { description: 'the population figures a rate used' }),
  cells: Type.Array(IndicatorCellSchema)
}, {
  description: 'An indicator answer (application/json)',
  examples: [{
    indicator: { id: 'tb-notification-rate', kind: 'rate', multiplier: 100000, unit: { code: 'PER_100000', en: 'per 100,000 migrants', ru: 'на 100 000 мигрантов' }, minimumNumerator: 10, version: '1.0.0' },
    region: 'central-asia', from: '2026-01', to: '2026-12', periodType: 'year', by: ['country'], filters: {}, k: 5,
    disclosure: { method: 'cellkey', ptable: 'mhx-ptable-D3-V2-js3' }, interval: { level: 0.95, method: 'poisson-score+perturbation' }, annualised: false,
    lastUpdated: '2026-04-02T08:15:00.000Z', coverage: [],
    denominators: [{ country: 'KAZ', population: 'migrant_stock', year: 2024, forYears: [2026], value: 3700000, source: 'illustrative (demo)', vintage: '2024' }],
    cells: [{ country: 'KAZ', numerator: 120, denominator: 3700000, value: 3.243, lower: 2.71, upper: 3.88, status: 'released', reference: { value: 47, year: 2024, source: 'WHO Global Tuberculosis Report 2025' } }]
  }]
})

/** Shapes the OpenAPI document shares by $ref. */
export const OPENAPI_SHAPES = { Indicator: IndicatorSchema, IndicatorAnswer: IndicatorAnswerSchema }

const valuesFormat = (accept: string | undefined): 'json' | 'csv' | 'fhir' | undefined => {
  if (accept === undefined || accept.trim() === '') return 'json'
  for (const r of mediaRanges(accept)) {
    if (r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') return 'json'
    if (r.type === 'text/csv' || r.type === 'text/*') return 'csv'
    if ((r.type === 'application/fhir+json' || r.type === 'application/json+fhir') && (r.fhirVersion === undefined || r.fhirVersion.startsWith('4.0'))) return 'fhir'
  }
  return undefined
}

export const indicatorRoutes: FastifyPluginAsyncTypebox<IndicatorRouteDeps> = async (app, deps) => {
  const { catalog } = deps
  const { db } = deps.database
  // The admin, or a steward (its own country: checked with the path), in onRequest.
  const setter = [deps.authorize(), async (request: FastifyRequest) => {
    const { scopes } = callerOf(request)
    if (!scopes.has(SCOPE.admin) && !scopes.has(SCOPE.steward)) throw problem('forbidden', `this route needs the scope ${SCOPE.admin} or ${SCOPE.steward} (a steward for its own country)`, { requiredScope: SCOPE.steward })
  }]
  /** Fastify's body faults, as this route's problem type naming each field (nothing is stored). */
  const bodyFault = (request: FastifyRequest) => {
    const fault = request.validationError as (Error & { validationContext?: string, validation?: Array<{ instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }> }) | undefined
    if (!fault) return
    const body = fault.validationContext === 'body'
    const errors = (fault.validation ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? `/${String(e.params.additionalProperty)}` : e.keyword === 'required' ? `/${String(e.params.missingProperty)}` : ''
      const path = `${e.instancePath}${extra}`
      return { path: body ? path || '/' : path.replace(/^\//, ''), message: e.keyword === 'additionalProperties' ? 'unknown field' : e.keyword === 'required' ? 'is required' : e.message ?? 'is invalid' }
    })
    const detail = `invalid ${body ? 'body' : 'path'}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`
    throw body ? problem('denominatorInvalid', detail, { errors }) : problem('badRequest', detail, { errors })
  }
  const knownCountry = (country: string) => {
    if (!deps.schemas.isCountry(country)) throw problem('badRequest', `country: ${country} is not in the countries catalog`, { errors: [{ path: 'country', message: 'not an ISO 3166-1 alpha-3 code of the catalog' }] })
  }

  app.get('/v1/populations', {
    schema: {
      tags: ['indicators'], operationId: 'listPopulations', security: [],
      summary: 'The populations a rate may divide by (schemas/populations/)',
      response: { 200: Type.Object({ version: Type.String(), items: Type.Array(PopulationSchema) }) }
    }
  }, async () => ({ version: catalog.version, items: catalog.populations }))

  app.get('/v1/indicators', {
    schema: {
      tags: ['indicators'], operationId: 'listIndicators', security: [],
      summary: 'The indicator catalog: definitions (en, ru), SDG targets, numerators, denominators, units',
      response: { 200: Type.Object({ version: Type.String(), items: Type.Array(IndicatorSchema) }) }
    }
  }, async () => ({ version: catalog.version, items: catalog.indicators }))

  app.get('/v1/indicators/:id', {
    schema: {
      tags: ['indicators'], operationId: 'getIndicator', security: [],
      summary: 'One indicator\'s definition',
      params: IndicatorId,
      response: { 200: IndicatorSchema, ...problemResponses(400, 404) }
    }
  }, async (request) => {
    const found = catalog.indicator(request.params.id)
    if (!found) throw problem('indicatorUnknown', `id: unknown indicator "${request.params.id}" (see GET /v1/indicators)`, { errors: [{ path: 'id', message: 'unknown indicator' }] })
    return found
  })

  app.get('/v1/indicators/:id/values', {
    onRequest: deps.reader,
    preValidation: async (request) => {
      for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
        if (Array.isArray(value)) throw problem('badRequest', `${name}: must be given once (use a comma list for several values)`, { errors: [{ path: name, message: 'must be given once' }] })
      }
    },
    schema: {
      tags: ['indicators'], operationId: 'readIndicatorValues',
      summary: 'An indicator\'s values: numerator, denominator, value, 95 % interval, status, reference',
      description: 'The numerator (and a proportion\'s denominator) is exactly the count GET /v1/aggregates releases for the same query with the indicator\'s filters added: the same grants, consents, published months, k, own-country exactness; each distinct count query is charged to the query budget and audited as an aggregate read (free when asked before). A rate divides by its population\'s figure for the cell\'s countries and months (a month takes its year\'s figure, or the latest year before it); rates are not annualised. The interval covers the count\'s random variation and the perturbation\'s published variance (interval.method; docs/indicators.md). Accept: application/json (default), text/csv or application/fhir+json (a summary MeasureReport: numerator and denominator populations, measureScore, the interval in the indicator-interval extension).',
      security: securedBy(SCOPE.aggregatesRead, SCOPE.steward),
      params: IndicatorId,
      querystring: aggregatesQuery(deps.release.vocabulary),
      response: {
        200: { description: 'The cells, sorted by the by dimensions', content: { 'application/json': { schema: IndicatorAnswerSchema }, 'text/csv': { schema: Type.String() }, 'application/fhir+json': { schema: Type.Object({ resourceType: Type.Literal('MeasureReport') }, { additionalProperties: true, description: 'FHIR R4 MeasureReport of the indicator\'s Measure (GET /v1/fhir/Measure/{id}: scoring proportion or ratio)' }) } } },
        ...problemResponses(400, 401, 403, 404, 406, 429, 503)
      }
    }
  }, async (request, reply) => {
    const format = valuesFormat(request.headers.accept)
    if (!format) throw problem('notAcceptable', 'this route answers application/json, text/csv or application/fhir+json')
    const { labels, ...asked } = request.query as Record<string, string | undefined>
    const answer = await readIndicatorValues({ release: deps.release, figures: deps.figures.get, catalog }, callerOf(request), request.params.id, asked)
    void reply.header('cache-control', 'private, no-cache').header('vary', 'accept, accept-encoding, authorization')
    if (format === 'csv') return reply.type('text/csv; charset=utf-8; header=present').send(indicatorCsv(answer))
    if (format === 'fhir') return reply.type(CONTENT_TYPE.fhir).send(JSON.stringify(indicatorMeasureReport(answer, deps.publicUrl, deps.names, labels as Language | undefined)))
    return reply.type('application/json; charset=utf-8').send(indicatorJson(answer))
  })

  app.get('/v1/denominators', {
    schema: {
      tags: ['indicators'], operationId: 'listDenominators', security: [],
      summary: 'The current denominators (public figures), with their source and vintage',
      querystring: Type.Object({
        country: Type.Optional(Country),
        year: Type.Optional(Year),
        population: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(DenominatorSchema) }), ...problemResponses(400) }
    }
  }, async (request) => ({ items: await listDenominators(db, request.query) }))

  app.get('/v1/denominators/:country/:year/:population', {
    schema: {
      tags: ['indicators'], operationId: 'getDenominator', security: [],
      summary: 'One denominator and its history (every revision, newest first)',
      params: FigureParams,
      response: { 200: Type.Object({ current: DenominatorSchema, history: Type.Array(DenominatorSchema) }), ...problemResponses(400, 404) }
    }
  }, async (request) => {
    const history = await denominatorHistory(db, request.params)
    if (history.length === 0) throw problem('notFound', `no denominator ${request.params.population} for ${request.params.country} ${request.params.year}`)
    return { current: history[0], history }
  })

  app.put('/v1/denominators/:country/:year/:population', {
    onRequest: setter,
    attachValidation: true,
    schema: {
      tags: ['indicators'], operationId: 'setDenominator',
      summary: 'Set a country\'s population figure for a year (the admin, or that country\'s steward)',
      description: 'A new revision; the earlier ones stay as its history. A negative or non-integer value, an unknown population, a future year or another country\'s figure is refused naming the field, and nothing is stored.',
      security: securedBy(SCOPE.admin, SCOPE.steward),
      params: FigureParams,
      body: DenominatorBody,
      response: { 200: DenominatorSchema, ...problemResponses(400, 401, 403, 404, 422) }
    }
  }, async (request) => {
    bodyFault(request)
    knownCountry(request.params.country)
    const set = await setDenominator(deps.database, catalog, callerOf(request), request.params, request.body, deps.now())
    deps.figures.invalidate()
    return set
  })

  app.get('/v1/references', {
    schema: {
      tags: ['indicators'], operationId: 'listReferences', security: [],
      summary: 'The current reference values (comparators such as the national rate)',
      querystring: Type.Object({ indicator: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' })), country: Type.Optional(Country) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ReferenceSchema) }), ...problemResponses(400) }
    }
  }, async (request) => ({ items: await listReferences(db, request.query) }))

  app.put('/v1/references/:indicator/:country/:year', {
    onRequest: setter,
    attachValidation: true,
    schema: {
      tags: ['indicators'], operationId: 'setReference',
      summary: 'Set a reference value of an indicator for a country and year (the admin, or that country\'s steward)',
      security: securedBy(SCOPE.admin, SCOPE.steward),
      params: ReferenceParams,
      body: ReferenceBody,
      response: { 200: ReferenceSchema, ...problemResponses(400, 401, 403, 404, 422) }
    }
  }, async (request) => {
    bodyFault(request)
    knownCountry(request.params.country)
    const set = await setReference(deps.database, catalog, callerOf(request), request.params, request.body, deps.now())
    deps.figures.invalidate()
    return set
  })
}
