// Admin routes: only the operator, strict bodies, safe keys, grants that cannot be subtracted around.
import { generateKeyPairSync } from 'node:crypto'
import { exportJWK, generateKeyPair } from 'jose'
import t from 'tap'
import { buildTestHub, newPartnerKey, PUBLIC_URL } from '../helpers.js'

const hub = await buildTestHub(t)
const adminToken = await hub.token(hub.admin)
const asAdmin = { authorization: `Bearer ${adminToken}` }

async function createPartner (payload: unknown, headers: Record<string, string> = asAdmin) {
  return hub.app.inject({ method: 'POST', url: '/v1/admin/partners', headers, payload: payload as object })
}

async function newPartnerBody (id: string, extra: Record<string, unknown> = {}) {
  const key = await newPartnerKey(id)
  return { id, name: `Partner ${id}`, roles: ['reader'], jwks: { keys: [key.publicJwk] }, ...extra }
}

t.test('non-admins are refused on every admin route', async (t) => {
  const reporter = await hub.partner({ roles: ['reporter', 'reader'], country: 'TJK' })
  const headers = { authorization: `Bearer ${await hub.token(reporter)}` }
  const calls = [
    { method: 'POST' as const, url: '/v1/admin/partners', payload: await newPartnerBody('sneaky') },
    { method: 'GET' as const, url: '/v1/admin/partners' },
    { method: 'GET' as const, url: `/v1/admin/partners/${reporter.id}` },
    { method: 'PATCH' as const, url: `/v1/admin/partners/${reporter.id}`, payload: { status: 'active' } },
    { method: 'PUT' as const, url: `/v1/admin/partners/${reporter.id}/grants`, payload: { grants: [{ region: 'central-asia' }] } },
    { method: 'POST' as const, url: '/v1/admin/regions', payload: { code: 'mine', name: 'Mine', members: ['TJK'] } },
    { method: 'POST' as const, url: '/v1/admin/keys/rotate', payload: {} }
  ]
  for (const call of calls) {
    const res = await hub.app.inject({ ...call, headers })
    t.equal(res.statusCode, 403, `${call.method} ${call.url}`)
  }
  const grants = await hub.app.inject({ url: `/v1/admin/partners/${reporter.id}/grants`, headers: asAdmin })
  t.same(grants.json().grants, [], 'nothing was granted by the refused call')
})

t.test('create, read, list with a cursor', async (t) => {
  const created = await createPartner(await newPartnerBody('who-euro', { roles: ['reader'] }))
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.headers.location, '/v1/admin/partners/who-euro')
  t.equal(created.json().status, 'active')
  t.equal((await createPartner(await newPartnerBody('who-euro'))).statusCode, 409, 'ids are unique')
  const one = await hub.app.inject({ url: '/v1/admin/partners/who-euro', headers: asAdmin })
  t.equal(one.json().name, 'Partner who-euro')
  t.equal((await hub.app.inject({ url: '/v1/admin/partners/nobody', headers: asAdmin })).statusCode, 404)
  const first = (await hub.app.inject({ url: '/v1/admin/partners?limit=1', headers: asAdmin })).json()
  t.equal(first.items.length, 1)
  t.ok(first.nextCursor)
  const second = (await hub.app.inject({ url: `/v1/admin/partners?limit=1&cursor=${first.nextCursor}`, headers: asAdmin })).json()
  t.not(second.items[0].id, first.items[0].id)
  const bad = await hub.app.inject({ url: '/v1/admin/partners?cursor=%%%', headers: asAdmin })
  t.equal(bad.statusCode, 400)
})

t.test('mass assignment is refused with 422 naming the field', async (t) => {
  const withStatus = await createPartner(await newPartnerBody('mass-1', { status: 'active', createdAt: '2020-01-01' }))
  t.equal(withStatus.statusCode, 422)
  t.match(withStatus.json().errors, [{ path: '/status', message: 'unknown field "status"' }])
  const patchRoles = await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/who-euro', headers: asAdmin, payload: { roles: ['superuser'] } })
  t.equal(patchRoles.statusCode, 422, 'roles may change, to roles that exist')
  t.match(patchRoles.json().errors[0].path, '/roles')
  const patchId = await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/who-euro', headers: asAdmin, payload: { id: 'admin' } })
  t.equal(patchId.statusCode, 422)
  const unchanged = (await hub.app.inject({ url: '/v1/admin/partners/who-euro', headers: asAdmin })).json()
  t.same(unchanged.roles, ['reader'])
  const badStatus = await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/who-euro', headers: asAdmin, payload: { status: 'deleted' } })
  t.equal(badStatus.statusCode, 422)
  const notCoerced = await createPartner({ ...(await newPartnerBody('mass-2')), roles: 'reader' })
  t.equal(notCoerced.statusCode, 422, 'no type coercion of bodies')
})

