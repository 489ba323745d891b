// Bearer authentication under attack, on a protected admin route and a scoped one.
import { randomUUID } from 'node:crypto'
import { base64url, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { buildTestHub, PUBLIC_URL } from '../helpers.js'

const hub = await buildTestHub(t)
const adminToken = await hub.token(hub.admin)
const reader = await hub.partner({ roles: ['reader'] })

async function getPartners (authorization?: string) {
  return hub.app.inject({ url: '/v1/admin/partners', headers: authorization === undefined ? {} : { authorization } })
}

function unauthorized (t: Test, res: Awaited<ReturnType<typeof getPartners>>) {
  t.equal(res.statusCode, 401, res.body)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(res.json().type, `${PUBLIC_URL}/problems/unauthenticated`)
  t.match(res.headers['www-authenticate'], /^Bearer/)
}

t.test('the admin token reaches the admin route', async (t) => {
  const res = await getPartners(`Bearer ${adminToken}`)
  t.equal(res.statusCode, 200)
  t.ok(res.json().items.some((p: { id: string }) => p.id === 'admin'))
})

t.test('missing, malformed and garbage tokens are 401', async (t) => {
  unauthorized(t, await getPartners())
  unauthorized(t, await getPartners(adminToken))
  unauthorized(t, await getPartners('Basic YWRtaW46YWRtaW4='))
  unauthorized(t, await getPartners('Bearer not-a-token'))
  unauthorized(t, await getPartners('Bearer a.b.c'))
})

t.test('a token signed by another key under the hub kid is 401', async (t) => {
  const { kid } = decodeProtectedHeader(adminToken)
  const attacker = await generateKeyPair('EdDSA')
  const now = Math.floor(Date.now() / 1000)
  const forged = await new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
    .setIssuer(PUBLIC_URL).setAudience(PUBLIC_URL).setSubject('admin')
    .setIssuedAt(now).setExpirationTime(now + 300).setJti(randomUUID())
    .sign(attacker.privateKey)
  unauthorized(t, await getPartners(`Bearer ${forged}`))
})

t.test('an altered payload is 401', async (t) => {
  const readerToken = await hub.token(reader)
  const [header, payload, signature] = readerToken.split('.')
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)))
  const altered = base64url.encode(JSON.stringify({ ...claims, scope: 'admin', sub: 'admin' }))
  unauthorized(t, await getPartners(`Bearer ${header}.${altered}.${signature}`))
})

t.test('a header switched to alg none is 401', async (t) => {
  const [, payload] = adminToken.split('.')
  const { kid } = decodeProtectedHeader(adminToken)
  const none = base64url.encode(JSON.stringify({ alg: 'none', kid, typ: 'at+jwt' }))
  unauthorized(t, await getPartners(`Bearer ${none}.${payload}.`))
})

