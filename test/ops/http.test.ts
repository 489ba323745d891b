// HTTP conventions: ETag / If-None-Match, Cache-Control, compression, CORS, Retry-After, problem type pages,
// and a fuzzer's worth of refusals that must all be application/problem+json.
import { connect } from 'node:net'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import t from 'tap'
import { buildTestHub, freePort, PUBLIC_URL } from '../helpers.js'
import { preferredCoding } from '../../src/ops/http.js'
import { problem } from '../../src/problem.js'
import { insertCells } from '../release/fixtures.js'

const DASHBOARD = 'https://dash.example.org'
const hub = await buildTestHub(t, { config: { corsOrigins: [DASHBOARD] } })
const { app } = hub
// Refusals no ordinary request provokes on demand: the hook adds Retry-After to whatever answers them.
app.get('/test/unavailable', async () => { throw problem('unavailable', 'the audit log cannot be written') })
app.get('/test/busy', async () => { throw problem('tooManyRequests', 'slow down') })
const port = await freePort()
await app.listen({ port, host: '127.0.0.1' })
const base = `http://127.0.0.1:${port}`

const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
const readToken = await hub.token(reader)
const adminToken = await hub.token(hub.admin)
const reporterToken = await hub.token(await hub.partner({ roles: ['reporter'], country: 'KAZ' }))
await insertCells(hub.database, [{ country: 'KAZ', count: 12 }, { country: 'KAZ', sex: 'female', count: 9 }])
const QUERY = '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&by=sex'

t.test('ETag and If-None-Match: 304 while the data holds, 200 once it changed', async (t) => {
  const read = (headers: Record<string, string> = {}) => app.inject({ url: QUERY, headers: { authorization: `Bearer ${readToken}`, ...headers } })
  const first = await read()
  t.equal(first.statusCode, 200)
  t.equal(first.headers['cache-control'], 'private, no-cache')
  const etag = first.headers.etag as string
  t.match(etag, /^W\/"[\w-]+"$/)

  const again = await read({ 'if-none-match': etag })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')
  t.equal(again.headers.etag, etag)
  t.equal((await read({ 'if-none-match': `"other", ${etag}` })).statusCode, 304, 'a list of tags')
  t.equal((await read({ 'if-none-match': '"other"' })).statusCode, 200)
  t.not((await read({ accept: 'text/csv' })).headers.etag, etag, 'another format is another representation')

  await insertCells(hub.database, [{ country: 'KAZ', sex: 'other', count: 30 }])
  hub.cellVersions.changed(['KAZ'])
  const after = await read({ 'if-none-match': etag })
  t.equal(after.statusCode, 200, 'new data: the old tag no longer matches')
  t.not(after.headers.etag, etag)
  t.ok(after.json().cells.some((c: { sex: string }) => c.sex === 'other'))

  const refused = await app.inject({ url: QUERY, headers: { 'if-none-match': etag } })
  t.equal(refused.statusCode, 401, 'no tag short-cuts authentication')
  t.notOk(refused.headers.etag)
})

t.test('compression for clients that accept it', async (t) => {
  const raw = await app.inject({ url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } })
  t.equal(raw.headers['content-encoding'], 'gzip')
  t.match(raw.headers.vary, /accept-encoding/i)
  t.equal(JSON.parse(gunzipSync(raw.rawPayload).toString()).openapi, '3.1.0')
  const csv = await app.inject({ url: QUERY, headers: { authorization: `Bearer ${readToken}`, accept: 'text/csv', 'accept-encoding': 'gzip' } })
  t.equal(csv.statusCode, 200)
})

