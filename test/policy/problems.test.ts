// A client tells a missing grant from a missing consent by `type` alone, and each kind's members are
// typed in the OpenAPI document: real refusals of the read policy, the budget and the grant-set
// rule are validated against the schema their operation declares for their status.
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import t, { type Test } from 'tap'
import { buildTestHub, type TestPartner } from '../helpers.js'
import { insertCells } from '../release/fixtures.js'

const hub = await buildTestHub(t, { config: { consent: 'required', queryBudget: 1 } })
await hub.app.ready()
const document = hub.app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>, components: { schemas: Record<string, object> } }
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats.default(ajv)
const asAdmin = { authorization: `Bearer ${await hub.token(hub.admin)}` }
const as = async (p: TestPartner) => ({ authorization: `Bearer ${await hub.token(p)}` })
await insertCells(hub.database, [{ country: 'KAZ', count: 40 }, { country: 'KGZ', count: 30 }])
hub.cellVersions.changed()

/** The body validated against what `path`/`method` declares for its status, and its type's last segment. */
function declared (t: Test, path: string, method: string, res: { statusCode: number, body: string }): string {
  const schema = document.paths[path][method].responses[String(res.statusCode)]?.content?.['application/problem+json']?.schema
  t.ok(schema, `${method.toUpperCase()} ${path} declares its ${res.statusCode}`)
  const body = JSON.parse(res.body)
  // Compiled with the document's components beside it, so its $refs resolve as in the document.
  const validate = ajv.compile({ ...schema, components: document.components })
  t.ok(validate(body), `${body.type}: ${JSON.stringify(validate.errors)}`)
  return String(body.type).split('/').pop()!
}

t.test('grant missing, consent missing, origin filter required and scope missing are told apart by type', async (t) => {
  const kaz = await hub.partner({ roles: ['steward'], country: 'KAZ' })
  const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  const read = async (p: TestPartner, q: string) => hub.app.inject({ url: `/v1/aggregates?${q}`, headers: await as(p) })
  const noGrant = await read(reader, 'region=KGZ&from=2026-01&to=2026-01')
  t.equal(declared(t, '/v1/aggregates', 'get', noGrant), 'grant-missing')
  t.same(noGrant.json().missingGrants, ['KGZ'])
  const noConsent = await read(reader, 'region=KAZ&from=2026-01&to=2026-01')
  t.equal(declared(t, '/v1/aggregates', 'get', noConsent), 'consent-missing')
  t.same(noConsent.json().missingConsents, ['KAZ'])
  const origin = await hub.partner({ roles: ['reader'] })
  t.equal((await hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${origin.id}/grants`, headers: asAdmin, payload: { grants: [{ region: 'KAZ', countryOfOrigin: 'TJK' }] } })).statusCode, 200)
  const noFilter = await read(origin, 'region=KAZ&from=2026-01&to=2026-01')
  t.equal(declared(t, '/v1/aggregates', 'get', noFilter), 'origin-filter-required')
  t.same(noFilter.json().originRequired, { unit: 'KAZ', countryOfOrigin: 'TJK' })
  const noScope = await read(kaz, 'region=KGZ&from=2026-01&to=2026-01')
  t.equal(declared(t, '/v1/aggregates', 'get', noScope), 'scope-missing')
  t.equal(noScope.json().requiredScope, 'aggregates:read')
})

t.test('the query budget and the grant-set rule', async (t) => {
  const kgz = await hub.partner({ roles: ['steward'], country: 'KGZ' })
  const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KGZ' }] })
  t.equal((await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader.id}`, headers: await as(kgz), payload: { decision: 'grant', release: 'live' } })).statusCode, 200)
  const headers = await as(reader)
  t.equal((await hub.app.inject({ url: '/v1/aggregates?region=KGZ&from=2026-01&to=2026-01', headers })).statusCode, 200)
  const spent = await hub.app.inject({ url: '/v1/aggregates?region=KGZ&from=2026-01&to=2026-02', headers })
  t.equal(declared(t, '/v1/aggregates', 'get', spent), 'query-budget-exhausted')
  t.match(spent.json(), { budget: 1, retryAfter: Number })
  const exposing = await hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${reader.id}/grants`, headers: asAdmin, payload: { grants: [{ region: 'central-asia' }, { region: 'KAZ' }, { region: 'KGZ' }, { region: 'TJK' }, { region: 'TKM' }] } })
  t.equal(declared(t, '/v1/admin/partners/{id}/grants', 'put', exposing), 'grant-set-exposes-country')
  t.match(exposing.json(), { partners: [reader.id], countries: ['UZB'], exposures: [{ partner: reader.id, country: 'UZB', countryOfOrigin: null }] })
})
