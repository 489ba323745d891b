// The OpenAPI document as client generators want it. Routes declare plain TypeBox schemas; this turns
// them into a document with shared shapes under components (by $ref), errors as application/problem+json,
// an operationId on every operation, public routes marked `security: []`, and defaulted query
// parameters not required. Only the document changes: validation and serialization keep the routes' own schemas.
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import { ALL_SCOPES, type Scope } from '../auth/scopes.js'
import { ASSERTION_TYPE, MAX_ASSERTION_LIFETIME_S } from '../auth/token.js'
import { PARTNER_KEY_ALGS } from '../auth/partner-keys.js'
import type { Config } from '../config.js'
import type { SchemaRegistry } from '../intake/registry.js'
import { FieldError, Problem, PROBLEM_SCHEMAS, problemKindsOf } from '../problem.js'

type Json = Record<string, unknown>

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'submissions:write': 'reporters: push records, list and retract their submissions',
  'aggregates:read': 'readers: read aggregates behind their grants',
  admin: 'administrators: partners, grants, regions, keys, audit',
  'data:steward': 'stewards (a ministry): consents to its country\'s readers, publishes its months, reads who read its data and its own country exactly'
}

/** A schema's own references (`#/$defs/…`) point into it from where the document puts it (`base`). */
function localRefsUnder (node: unknown, base: string): unknown {
  if (Array.isArray(node)) return node.map((n) => localRefsUnder(n, base))
  if (typeof node !== 'object' || node === null) return node
  return Object.fromEntries(Object.entries(node).map(([k, v]) =>
    [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${base}/${v.slice(2)}` : localRefsUnder(v, base)]))
}

/** Record schema `migrant-health-event` 1.0.0 → component `MigrantHealthEvent_1_0_0`. */
export function recordComponentName (name: string, version: string): string {
  const pascal = name.split(/[^a-zA-Z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
  return `${pascal}_${version.replace(/\./g, '_')}`
}

export interface OpenApiShapes {
  /** Component name → the very schema object the routes use (matched by identity, not by content). */
  shapes: Record<string, object>
  config: Config
  schemas: SchemaRegistry
}

export function openapiOptions ({ shapes, config, schemas }: OpenApiShapes): FastifyDynamicSwaggerOptions {
  const all: Record<string, object> = { Problem, FieldError, ...Object.fromEntries(Object.values(PROBLEM_SCHEMAS).map((schema) => [(schema as { $id: string }).$id, schema])), ...shapes }
  const byObject = new Map<object, string>(Object.entries(all).map(([name, schema]) => [schema, name]))
  const recordSchemas = schemas.list().filter((s) => s.kind === 'record-schema')
  const components: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(all)) components[name] = withRefs(schema, byObject, schema)
  for (const s of recordSchemas) {
    const { $schema: _schema, $id: _id, ...document } = schemas.document(s.name, s.version) as Json
    const name = recordComponentName(s.name, s.version)
    components[name] = localRefsUnder(document, `#/components/schemas/${name}`) as Json
  }
  const recordRef = recordSchemas.length === 1
    ? { $ref: ref(recordComponentName(recordSchemas[0]!.name, recordSchemas[0]!.version)) }
    : { oneOf: recordSchemas.map((s) => ({ $ref: ref(recordComponentName(s.name, s.version)) })) }
  if (components.SubmissionBody) components.SubmissionBody = withRecordSchema(components.SubmissionBody as Json, recordRef)
  const tokenUrl = `${config.publicUrl}/v1/oauth/token`

  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Migrant Health Exchange (mhx)',
        version: '1.0.0',
        description: 'Cross-border exchange of anonymized migrant-health data: ministries push records, partners read regional aggregates behind grants, with disclosure control. Errors are RFC 9457 problem details (application/problem+json), except at the token endpoint (RFC 6749 errors).',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        contact: { name: 'mhx maintainers', url: `${config.publicUrl}/docs` }
      },
      servers: [{ url: config.publicUrl, description: 'this hub' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt), from POST /v1/oauth/token', description: 'An access token from the token endpoint (see oauth2).' },
          oauth2: {
            type: 'oauth2',
            description: [
              'OAuth 2.0 client credentials with a signed client assertion (RFC 7523 private_key_jwt), no client secret.',
              `POST the form grant_type=client_credentials, client_assertion_type=${ASSERTION_TYPE}, client_assertion=<JWT>, and optionally scope (space-separated) to ${tokenUrl}.`,
              `The assertion is a JWT signed with one of the partner's registered keys (alg ${PARTNER_KEY_ALGS.join(', ')}; header kid = the registered key's kid), with the claims:`,
              'iss = sub = the partner id;',
              `aud = ${tokenUrl} (or the hub's URL ${config.publicUrl});`,
              'iat = now (seconds);',
              `exp = at most ${MAX_ASSERTION_LIFETIME_S} s after now;`,
              'jti = a fresh unique id (1 to 255 characters), never reused.',
              'The answer is {access_token, token_type: "Bearer", expires_in, scope}; send the token as Authorization: Bearer <access_token>.'
            ].join(' '),
            flows: { clientCredentials: { tokenUrl, scopes: Object.fromEntries(ALL_SCOPES.map((s) => [s, SCOPE_DESCRIPTIONS[s]])) } }
          }
        }
      },
      tags: [
        { name: 'auth', description: 'Tokens (RFC 7523 private_key_jwt) and the hub keys' },
        { name: 'schemas', description: 'Shared record schemas and catalogs' },
        { name: 'submissions', description: 'Reporters push anonymized records' },
        { name: 'aggregates', description: 'Readers pull regional aggregates (JSON, CSV, SDMX, FHIR, ADX)' },
        { name: 'indicators', description: 'Rates and proportions over the protected cells, their denominators and reference values (docs/indicators.md)' },
        { name: 'fhir', description: 'The FHIR R4 resources behind every canonical URL the MeasureReports name' },
        { name: 'stewardship', description: 'Ministries consent to readers, publish their months and see who read their data' },
        { name: 'notifications', description: 'Webhooks signed as Standard Webhooks when a month is published or revised (docs/notifications.md)' },
        { name: 'admin', description: 'Partners, grants, regions, keys, audit' },
        { name: 'ops', description: 'Health, metrics, documentation' }
      ]
    },
    transform: ({ schema, url, route }) => {
      if (!schema) return { schema, url }
      const method = (Array.isArray(route.method) ? route.method[0] : route.method) ?? 'GET'
      const document = withRefs(schema, byObject, null) as Json
      document.operationId ??= derivedOperationId(method, url)
      // Every route is either behind a token or public; say which, explicitly.
      const security = document.security as Json[] | undefined
      // Each alternative names the scope that admits, for the bearer token and for the oauth2 flow that issues it.
      document.security = security?.some((s) => 'bearer' in s) ? [...security, ...security.map((s) => ({ oauth2: s.bearer }))] : (security ?? [])
      if (document.querystring) document.querystring = optionalWhenDefaulted(document.querystring as Json)
      // Any route may answer 503 with Retry-After: the database away, or the hub shutting down (docs/operations.md).
      if (document.response && !('503' in (document.response as Json))) document.response = { ...(document.response as Json), 503: { $ref: ref('Problem') } }
      if (document.response) document.response = problemsAsProblemJson(document.response as Json)
      return { schema: document as typeof schema, url }
    },
    transformObject: (documentObject) => {
      const document = (documentObject as { openapiObject: Json & { components?: Json } }).openapiObject
      document.components = {
        ...document.components,
        schemas: { ...(document.components?.schemas as Json | undefined), ...components, OperationOutcome },
        headers: HEADERS,
        parameters: { IfNoneMatch }
      }
      withHttpConventions(document.paths as Record<string, Record<string, Json>>)
      return document
    }
  }
}