t.test('a cached answer compressed once per coding: the same tag and bytes whatever the coding', async (t) => {
  // Two years of coverage make the answer larger than the compression threshold.
  const wide = '/v1/aggregates?region=KAZ&from=2025-01&to=2026-12&by=sex'
  const read = (headers: Record<string, string> = {}) => app.inject({ url: wide, headers: { authorization: `Bearer ${readToken}`, ...headers } })
  const plain = await read()
  t.equal(plain.statusCode, 200)
  t.notOk(plain.headers['content-encoding'])
  t.ok(plain.rawPayload.length >= 1024)
  for (const [accept, coding, decode] of [['gzip, br', 'br', brotliDecompressSync], ['gzip', 'gzip', gunzipSync], ['br;q=0, gzip', 'gzip', gunzipSync]] as const) {
    for (let i = 0; i < 2; i++) {
      const coded = await read({ 'accept-encoding': accept })
      t.equal(coded.headers['content-encoding'], coding, accept)
      t.match(coded.headers.vary, /accept-encoding/)
      t.equal(coded.headers.etag, plain.headers.etag, 'the tag is of the representation, not of its coding')
      t.equal(decode(coded.rawPayload).toString(), plain.body)
    }
  }
  const notModified = await read({ 'accept-encoding': 'gzip, br', 'if-none-match': plain.headers.etag as string })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.body, '')
  // The CSV has no coverage block: under the threshold it goes as it is.
  const csv = await read({ accept: 'text/csv', 'accept-encoding': 'gzip' })
  t.ok(csv.rawPayload.length < 1024)
  t.notOk(csv.headers['content-encoding'], 'a small answer is not compressed')
  t.equal(csv.body, (await read({ accept: 'text/csv' })).body)

  t.equal(preferredCoding('identity'), null)
  t.equal(preferredCoding('*'), 'br')
  t.equal(preferredCoding('br;q=0, *;q=0.5'), 'gzip')
  t.equal(preferredCoding('GZIP;q=0.8, deflate'), 'gzip')
  t.equal(preferredCoding('gzip;q=0, br;q=0'), null)
})

t.test('CORS: preflights allowed for the configured origins only', async (t) => {
  const preflight = (origin: string) => app.inject({
    method: 'OPTIONS', url: QUERY,
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,if-none-match' }
  })
  const allowed = await preflight(DASHBOARD)
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-origin'], DASHBOARD)
  t.match(allowed.headers['access-control-allow-headers'], /authorization/)
  t.match(allowed.headers['access-control-allow-methods'], /GET/)

  for (const origin of ['https://evil.example', 'https://dash.example.org.evil.example', 'http://dash.example.org']) {
    const refused = await preflight(origin)
    t.notOk(refused.headers['access-control-allow-origin'], `${origin} is not allowed`)
  }
  const simple = await app.inject({ url: QUERY, headers: { origin: DASHBOARD, authorization: `Bearer ${readToken}` } })
  t.equal(simple.headers['access-control-allow-origin'], DASHBOARD)
  t.match(simple.headers['access-control-expose-headers'], /etag/)

  const closed = await buildTestHub(t)
  const none = await closed.app.inject({ method: 'OPTIONS', url: QUERY, headers: { origin: DASHBOARD, 'access-control-request-method': 'GET' } })
  t.notOk(none.headers['access-control-allow-origin'], 'MHX_CORS_ORIGINS unset: no origin is allowed')
})

t.test('problem types are absolute URLs, served as pages', async (t) => {
  const res = await app.inject({ url: '/v1/me' })
  const body = res.json()
  t.equal(body.type, `${PUBLIC_URL}/problems/unauthenticated`)
  t.equal(body.instance, res.headers['x-request-id'])
  const page = await app.inject({ url: new URL(body.type).pathname })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /401 Not authenticated/)
  const json = await app.inject({ url: '/problems/unauthenticated', headers: { accept: 'application/json' } })
  t.same(json.json().status, 401)
  t.equal((await app.inject({ url: '/problems/constructor' })).statusCode, 404)
})

t.test('Retry-After on 503 and 429', async (t) => {
  const unavailable = await app.inject({ url: '/test/unavailable' })
  t.equal(unavailable.statusCode, 503)
  t.equal(unavailable.headers['retry-after'], '5')
  const busy = await app.inject({ url: '/test/busy' })
  t.equal(busy.statusCode, 429)
  t.equal(busy.headers['retry-after'], '60')
})

/** Sends raw bytes and returns the answer's status line, headers and body. */
function rawRequest (bytes: string): Promise<{ status: number, headers: string, body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let answer = ''
    socket.on('data', (chunk) => { answer += chunk.toString() })
    socket.on('error', () => {})
    socket.on('close', () => {
      const [head, ...rest] = answer.split('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1])
      if (!status) reject(new Error(`no answer: ${JSON.stringify(answer.slice(0, 200))}`))
      else resolve({ status, headers: head ?? '', body: rest.join('\r\n\r\n') })
    })
    setTimeout(() => socket.end(), 2000)
  })
}

