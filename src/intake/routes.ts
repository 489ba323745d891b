// Intake routes: the shared schemas (public) and submissions (reporters; admin may read and retract).
import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE, type Scope } from '../auth/scopes.js'
import { createHeapTrimmer } from '../ops/heap.js'
import { every } from '../ops/periodic.js'
import { PageQuery, pageOf } from '../paging.js'
import { HttpProblem, problem, problemResponses } from '../problem.js'
import { assertJsonDepth, MAX_JSON_DEPTH, scanJsonBody } from '../json-depth.js'
import { assertSubmissionMediaType, bodyLimitFor, decodedBodyStream, mediaTypeOf, parseJsonPieces, SUBMISSION_MEDIA_TYPES, TEXT_PIECE_BYTES, tooLarge, Utf8Body } from './body.js'
import { idempotencyKeyOf, pruneIdempotencyKeys } from './idempotency.js'
import { ADX_NAMESPACE } from './adx.js'
import { AGGREGATE_DEFAULT, fromDhis2, fromDhis2Adx, parseAdx, type ImportReceived } from './aggregate.js'
import { Dhis2MappingBody, getDhis2Mapping, putDhis2Mapping } from './mappings.js'
import { isParseFailure, parseCsv, parseNdjson } from './parse.js'
import { assertKnownSchema, getSubmission, listSubmissions, retractSubmission, submit, type IntakeDeps } from './submissions.js'

const SchemaName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'e.g. migrant-health-event' })
const SchemaVersion = Type.String({ pattern: '^\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}$', description: 'e.g. 1.0.0' })

