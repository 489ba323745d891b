// SDMX routes: the structure of each version (public) and the SDMX REST data path, which reads through
// readAggregates (the same grants, consents, budget and protection as GET /v1/aggregates). docs/formats.md, "SDMX".
import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { listRegions, type Region } from '../admin/regions.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import type { Queryable } from '../db/connect.js'
import { representation, sendRepresentation } from '../ops/http.js'
import { problem, problemResponses } from '../problem.js'
import type { Vocabulary } from './dimensions.js'
import type { Names } from './formats/names.js'
import { observationsOf, sdmxCsv, sdmxStructure, SDMX_AGENCY, SDMX_DSD_ID, SDMX_VERSION, SDMX_VERSIONS, structureId } from './formats/sdmx.js'
import { dataQueries, flowVersion, negotiateSdmxData, SDMX_DATA_CONTENT_TYPE, sdmxJsonData, type DataNames } from './formats/sdmx-data.js'
import { readAggregates, type ReleaseDeps } from './release.js'

export interface SdmxRouteDeps {
  release: ReleaseDeps
  db: Queryable
  names: Names
  vocabulary: Vocabulary
  publicUrl: string
  now: () => Date
  /** Authenticates a reader of aggregates (or a steward reading its own country), in onRequest. */
  reader: Array<(request: FastifyRequest, reply: FastifyReply) => Promise<void>>
  /** Another dataflow served beside MIGRANT_HEALTH (the indicators'): its artefacts join the newest structure message. */
  extraFlow?: ExtraFlow
}

/** A dataflow of another capability: its structure artefacts and its data path. */
export interface ExtraFlow {
  id: string
  version: string
  /** Whether a flow reference names it (a wrong version of it is a 404 thrown here). */
  matches (flow: string): boolean
  /** The newest structure message with its artefacts added. */
  extend<M extends { data: { conceptSchemes: unknown[], codelists: unknown[], dataStructures: unknown[], dataflows: unknown[] } }>(message: M): M
  /** Answers GET /v1/sdmx/data/{flow}/{key} for it. */
  data (request: FastifyRequest, reply: FastifyReply, key: string, regions: readonly Region[]): Promise<FastifyReply>
}

const STRUCTURE_TYPE = 'application/vnd.sdmx.structure+json; version=2.0.0; charset=utf-8'
const StructureMessage = Type.Object({ meta: Type.Object({}, { additionalProperties: true }), data: Type.Object({}, { additionalProperties: true }) }, { description: 'SDMX-JSON 2.0 structure message' })
const VERSION_PATTERN = `^(${SDMX_VERSIONS.map((v) => v.replace(/\./g, '\\.')).join('|')}|latest|~)$`