t.test('every refusal a fuzzer provokes is problem+json', async (t) => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const cases: Array<{ name: string, status: number, run: () => Promise<{ status: number, contentType: string, body: string, requestId?: string }> }> = []
  const viaFetch = (name: string, status: number, path: string, init: RequestInit = {}) => cases.push({
    name, status,
    run: async () => {
      const res = await fetch(`${base}${path}`, init)
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text(), requestId: res.headers.get('x-request-id') ?? undefined }
    }
  })
  const viaSocket = (name: string, status: number, bytes: string) => cases.push({
    name, status,
    run: async () => {
      const res = await rawRequest(bytes)
      return { status: res.status, contentType: /content-type: ([^\r\n]+)/i.exec(res.headers)?.[1] ?? '', body: res.body }
    }
  })

  viaFetch('unknown route', 404, '/v1/nothing-here')
  viaFetch('wrong method', 404, '/v1/me', { method: 'DELETE' })
  viaFetch('no token', 401, '/v1/me')
  viaFetch('a token that is not a JWT', 401, '/v1/me', { headers: { authorization: 'Bearer not.a.jwt' } })
  viaFetch('the wrong scope', 403, '/v1/admin/partners', { headers: bearer(readToken) })
  viaFetch('bad JSON', 400, '/v1/admin/regions', { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body: '{"code": "x",' })
  viaFetch('JSON that is not an object', 422, '/v1/admin/regions', { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body: '[1, 2]' })
  viaFetch('a body of the wrong content type', 415, '/v1/admin/regions', { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/xml' }, body: '<region/>' })
  viaFetch('a submission of the wrong content type', 415, '/v1/submissions', { method: 'POST', headers: { ...bearer(reporterToken), 'content-type': 'application/xml' }, body: '<a/>' })
  viaFetch('an invalid body', 422, '/v1/admin/regions', { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x' }) })
  viaFetch('a body too large', 413, '/v1/admin/regions', { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x'.repeat(2 * 1024 * 1024) }) })
  viaFetch('a bad query parameter', 400, '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&periodType=week', { headers: bearer(readToken) })
  viaFetch('an unknown query parameter', 400, '/v1/submissions?color=red', { headers: bearer(reporterToken) })
  viaFetch('a format it cannot produce', 406, QUERY, { headers: { ...bearer(readToken), accept: 'image/png' } })
  viaFetch('a missing resource', 404, '/v1/admin/partners/nobody', { headers: bearer(adminToken) })
  viaFetch('a huge URL', 414, `/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&country=${'KAZ,'.repeat(2500)}KAZ`, { headers: bearer(readToken) })
  viaFetch('an unknown problem type', 404, '/problems/nope')
  viaSocket('huge headers', 431, `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  viaSocket('not HTTP at all', 400, 'HELLO THERE\r\n\r\n')
  viaSocket('a malformed header line', 400, 'GET /v1/me HTTP/1.1\r\nHost x\r\n\r\n')

  for (const c of cases) {
    const res = await c.run()
    t.equal(res.status, c.status, `${c.name}: ${res.body.slice(0, 300)}`)
    t.match(res.contentType, /^application\/problem\+json/, `${c.name} is problem+json`)
    let body: { type?: string, title?: string, status?: number, detail?: string, instance?: string } = {}
    try {
      body = JSON.parse(res.body)
    } catch {}
    t.equal(body.status, res.status, `${c.name}: status in the body`)
    t.ok(body.title && body.detail, `${c.name}: title and detail`)
    t.ok(body.type?.startsWith(`${PUBLIC_URL}/problems/`), `${c.name}: absolute type ${body.type}`)
    if (c.name !== 'huge headers' && !c.name.includes('HTTP') && !c.name.includes('malformed')) t.equal(body.instance, res.requestId, `${c.name}: instance is the request id`)
  }

  // The token endpoint answers RFC 6749 errors instead, as OAuth client libraries expect.
  const token = await fetch(`${base}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' })
  t.equal(token.status, 400)
  t.match(token.headers.get('content-type'), /^application\/json/)
  t.equal((await token.json() as { error: string }).error, 'unsupported_grant_type')
})