const JsonSubmission = Type.Object({
  schema: Type.Optional(SchemaName),
  version: Type.Optional(SchemaVersion),
  records: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'records as a record schema (migrant-health-event) describes them' })),
  dataValues: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'data values as migrant-health-aggregate describes them, or DHIS2 data values with ?format=dhis2' })),
  // the envelope of a DHIS2 dataValueSet (?format=dhis2): defaults of its data values, or ignored
  dataSet: Type.Optional(Type.String({ maxLength: 64 })),
  completeDate: Type.Optional(Type.String({ maxLength: 32 })),
  period: Type.Optional(Type.String({ maxLength: 16 })),
  orgUnit: Type.Optional(Type.String({ maxLength: 64 })),
  attributeOptionCombo: Type.Optional(Type.String({ maxLength: 64 })),
  replaces: Type.Optional(Type.String({ format: 'uuid', description: 'a correction: the id of your submission this one replaces (it becomes replaced; both change the cells at once)' }))
}, {
  additionalProperties: false,
  description: '{schema, version, records} or {schema, version, dataValues} (migrant-health-aggregate); with ?format=dhis2 a DHIS2 dataValueSet',
  examples: [{
    schema: 'migrant-health-event',
    version: '1.0.0',
    records: [{ recordId: '0b7e6f2a-4c1d-4e8a-9a57-3f1c2d4e5f60', period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none' }]
  }]
})

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
  // SHA-256 of each body as sent (gzip undone), for the receipt and the Idempotency-Key fingerprint.
  const bodyHashes = new WeakMap<FastifyRequest, string>()
  const adxBodies = new WeakMap<FastifyRequest, Utf8Body>()

  // Bodies of this plugin's routes arrive as bytes: hashed, then parsed (JSON here, CSV/NDJSON once the schema is known).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser([...SUBMISSION_MEDIA_TYPES], { parseAs: 'buffer', bodyLimit }, (request, raw, done) => {
    try {
      const bytes = raw as Buffer
      bodyHashes.set(request, createHash('sha256').update(bytes).digest('hex'))
      const body = parsedBody(mediaTypeOf(request.headers['content-type']), bytes)
      if (!(body instanceof Utf8Body)) return done(null, body)
      // the contract (the route's schema) holds ADX as a string; its bytes wait here, to be read a piece at a time
      adxBodies.set(request, body)
      done(null, '')
    } catch (err) {
      done(err as Error, undefined)
    }
  })

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

  app.post('/v1/submissions', {
    onRequest: writer,
    bodyLimit,
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
          'application/adx+xml': { schema: Type.String({ description: `ADX (${ADX_NAMESPACE}): group orgUnit (country or sub-national code) and period (YYYY-MM-01/P1M); dataValue dataElement (recordType), value (count), other dimensions as attributes; a dataValue with an annotation and no value (a protected cell) is skipped; with ?format=dhis2 a DHIS2 ADX export read through your mapping; ${AGGREGATE_DEFAULT.schema} ${AGGREGATE_DEFAULT.version} unless ?schema=&version= say otherwise; no DOCTYPE` }) }
        }
      } as unknown as typeof JsonSubmission,
      response: { 200: DryRun, 202: Accepted, ...problemResponses(400, 401, 403, 409, 413, 415, 422) }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    const type = mediaTypeOf(request.headers['content-type'])
    const query = request.query
    const batch = await batchOf(type, adxBodies.get(request) ?? request.body as unknown, callerOf(request).partnerId, query)
    if (batch.records.length >= LARGE_SUBMISSION_RECORDS) heap.soon()
    const bodySha256 = bodyHashes.get(request) as string
    const requestSha256 = createHash('sha256')
      .update(`${request.method} /v1/submissions\n${type}\n${query.format ?? ''}\n${batch.schema}\n${batch.version}\n${bodySha256}${batch.replaces ? `\nreplaces ${batch.replaces}` : ''}`).digest('hex')
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

  /** The records (or data values) of a body and the schema they claim, whatever the media type. */
  async function batchOf (type: string | undefined, body: unknown, partnerId: string, query: { schema?: string, version?: string, format?: 'dhis2', replaces?: string }): Promise<Batch> {
    if (query.format === 'dhis2') {
      const mapping = await getDhis2Mapping(deps.database.db, partnerId)
      if (type !== 'application/json' && type !== 'application/adx+xml') throw problem('unsupportedMediaType', '?format=dhis2 reads a DHIS2 dataValueSet as application/json or a DHIS2 ADX export as application/adx+xml')
      const imported = type === 'application/adx+xml'
        ? fromDhis2Adx(body as Utf8Body, mapping)
        : fromDhis2(withEnvelopeDefaults(body as Record<string, unknown>), mapping)
      return { ...aggregateSchemaOf(query), records: imported.dataValues, lines: imported.lines, locate: imported.locate, indices: imported.indices, dhis2: imported.summary, replaces: query.replaces }
    }
    if (type === 'application/adx+xml') {
      const imported = parseAdx(body as Utf8Body)
      return { ...aggregateSchemaOf(query), records: imported.dataValues, lines: imported.lines, locate: imported.locate, replaces: query.replaces }
    }
    if (type === 'application/json') {
      const json = body as { schema?: string, version?: string, records?: unknown[], dataValues?: unknown[], replaces?: string }
      for (const field of ['schema', 'version'] as const) {
        if (json[field] === undefined) throw problem('validation', `the body needs ${field}`, { errors: [{ path: `/${field}`, message: 'is required' }] })
      }
      for (const field of ['schema', 'version', 'replaces'] as const) {
        if (query[field] !== undefined && json[field] !== undefined && query[field] !== json[field]) {
          throw problem('validation', `?${field}=${query[field]} differs from the body's ${field} ${json[field]}`, { errors: [{ path: field, message: 'differs from the body' }] })
        }
      }
      const schema = json.schema as string
      const version = json.version as string
      assertKnownSchema(deps.schemas, schema, version)
      const items = deps.schemas.isAggregate(schema, version) ? 'dataValues' : 'records'
      const other = items === 'records' ? 'dataValues' : 'records'
      if (json[other] !== undefined || json[items] === undefined) {
        throw problem('validation', `${schema} ${version} takes ${items}, not ${other}`, { errors: [{ path: `/${json[items] === undefined ? items : other}`, message: json[items] === undefined ? 'is required' : `not part of ${schema}` }] })
      }
      return { schema, version, records: json[items], replaces: json.replaces ?? query.replaces }
    }
    if (query.schema === undefined || query.version === undefined) {
      const missing = query.schema === undefined ? 'schema' : 'version'
      throw problem('validation', `a ${type} body needs ?schema=&version= (e.g. ?schema=migrant-health-event&version=1.0.0)`, { errors: [{ path: missing, message: 'is required for CSV and NDJSON bodies' }] })
    }
    assertKnownSchema(deps.schemas, query.schema, query.version)
    const aggregate = deps.schemas.isAggregate(query.schema, query.version)
    const parsed = type === 'text/csv'
      ? parseCsv(body as string, deps.schemas.fields(query.schema, query.version), aggregate ? ['count'] : [])
      : parseNdjson(body as string)
    if (isParseFailure(parsed)) {
      throw problem('badRequest', parsed.error.message, { errors: [{ line: parsed.error.line, path: '', message: parsed.error.message }] })
    }
    return { schema: query.schema, version: query.version, records: parsed.records, lines: parsed.lines, replaces: query.replaces }
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

interface Batch { schema: string, version: string, records: unknown[], lines?: number[], locate?: (index: number, path: string) => string, indices?: number[], dhis2?: ImportReceived, replaces?: string }

// DHIS2 lets a dataValueSet give period, orgUnit and attributeOptionCombo once for all its data values
function withEnvelopeDefaults (json: Record<string, unknown>): unknown {
  if (!Array.isArray(json.dataValues)) return json
  const defaults = Object.fromEntries(['period', 'orgUnit', 'attributeOptionCombo'].filter((k) => json[k] !== undefined).map((k) => [k, json[k]]))
  if (Object.keys(defaults).length === 0) return json
  return { dataValues: json.dataValues.map((dv: unknown) => typeof dv === 'object' && dv !== null && !Array.isArray(dv) ? { ...defaults, ...dv } : dv) }
}

/**
 * JSON is parsed at once; CSV and NDJSON stay text until the schema (from the query) is known; ADX
 * stays bytes, read as text a piece at a time (Utf8Body).
 */
function parsedBody (type: string | undefined, bytes: Buffer): unknown {
  // the depth is checked before anything is decoded; a JSON body's scan also finds where to cut it
  const cuts = type === 'application/json' ? scanJsonBody(bytes, MAX_JSON_DEPTH, TEXT_PIECE_BYTES) : undefined
  if (type === 'application/x-ndjson') assertJsonDepth(bytes)
  const body = Utf8Body.of(bytes)
  if (!body) {
    const failure = parseNdjson(bytes)
    const line = isParseFailure(failure) ? failure.error.line : 1
    throw problem('badRequest', `the body is not valid UTF-8 (line ${line})`, { errors: [{ line, path: '', message: 'not valid UTF-8' }] })
  }
  if (type === 'application/adx+xml') return body
  return type === 'application/json' ? parseJsonPieces(body, cuts) : body.text()
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
