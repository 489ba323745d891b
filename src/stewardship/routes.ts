// Stewardship routes: what a ministry decides about its own country's data (consents, publications,
// who read it), and what any partner may check (periods, audit checkpoints).
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RouteDeps } from '../deps.js'
import { COUNTRY_CODE_PATTERN, createRegionLookup, REGION_CODE_PATTERN } from '../admin/regions.js'
import { BEARER, callerOf, securedBy } from '../auth/bearer.js'
import { SCOPE } from '../auth/scopes.js'
import { PageQuery, pageOf } from '../paging.js'
import { problem, problemResponses } from '../problem.js'
import { every } from '../ops/periodic.js'
import { accessLog } from './access-log.js'
import { checkpointAudit, CHECKPOINT_EVERY_MS, latestCheckpoint } from './checkpoints.js'
import { decideConsent, listConsents } from './consents.js'
import { listPeriods, publishPeriod } from './periods.js'
import { createPolicyContext } from '../policy/context.js'
import { decideRead, refusalProblem } from '../policy/read.js'
import { stewardOf } from './steward.js'
import { previewPeriod, type PreviewDeps } from './preview.js'
import { DIMENSIONS, loadVocabulary } from '../release/dimensions.js'
import { buildPtable } from '../release/ptable.js'
import { MAX_BY } from '../release/query.js'

const Month = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' })
const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Integer | typeof Type.Boolean>>(s: T) => Type.Union([s, Type.Null()])

const ConsentItem = Type.Object({
  reader: Type.String(),
  readerName: Nullable(Type.String({ description: 'the reader\'s name as registered at the hub' })),
  state: Type.Union([Type.Literal('pending'), Type.Literal('granted'), Type.Literal('refused')]),
  k: Nullable(Type.Integer()),
  release: Type.Union([Type.Literal('published'), Type.Literal('live'), Type.Null()]),
  until: Nullable(Type.String({ description: 'last day the consent holds (UTC)' })),
  decidedAt: Nullable(Type.String({ format: 'date-time' }))
})

const Publication = Type.Object({
  country: Type.String(), period: Type.String(), revision: Type.Integer(), publishedAt: Type.String({ format: 'date-time' }), records: Type.Integer()
})

const PeriodView = Type.Object({
  country: Type.String(),
  period: Type.String(),
  status: Type.Union([Type.Literal('not_reported'), Type.Literal('open'), Type.Literal('published')]),
  revision: Nullable(Type.Integer()),
  publishedAt: Nullable(Type.String({ format: 'date-time' })),
  onTime: Nullable(Type.Boolean({ description: 'first published by day MHX_DUE_DAY of the next month (UTC)' })),
  changedSince: Nullable(Type.Boolean({ description: 'working data differs from the published revision' }))
})

const AccessItem = Type.Object({
  at: Type.String({ format: 'date-time' }),
  reader: Nullable(Type.String()),
  readerName: Nullable(Type.String({ description: 'the reader\'s name as registered at the hub' })),
  action: Type.String({ description: 'aggregates.read or aggregates.denied' }),
  query: Type.Unknown(),
  cells: Nullable(Type.Integer()),
  k: Nullable(Type.Integer()),
  seq: Type.Integer({ description: 'the audit chain row' }),
  hash: Type.String({ description: 'the row\'s chain hash' })
})

const PreviewCell = Type.Object({
  ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Type.String({ description: `its ${d} (a by dimension; _Z: absent in the records)` }))])),
  exact: Type.Integer({ description: 'the working data\'s count' }),
  released: Nullable(Type.Integer({ description: 'what a reader at the hub\'s k is given once the month is published (cell-key perturbed); null when withheld' })),
  suppressed: Type.Union([Type.Literal('primary'), Type.Null()])
})

const Preview = Type.Object({
  country: Type.String(),
  period: Type.String(),
  by: Type.Array(Type.String()),
  k: Type.Integer({ description: 'the hub\'s k (a reader\'s consent may ask for more)' }),
  disclosure: Type.Object({ method: Type.Literal('cellkey'), ptable: Type.String() }),
  cells: Type.Array(PreviewCell)
})