const ref = (name: string) => `#/components/schemas/${name}`

/** A copy of `schema` where every shared shape (but `self`) is a $ref. The routes' own objects are never mutated. */
function withRefs (schema: unknown, byObject: Map<object, string>, self: object | null): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s, byObject, self))
  if (typeof schema !== 'object' || schema === null) return schema
  const name = byObject.get(schema)
  if (name && schema !== self) return { $ref: ref(name) }
  const copy: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id') continue
    copy[key] = withRefs(value, byObject, self)
  }
  return copy
}

/** GET /v1/admin/partners/:id/grants → getAdminPartnerGrants: a fallback for routes that name none. */
export function derivedOperationId (method: string, url: string): string {
  const words = url.split('/').filter((part) => part && part !== 'v1' && !part.startsWith(':') && !part.startsWith('.'))
    .flatMap((part) => part.split(/[^a-zA-Z0-9]+/)).filter(Boolean)
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

/** A query parameter with a default may be left out: it is not required, whatever its static type says. */
function optionalWhenDefaulted (querystring: Json): Json {
  const properties = (querystring.properties ?? {}) as Record<string, Json>
  const required = (querystring.required as string[] | undefined)?.filter((name) => properties[name]?.default === undefined)
  const copy: Json = { ...querystring }
  if (required && required.length > 0) copy.required = required
  else delete copy.required
  return copy
}

/** The records of a JSON submission are records of a shared schema: say which, by $ref. */
function withRecordSchema (body: Json, recordRef: Json): Json {
  const properties = body.properties as Record<string, Json> | undefined
  if (!properties?.records) return body
  return { ...body, properties: { ...properties, records: { ...properties.records, items: recordRef } } }
}

/** Error responses that are problems are declared as application/problem+json (the RFC 6749 ones stay JSON). */
function problemsAsProblemJson (responses: Json): Json {
  const copy: Json = {}
  for (const [status, response] of Object.entries(responses)) {
    const isProblem = (response as Json | undefined)?.$ref === ref('Problem')
    copy[status] = isProblem && Number(status) >= 400
      ? { description: (problemDescriptions as Record<string, string>)[status] ?? 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: problemsOfStatus(Number(status)) } } }
      : response
  }
  return copy
}

