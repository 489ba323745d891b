// buildApp(deps) → the Fastify instance. No side effects on import: tests build it with their own database and queue.
import { randomUUID } from 'node:crypto'
import formbody from '@fastify/formbody'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv, type ErrorObject, type Options as AjvOptions } from 'ajv'
import addFormats from 'ajv-formats'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import pino, { type Logger } from 'pino'
import { adminRoutes } from './admin/routes.js'
import type { AggregationQueue } from './aggregation/queue.js'
import { aggregationRoutes } from './aggregation/routes.js'
import { createAuthenticator, createAuthorize, type Authorize } from './auth/bearer.js'
import { createPartnerDirectory, type PartnerDirectory } from './auth/directory.js'
import { createCellVersions, type CellVersions } from './aggregation/versions.js'
import type { HubKeys } from './auth/hub-keys.js'
import { authRoutes } from './auth/routes.js'
import type { Config } from './config.js'
import type { Database } from './db/connect.js'
import type { SchemaRegistry } from './intake/registry.js'
import { intakeRoutes } from './intake/routes.js'
import { createMetrics, metricsRoutes, type Metrics } from './ops/metrics.js'
import { opsRoutes } from './ops/routes.js'
import { releaseRoutes } from './release/routes.js'
import { auditRoutes } from './audit/routes.js'
import { createAuditWriter, type AuditWriter } from './audit/writer.js'
import { createStewardshipBook, type StewardshipBook } from './stewardship/book.js'
import { stewardshipRoutes } from './stewardship/routes.js'
import { HttpProblem, PROBLEM_CONTENT_TYPE, problemFor, type FieldError } from './problem.js'

export interface AppDeps {
  config: Config
  database: Database
  queue: AggregationQueue
  keys: HubKeys
  /** The shared record schemas and catalogs, compiled once at start. */
  schemas: SchemaRegistry
  /** The process's Prometheus registry (shared with its worker); without one, a registry of this app's own. */
  metrics?: Metrics
  /** Partner status, roles and grants, cached and invalidated on change; without one, the app opens its own. */
  directory?: PartnerDirectory
  /** When each country's cells last changed, cached and invalidated on change; without one, the app opens its own. */
  cellVersions?: CellVersions
  /** Stewards, consents and publications, cached and invalidated on change; without one, the app opens its own. */
  stewardship?: StewardshipBook
  now?: () => Date
  /** The process logger; without one, a pino logger at config.logLevel. */
  logger?: Logger
}

/** What every capability's routes receive: the app's dependencies, resolved. */
export interface RouteDeps extends Required<Omit<AppDeps, 'logger'>> {
  authorize: Authorize
  /** Audit rows of reads, group-committed (MHX_READ_AUDIT); the audit routes drain it before they look. */
  readAudit: AuditWriter
}

export type App = FastifyInstance

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body.client_assertion',
  'req.body.records',
  'headers.authorization'
]

// Bodies are validated strictly: a silent repair of health data is a data-quality bug.
const BODY_AJV: AjvOptions = { allErrors: true, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false }
// Query strings and params arrive as text: numbers and booleans may coerce.
const QUERY_AJV: AjvOptions = { allErrors: true, removeAdditional: false, coerceTypes: true, useDefaults: true, strict: false }

function compilerFor (options: AjvOptions) {
  const ajv = new Ajv(options)
  addFormats.default(ajv)
  return ajv
}