const Checkpoint = Type.Object({
  seq: Type.Integer(), hash: Type.String(), at: Type.String({ format: 'date-time' }),
  jws: Type.String({ description: 'compact JWS (typ mhx-audit-checkpoint+jwt) by the hub\'s receipt key over {seq, hash, at}; verify with /.well-known/jwks.json' })
})

/** A date (midnight UTC) or an RFC 3339 date-time. */
const INSTANT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$'

function instant (raw: string | undefined, name: string): Date | undefined {
  if (raw === undefined) return undefined
  const at = new Date(/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw)
  if (Number.isNaN(at.getTime())) throw problem('badRequest', `${name}: not a date or date-time`, { errors: [{ path: name, message: 'not a date or date-time' }] })
  return at
}

export const stewardshipRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { db } = deps.database
  const book = deps.stewardship
  const regionOf = createRegionLookup(db)
  const policy = createPolicyContext(deps)
  const preview: PreviewDeps = {
    db, vocabulary: loadVocabulary(deps.schemas), ptable: buildPtable(), hubK: deps.config.suppressionK, regionOf, ...policy
  }

  // The steward's own country: one auth hook for every route in here.
  await app.register(async (plugin) => {
    const steward = plugin.withTypeProvider<TypeBoxTypeProvider>()
    steward.addHook('onRequest', deps.authorize(SCOPE.steward))

    steward.get('/v1/consents', {
      schema: {
        tags: ['stewardship'], summary: 'Every reader whose grants reach the steward\'s country, with the country\'s decision', security: securedBy(SCOPE.steward),
        response: { 200: Type.Object({ items: Type.Array(ConsentItem) }), ...problemResponses(401, 403) }
      }
    }, async (request) => ({ items: await listConsents(db, stewardOf(callerOf(request)).country) }))

    steward.put('/v1/consents/:readerId', {
      schema: {
        tags: ['stewardship'], summary: 'Grant or refuse a reader the steward\'s country (acts on its next request, in every process)', security: securedBy(SCOPE.steward),
        params: Type.Object({ readerId: Type.String({ maxLength: 64 }) }),
        body: Type.Object({
          decision: Type.Union([Type.Literal('grant'), Type.Literal('refuse')]),
          k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'at least the hub\'s k' })),
          release: Type.Optional(Type.Union([Type.Literal('published'), Type.Literal('live')], { description: 'published (default): what the country published; live: working data' })),
          until: Type.Optional(Type.String({ maxLength: 10, description: 'YYYY-MM-DD, the last day it holds' }))
        }, { additionalProperties: false }),
        response: { 200: ConsentItem, ...problemResponses(401, 403, 422) }
      }
    }, async (request) => {
      const item = await decideConsent(deps.database, stewardOf(callerOf(request)), request.params.readerId, request.body, deps.config.suppressionK, deps.now())
      book.invalidate()
      return item
    })

    steward.post('/v1/periods/:country/:period/publish', {
      schema: {
        tags: ['stewardship'], summary: 'Publish a month of the steward\'s country: published readers see exactly this revision', security: securedBy(SCOPE.steward),
        params: Type.Object({ country: Type.String({ pattern: COUNTRY_CODE_PATTERN }), period: Month }),
        response: { 201: Publication, ...problemResponses(400, 401, 403, 422) }
      }
    }, async (request, reply) => {
      const published = await publishPeriod(deps.database, stewardOf(callerOf(request)), request.params.country, request.params.period, deps.now())
      book.invalidate()
      deps.cellVersions.changed([published.country])
      return reply.code(201).send(published)
    })

    steward.get('/v1/periods/:country/:period/preview', {
      schema: {
        tags: ['stewardship'], operationId: 'previewPeriod', summary: 'Before publishing: the month\'s working counts, exact and as readers will be given them', security: securedBy(SCOPE.steward),
        params: Type.Object({ country: Type.String({ pattern: COUNTRY_CODE_PATTERN }), period: Month }),
        querystring: Type.Object({
          by: Type.Optional(Type.String({ maxLength: 300, pattern: `^((${DIMENSIONS.join('|')})(,(${DIMENSIONS.join('|')})){0,${MAX_BY - 1}})?$`, description: `a comma list of at most ${MAX_BY} dimensions (as /v1/aggregates); none: the month's total` }))
        }, { additionalProperties: false }),
        response: { 200: Preview, ...problemResponses(400, 401, 403) }
      }
    }, async (request) => {
      const caller = callerOf(request)
      return previewPeriod(preview, stewardOf(caller), caller.scopes, request.params.country, request.params.period, request.query.by)
    })

    steward.get('/v1/access-log', {
      schema: {
        tags: ['stewardship'], summary: 'Every read, and refused read, that counted or tried the steward\'s country, from the audit chain', security: securedBy(SCOPE.steward),
        querystring: Type.Object({
          ...PageQuery,
          from: Type.Optional(Type.String({ maxLength: 40, pattern: INSTANT_PATTERN, description: 'a date or date-time (RFC 3339): at or after' })),
          to: Type.Optional(Type.String({ maxLength: 40, pattern: INSTANT_PATTERN, description: 'a date or date-time (RFC 3339): at or before' }))
        }, { additionalProperties: false }),
        response: { 200: pageOf(AccessItem), ...problemResponses(400, 401, 403) }
      }
    }, async (request) => {
      const { limit, cursor, from, to } = request.query
      // Reads' rows still queued in this process are shown too.
      await deps.readAudit.drain()
      return accessLog(db, stewardOf(callerOf(request)).country, { from: instant(from, 'from'), to: instant(to, 'to') }, limit, cursor)
    })
  })

  const anyPartner = deps.authorize()

  app.get('/v1/periods', {
    onRequest: anyPartner,
    schema: {
      tags: ['stewardship'], summary: 'Per country and month of a unit: not reported, open or published, revision, on time, changed since', security: BEARER,
      querystring: Type.Object({
        region: Type.String({ maxLength: 64, pattern: `${COUNTRY_CODE_PATTERN}|${REGION_CODE_PATTERN}`, description: 'a country or region code' }),
        from: Month,
        to: Month
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(PeriodView) }), ...problemResponses(400, 401, 403) }
    }
  }, async (request) => {
    const { region: code, from, to } = request.query
    if (from > to) throw problem('badRequest', `from: ${from} is after to (${to})`, { errors: [{ path: 'from', message: 'after to' }] })
    const region = await regionOf(code)
    if (!region) throw problem('badRequest', `region: unknown region or country "${code}"`, { errors: [{ path: 'region', message: 'unknown' }] })
    const [reader, { policy: state, stewardship }] = await Promise.all([policy.readerOf(callerOf(request)), policy.policyState()])
    const verdict = decideRead(reader, { purpose: 'periods', unit: region, counted: region.members, singledOut: [], sensitive: false }, state)
    if (!verdict.ok) throw refusalProblem(verdict)
    return { items: await listPeriods(db, stewardship, region.members, from, to, deps.config.dueDay) }
  })

  app.get('/v1/audit/checkpoints/latest', {
    onRequest: anyPartner,
    schema: {
      tags: ['stewardship'], summary: 'The latest hub-signed checkpoint of the audit chain (renewed at least every minute while it grows)', security: BEARER,
      response: { 200: Checkpoint, ...problemResponses(401, 404) }
    }
  }, async () => {
    await deps.readAudit.drain()
    const checkpoint = await latestCheckpoint(db, deps.keys, deps.config.publicUrl, deps.now())
    if (!checkpoint) throw problem('notFound', 'the audit log is empty')
    return checkpoint
  })

  every(app, CHECKPOINT_EVERY_MS / 2, 'audit checkpoint', () => checkpointAudit(db, deps.keys, deps.config.publicUrl, deps.now()))
}