/** The kinds of problem a status carries, each with its typed members (one kind: its schema alone). */
function problemsOfStatus (status: number): Json {
  const kinds = problemKindsOf(status).map((kind) => ({ $ref: ref((PROBLEM_SCHEMAS[kind] as { $id: string }).$id) }))
  if (kinds.length === 0) return { $ref: ref('Problem') }
  return kinds.length === 1 ? kinds[0] : { oneOf: kinds }
}

const problemDescriptions = {
  400: 'Bad request: a parameter is malformed (the problem names it)',
  401: 'No valid bearer token',
  403: 'The token lacks the scope, or the partner the grant',
  404: 'Not found (or, as an ADX or SDMX data answer, no-results: nothing to send)',
  406: 'None of the accepted media types can be produced',
  409: 'Conflict with the current state',
  413: 'The body is too large',
  414: 'The URI is too long',
  415: 'Unsupported content type',
  422: 'The body is invalid (each error names its field)',
  429: 'Too many requests: see Retry-After',
  431: 'The request headers are too large',
  500: 'Internal error',
  503: 'Unavailable for now: see Retry-After'
}

/** Response headers, declared once (components.headers) and referenced where they are sent. */
const HEADERS: Record<string, Json> = {
  'X-Request-Id': { description: 'The id of this request (a problem\'s instance): the X-Request-Id the client sent when it is 1 to 128 of [A-Za-z0-9_.-], else a new UUID', schema: { type: 'string' } },
  ETag: { description: 'A weak tag of the representation (its bytes before content coding): send it in If-None-Match to get 304 while it is unchanged', schema: { type: 'string' } },
  'Last-Modified': { description: 'When the data of the answer last changed (an HTTP-date)', schema: { type: 'string' } },
  Location: { description: 'The URL path of the resource created', schema: { type: 'string', format: 'uri-reference' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  'Idempotent-Replayed': { description: 'true: this is the stored answer of the first request with this Idempotency-Key (nothing was stored again)', schema: { type: 'string', enum: ['true'] } }
}
const header = (name: string) => ({ $ref: `#/components/headers/${name}` })

const IfNoneMatch = {
  name: 'If-None-Match',
  in: 'header',
  required: false,
  description: 'ETags of representations the client holds (or *): a match is 304 Not Modified with no body',
  schema: { type: 'string', maxLength: 1024 }
}

/** The error body of FHIR requests (a /v1/fhir/ route, or Accept: application/fhir+json): a FHIR R4 OperationOutcome. */
const OperationOutcome = {
  type: 'object',
  description: 'FHIR R4 OperationOutcome: one issue for the problem (details: its problem type), one per field it names',
  required: ['resourceType', 'issue'],
  properties: {
    resourceType: { const: 'OperationOutcome' },
    issue: {
      type: 'array',
      items: {
        type: 'object',
        required: ['severity', 'code'],
        properties: {
          severity: { type: 'string', enum: ['fatal', 'error', 'warning', 'information'] },
          code: { type: 'string', description: 'http://hl7.org/fhir/issue-type' },
          details: { type: 'object', additionalProperties: true },
          diagnostics: { type: 'string' }
        }
      }
    }
  }
}

/** Headers particular operations send, by operationId and status (the routes set them: see each route). */
const OPERATION_HEADERS: Record<string, Record<string, string[]>> = {
  readAggregates: { 200: ['Last-Modified'] },
  readSdmxData: { 200: ['Last-Modified'] },
  createPartner: { 201: ['Location'] },
  createSubscription: { 201: ['Location'] },
  submitRecords: { 202: ['Location', 'Idempotent-Replayed'] }
}

/** Operations that also answer FHIR, whose errors are then OperationOutcome. */
const ALSO_FHIR = new Set(['readAggregates'])

/**
 * What every route does by the HTTP conventions (src/ops/http.ts, src/auth/bearer.ts), written into each operation:
 * X-Request-Id on every response; on GET, If-None-Match, the ETag of a 200 and the 304 it may become; Retry-After on
 * 429 and 503; 429 on every operation behind a token (MHX_RATE_API per partner; the token endpoint declares its own);
 * the headers of OPERATION_HEADERS; OperationOutcome errors on FHIR routes.
 */
function withHttpConventions (paths: Record<string, Record<string, Json>>): void {
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const responses = (operation.responses ??= {}) as Record<string, Json>
      const secured = (operation.security as Json[] | undefined)?.some((s) => 'bearer' in s) ?? false
      if (secured && !responses['429']) responses['429'] = { description: problemDescriptions[429], content: { 'application/problem+json': { schema: problemsOfStatus(429) } } }
      if (method === 'get') {
        const parameters = (operation.parameters ??= []) as Json[]
        if (!parameters.some((p) => p.$ref === '#/components/parameters/IfNoneMatch')) parameters.push({ $ref: '#/components/parameters/IfNoneMatch' })
        responses['304'] ??= { description: 'Not Modified: If-None-Match names the current ETag (no body)' }
      }
      const fhir = path.startsWith('/v1/fhir/') || ALSO_FHIR.has(operation.operationId as string)
      for (const [status, response] of Object.entries(responses)) {
        const headers = (response.headers ??= {}) as Json
        headers['X-Request-Id'] = header('X-Request-Id')
        if (method === 'get' && (status === '200' || status === '304')) headers.ETag = header('ETag')
        if (status === '429' || status === '503') headers['Retry-After'] = header('Retry-After')
        for (const name of OPERATION_HEADERS[operation.operationId as string]?.[status] ?? []) headers[name] = header(name)
        const content = response.content as Record<string, Json> | undefined
        if (fhir && Number(status) >= 400 && content?.['application/problem+json']) {
          const outcome = { 'application/fhir+json': { schema: { $ref: ref('OperationOutcome') } } }
          response.content = path.startsWith('/v1/fhir/') ? outcome : { ...content, ...outcome }
        }
      }
    }
  }
}
