// The OpenAPI document a client generator can trust: every response declares X-Request-Id, every GET If-None-Match,
// its ETag and 304, every operation behind a token its 429 and Retry-After, every query parameter what it accepts;
// and the headers it declares are the headers the routes send.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { buildTestHub, newPartnerKey } from '../helpers.js'
import { insertCells } from '../release/fixtures.js'

const hub = await buildTestHub(t, { config: { rateApi: 3 } })
const { app } = hub
type Json = Record<string, unknown>
await app.ready()
const document = app.swagger() as unknown as { paths: Record<string, Record<string, Json>>, components: { headers: Json, parameters: Json } }
const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Json & { responses: Record<string, Json>, parameters?: Json[], security?: Json[], operationId: string } })))

t.test('every operation declares the conventions the server follows', async (t) => {
  const missing: string[] = []
  for (const { path, method, op } of operations) {
    const name = `${method.toUpperCase()} ${path}`
    for (const [status, response] of Object.entries(op.responses)) {
      const headers = (response.headers ?? {}) as Json
      if (!headers['X-Request-Id']) missing.push(`${name} ${status}: X-Request-Id`)
      if ((status === '429' || status === '503') && !headers['Retry-After']) missing.push(`${name} ${status}: Retry-After`)
    }
    if (method === 'get') {
      if (!op.parameters?.some((p) => p.$ref === '#/components/parameters/IfNoneMatch')) missing.push(`${name}: If-None-Match`)
      if (!op.responses['304']) missing.push(`${name}: 304`)
      if (!(op.responses['200']?.headers as Json | undefined)?.ETag) missing.push(`${name} 200: ETag`)
    }
    if (op.security?.some((s) => 'bearer' in s) && !op.responses['429']) missing.push(`${name}: 429 (rate limited per partner)`)
    for (const p of op.parameters ?? []) {
      const schema = (p.schema ?? {}) as Json
      if (p.in === 'query' && schema.type === 'string' && !['enum', 'pattern', 'format', 'const'].some((k) => k in schema)) missing.push(`${name}: query ${String(p.name)} says nothing of what it accepts`)
    }
  }
  t.same(missing, [])
  t.ok(operations.find((o) => o.op.operationId === 'requestToken')?.op.responses['429'], 'the token endpoint (MHX_RATE_TOKEN) declares its 429')
  t.ok(operations.find((o) => o.op.operationId === 'submitRecords')?.op.parameters?.some((p) => String(p.name).toLowerCase() === 'idempotency-key'), 'Idempotency-Key')
})

t.test('the headers it declares are sent', async (t) => {
  const declared = (operationId: string, status: string) => Object.keys((operations.find((o) => o.op.operationId === operationId)!.op.responses[status].headers ?? {}) as Json).map((h) => h.toLowerCase())
  await insertCells(hub.database, [{ country: 'KAZ', count: 12, recordType: 'contact' }])
  const reader = await hub.partner({ roles: ['reader'], country: 'KAZ', grants: [{ region: 'KAZ' }] })
  const token = await hub.token(reader)
  const url = '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01'
  const read = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
  t.equal(read.statusCode, 200)
  for (const h of declared('readAggregates', '200')) t.ok(read.headers[h], `readAggregates 200: ${h}`)
  const again = await app.inject({ url, headers: { authorization: `Bearer ${token}`, 'if-none-match': read.headers.etag as string } })
  t.equal(again.statusCode, 304)
  for (const h of declared('readAggregates', '304')) t.ok(again.headers[h], `readAggregates 304: ${h}`)
  let limited = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
  for (let i = 0; i < 3 && limited.statusCode !== 429; i++) limited = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
  t.equal(limited.statusCode, 429, 'MHX_RATE_API=3: a request past the partner\'s budget')
  for (const h of declared('readAggregates', '429')) t.ok(limited.headers[h], `readAggregates 429: ${h}`)

  const admin = await hub.token(hub.admin)
  const id = `p-${randomUUID().slice(0, 8)}`
  const key = await newPartnerKey(id)
  const created = await app.inject({ method: 'POST', url: '/v1/admin/partners', headers: { authorization: `Bearer ${admin}` }, payload: { id, name: id, roles: ['reporter'], country: 'KGZ', jwks: { keys: [key.publicJwk] } } })
  t.equal(created.statusCode, 201, created.body)
  t.same(declared('createPartner', '201'), ['x-request-id', 'location'])
  for (const h of declared('createPartner', '201')) t.ok(created.headers[h], `createPartner 201: ${h}`)
})