t.test('__proto__ and constructor keys are refused, nothing is polluted', async (t) => {
  const body = JSON.stringify(await newPartnerBody('proto-1')).replace(/^\{/, '{"__proto__":{"roles":["admin"],"isAdmin":true},')
  const res = await hub.app.inject({ method: 'POST', url: '/v1/admin/partners', headers: { ...asAdmin, 'content-type': 'application/json' }, payload: body })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  const ctor = JSON.stringify(await newPartnerBody('proto-2')).replace(/^\{/, '{"constructor":{"prototype":{"isAdmin":true}},')
  t.equal((await hub.app.inject({ method: 'POST', url: '/v1/admin/partners', headers: { ...asAdmin, 'content-type': 'application/json' }, payload: ctor })).statusCode, 400)
  t.equal(({} as Record<string, unknown>).isAdmin, undefined)
  t.equal((await hub.app.inject({ url: '/v1/admin/partners/proto-1', headers: asAdmin })).statusCode, 404)
})

t.test('malformed JSON and wrong content types are problem+json', async (t) => {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/admin/partners', headers: { ...asAdmin, 'content-type': 'application/json' }, payload: '{"id": ' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().status, 400)
  const xml = await hub.app.inject({ method: 'POST', url: '/v1/admin/partners', headers: { ...asAdmin, 'content-type': 'application/xml' }, payload: '<partner/>' })
  t.equal(xml.statusCode, 415)
  t.equal(xml.json().type, `${PUBLIC_URL}/problems/unsupported-media-type`)
})

t.test('partner keys: private members, weak RSA, HMAC, too many, unknown alg are refused', async (t) => {
  const ec = await generateKeyPair('ES256', { extractable: true })
  const privateJwk = { ...(await exportJWK(ec.privateKey)), kid: 'k1', alg: 'ES256' }
  const withPrivate = await createPartner({ ...(await newPartnerBody('keys-1')), jwks: { keys: [privateJwk] } })
  t.equal(withPrivate.statusCode, 422)
  t.match(withPrivate.json().errors[0].message, /private key material/)

  // jose refuses to make a weak key; node:crypto still can, as an attacker would.
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const weakJwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' }
  const weakRes = await createPartner({ ...(await newPartnerBody('keys-2')), jwks: { keys: [weakJwk] } })
  t.equal(weakRes.statusCode, 422)
  t.match(weakRes.json().errors[0], { path: '/jwks/keys/0/n', message: /2048/ })

  const strong = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const strongJwk = { ...(await exportJWK(strong.publicKey)), kid: 'strong', alg: 'RS256' }
  t.equal((await createPartner({ ...(await newPartnerBody('keys-3')), jwks: { keys: [strongJwk] } })).statusCode, 201)

  const hmac = { kty: 'oct', k: 'c2VjcmV0', kid: 'h', alg: 'HS256' }
  t.equal((await createPartner({ ...(await newPartnerBody('keys-4')), jwks: { keys: [hmac] } })).statusCode, 422)

  const pub = { ...(await exportJWK(ec.publicKey)), alg: 'ES256' }
  const six = Array.from({ length: 6 }, (_, i) => ({ ...pub, kid: `k${i}` }))
  t.equal((await createPartner({ ...(await newPartnerBody('keys-5')), jwks: { keys: six } })).statusCode, 422)

  const mismatched = { ...pub, kid: 'm', alg: 'EdDSA' }
  t.equal((await createPartner({ ...(await newPartnerBody('keys-6')), jwks: { keys: [mismatched] } })).statusCode, 422)
  const noKid = { ...pub }
  t.equal((await createPartner({ ...(await newPartnerBody('keys-7')), jwks: { keys: [noKid] } })).statusCode, 422)
})

t.test('replacing keys: the old key stops working at once', async (t) => {
  const partner = await hub.partner({ roles: ['reader'] })
  const replacement = await newPartnerKey(partner.id, 'EdDSA')
  const res = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${partner.id}`, headers: asAdmin, payload: { jwks: { keys: [replacement.publicJwk] } } })
  t.equal(res.statusCode, 200, res.body)
  await t.rejects(hub.token(partner), /401/)
  t.ok(await hub.token(replacement))
})

t.test('a reporter needs a country; countries must be ISO alpha-3', async (t) => {
  t.equal((await createPartner(await newPartnerBody('rep-1', { roles: ['reporter'] }))).statusCode, 422)
  t.equal((await createPartner(await newPartnerBody('rep-2', { roles: ['reporter'], country: 'XXX' }))).statusCode, 422)
  t.equal((await createPartner(await newPartnerBody('rep-3', { roles: ['reporter'], country: 'kaz' }))).statusCode, 422)
  t.equal((await createPartner(await newPartnerBody('rep-4', { roles: ['reporter'], country: 'KAZ' }))).statusCode, 201)
})

t.test('grants: known units, stricter k only, no subtraction to an ungranted country', async (t) => {
  const partner = await hub.partner({ roles: ['reader'] })
  const put = (grants: unknown[]) => hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${partner.id}/grants`, headers: asAdmin, payload: { grants } })
  const ok = await put([{ region: 'central-asia' }, { region: 'KAZ', k: 11 }])
  t.equal(ok.statusCode, 200, ok.body)
  t.same(ok.json().grants, [{ region: 'KAZ', k: 11 }, { region: 'central-asia', k: null }])
  t.equal((await put([{ region: 'atlantis' }])).statusCode, 422)
  t.equal((await put([{ region: 'KAZ', k: 3 }])).statusCode, 422, 'k below MHX_SUPPRESSION_K is refused')
  t.equal((await put([{ region: 'KAZ' }, { region: 'KAZ' }])).statusCode, 422)
  const leak = await put([{ region: 'central-asia' }, { region: 'KAZ' }, { region: 'KGZ' }, { region: 'TJK' }, { region: 'TKM' }])
  t.equal(leak.statusCode, 409)
  t.match(leak.json().detail, /UZB/)
  t.same(leak.json().countries, ['UZB'])
  t.equal(leak.json().type, `${PUBLIC_URL}/problems/grant-set-exposes-country`)
  const all = await put([{ region: 'central-asia' }, { region: 'KAZ' }, { region: 'KGZ' }, { region: 'TJK' }, { region: 'TKM' }, { region: 'UZB' }])
  t.equal(all.statusCode, 200)
  const after = await hub.app.inject({ url: `/v1/admin/partners/${partner.id}/grants`, headers: asAdmin })
  t.equal(after.json().grants.length, 6, 'the refused set left the previous grants in place')
})

t.test('regions: created once, immutable, members must be countries', async (t) => {
  const create = (payload: unknown) => hub.app.inject({ method: 'POST', url: '/v1/admin/regions', headers: asAdmin, payload: payload as object })
  const made = await create({ code: 'caucasus', name: 'South Caucasus', members: ['GEO', 'ARM', 'AZE'] })
  t.equal(made.statusCode, 201, made.body)
  t.same(made.json().members, ['ARM', 'AZE', 'GEO'])
  t.equal((await create({ code: 'caucasus', name: 'Changed', members: ['GEO'] })).statusCode, 409)
  t.equal((await create({ code: 'bad', name: 'Bad', members: ['ZZZ'] })).statusCode, 422)
  t.equal((await create({ code: 'Upper', name: 'Bad', members: ['GEO'] })).statusCode, 422)
  const list = (await hub.app.inject({ url: '/v1/admin/regions', headers: asAdmin })).json()
  t.same(list.items.map((r: { code: string }) => r.code), ['caucasus', 'central-asia'])
})

t.test('admin changes are audited', async (t) => {
  const { auditLog } = await import('../../src/db/schema.js')
  const rows = await hub.database.db.select().from(auditLog)
  const actions = new Set(rows.map((r) => r.action))
  for (const action of ['partner.create', 'partner.change', 'grants.replace', 'region.create']) t.ok(actions.has(action), action)
})
