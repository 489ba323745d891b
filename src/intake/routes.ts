// Intake routes: the shared schemas (public) and submissions (reporters; admin may read and retract).
import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE, type Scope } from '../auth/scopes.js'
import { createHeapTrimmer } from '../ops/heap.js'
import { every } from '../ops/periodic.js'
import { PageQuery, pageOf } from '../paging.js'
import { HttpProblem, problem, problemResponses } from '../problem.js'
import { assertSubmissionMediaType, bodyLimitFor, decodedBodyStream, SUBMISSION_MEDIA_TYPES, tooLarge } from './body.js'
import * as adx from './codecs/adx.js'
import * as csv from './codecs/csv.js'
import * as dhis2 from './codecs/dhis2.js'
import { AGGREGATE_DEFAULT, SubmissionBody, type Decoded } from './codecs/index.js'
import * as json from './codecs/json.js'
import { JsonSubmission, SchemaName, SchemaVersion } from './codecs/json.js'
import * as ndjson from './codecs/ndjson.js'
import { idempotencyKeyOf, pruneIdempotencyKeys } from './idempotency.js'
import { Dhis2MappingBody, getDhis2Mapping, putDhis2Mapping } from './mappings.js'
import { assertKnownSchema, getSubmission, listSubmissions, retractSubmission, submit, type IntakeDeps } from './submissions.js'

const SubmissionQuery = Type.Object({
  schema: Type.Optional(SchemaName),
  version: Type.Optional(SchemaVersion),
  format: Type.Optional(Type.Literal('dhis2', { description: 'the body is a DHIS2 export read through your mapping (PUT /v1/mappings/dhis2): a dataValueSet (application/json) or ADX with DHIS2 codes and category attributes (application/adx+xml)' })),
  dryRun: Type.Optional(Type.Boolean({ description: 'validate only: 200 {valid, recordCount}, nothing stored' })),
  replaces: Type.Optional(Type.String({ format: 'uuid', description: 'a correction (CSV, NDJSON, ADX, DHIS2): the id of your submission this one replaces' }))
}, { additionalProperties: false })

const ImportSummary = Type.Object({
  received: Type.Integer({ description: 'data values in the document' }),
  imported: Type.Integer({ description: 'data values stored (recordCount): one per set of dimensions' }),
  summed: Type.Integer({ description: 'data values added into another of the same dimensions (facilities of one area, category option combos mapped alike)' }),
  ignored: Type.Array(Type.Object({
    index: Type.Integer({ description: '0-based place among the document\'s data values' }),
    reason: Type.Union([Type.Literal('zero'), Type.Literal('deleted'), Type.Literal('protected')], { description: 'a zero counts nothing; a deleted value (deleted: true) is no longer data; a protected cell (ADX annotation, no value) holds no count' }),
    path: Type.Optional(Type.String({ description: 'ADX: the dataValue element' })),
    line: Type.Optional(Type.Integer({ description: 'ADX: its line' }))
  }))
}, { description: '?format=dhis2 only: what the DHIS2 document held and what became of it (received = imported + summed + ignored)' })
const Accepted = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Type.Literal('accepted'),
  recordCount: Type.Integer(),
  receipt: Type.String({ description: `compact JWS (typ mhx-receipt+jwt, ES256) over submission id, partner, country, schema, record count, body SHA-256 and time; verify with /.well-known/jwks.json` }),
  importSummary: Type.Optional(ImportSummary)
})
const DryRun = Type.Object({ valid: Type.Literal(true), recordCount: Type.Integer(), importSummary: Type.Optional(ImportSummary) })

const SubmissionStatus = Type.Union([Type.Literal('accepted'), Type.Literal('aggregated'), Type.Literal('retracting'), Type.Literal('retracted'), Type.Literal('replaced')])
const Submission = Type.Object({
  id: Type.String(),
  status: SubmissionStatus,
  schema: Type.String(),
  version: Type.String(),
  country: Type.String(),
  recordCount: Type.Integer(),
  bodySha256: Type.String(),
  createdAt: Type.String(),
  changedAt: Type.String(),
  aggregatedAt: Type.Union([Type.String(), Type.Null()]),
  retractedAt: Type.Union([Type.String(), Type.Null()]),
  replaces: Type.Union([Type.String(), Type.Null()]),
  replacedBy: Type.Union([Type.String(), Type.Null()]),
  receipt: Type.Optional(Type.String())
})
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

