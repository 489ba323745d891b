// The order of checks: who you are before what you sent, and an admin the hub cannot lose.
import t from 'tap'
import { buildTestHub } from '../helpers.js'

const hub = await buildTestHub(t)

t.test('without a token, a bad body or query is 401, never 422 or 400 (nothing is validated for strangers)', async (t) => {
  const attempts = [
    { method: 'POST' as const, url: '/v1/admin/partners', payload: { id: '!', roles: ['nope'] } },
    { method: 'PATCH' as const, url: '/v1/admin/partners/admin', payload: { status: 'gone' } },
    { method: 'PUT' as const, url: '/v1/admin/partners/admin/grants', payload: { grants: 'all' } },
    { method: 'POST' as const, url: '/v1/admin/regions', payload: {} },
    { method: 'POST' as const, url: '/v1/admin/keys/rotate', payload: { use: 'everything' } },
    { method: 'POST' as const, url: '/v1/admin/keys/revoke', payload: {} },
    { method: 'GET' as const, url: '/v1/admin/audit?order=sideways' },
    { method: 'GET' as const, url: '/v1/aggregates?by=nonsense&from=bad' },
    { method: 'POST' as const, url: '/v1/submissions', payload: { records: 'x' } }
  ]
  for (const attempt of attempts) {
    const res = await hub.app.inject({ ...attempt, headers: { authorization: 'Bearer not.a.token' } })
    t.equal(res.statusCode, 401, `${attempt.method} ${attempt.url}: ${res.body}`)
    t.equal(res.json().type, `${hub.config.publicUrl}/problems/unauthenticated`)
    const none = await hub.app.inject(attempt)
    t.equal(none.statusCode, 401, `${attempt.method} ${attempt.url} with no token`)
  }
})

t.test('every secured operation of the OpenAPI document: 401 before anything is read, 403 without its scope', async (t) => {
  const paths = (hub.app.swagger() as { paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>, requestBody?: unknown }>> }).paths
  const roleOf: Record<string, string> = { 'submissions:write': 'reporter', 'aggregates:read': 'reader', admin: 'admin', 'data:steward': 'steward' }
  const tokens = new Map<string, string>()
  /** A token of a partner holding every scope but these (never admin: the hub's admins are counted below). */
  async function tokenWithout (scopes: string[]): Promise<string> {
    const roles = Object.entries(roleOf).filter(([scope]) => !scopes.includes(scope) && scope !== 'admin').map(([, role]) => role)
    const key = roles.join()
    if (!tokens.has(key)) tokens.set(key, await hub.token(await hub.partner({ roles, country: 'TKM' })))
    return tokens.get(key)!
  }
  let secured = 0
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const alternatives = (operation.security ?? []).filter((s) => 'bearer' in s).map((s) => s.bearer)
      if (alternatives.length === 0) continue
      secured++
      const call = {
        method: method.toUpperCase() as 'GET',
        url: `${path.replace(/\{[^}]+\}/g, 'x')}?by=nonsense&from=bad&unknown=1`,
        ...(operation.requestBody ? { payload: '{"unclosed": [', headers: { 'content-type': 'application/json' } } : {})
      }
      const name = `${method.toUpperCase()} ${path}`
      const none = await hub.app.inject(call)
      t.equal(none.statusCode, 401, `${name} without a token: ${none.body.slice(0, 120)}`)
      const bad = await hub.app.inject({ ...call, headers: { ...call.headers, authorization: 'Bearer not.a.token' } })
      t.equal(bad.statusCode, 401, `${name} with a bad token`)
      const admitting = alternatives.flat()
      if (admitting.length === 0) continue
      const refused = await hub.app.inject({ ...call, headers: { ...call.headers, authorization: `Bearer ${await tokenWithout(admitting)}` } })
      t.equal(refused.statusCode, 403, `${name} without ${admitting.join(' or ')}: ${refused.body.slice(0, 160)}`)
      t.match(refused.json().type, /\/problems\/scope-missing$/, `${name}: the problem names the missing scope`)
    }
  }
  t.ok(secured >= 30, `${secured} secured operations checked`)
})

t.test('the last active admin cannot be suspended (409); with a second admin it can', async (t) => {
  const admin = { authorization: `Bearer ${await hub.token(hub.admin)}` }
  const self = await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/admin', headers: admin, payload: { status: 'suspended' } })
  t.equal(self.statusCode, 409, self.body)
  t.equal(self.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(self.json().detail, /last active admin/)
  t.equal((await hub.app.inject({ url: '/v1/me', headers: admin })).statusCode, 200, 'still an admin')

  const second = await hub.partner({ roles: ['admin'] })
  const secondAdmin = { authorization: `Bearer ${await hub.token(second)}` }
  const first = await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/admin', headers: secondAdmin, payload: { status: 'suspended' } })
  t.equal(first.statusCode, 200, first.body)
  const last = await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${second.id}`, headers: secondAdmin, payload: { status: 'suspended' } })
  t.equal(last.statusCode, 409, 'now the second is the last one')
  t.equal((await hub.app.inject({ method: 'PATCH', url: '/v1/admin/partners/admin', headers: secondAdmin, payload: { status: 'active' } })).statusCode, 200)
})

t.test('two admins suspending each other at once: one of them stays', async (t) => {
  const one = await hub.partner({ roles: ['admin'] })
  const two = await hub.partner({ roles: ['admin'] })
  const asOne = { authorization: `Bearer ${await hub.token(one)}` }
  const asTwo = { authorization: `Bearer ${await hub.token(two)}` }
  const activeAdmins = async () => (await hub.database.db.query.partners.findMany())
    .filter((p) => p.status === 'active' && p.roles.includes('admin')).map((p) => p.id)
  // Exactly these two left active.
  const others = (await activeAdmins()).filter((id) => id !== one.id && id !== two.id)
  for (const id of others) {
    t.equal((await hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${id}`, headers: asOne, payload: { status: 'suspended' } })).statusCode, 200)
  }
  const [a, b] = await Promise.all([
    hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${two.id}`, headers: asOne, payload: { status: 'suspended' } }),
    hub.app.inject({ method: 'PATCH', url: `/v1/admin/partners/${one.id}`, headers: asTwo, payload: { status: 'suspended' } })
  ])
  // One wins; the other is refused as the last admin (409) or, if it came second, as suspended (401).
  t.equal([a, b].filter((r) => r.statusCode === 200).length, 1, `${a.statusCode} ${b.statusCode}`)
  t.equal((await activeAdmins()).length, 1, 'one active admin is left')
})
