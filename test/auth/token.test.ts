// The token endpoint under attack: every RFC 7523 rule fails closed when broken.
import { randomUUID } from 'node:crypto'
import { base64url, decodeProtectedHeader, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT } from 'jose'
import t, { type Test } from 'tap'
import { CLIENT_AUTH_FAILED } from '../../src/auth/token.js'
import { buildTestHub, clientAssertion, newPartnerKey, PUBLIC_URL, tokenForm } from '../helpers.js'

const hub = await buildTestHub(t)
const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })

async function askToken (body: string) {
  return hub.app.inject({ method: 'POST', url: '/v1/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body })
}

async function refused (t: Test, assertion: string, error = 'invalid_client', status = 401) {
  const res = await askToken(tokenForm(assertion))
  t.equal(res.statusCode, status, res.body)
  t.equal(res.json().error, error)
  if (error === 'invalid_client') t.equal(res.json().error_description, CLIENT_AUTH_FAILED, 'one description for every client-authentication failure')
  t.notOk(res.body.includes(assertion), 'the assertion is never echoed')
  return res
}

t.test('a valid assertion gets a hub-signed access token with the role scopes', async (t) => {
  const res = await askToken(tokenForm(await clientAssertion(reporter)))
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 300)
  t.equal(body.scope, 'submissions:write')
  t.equal(res.headers['cache-control'], 'no-store')
  const header = decodeProtectedHeader(body.access_token)
  t.equal(header.typ, 'at+jwt')
  t.ok(header.kid)
  const jwks = (await hub.app.inject({ url: '/.well-known/jwks.json' })).json()
  const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer: PUBLIC_URL, audience: PUBLIC_URL })
  t.equal(payload.sub, reporter.id)
  t.equal(payload.country, 'KAZ')
  t.equal(payload.scope, 'submissions:write')
  t.ok(payload.jti)
  t.equal((payload.exp as number) - (payload.iat as number), 300)
})

t.test('aud may be the issuer identifier (RFC 7523bis) as well as the token endpoint', async (t) => {
  const res = await askToken(tokenForm(await clientAssertion(reporter, { aud: PUBLIC_URL })))
  t.equal(res.statusCode, 200, res.body)
})

t.test('alg none is refused', async (t) => {
  const header = base64url.encode(JSON.stringify({ alg: 'none', kid: reporter.kid }))
  const now = Math.floor(Date.now() / 1000)
  const payload = base64url.encode(JSON.stringify({ iss: reporter.id, sub: reporter.id, aud: `${PUBLIC_URL}/v1/oauth/token`, exp: now + 60, jti: randomUUID() }))
  await refused(t, `${header}.${payload}.`)
})

t.test('HS256 keyed with the partner public key is refused', async (t) => {
  const secret = new TextEncoder().encode(JSON.stringify(reporter.publicJwk))
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: reporter.kid })
    .setIssuer(reporter.id).setSubject(reporter.id).setAudience(`${PUBLIC_URL}/v1/oauth/token`)
    .setExpirationTime('1m').setJti(randomUUID()).sign(secret)
  await refused(t, forged)
})

t.test('an expired assertion is refused', async (t) => {
  await refused(t, await clientAssertion(reporter, { expInS: -120 }))
})

t.test('exp an hour ahead is refused', async (t) => {
  await refused(t, await clientAssertion(reporter, { expInS: 3600 }))
})

t.test('an assertion without exp or without jti is refused', async (t) => {
  await refused(t, await clientAssertion(reporter, { expInS: null }))
  await refused(t, await clientAssertion(reporter, { jti: null }))
})

t.test('a wrong aud is refused, including a Host-derived one', async (t) => {
  await refused(t, await clientAssertion(reporter, { aud: 'https://evil.example/v1/oauth/token' }))
  await refused(t, await clientAssertion(reporter, { aud: 'http://localhost:80/v1/oauth/token' }))
})

t.test('iss different from sub is refused', async (t) => {
  const other = await hub.partner({ roles: ['reader'] })
  await refused(t, await clientAssertion(reporter, { sub: other.id }))
  await refused(t, await clientAssertion(reporter, { iss: other.id }))
})

t.test('an unknown partner is refused', async (t) => {
  const ghost = await newPartnerKey('ghost')
  await refused(t, await clientAssertion(ghost))
})

t.test('a key not registered for that partner is refused, even with its kid', async (t) => {
  const other = await generateKeyPair('ES256')
  await refused(t, await clientAssertion(reporter, { key: other.privateKey }))
  const impostor = await hub.partner({ roles: ['reporter'], country: 'UZB' })
  // The impostor signs with its own registered key but claims to be the reporter.
  await refused(t, await clientAssertion(reporter, { key: impostor.privateKey, kid: impostor.kid }))
})

