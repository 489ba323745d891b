// buildApp(deps) → the Fastify instance. No side effects on import: tests build it with their own database and queue.
import { randomUUID } from 'node:crypto'
import formbody from '@fastify/formbody'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv, type ErrorObject, type Options as AjvOptions } from 'ajv'
import addFormats from 'ajv-formats'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify'
import pino from 'pino'
import { adminRoutes } from './admin/routes.js'
import { aggregationRoutes } from './aggregation/routes.js'
import { createAuthenticator, createAuthorize } from './auth/bearer.js'
import { createRateLimits } from './auth/rate-limits.js'
import { listen } from './db/listen.js'
import { HUB_KEYS_CHANNEL } from './auth/hub-keys.js'
import { assertJsonDepth } from './json-depth.js'
import { createPartnerDirectory } from './auth/directory.js'
import { createCellVersions } from './aggregation/versions.js'
import { authRoutes } from './auth/routes.js'
import { SCOPE } from './auth/scopes.js'
import { OPENAPI_SHAPES as INTAKE_SHAPES, intakeRoutes } from './intake/routes.js'
import { createMetrics } from './ops/metrics.js'
import { absoluteProblem, clientErrorHandler, httpConventions } from './ops/http.js'
import { openapiOptions } from './ops/openapi.js'
import { metricsRoutes, opsRoutes } from './ops/routes.js'
import { OPENAPI_SHAPES as RELEASE_SHAPES, releaseRoutes } from './release/routes.js'
import { fhirErrors } from './release/fhir-routes.js'
import { OPENAPI_SHAPES as INDICATOR_SHAPES } from './indicators/routes.js'
import { auditRoutes } from './audit/routes.js'
import { dashboardRoutes } from './dashboard/routes.js'
import { createAuditWriter } from './audit/writer.js'
import { createStewardshipBook } from './stewardship/book.js'
import { stewardshipRoutes } from './stewardship/routes.js'
import { notificationsRoutes } from './notifications/routes.js'
import type { AppDeps, RouteDeps } from './deps.js'
import { databaseOutage as databaseOutageOf, type Outage } from './ops/outage.js'
import { fieldError, HttpProblem, PROBLEM_CONTENT_TYPE, problem, problemFor, type Problem } from './problem.js'

export type App = FastifyInstance

/** Shapes the OpenAPI document shares as components.schemas (by $ref). */
const OPENAPI_SHAPES = { ...INTAKE_SHAPES, ...RELEASE_SHAPES, ...INDICATOR_SHAPES }

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body.client_assertion',
  'req.body.records',
  'headers.authorization'
]