t.test('an expired token is 401', async (t) => {
  let now = Date.now()
  const later = await buildTestHub(t, { database: hub.database, now: () => new Date(now) })
  // Same database: the admin partner (and its key) is the first hub's.
  const token = await later.token(hub.admin)
  t.equal((await later.app.inject({ url: '/v1/admin/partners', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  now += 301_000
  const res = await later.app.inject({ url: '/v1/admin/partners', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401, 'the cached signature check does not outlive exp')
})

t.test('a client assertion is not an access token', async (t) => {
  const { clientAssertion } = await import('../helpers.js')
  const assertion = await clientAssertion(hub.admin, { aud: PUBLIC_URL })
  unauthorized(t, await getPartners(`Bearer ${assertion}`))
})

t.test('a token without the scope is 403, and 403 only for that', async (t) => {
  const res = await getPartners(`Bearer ${await hub.token(reader)}`)
  t.equal(res.statusCode, 403)
  t.equal(res.json().type, `${PUBLIC_URL}/problems/scope-missing`)
  t.match(res.json().detail, /admin/)
})

t.test('a partner suspended after issue loses access on the next request', async (t) => {
  const operator = await hub.partner({ roles: ['admin'] })
  const token = await hub.token(operator)
  t.equal((await getPartners(`Bearer ${token}`)).statusCode, 200)
  const patch = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${operator.id}`, headers: { authorization: `Bearer ${adminToken}` }, payload: { status: 'suspended' } })
  t.equal(patch.statusCode, 200)
  unauthorized(t, await getPartners(`Bearer ${token}`))
  const back = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${operator.id}`, headers: { authorization: `Bearer ${adminToken}` }, payload: { status: 'active' } })
  t.equal(back.statusCode, 200)
  t.equal((await getPartners(`Bearer ${token}`)).statusCode, 401, 'reactivation does not restore a token issued before the suspension')
  t.equal((await getPartners(`Bearer ${await hub.token(operator)}`)).statusCode, 200, 'a new token works')
})

t.test('key rotation: old tokens keep verifying, new tokens use the new kid', async (t) => {
  const before = await hub.token(hub.admin)
  const oldKid = decodeProtectedHeader(before).kid
  const rotate = await hub.app.inject({ method: 'POST', url: '/v1/admin/keys/rotate', headers: { authorization: `Bearer ${adminToken}` }, payload: {} })
  t.equal(rotate.statusCode, 200, rotate.body)
  t.same(rotate.json().retired, [oldKid])
  const after = await hub.token(hub.admin)
  t.equal(decodeProtectedHeader(after).kid, rotate.json().kid)
  t.equal((await getPartners(`Bearer ${before}`)).statusCode, 200)
  t.equal((await getPartners(`Bearer ${after}`)).statusCode, 200)
  const jwks = (await hub.app.inject({ url: '/.well-known/jwks.json' })).json()
  const kids = jwks.keys.map((k: { kid: string }) => k.kid)
  t.ok(kids.includes(oldKid) && kids.includes(rotate.json().kid), 'retired keys stay published')
  t.notOk(jwks.keys.some((k: Record<string, unknown>) => 'd' in k), 'no private member is ever published')
})

t.test('GET /v1/me answers any valid token with the scopes held now', async (t) => {
  const both = await hub.partner({ roles: ['reporter', 'reader'], country: 'UZB' })
  const me = await hub.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${await hub.token(both, 'aggregates:read')}` } })
  t.equal(me.statusCode, 200)
  t.same(me.json(), { partner: both.id, roles: ['reporter', 'reader'], scopes: ['aggregates:read'], country: 'UZB' })
  t.equal((await hub.app.inject({ url: '/v1/me' })).statusCode, 401)
})

t.test('a suspension made by another process reaches this one through NOTIFY', async (t) => {
  // Two apps on one database, each with its own partner cache, as two API replicas would be.
  const replica = await buildTestHub(t, { database: hub.database })
  const operator = await hub.partner({ roles: ['admin'] })
  const token = await hub.token(operator)
  const onReplica = () => replica.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal((await onReplica()).statusCode, 200, 'the replica has cached the partner as active')
  const patch = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${operator.id}`, headers: { authorization: `Bearer ${adminToken}` }, payload: { status: 'suspended' } })
  t.equal(patch.statusCode, 200)
  let status = 0
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await onReplica()).statusCode
    if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(status, 401, 'the replica refuses the suspended partner within a second')
})

t.test('the partner cache survives losing its LISTEN connection', { skip: hub.database.kind === 'postgres' ? false : 'PostgreSQL only' }, async (t) => {
  const { sql } = await import('drizzle-orm')
  const replica = await buildTestHub(t, { database: hub.database })
  const operator = await hub.partner({ roles: ['admin'] })
  const token = await hub.token(operator)
  const onReplica = () => replica.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
  // What a PostgreSQL restart looks like to the listeners: their backends go away.
  await hub.database.db.execute(sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`)
  t.equal((await onReplica()).statusCode, 200, 'reads go on (through to the database) while it reconnects')
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  t.equal((await onReplica()).statusCode, 200)
  await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${operator.id}`, headers: { authorization: `Bearer ${adminToken}` }, payload: { status: 'suspended' } })
  let status = 0
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await onReplica()).statusCode
    if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(status, 401, 'after reconnecting, the replica hears the suspension')
})
