// A client generated from the committed OpenAPI document (openapi-typescript → ./openapi.d.ts, written by
// `npm run openapi`) with openapi-fetch gets a token, pushes records and reads aggregates. `npm run typecheck`
// compiles this file against the generated types: a route whose schema drifts from what a generator can use breaks it.
// @server-only: the generated client's contract; the worker only makes the counts readable
import { randomUUID } from 'node:crypto'
import createClient from 'openapi-fetch'
import t from 'tap'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import pino from 'pino'
import { createMetrics } from '../../src/ops/metrics.js'
import { buildTestHub, clientAssertion, freePort } from '../helpers.js'
import type { components, paths } from './openapi.js'

const port = await freePort()
const baseUrl = `http://127.0.0.1:${port}`
const hub = await buildTestHub(t, { config: { publicUrl: baseUrl } })
await hub.app.listen({ port, host: '127.0.0.1' })
const runtime = await startAggregation({ config: hub.config, database: hub.database, queue: hub.queue, metrics: createMetrics({ queue: hub.queue, database: hub.database }), logger: pino({ level: 'silent' }) })
t.teardown(() => runtime.close())

const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
// The KAZ ministry reads its own country: exact counts, so the test can name them.
const reader = await hub.partner({ roles: ['reader'], country: 'KAZ', grants: [{ region: 'KAZ' }] })

const api = createClient<paths>({ baseUrl })

async function tokenFor (partner: typeof reporter): Promise<string> {
  const { data, error, response } = await api.POST('/v1/oauth/token', {
    body: {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(partner, { aud: `${baseUrl}/v1/oauth/token` })
    },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  if (!data) throw new Error(`token: ${response.status} ${JSON.stringify(error)}`)
  return data.access_token
}

type Record_ = components['schemas']['MigrantHealthEvent_1_0_0']
const record = (sex: Record_['sex']): Record_ => ({
  recordId: randomUUID(), period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant',
  migrationStage: 'destination', sex, ageBand: '25-29', encounter: 'primary_care', insurance: 'none'
})

t.test('token, push, read through the generated client', async (t) => {
  const pushToken = await tokenFor(reporter)
  const pushed = await api.POST('/v1/submissions', {
    headers: { authorization: `Bearer ${pushToken}` },
    body: { schema: 'migrant-health-event', version: '1.0.0', records: [...Array.from({ length: 5 }, () => record('female')), ...Array.from({ length: 6 }, () => record('male'))] }
  })
  t.equal(pushed.response.status, 202, JSON.stringify(pushed.error))
  const accepted = pushed.data as components['schemas']['Accepted']
  t.equal(accepted.recordCount, 11)

  await hub.queue.drain()
  const status = await api.GET('/v1/submissions/{id}', { params: { path: { id: accepted.id } }, headers: { authorization: `Bearer ${pushToken}` } })
  t.equal(status.data?.status, 'aggregated')

  const readToken = await tokenFor(reader)
  const read = await api.GET('/v1/aggregates', {
    params: { query: { region: 'KAZ', from: '2026-03', to: '2026-03', by: 'sex' } },
    headers: { authorization: `Bearer ${readToken}` }
  })
  t.equal(read.response.status, 200, JSON.stringify(read.error))
  // The route also answers CSV: the generated type is the union of its media types, narrowed here.
  if (typeof read.data !== 'object' || 'resourceType' in read.data) throw new Error('expected the JSON answer')
  const answer: components['schemas']['Answer'] = read.data
  t.same(answer.by, ['sex'])
  t.same(answer.disclosure, { method: 'none', ptable: null })
  t.same(answer.cells.map((c) => [c.sex, c.count, c.suppressed]), [['female', 5, null], ['male', 6, null]])

  // An error is typed as the Problem component (or, to a FHIR request, an OperationOutcome) and arrives as application/problem+json.
  const refused = await api.GET('/v1/aggregates', {
    params: { query: { region: 'KAZ', from: '2026-03', to: '2026-03', periodType: 'quarter' } },
    headers: { authorization: `Bearer ${readToken}` }
  })
  if (refused.error && 'resourceType' in refused.error) throw new Error('expected a problem, not an OperationOutcome')
  const problem: components['schemas']['Problem'] | undefined = refused.error
  t.equal(refused.response.status, 400)
  t.match(refused.response.headers.get('content-type'), /^application\/problem\+json/)
  t.ok(problem?.errors?.some((e) => e.path === 'from'), JSON.stringify(problem))
})