// Bodies are validated strictly: a silent repair of health data is a data-quality bug.
const BODY_AJV: AjvOptions = { allErrors: true, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false }
// Query strings and params arrive as text: numbers and booleans may coerce. Verbose: a pattern fault is told by
// the parameter's description (fieldError), not by the pattern.
const QUERY_AJV: AjvOptions = { allErrors: true, removeAdditional: false, coerceTypes: true, useDefaults: true, strict: false, verbose: true }

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
    // refused while closing by the hook below, as problem+json (fastify's own 503 is a bare body)
    return503OnClosing: false,
    // Behind a proxy, X-Forwarded-For decides the address that the per-address limits count (a hop
    // count is valid at run time, as Fastify's documentation says, though its type omits it).
    trustProxy: config.trustProxy as boolean | string,
    clientErrorHandler: clientErrorHandler(config.publicUrl),
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
  // Errors of FHIR requests are FHIR: an OperationOutcome instead of problem+json (docs/formats.md).
  app.addHook('onSend', fhirErrors(config.publicUrl))
  app.decorateRequest('caller', null)
  // The database's outages: logged once at each end, and every request they fail answered 503.
  const databaseOutage = deps.databaseOutage ?? databaseOutageOf(deps.database, app.log)
  if (!deps.databaseOutage) app.addHook('onClose', async () => databaseOutage.close())
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const [status, body] = await problemOf(error, request, databaseOutage)
    // A problem that says when to come back (the query budget: at 00:00 UTC) says it in the header.
    if (error instanceof HttpProblem && typeof error.extra.retryAfter === 'number') void reply.header('retry-after', String(error.extra.retryAfter))
    return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(absoluteProblem(body, config.publicUrl, request.id))
  })
  // Shutting down (SIGTERM): requests under way finish; one that still arrives (on a kept-alive
  // connection) is refused with 503 and Retry-After, and fastify closes its connection.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onRequest', async () => {
    if (closing) throw problem('unavailable', 'the hub is shutting down: retry after the seconds in Retry-After (another instance may answer at once)')
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type(PROBLEM_CONTENT_TYPE)
      .send(absoluteProblem(problemFor(404, `no route ${request.method} ${request.url.split('?')[0]}`), config.publicUrl, request.id))
  })
  await httpConventions(app, config)

  // JSON nested a million levels deep costs the parser hundreds of MB: the depth is counted first.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      assertJsonDepth(body as Buffer)
    } catch (err) {
      done(err as Error, undefined)
      return
    }
    parseJson(request, (body as Buffer).toString('utf8'), done)
  })
  await app.register(formbody)
  await app.register(swagger, openapiOptions({ config, schemas: deps.schemas, shapes: OPENAPI_SHAPES }))
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
  const readAudit = createAuditWriter(deps.database.db, { mode: config.readAudit, now, logger: app.log, outage: databaseOutage })
  app.addHook('onClose', () => readAudit.close())
  // A key rotated or revoked by another process: reload at once (a revoked key must stop working).
  const keysListener = { listening: false }
  const stopKeysListener = await listen(deps.database, HUB_KEYS_CHANNEL, () => {
    deps.keys.reload().catch(async (err: unknown) => { if (!await databaseOutage.explains(err)) app.log.warn({ err }, 'reloading hub keys failed') })
  }, keysListener)
  app.addHook('onClose', () => stopKeysListener())
  const rateLimits = await createRateLimits(app, { tokenPerMinute: config.rateToken, apiPerMinute: config.rateApi, redis: deps.rateLimitRedis, prefix: config.queuePrefix })
  const authenticate = createAuthenticator({ directory, keys: deps.keys, publicUrl: config.publicUrl, tokenTtlS: config.tokenTtlS, now })
  const routeDeps: RouteDeps = { config, database: deps.database, queue: deps.queue, keys: deps.keys, schemas: deps.schemas, now, directory, cellVersions, stewardship, readAudit, rateLimits, authorize: createAuthorize(authenticate, rateLimits.api),
    metrics: deps.metrics ?? createMetrics({ queue: deps.queue, database: deps.database }) }

  await app.register(authRoutes, routeDeps)
  // The operator's routes (/v1/admin/…) share one context whose one hook authenticates the admin
  // scope before anything else runs, so no admin route can be added without it.
  await app.register(async (operator) => {
    operator.addHook('onRequest', routeDeps.authorize(SCOPE.admin))
    await operator.register(adminRoutes, routeDeps)
    await operator.register(aggregationRoutes, routeDeps)
    await operator.register(auditRoutes, routeDeps)
  })
  await app.register(intakeRoutes, routeDeps)
  await app.register(opsRoutes, routeDeps)
  await app.register(metricsRoutes, routeDeps)
  await app.register(releaseRoutes, routeDeps)
  await app.register(dashboardRoutes)
  await app.register(stewardshipRoutes, routeDeps)
  await app.register(notificationsRoutes, routeDeps)
  return app
}

/**
 * One central error handler: 4xx keep their message; the database being away is a 503 (counted
 * against its outage, not logged per request); any other 5xx says only "Internal Server Error" and
 * is logged with its cause, the answer's `instance` (the request id) finding the log line.
 */
async function problemOf (error: FastifyError, request: FastifyRequest, databaseOutage: Outage): Promise<[number, Problem]> {
  if (error instanceof HttpProblem) return [error.status, error.toProblem()]
  if (error.validation) {
    const part = error.validationContext ?? 'body'
    const errors = error.validation.map((e) => fieldError(e as ErrorObject, part))
    const status = part === 'body' ? 422 : 400
    return [status, problemFor(status, `invalid ${part}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors })]
  }
  const status = error.statusCode ?? 500
  if (status >= 500 && await databaseOutage.explains(error, 'requests')) {
    return [503, problem('unavailable', 'the database is unavailable: retry after the seconds in Retry-After').toProblem()]
  }
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return [status, problemFor(status, 'Internal Server Error')]
  }
  return [status, problemFor(status, clientMessage(error))]
}

function clientMessage (error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return `the body is larger than this route accepts (${error.message})`
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return `unsupported content type: ${error.message}`
    default: return error.message
  }
}