export async function buildApp (deps: AppDeps): Promise<App> {
  const { config } = deps
  const app = Fastify({
    loggerInstance: (deps.logger ?? pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } })) as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID()
    },
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 120_000,
    return503OnClosing: true,
    ajv: { customOptions: BODY_AJV }
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.server.headersTimeout = 30_000

  const bodyAjv = compilerFor(BODY_AJV)
  const queryAjv = compilerFor(QUERY_AJV)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : queryAjv.compile(schema))

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.decorateRequest('caller', null)
  app.setErrorHandler(answerProblem)
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type(PROBLEM_CONTENT_TYPE)
      .send(problemFor(404, `no route ${request.method} ${request.url.split('?')[0]}`))
  })

  await app.register(formbody)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Migrant Health Exchange (mhx)',
        version: '1.0.0',
        description: 'Cross-border exchange of anonymized migrant-health data: ministries push records, partners read regional aggregates behind grants, with disclosure control.'
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt), from POST /v1/oauth/token' }
        }
      },
      tags: [
        { name: 'auth', description: 'Tokens (RFC 7523 private_key_jwt) and the hub keys' },
        { name: 'schemas', description: 'Shared record schemas and catalogs' },
        { name: 'submissions', description: 'Reporters push anonymized records' },
        { name: 'aggregates', description: 'Readers pull regional aggregates' },
        { name: 'stewardship', description: 'Ministries consent to readers, publish their months and see who read their data' },
        { name: 'admin', description: 'Partners, grants, regions, keys, audit' },
        { name: 'ops', description: 'Health, metrics, documentation' }
      ]
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  const now = deps.now ?? (() => new Date())
  let directory = deps.directory
  if (!directory) {
    const own = directory = await createPartnerDirectory(deps.database)
    app.addHook('onClose', () => own.close())
  }
  let cellVersions = deps.cellVersions
  if (!cellVersions) {
    const own = cellVersions = await createCellVersions(deps.database)
    app.addHook('onClose', () => own.close())
  }
  let stewardship = deps.stewardship
  if (!stewardship) {
    const own = stewardship = await createStewardshipBook(deps.database)
    app.addHook('onClose', () => own.close())
  }
  const readAudit = createAuditWriter(deps.database.db, { mode: config.readAudit, now, logger: app.log })
  app.addHook('onClose', () => readAudit.close())
  const authenticate = createAuthenticator({ directory, keys: deps.keys, publicUrl: config.publicUrl, now })
  const routeDeps: RouteDeps = { config, database: deps.database, queue: deps.queue, keys: deps.keys, schemas: deps.schemas, now, directory, cellVersions, stewardship, readAudit, authorize: createAuthorize(authenticate),
    metrics: deps.metrics ?? createMetrics({ queue: deps.queue, database: deps.database }) }

  await app.register(authRoutes, routeDeps)
  await app.register(adminRoutes, routeDeps)
  await app.register(intakeRoutes, routeDeps)
  await app.register(opsRoutes, routeDeps)
  await app.register(metricsRoutes, routeDeps)
  await app.register(aggregationRoutes, routeDeps)
  await app.register(releaseRoutes, routeDeps)
  await app.register(auditRoutes, routeDeps)
  await app.register(stewardshipRoutes, routeDeps)
  return app
}

/** One central error handler: 4xx keep their message, 5xx say only "Internal Server Error". */
function answerProblem (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof HttpProblem) {
    // A problem that says when to come back (429, 503) says it in the header too.
    if (typeof error.extra.retryAfter === 'number') void reply.header('retry-after', String(error.extra.retryAfter))
    return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(error.toProblem())
  }
  if (error.validation) {
    const part = error.validationContext ?? 'body'
    const errors = error.validation.map((e) => fieldError(e as ErrorObject, part))
    const status = part === 'body' ? 422 : 400
    return reply.code(status).type(PROBLEM_CONTENT_TYPE)
      .send(problemFor(status, `invalid ${part}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors }))
  }
  const status = error.statusCode ?? 500
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problemFor(status, 'Internal Server Error'))
  }
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problemFor(status, clientMessage(error)))
}

function clientMessage (error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return `the body is larger than this route accepts (${error.message})`
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return `unsupported content type: ${error.message}`
    default: return error.message
  }
}

/** An Ajv error as `{path, message}`, naming the field (unknown fields included). */
export function fieldError (e: ErrorObject, part: string): FieldError {
  const base = part === 'body' ? e.instancePath || '/' : `${part}${e.instancePath ? e.instancePath.replace(/^\//, '.').replace(/\//g, '.') : ''}`
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty
    return { path: part === 'body' ? `${e.instancePath}/${extra}` : `${part === 'querystring' ? '' : part + '.'}${extra}`, message: `unknown field "${extra}"` }
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    return { path: part === 'body' ? `${e.instancePath}/${missing}` : missing, message: 'is required' }
  }
  if (e.keyword === 'enum') {
    return { path: base, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` }
  }
  return { path: base, message: e.message ?? 'is invalid' }
}
