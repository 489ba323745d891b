// FHIR routes (public): the CapabilityStatement and every resource behind a canonical URL mhx emits, by id.
// Errors on these routes, and on any request that asks for FHIR, are OperationOutcome (fhirErrors).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { listRegions } from '../admin/regions.js'
import type { Queryable } from '../db/connect.js'
import { PROBLEM_CONTENT_TYPE, problem, problemResponses, type Problem } from '../problem.js'
import type { Vocabulary } from './dimensions.js'
import { CONTENT_TYPE, negotiate } from './formats/index.js'
import { HUB_ORGANIZATION, isMeasureId, measure, MEASURES } from './formats/fhir.js'
import {
  capabilityStatement, codeSystem, codeSystemNames, EXTENSION_NAMES, hubOrganization, operationOutcome, structureDefinition, valueSet, type FhirSources
} from './formats/fhir-terminology.js'
import type { Names } from './formats/names.js'

export interface FhirRouteDeps {
  db: Queryable
  names: Names
  vocabulary: Vocabulary
  publicUrl: string
  now: () => Date
  /** Measures of another capability (the indicators'), by id. */
  extraMeasures?: { ids: readonly string[], measure: (id: string) => object | undefined }
}

/** Whether a request is a FHIR one: a /v1/fhir/ route, or an Accept that asks for FHIR. */
export function wantsFhir (request: FastifyRequest): boolean {
  const path = request.url.split('?')[0]
  return path.startsWith('/v1/fhir/') || path === '/v1/fhir' || negotiate(request.headers.accept) === 'fhir'
}

/** An onSend hook: the problem+json of a FHIR request becomes an OperationOutcome (same status, FHIR media type). */
export function fhirErrors (publicUrl: string) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const type = reply.getHeader('content-type')
    if (typeof payload !== 'string' || typeof type !== 'string' || !type.startsWith(PROBLEM_CONTENT_TYPE) || !wantsFhir(request)) return payload
    void reply.type(CONTENT_TYPE.fhir)
    return JSON.stringify(operationOutcome(JSON.parse(payload) as Problem, publicUrl))
  }
}

const Resource = (resourceType: string) => ({
  description: `FHIR R4 ${resourceType}`,
  content: { 'application/fhir+json': { schema: Type.Object({ resourceType: Type.Literal(resourceType) }, { additionalProperties: true, description: `FHIR R4 ${resourceType}` }) } }
})
const idParam = (ids: readonly string[], what: string) => Type.Object({ id: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9\\-.]{1,64}$', description: `${what}: ${ids.join(', ')}` }) })

export const fhirRoutes: FastifyPluginAsyncTypebox<FhirRouteDeps> = async (app, deps) => {
  const { names, vocabulary, publicUrl } = deps
  const sources = async (): Promise<FhirSources> => ({ publicUrl, names, vocabulary, regions: await listRegions(deps.db) })
  const metadata = capabilityStatement(publicUrl, deps.now().toISOString())
  const fhir = (reply: FastifyReply, resource: object | undefined, what: string) => {
    if (!resource) throw problem('notFound', what)
    return reply.type(CONTENT_TYPE.fhir).send(resource)
  }
  const read = { tags: ['fhir'], security: [] }

  app.get('/v1/fhir/metadata', {
    schema: { ...read, operationId: 'getFhirMetadata', summary: 'The FHIR CapabilityStatement of this hub', response: { 200: Resource('CapabilityStatement') } }
  }, async (_request, reply) => reply.type(CONTENT_TYPE.fhir).send(metadata))

  app.get('/v1/fhir/Measure/:id', {
    schema: {
      ...read, operationId: 'getFhirMeasure', summary: 'A FHIR R4 Measure that aggregate answers report on (MeasureReport.measure)',
      params: idParam([...Object.keys(MEASURES), ...deps.extraMeasures?.ids ?? []], 'the Measure'), response: { 200: Resource('Measure'), ...problemResponses(400, 404) }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const found = isMeasureId(id) ? measure(id, publicUrl, names) : deps.extraMeasures?.measure(id)
    return fhir(reply, found, `no Measure "${id}" (this hub reports ${[...Object.keys(MEASURES), ...deps.extraMeasures?.ids ?? []].join(', ')})`)
  })

  app.get('/v1/fhir/CodeSystem/:id', {
    schema: {
      ...read, operationId: 'getFhirCodeSystem', summary: 'A code system of the hub\'s codes (stratifier codes and values)',
      params: idParam(codeSystemNames(), 'the code system'), response: { 200: Resource('CodeSystem'), ...problemResponses(400, 404) }
    }
  }, async (request, reply) => fhir(reply, codeSystem(request.params.id, await sources()), `no CodeSystem "${request.params.id}" (this hub has ${codeSystemNames().join(', ')})`))

  app.get('/v1/fhir/ValueSet/:id', {
    schema: {
      ...read, operationId: 'getFhirValueSet', summary: 'The value set of every code of one of the hub\'s code systems',
      params: idParam(codeSystemNames(), 'the value set'), response: { 200: Resource('ValueSet'), ...problemResponses(400, 404) }
    }
  }, async (request, reply) => fhir(reply, valueSet(request.params.id, await sources()), `no ValueSet "${request.params.id}" (this hub has ${codeSystemNames().join(', ')})`))

  app.get('/v1/fhir/StructureDefinition/:id', {
    schema: {
      ...read, operationId: 'getFhirStructureDefinition', summary: 'The definition of an extension of the hub\'s MeasureReports',
      params: idParam(EXTENSION_NAMES, 'the extension'), response: { 200: Resource('StructureDefinition'), ...problemResponses(400, 404) }
    }
  }, async (request, reply) => fhir(reply, structureDefinition(request.params.id, publicUrl), `no StructureDefinition "${request.params.id}" (this hub defines ${EXTENSION_NAMES.join(', ')})`))

  app.get('/v1/fhir/Organization/:id', {
    schema: {
      ...read, operationId: 'getFhirOrganization', summary: 'The Organization that reports the hub\'s MeasureReports: the hub',
      params: idParam([HUB_ORGANIZATION], 'the organization'), response: { 200: Resource('Organization'), ...problemResponses(400, 404) }
    }
  }, async (request, reply) => fhir(reply, hubOrganization(request.params.id, publicUrl), `no Organization "${request.params.id}" (this hub is ${HUB_ORGANIZATION})`))
}