export const sdmxRoutes: FastifyPluginAsyncTypebox<SdmxRouteDeps> = async (app, deps) => {
  const { names, vocabulary, publicUrl } = deps
  const structureUrl = (version: string) => `${publicUrl}/v1/sdmx/structure/datastructure/${SDMX_AGENCY}/${SDMX_DSD_ID}/${version}`

  // Built again only when a region was created (regions are immutable): a public route stays cheap.
  const structures = new Map<string, { key: string, body: ReturnType<typeof sdmxStructure> }>()
  async function structure (version: string) {
    const regions = await listRegions(deps.db)
    const key = regions.map((r) => r.code).join(',')
    let built = structures.get(version)
    if (built?.key !== key) {
      const body = sdmxStructure({ names, vocabulary, regions }, deps.now().toISOString(), version)
      structures.set(version, built = { key, body: version === SDMX_VERSION && deps.extraFlow ? deps.extraFlow.extend(body) : body })
    }
    return built.body
  }

  app.get('/v1/sdmx/structure', {
    schema: {
      tags: ['aggregates'],
      operationId: 'getSdmxStructure',
      summary: 'The SDMX structure of the aggregates, newest version: data structure definition, codelists (en, ru) and dataflow',
      description: `An SDMX-JSON 2.0 structure message of ${structureId(SDMX_VERSION)}, with the indicators' dataflow ${SDMX_AGENCY}:MIGRANT_HEALTH_IND (docs/indicators.md). Every SDMX-CSV answer of GET /v1/aggregates uses this structure and only its codes. Each version is also at GET /v1/sdmx/structure/datastructure/${SDMX_AGENCY}/${SDMX_DSD_ID}/{version}.`,
      security: [],
      response: { 200: { description: 'SDMX-JSON 2.0 structure message', content: { 'application/vnd.sdmx.structure+json': { schema: StructureMessage } } } }
    }
  }, async (_request, reply) => reply.type(STRUCTURE_TYPE).send(await structure(SDMX_VERSION)))

  app.get('/v1/sdmx/structure/:type/:agency/:id/:version', {
    schema: {
      tags: ['aggregates'],
      operationId: 'getSdmxStructureVersion',
      summary: 'One version of the SDMX structure (SDMX REST structure path)',
      description: `The structure message of a version of ${SDMX_AGENCY}:${SDMX_DSD_ID} (versions ${SDMX_VERSIONS.join(', ')}; latest or ~ for the newest): its data structure, dataflow, concept scheme and codelists, whether the path names the datastructure or the dataflow. A new dimension is a new version; older versions stay served.`,
      security: [],
      params: Type.Object({
        type: Type.Union([Type.Literal('datastructure'), Type.Literal('dataflow')], { description: 'the artefact asked for; the message holds both' }),
        agency: Type.Literal(SDMX_AGENCY),
        id: Type.Union([Type.Literal(SDMX_DSD_ID), Type.Literal('MIGRANT_HEALTH_IND')], { description: `${SDMX_DSD_ID}, or MIGRANT_HEALTH_IND (the indicators, version 1.0.0: in the newest message)` }),
        version: Type.String({ pattern: VERSION_PATTERN, description: `${SDMX_VERSIONS.join(', ')}, or latest (~)` })
      }),
      response: {
        200: { description: 'SDMX-JSON 2.0 structure message', content: { 'application/vnd.sdmx.structure+json': { schema: StructureMessage } } },
        ...problemResponses(400)
      }
    }
  }, async (request, reply) => {
    const { version, id } = request.params
    if (id !== SDMX_DSD_ID) {
      if (!deps.extraFlow || !['latest', '~', deps.extraFlow.version].includes(version)) throw problem('notFound', `no ${id} version ${version}`)
      return reply.type(STRUCTURE_TYPE).send(await structure(SDMX_VERSION))
    }
    return reply.type(STRUCTURE_TYPE).send(await structure(version === 'latest' || version === '~' ? SDMX_VERSION : version))
  })

  const DataQuery = Type.Object({
    startPeriod: Type.Optional(Type.String({ maxLength: 7, pattern: '^\\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$', description: 'the first period: a year (2026), a quarter (2026-Q1) or a month (2026-03); its kind is the period type of the answer' })),
    endPeriod: Type.Optional(Type.String({ maxLength: 7, pattern: '^\\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$', description: 'the last period, of the kind of startPeriod (default: the current one)' })),
    dimensionAtObservation: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_-]*$', description: 'accepted and ignored: observations are always flat, at AllDimensions' }))
  }, { additionalProperties: false })
  const flowParam = Type.String({ maxLength: 64, pattern: '^([A-Za-z0-9_@$*-]+,)?[A-Za-z0-9_@$-]+(,[A-Za-z0-9_.~*+-]+)?$', description: `${SDMX_AGENCY},${SDMX_DSD_ID},<version> (or ${SDMX_DSD_ID}, or ${SDMX_AGENCY},${SDMX_DSD_ID}: the newest); versions ${SDMX_VERSIONS.join(', ')}, latest or ~` })
  const keyParam = Type.String({ maxLength: 4000, pattern: '^[A-Za-z0-9_@$+.*-]*$', description: 'the series key: one position per dimension of the structure but TIME_PERIOD, in its order, separated by dots; in each, a code, codes joined by + (or), nothing (every code), or _T (the total). REF_AREA names the countries or regions read (it cannot be left empty).' })
  const dataSchema = {
    tags: ['aggregates'],
    operationId: 'readSdmxData',
    summary: 'SDMX REST data: the aggregates of a series key',
    description: 'The same read as GET /v1/aggregates (grants, consents, query budget, protection), asked the SDMX REST way: each REF_AREA code is one read of that country or region; a position with one code is a filter, with several codes or none it varies (by), with _T it is summed out; TIME_PERIOD varies when startPeriod..endPeriod holds several periods. At most 4 dimensions vary. Accept: application/vnd.sdmx.data+json;version=2.0.0 (default) or application/vnd.sdmx.data+csv;version=2.0.0. A read with no observation is 404 no-results. docs/formats.md, "SDMX REST data".',
    security: securedBy(SCOPE.aggregatesRead, SCOPE.steward),
    params: Type.Object({ flow: flowParam, key: keyParam }),
    querystring: DataQuery,
    response: {
      200: {
        description: 'An SDMX-JSON 2.0 data message or SDMX-CSV 2.0',
        content: {
          'application/vnd.sdmx.data+json': { schema: Type.Object({ meta: Type.Object({}, { additionalProperties: true }), data: Type.Object({}, { additionalProperties: true }) }, { description: 'SDMX-JSON 2.0 data message' }) },
          'application/vnd.sdmx.data+csv': { schema: Type.String({ description: 'SDMX-CSV 2.0' }) }
        }
      },
      ...problemResponses(400, 401, 403, 404, 406, 429, 503)
    }
  }

  const regionName = (regions: readonly Region[]) => new Map(regions.map((r) => [r.code, r.name]))
  const dataNames = (regions: Map<string, string>): DataNames => {
    const { sdmx } = names.catalog
    return {
      dimension: (dim) => names.dimension(dim, 'en'),
      code: (dim, code) => (dim === 'country' ? regions.get(code) : undefined) ?? names.code(dim, code, 'en'),
      measure: sdmx.OBS_VALUE.en,
      attributes: {
        OBS_STATUS: { name: sdmx.OBS_STATUS.name.en, codes: Object.fromEntries(Object.entries(sdmx.OBS_STATUS.codes).map(([c, n]) => [c, n.en])) },
        CONF_STATUS: { name: sdmx.CONF_STATUS.name.en, codes: Object.fromEntries(Object.entries(sdmx.CONF_STATUS.codes).map(([c, n]) => [c, n.en])) }
      }
    }
  }

  app.get('/v1/sdmx/data/:flow/:key', { onRequest: deps.reader, schema: dataSchema }, async (request, reply) => {
    const { flow, key } = request.params as { flow: string, key: string }
    if (deps.extraFlow?.matches(flow)) return deps.extraFlow.data(request, reply, key, await listRegions(deps.db))
    const version = flowVersion(flow)
    const format = negotiateSdmxData(request.headers.accept)
    if (!format) throw problem('notAcceptable', 'this route answers application/vnd.sdmx.data+json;version=2.0.0 or application/vnd.sdmx.data+csv;version=2.0.0')
    const regions = await listRegions(deps.db)
    const queries = dataQueries(key, request.query as Record<string, string | undefined>, version, { vocabulary, regions }, deps.now())
    // One read per REF_AREA code, in turn: each is granted, charged, protected and audited on its own.
    const answers = []
    for (const query of queries) answers.push((await readAggregates(deps.release, callerOf(request), query)).answer)
    const observations = answers.flatMap((answer) => observationsOf(answer, version))
    if (observations.length === 0) throw problem('noResults', 'no observation matches this key and period (nothing counted): as SDMX REST answers a query without data')
    const lastUpdated = answers.map((a) => a.lastUpdated).filter((t) => t !== null).sort().at(-1)
    let body: string
    if (format === 'csv') {
      body = sdmxCsv(observations, version)
    } else {
      // The message's id and time come from what it answers and the data version: the same read sends the same bytes (ETag).
      const id = createHash('sha256').update(JSON.stringify([version, queries, answers.map((a) => [a.lastUpdated, a.k])])).digest('hex').slice(0, 20)
      body = JSON.stringify(sdmxJsonData(observations, version, { id: `MHX-${id}`, prepared: lastUpdated ?? deps.now().toISOString(), structureUrl: structureUrl(version), names: dataNames(regionName(regions)) }))
    }
    void reply.header('cache-control', 'private, no-cache').header('vary', 'accept, accept-encoding, authorization').type(SDMX_DATA_CONTENT_TYPE[format])
    if (lastUpdated) void reply.header('last-modified', new Date(lastUpdated).toUTCString())
    return sendRepresentation(request, reply, representation(body))
  })
}
