// Token hygiene under attack: what a leaked hub key, a forged lifetime or a probing client could do.
import { randomUUID } from 'node:crypto'
import { SignJWT, type CryptoKey } from 'jose'
import { eq } from 'drizzle-orm'
import t from 'tap'
import { hubKeys } from '../../src/db/schema.js'
import { CLIENT_AUTH_FAILED } from '../../src/auth/token.js'
import { buildTestHub, clientAssertion, newPartnerKey, PUBLIC_URL, tokenForm } from '../helpers.js'

const hub = await buildTestHub(t)
const adminToken = await hub.token(hub.admin)
const reader = await hub.partner({ roles: ['reader'] })
// Made now: the helper's admin token dies with the key revoked below.
const suspended = await hub.partner({ roles: ['reader'] })

async function askToken (payload: string, contentType = 'application/x-www-form-urlencoded') {
  return hub.app.inject({ method: 'POST', url: '/v1/oauth/token', headers: { 'content-type': contentType }, payload })
}

async function me (authorization: string) {
  return hub.app.inject({ url: '/v1/me', headers: { authorization } })
}

/** An access token as the hub would sign it, with claims an attacker holding a hub key chooses. */
async function hubToken (key: { kid: string, alg: string, key: CryptoKey }, claims: { iat: number, exp: number, sub?: string }) {
  return new SignJWT({ scope: 'aggregates:read' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(PUBLIC_URL).setAudience(PUBLIC_URL).setSubject(claims.sub ?? reader.id)
    .setIssuedAt(claims.iat).setExpirationTime(claims.exp).setJti(randomUUID())
    .sign(key.key)
}

const nowS = () => Math.floor(Date.now() / 1000)

t.test('the scheme name Bearer is case-insensitive (RFC 7235)', async (t) => {
  const token = await hub.token(reader)
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    t.equal((await me(`${scheme} ${token}`)).statusCode, 200, scheme)
  }
  t.equal((await me(`Bearerx ${token}`)).statusCode, 401)
})

t.test('a hub-signed token living longer than MHX_TOKEN_TTL_S + 60 s is refused', async (t) => {
  const key = await hub.keys.signingKey('token')
  t.equal((await me(`Bearer ${await hubToken(key, { iat: nowS(), exp: nowS() + 300 })}`)).statusCode, 200, 'a normal lifetime passes')
  const res = await me(`Bearer ${await hubToken(key, { iat: nowS(), exp: nowS() + 86_400 })}`)
  t.equal(res.statusCode, 401, 'a day-long token minted with the hub key')
})

t.test('a token issued more than 60 s in the future is refused', async (t) => {
  const key = await hub.keys.signingKey('token')
  t.equal((await me(`Bearer ${await hubToken(key, { iat: nowS() + 30, exp: nowS() + 330 })}`)).statusCode, 200, '30 s of clock skew passes')
  const res = await me(`Bearer ${await hubToken(key, { iat: nowS() + 3600, exp: nowS() + 3900 })}`)
  t.equal(res.statusCode, 401)
})

t.test('tokens of a key retired more than one token lifetime ago are refused', async (t) => {
  const old = await hub.keys.signingKey('token')
  const res = await hub.app.inject({ method: 'POST', url: '/v1/admin/keys/rotate', headers: { authorization: `Bearer ${adminToken}` }, payload: {} })
  t.equal(res.statusCode, 200, res.body)
  t.not((await hub.keys.signingKey('token')).kid, old.kid)
  // Within a lifetime of the rotation, tokens issued just before it still work.
  t.equal((await me(`Bearer ${await hubToken(old, { iat: nowS(), exp: nowS() + 300 })}`)).statusCode, 200)
  // A lifetime (and the 60 s a replica may take to hear of it) later:
  await hub.database.db.update(hubKeys).set({ retiredAt: new Date(Date.now() - (hub.config.tokenTtlS + 61) * 1000) }).where(eq(hubKeys.kid, old.kid))
  await hub.keys.reload()
  // A leaked retired key mints a fresh-looking token: refused, as is any token it signed.
  const minted = await hubToken(old, { iat: nowS(), exp: nowS() + 300 })
  t.equal((await me(`Bearer ${minted}`)).statusCode, 401)
  t.equal((await me(`Bearer ${await hub.token(reader)}`)).statusCode, 200, 'the new key signs working tokens')
})

t.test('POST /v1/admin/keys/revoke drops a key at once, audited', async (t) => {
  const admin = { authorization: `Bearer ${await hub.token(hub.admin)}` }
  const active = await hub.keys.signingKey('token')
  const readerToken = await hub.token(reader)
  t.equal((await me(`Bearer ${readerToken}`)).statusCode, 200, 'verified once: the check is cached')

  const res = await hub.app.inject({ method: 'POST', url: '/v1/admin/keys/revoke', headers: admin, payload: { kid: active.kid } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().kid, active.kid)
  t.ok(res.json().replacedBy, 'the active key is replaced')
  t.equal((await me(`Bearer ${readerToken}`)).statusCode, 401, 'a cached token of the revoked key is refused on the next request')
  const jwks = (await hub.app.inject({ url: '/.well-known/jwks.json' })).json()
  t.notOk(jwks.keys.some((k: { kid: string }) => k.kid === active.kid), 'gone from the JWKS')

  const fresh = { authorization: `Bearer ${await hub.token(hub.admin)}` }
  const audit = await hub.app.inject({ url: '/v1/admin/audit?action=keys.revoke', headers: fresh })
  t.equal(audit.statusCode, 200, audit.body)
  t.ok(audit.json().items.some((e: { subject: string }) => e.subject === active.kid), 'the revocation is in the audit log')
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/admin/keys/revoke', headers: fresh, payload: { kid: 'no-such-kid' } })).statusCode, 404)
})

t.test('a failed rotation leaves the old key active and creates nothing', async (t) => {
  const before = await hub.keys.signingKey('token')
  const rows = async () => (await hub.database.db.query.hubKeys.findMany()).filter((k) => k.use === 'token')
  const count = (await rows()).length
  await t.rejects(hub.keys.rotate('token', async () => { throw new Error('the audit write failed') }), /audit write failed/)
  t.equal((await hub.keys.signingKey('token')).kid, before.kid)
  const after = await rows()
  t.equal(after.length, count, 'no successor was left behind')
  t.same(after.filter((k) => k.retiredAt === null).map((k) => k.kid), [before.kid], 'the old key is still the active one')
})

t.test('client assertions', async (t) => {
  t.test('longer than 8 KiB is refused, even when validly signed', async (t) => {
    const padded = await new SignJWT({ pad: 'x'.repeat(9 * 1024) })
      .setProtectedHeader({ alg: reader.alg, kid: reader.kid })
      .setIssuer(reader.id).setSubject(reader.id).setAudience(`${PUBLIC_URL}/v1/oauth/token`)
      .setIssuedAt().setExpirationTime('1m').setJti(randomUUID())
      .sign(reader.privateKey)
    const res = await askToken(tokenForm(padded))
    t.equal(res.statusCode, 401, res.body)
    t.same(res.json(), { error: 'invalid_client', error_description: CLIENT_AUTH_FAILED })
    const huge = await askToken(tokenForm('a'.repeat(934 * 1024)))
    t.equal(huge.statusCode, 400, 'a 934 KB body is not even read')
    t.equal(huge.json().error, 'invalid_request')
  })

  t.test('a JSON body is refused (form-encoded only)', async (t) => {
    const form = Object.fromEntries(new URLSearchParams(tokenForm(await clientAssertion(reader))))
    const res = await askToken(JSON.stringify(form), 'application/json')
    t.equal(res.statusCode, 400, res.body)
    t.equal(res.json().error, 'invalid_request')
  })

  t.test('every aud element must be the hub', async (t) => {
    const res = await askToken(tokenForm(await clientAssertion(reader, { aud: [`${PUBLIC_URL}/v1/oauth/token`, 'https://other.example/token'] })))
    t.equal(res.statusCode, 401, res.body)
    t.equal(res.json().error, 'invalid_client')
    const ok = await askToken(tokenForm(await clientAssertion(reader, { aud: [`${PUBLIC_URL}/v1/oauth/token`, PUBLIC_URL] })))
    t.equal(ok.statusCode, 200, 'both of the hub identifiers are fine')
  })

  t.test('iat more than 60 s ahead is refused', async (t) => {
    const ahead = await new SignJWT({})
      .setProtectedHeader({ alg: reader.alg, kid: reader.kid })
      .setIssuer(reader.id).setSubject(reader.id).setAudience(`${PUBLIC_URL}/v1/oauth/token`)
      .setIssuedAt(nowS() + 365 * 86_400).setExpirationTime(nowS() + 60).setJti(randomUUID())
      .sign(reader.privateKey)
    const res = await askToken(tokenForm(ahead))
    t.equal(res.statusCode, 401, res.body)
    t.equal(res.json().error, 'invalid_client')
  })

  t.test('unknown, suspended and wrongly signed clients look the same (no enumeration)', async (t) => {
    const admin = { authorization: `Bearer ${await hub.token(hub.admin)}` }
    t.equal((await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${suspended.id}`, headers: admin, payload: { status: 'suspended' } })).statusCode, 200)
    const stranger = await newPartnerKey('no-such-partner')
    const wrongKey = await newPartnerKey(reader.id)
    const answers = await Promise.all([
      askToken(tokenForm(await clientAssertion(stranger))),
      askToken(tokenForm(await clientAssertion(suspended))),
      askToken(tokenForm(await clientAssertion(reader, { key: wrongKey.privateKey }))),
      askToken(tokenForm(await clientAssertion(wrongKey)))
    ])
    for (const res of answers) {
      t.equal(res.statusCode, 401)
      t.same(res.json(), { error: 'invalid_client', error_description: CLIENT_AUTH_FAILED })
    }
  })
})
