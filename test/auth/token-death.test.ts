// Tokens die with a change: a token issued before its partner's suspension (and reactivation), key
// change, role change or grant narrowing is refused at once; a token issued after it works.
import t from 'tap'
import { buildTestHub, newPartnerKey, type TestPartner } from '../helpers.js'

const hub = await buildTestHub(t)
const asAdmin = { authorization: `Bearer ${await hub.token(hub.admin)}` }
const me = (token: string) => hub.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
const change = (partner: TestPartner, payload: object) => hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${partner.id}`, headers: asAdmin, payload })
const grant = (partner: TestPartner, grants: object[]) => hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${partner.id}/grants`, headers: asAdmin, payload: { grants } })

t.test('suspend, then reactivate: the old token stays dead, a new one works', async (t) => {
  const p = await hub.partner({ roles: ['reader'] })
  const old = await hub.token(p)
  t.equal((await me(old)).statusCode, 200)
  t.equal((await change(p, { status: 'suspended' })).statusCode, 200)
  t.equal((await me(old)).statusCode, 401, 'suspended')
  t.equal((await change(p, { status: 'active' })).statusCode, 200)
  const after = await me(old)
  t.equal(after.statusCode, 401, 'reactivated, the old token is still refused')
  t.match(after.json().detail, /before the partner's last change/)
  t.equal((await me(await hub.token(p))).statusCode, 200, 'a token issued after the change works (even within the same second)')
})

t.test('a key change refuses tokens issued before it', async (t) => {
  const p = await hub.partner({ roles: ['reader'] })
  const old = await hub.token(p)
  const next = await newPartnerKey(p.id)
  t.equal((await change(p, { jwks: { keys: [next.publicJwk] } })).statusCode, 200)
  t.equal((await me(old)).statusCode, 401)
  t.equal((await me(await hub.token(next))).statusCode, 200)
})

t.test('a role change refuses tokens issued before it; a country is not changed', async (t) => {
  const p = await hub.partner({ roles: ['reader'], country: 'KGZ' })
  const old = await hub.token(p)
  const res = await change(p, { roles: ['reader', 'steward'] })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().roles, ['reader', 'steward'])
  t.equal((await me(old)).statusCode, 401)
  const fresh = await me(await hub.token(p))
  t.same(fresh.json().scopes.sort(), ['aggregates:read', 'data:steward'])
  const country = await change(p, { country: 'KAZ' })
  t.equal(country.statusCode, 422)
  t.same(country.json().errors, [{ path: '/country', message: 'cannot be changed' }])
  const noCountry = await hub.partner({ roles: ['reader'] })
  t.equal((await change(noCountry, { roles: ['steward'] })).statusCode, 422, 'a steward needs a country')
})

t.test('grant narrowing refuses tokens issued before it; widening does not', async (t) => {
  const p = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  const first = await hub.token(p)
  t.equal((await grant(p, [{ region: 'KAZ' }, { region: 'KGZ' }])).statusCode, 200)
  t.equal((await me(first)).statusCode, 200, 'a wider set keeps tokens')
  t.equal((await grant(p, [{ region: 'KAZ', k: 11 }, { region: 'KGZ' }])).statusCode, 200)
  t.equal((await me(first)).statusCode, 401, 'a stricter k is narrower')
  const second = await hub.token(p)
  t.equal((await grant(p, [{ region: 'KAZ', k: 11 }])).statusCode, 200)
  t.equal((await me(second)).statusCode, 401, 'a grant removed')
  const third = await hub.token(p)
  t.equal((await grant(p, [{ region: 'KAZ', k: 11, countryOfOrigin: 'TJK' }])).statusCode, 200)
  t.equal((await me(third)).statusCode, 401, 'an origin added')
})