t.test('a replayed jti is refused: sequentially', async (t) => {
  const assertion = await clientAssertion(reporter)
  t.equal((await askToken(tokenForm(assertion))).statusCode, 200)
  await refused(t, assertion)
})

t.test('a replayed jti is refused: 10 at once, exactly one wins', async (t) => {
  const assertion = await clientAssertion(reporter)
  const answers = await Promise.all(Array.from({ length: 10 }, () => askToken(tokenForm(assertion))))
  t.equal(answers.filter((r) => r.statusCode === 200).length, 1)
  t.equal(answers.filter((r) => r.statusCode === 401).length, 9)
})

t.test('a suspended partner gets no token', async (t) => {
  const partner = await hub.partner({ roles: ['reader'] })
  const adminToken = await hub.token(hub.admin)
  const patch = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${partner.id}`, headers: { authorization: `Bearer ${adminToken}` }, payload: { status: 'suspended' } })
  t.equal(patch.statusCode, 200)
  await refused(t, await clientAssertion(partner))
})

t.test('scope: fewer than the roles allow is fine, more is invalid_scope', async (t) => {
  const both = await hub.partner({ roles: ['reporter', 'reader'], country: 'KGZ' })
  const narrow = await askToken(tokenForm(await clientAssertion(both), 'aggregates:read'))
  t.equal(narrow.json().scope, 'aggregates:read')
  const wide = await askToken(tokenForm(await clientAssertion(reporter), 'admin'))
  t.equal(wide.statusCode, 400)
  t.equal(wide.json().error, 'invalid_scope')
})

t.test('malformed requests get RFC 6749 errors, not problem+json', async (t) => {
  const wrongGrant = await askToken('grant_type=password&username=x')
  t.equal(wrongGrant.statusCode, 400)
  t.equal(wrongGrant.json().error, 'unsupported_grant_type')
  const noAssertion = await askToken('grant_type=client_credentials&client_assertion_type=' + encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer'))
  t.equal(noAssertion.json().error, 'invalid_request')
  const json = await hub.app.inject({ method: 'POST', url: '/v1/oauth/token', payload: { grant_type: 'client_credentials' } })
  t.equal(json.statusCode, 400)
  t.equal(json.json().error, 'invalid_request')
  const garbage = await refused(t, 'not.a.jwt')
  t.equal(garbage.json().error, 'invalid_client')
})

t.test('jku, x5u and jwk headers are never followed', async (t) => {
  const attacker = await generateKeyPair('ES256', { extractable: true })
  const { exportJWK } = await import('jose')
  const embedded = await exportJWK(attacker.publicKey)
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', jwk: embedded, jku: 'http://127.0.0.1:9/jwks' })
    .setIssuer(reporter.id).setSubject(reporter.id).setAudience(`${PUBLIC_URL}/v1/oauth/token`)
    .setExpirationTime('1m').setJti(randomUUID()).sign(attacker.privateKey)
  await refused(t, forged)
})

t.test('metadata lets a standard client discover the endpoint', async (t) => {
  const meta = (await hub.app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
  t.equal(meta.issuer, PUBLIC_URL)
  t.equal(meta.token_endpoint, `${PUBLIC_URL}/v1/oauth/token`)
  t.same(meta.token_endpoint_auth_methods_supported, ['private_key_jwt'])
  t.ok(meta.token_endpoint_auth_signing_alg_values_supported.includes('ES256'))
  t.notOk(meta.token_endpoint_auth_signing_alg_values_supported.includes('HS256'))
})

t.test('expired assertion ids are purged, live ones kept', async (t) => {
  const { purgeUsedAssertions } = await import('../../src/auth/token.js')
  const { usedAssertions } = await import('../../src/db/schema.js')
  const before = await hub.database.db.select().from(usedAssertions)
  t.ok(before.length > 0)
  t.equal(await purgeUsedAssertions(hub.database.db, new Date()), 0, 'nothing has expired yet')
  const purged = await purgeUsedAssertions(hub.database.db, new Date(Date.now() + 3_600_000))
  t.equal(purged, before.length)
  t.same(await hub.database.db.select().from(usedAssertions), [])
})

t.test('a failure of the hub itself is a 500 server_error, never "your request is malformed"', async (t) => {
  const { sql } = await import('drizzle-orm')
  // A real database fault: every insert into used_assertions is refused.
  await hub.database.db.execute(sql`CREATE TRIGGER used_assertions_refuse BEFORE INSERT ON used_assertions FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`)
  t.teardown(() => hub.database.db.execute(sql`DROP TRIGGER IF EXISTS used_assertions_refuse ON used_assertions`))
  const res = await askToken(tokenForm(await clientAssertion(reporter, { aud: `${PUBLIC_URL}/v1/oauth/token` })))
  t.equal(res.statusCode, 500, res.body)
  t.same(res.json(), { error: 'server_error', error_description: 'the token endpoint failed; try again' })
})