/** Shapes the OpenAPI document shares by $ref (see src/ops/openapi.ts); SubmissionBody's records get the record schemas there. */
export const OPENAPI_SHAPES = { SubmissionBody: JsonSubmission, Accepted, Submission }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const PRUNE_EVERY_MS = 15 * 60 * 1000
/** A submission this large leaves enough garbage to be worth a collection of its own (src/ops/heap.ts). */
const LARGE_SUBMISSION_RECORDS = 20_000

export const intakeRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { config } = deps
  const bodyLimit = bodyLimitFor(config.maxRecords)
  const intake: IntakeDeps = {
    database: deps.database,
    keys: deps.keys,
    queue: deps.queue,
    schemas: deps.schemas,
    publicUrl: config.publicUrl,
    maxRecords: config.maxRecords,
    now: deps.now,
    log: app.log
  }
  const heap = createHeapTrimmer()
  app.addHook('onClose', async () => heap.close())
  const writer = deps.authorize(SCOPE.submissionsWrite)
  const writerOrAdmin = authorizeAny(deps.authorize, SCOPE.submissionsWrite, SCOPE.admin)
  const queryValidator = app.validatorCompiler
  if (!queryValidator) throw new Error('intake routes need the app\'s validator compiler (src/app.ts)')

  // Refusals at the door name the limit and the accepted types; the app's handler answers the rest.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') throw tooLarge(bodyLimit, config.maxRecords)
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') throw problem('unsupportedMediaType', `send ${SUBMISSION_MEDIA_TYPES.join(', ')}`)
    // The rest of an oversized body is not read: the connection closes after the answer.
    if (error instanceof HttpProblem && error.status === 413) void reply.header('connection', 'close')
    throw error
  })

  every(app, PRUNE_EVERY_MS, 'pruning idempotency keys', () => pruneIdempotencyKeys(deps.database.db, deps.now()))

  app.get('/v1/schemas', {
    schema: {
      tags: ['schemas'], operationId: 'listSchemas', summary: 'The shared record schemas and catalogs',
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({
            name: Type.String(), version: Type.String(), kind: Type.String(), href: Type.String()
          }))
        })
      }
    }
  }, async (_request, reply) => {
    void reply.header('cache-control', 'public, max-age=300')
    return { items: deps.schemas.list().map((s) => ({ name: s.name, version: s.version, kind: s.kind, href: `/v1/schemas/${s.name}/${s.version}` })) }
  })

  app.get('/v1/schemas/:name/:version', {
    schema: {
      tags: ['schemas'], operationId: 'getSchema', summary: 'One shared schema or catalog, as shipped',
      params: Type.Object({ name: Type.String({ maxLength: 64 }), version: Type.String({ maxLength: 32 }) }),
      response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses(404) }
    }
  }, async (request, reply) => {
    const { name, version } = request.params
    const document = deps.schemas.document(name, version)
    if (document === undefined) throw problem('notFound', `no schema or catalog ${name} ${version}`)
    const isRecordSchema = deps.schemas.has(name, version)
    // Sent as shipped: its own serializer would reorder nothing, but skipping it keeps the bytes exact.
    return reply.header('cache-control', 'public, max-age=300')
      .type(isRecordSchema ? 'application/schema+json' : 'application/json')
      .serializer((payload: unknown) => JSON.stringify(payload, null, 2))
      .send(document as object)
  })

  // Submission bodies arrive as bytes, hashed (for the receipt and the Idempotency-Key
  // fingerprint) into one SubmissionBody; the route's codec reads them once the schema (or mapping)
  // is known. Encapsulated: the plugin's other routes keep the app's JSON parser.
  await app.register(async (plugin) => {
    const submissions = plugin.withTypeProvider<TypeBoxTypeProvider>()
    plugin.removeContentTypeParser('application/json')
    plugin.addContentTypeParser([...SUBMISSION_MEDIA_TYPES], { parseAs: 'buffer', bodyLimit }, (request, raw, done) => {
      // preParsing refused any other media type already; parseAs 'buffer' hands bytes
      done(null, new SubmissionBody(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), assertSubmissionMediaType(request.headers['content-type'])))
    })

    submissions.post('/v1/submissions', {
      onRequest: writer,
      bodyLimit,
      // the body schema documents the formats; the codecs check them (a SubmissionBody is no JSON document)
      validatorCompiler: (route) => route.httpPart === 'body' ? () => true : queryValidator(route),
      preParsing: async (request, _reply, payload) => {
        assertSubmissionMediaType(request.headers['content-type'])
        const length = Number(request.headers['content-length'])
        if (length > bodyLimit) throw tooLarge(bodyLimit, config.maxRecords)
        return decodedBodyStream(payload, request.headers['content-encoding'], bodyLimit, config.maxRecords)
      },
      schema: {
        tags: ['submissions'], operationId: 'submitRecords',
        summary: 'Push records or counts: JSON {schema, version, records | dataValues}, NDJSON / CSV with ?schema=&version=, ADX, or a DHIS2 dataValueSet with ?format=dhis2; all or nothing',
        description: `At most ${config.maxRecords} records and ${bodyLimit} bytes (gzip accepted with Content-Encoding: gzip). `
          + 'Every faulty record is listed in one 422 and nothing is stored. Idempotency-Key (≤ 255 characters, kept 24 h): '
          + 'the same key and request answer the stored response again; another request under the key is a 422; one still running a 409.',
        security: securedBy(SCOPE.submissionsWrite),
        querystring: SubmissionQuery,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ maxLength: 257, description: 'client-chosen, unique per request (draft-ietf-httpapi-idempotency-key-header)' }))
        }),
        body: {
          content: {
            'application/json': { schema: JsonSubmission },
            'application/x-ndjson': { schema: Type.String({ description: 'one JSON record per line; ?schema=&version= name the schema' }) },
            'text/csv': { schema: Type.String({ description: 'a header row of field names, then one record (or data value) per row; an empty cell is an absent field; ?schema=&version= name the schema' }) },
            'application/adx+xml': { schema: Type.String({ description: `ADX (${adx.ADX_NAMESPACE}): group orgUnit (country or sub-national code) and period (YYYY-MM-01/P1M); dataValue dataElement (recordType), value (count), other dimensions as attributes; a dataValue with an annotation and no value (a protected cell) is skipped; with ?format=dhis2 a DHIS2 ADX export read through your mapping; ${AGGREGATE_DEFAULT.schema} ${AGGREGATE_DEFAULT.version} unless ?schema=&version= say otherwise; no DOCTYPE` }) }
          }
        } as unknown as typeof JsonSubmission,
        response: { 200: DryRun, 202: Accepted, ...problemResponses(400, 401, 403, 409, 413, 415, 422) }
      }
    }, async (request, reply) => {
      const caller = callerOf(request)
      const body = submissionBodyOf(request)
      const query = request.query
      const batch = await batchOf(body, caller.partnerId, query)
      if (batch.records.length >= LARGE_SUBMISSION_RECORDS) heap.soon()
      const bodySha256 = body.sha256
      const requestSha256 = createHash('sha256')
        .update(`${request.method} /v1/submissions\n${body.mediaType}\n${query.format ?? ''}\n${batch.schema}\n${batch.version}\n${bodySha256}${batch.replaces ? `\nreplaces ${batch.replaces}` : ''}`).digest('hex')
      const answer = await submit(intake, caller, {
        ...batch,
        bodySha256,
        requestSha256,
        idempotencyKey: idempotencyKeyOf(request.headers['idempotency-key']),
        dryRun: query.dryRun === true,
        replaces: batch.replaces?.toLowerCase()
      })
      if (answer.location) void reply.header('location', answer.location)
      if (answer.replayed) void reply.header('idempotent-replayed', 'true')
      return reply.code(answer.statusCode as 200 | 202).send(answer.body as never)
    })
  })

  app.get('/v1/submissions', {
    onRequest: writer,
    schema: {
      tags: ['submissions'], operationId: 'listSubmissions', summary: 'Your own submissions, newest first', security: securedBy(SCOPE.submissionsWrite),
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
      response: { 200: pageOf(Submission), ...problemResponses(400, 401, 403) }
    }
  }, async (request) => listSubmissions(deps.database.db, callerOf(request).partnerId, request.query.limit, request.query.cursor))

  app.get('/v1/submissions/:id', {
    onRequest: writerOrAdmin,
    schema: {
      tags: ['submissions'], operationId: 'getSubmission', summary: 'One submission, with its status and receipt (its reporter or an admin)', security: securedBy(SCOPE.submissionsWrite, SCOPE.admin),
      params: IdParams,
      response: { 200: Submission, ...problemResponses(401, 403, 404) }
    }
  }, async (request) => {
    const { id } = request.params
    if (!UUID.test(id)) throw problem('notFound', `no submission ${id}`)
    return getSubmission(deps.database.db, callerOf(request), id.toLowerCase())
  })

  app.delete('/v1/submissions/:id', {
    onRequest: writerOrAdmin,
    schema: {
      tags: ['submissions'], operationId: 'retractSubmission', summary: 'Retract a submission: its records stop counting once processed, its recordIds are free at once', security: securedBy(SCOPE.submissionsWrite, SCOPE.admin),
      params: IdParams,
      response: { 202: Type.Object({ id: Type.String(), status: Type.Literal('retracting') }), ...problemResponses(401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (!UUID.test(id)) throw problem('notFound', `no submission ${id}`)
    const answer = await retractSubmission(intake, callerOf(request), id.toLowerCase())
    return reply.code(202).send(answer)
  })

  app.get('/v1/mappings/dhis2', {
    onRequest: writer,
    schema: {
      tags: ['submissions'], operationId: 'getDhis2Mapping', summary: 'Your DHIS2 mapping (ids → dimensions), used by ?format=dhis2', security: securedBy(SCOPE.submissionsWrite),
      response: { 200: Dhis2MappingBody, ...problemResponses(401, 403, 404) }
    }
  }, async (request) => {
    const mapping = await getDhis2Mapping(deps.database.db, callerOf(request).partnerId)
    if (!mapping) throw problem('notFound', 'you have no DHIS2 mapping yet: PUT /v1/mappings/dhis2')
    return mapping
  })

  app.put('/v1/mappings/dhis2', {
    onRequest: writer,
    schema: {
      tags: ['submissions'], operationId: 'putDhis2Mapping', summary: 'Set your DHIS2 mapping: dataElements, categoryOptionCombos, attributeOptionCombos → dimensions; orgUnits → country or sub-national code', security: securedBy(SCOPE.submissionsWrite),
      body: Dhis2MappingBody,
      response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 422) }
    }
  }, async (request, reply) => {
    await putDhis2Mapping(deps.database, callerOf(request).partnerId, request.body, deps.now())
    return reply.code(204).send(null)
  })

  /** The records (or data values) of a body and the schema they claim, decoded by the codec of its format. */
  async function batchOf (body: SubmissionBody, partnerId: string, query: { schema?: string, version?: string, format?: 'dhis2', replaces?: string }): Promise<Batch> {
    const type = body.mediaType
    const batch = (target: { schema: string, version: string }, decoded: Decoded, replaces = query.replaces): Batch =>
      ({ ...target, records: decoded.items, lines: decoded.lines, locate: decoded.locate, indices: decoded.indices, dhis2: decoded.summary, replaces })
    if (query.format === 'dhis2') {
      if (type !== 'application/json' && type !== 'application/adx+xml') throw problem('unsupportedMediaType', '?format=dhis2 reads a DHIS2 dataValueSet as application/json or a DHIS2 ADX export as application/adx+xml')
      const mapping = await getDhis2Mapping(deps.database.db, partnerId)
      return batch(aggregateSchemaOf(query), dhis2.decode(body, mapping))
    }
    if (type === 'application/adx+xml') return batch(aggregateSchemaOf(query), adx.decode(body))
    if (type === 'application/json') {
      const document = json.readJsonSubmission(body)
      for (const field of ['schema', 'version'] as const) {
        if (document[field] === undefined) throw problem('validation', `the body needs ${field}`, { errors: [{ path: `/${field}`, message: 'is required' }] })
      }
      for (const field of ['schema', 'version', 'replaces'] as const) {
        if (query[field] !== undefined && document[field] !== undefined && query[field] !== document[field]) {
          throw problem('validation', `?${field}=${query[field]} differs from the body's ${field} ${document[field]}`, { errors: [{ path: field, message: 'differs from the body' }] })
        }
      }
      const schema = document.schema as string
      const version = document.version as string
      assertKnownSchema(deps.schemas, schema, version)
      const items = deps.schemas.isAggregate(schema, version) ? 'dataValues' : 'records'
      const other = items === 'records' ? 'dataValues' : 'records'
      if (document[other] !== undefined || document[items] === undefined) {
        throw problem('validation', `${schema} ${version} takes ${items}, not ${other}`, { errors: [{ path: `/${document[items] === undefined ? items : other}`, message: document[items] === undefined ? 'is required' : `not part of ${schema}` }] })
      }
      return batch({ schema, version }, json.decode(document, items), document.replaces ?? query.replaces)
    }
    if (query.schema === undefined || query.version === undefined) {
      const missing = query.schema === undefined ? 'schema' : 'version'
      throw problem('validation', `a ${type} body needs ?schema=&version= (e.g. ?schema=migrant-health-event&version=1.0.0)`, { errors: [{ path: missing, message: 'is required for CSV and NDJSON bodies' }] })
    }
    const target = { schema: query.schema, version: query.version }
    assertKnownSchema(deps.schemas, target.schema, target.version)
    const member = deps.schemas.isAggregate(target.schema, target.version) ? 'dataValues' : 'records'
    return batch(target, type === 'text/csv'
      ? csv.decode(body, { fields: deps.schemas.fields(target.schema, target.version) ?? [], integers: member === 'dataValues' ? ['count'] : [], member })
      : ndjson.decode(body, member))
  }

  function aggregateSchemaOf (query: { schema?: string, version?: string }): { schema: string, version: string } {
    const schema = query.schema ?? AGGREGATE_DEFAULT.schema
    const version = query.version ?? (query.schema === undefined ? AGGREGATE_DEFAULT.version : '')
    assertKnownSchema(deps.schemas, schema, version)
    if (!deps.schemas.isAggregate(schema, version)) {
      throw problem('validation', `ADX and DHIS2 bodies hold counts: name an aggregate schema (e.g. ${AGGREGATE_DEFAULT.schema} ${AGGREGATE_DEFAULT.version}), not ${schema}`, { errors: [{ path: 'schema', message: 'not an aggregate schema' }] })
    }
    return { schema, version }
  }
}

interface Batch { schema: string, version: string, records: unknown[], lines?: number[], locate?: (index: number, path: string) => string, indices?: number[], dhis2?: Decoded['summary'], replaces?: string }

/** The body the content-type parser put on the request (this plugin's routes only). */
function submissionBodyOf (request: FastifyRequest): SubmissionBody {
  const body: unknown = request.body
  if (!(body instanceof SubmissionBody)) throw problem('badRequest', 'the request has no body')
  return body
}

/** An authorize hook admitting a caller that holds any of `scopes` (403 otherwise, naming the first). */
function authorizeAny (authorize: RouteDeps['authorize'], first: Scope, ...others: Scope[]) {
  const check = authorize(first)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await check(request, reply)
    } catch (err) {
      const caller = request.caller
      if (err instanceof HttpProblem && err.status === 403 && caller && others.some((s) => caller.scopes.has(s))) return
      throw err
    }
  }
}
