// Consents through the API: the steward's list, decisions and their refusals, origin grants, and a
// decision acting on the next request in another process (two apps on one database).
import t from 'tap'
import type { Test } from 'tap'
import { loadStewardshipState } from '../../src/stewardship/book.js'
import { decideRead } from '../../src/policy/read.js'
import { buildTestHub, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const adminToken = await hub.token(hub.admin)
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })

const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const who = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'central-asia' }] })
const kgz = await hub.partner({ id: 'kgz-moh', roles: ['reporter', 'steward'], country: 'KGZ' })

t.test('a steward needs a country, like a reporter', async (t) => {
  const res = await hub.app.inject({
    method: 'POST', url: '/v1/admin/partners', headers: { authorization: `Bearer ${adminToken}` },
    payload: { id: 'no-country', name: 'x', roles: ['steward'], jwks: { keys: [] } }
  })
  t.equal(res.statusCode, 422)
  t.match(res.json(), { errors: [{ path: '/country', message: 'required for the steward role' }] })
})

t.test('a new grant reaching the country makes a pending item; the country\'s own partners are not listed', async (t) => {
  const res = await hub.app.inject({ url: '/v1/consents', headers: await as(kaz) })
  t.equal(res.statusCode, 200)
  t.same(res.json().items, [{ reader: 'who-euro', readerName: 'Partner who-euro', state: 'pending', k: null, release: null, until: null, decidedAt: null }])
  t.equal((await hub.app.inject({ url: '/v1/consents', headers: await as(who) })).statusCode, 403, 'a reader is no steward')
})

t.test('bad decisions are 422 naming the field, and change nothing', async (t) => {
  const headers = await as(kaz)
  for (const [payload, path] of [
    [{ decision: 'grant', k: 3 }, '/k'],
    [{ decision: 'grant', until: '2020-01-01' }, '/until'],
    [{ decision: 'grant', until: '2026-02-30' }, '/until'],
    [{ decision: 'refuse', k: 10 }, '/k'],
    [{ decision: 'grant', release: 'draft' }, '/release']
  ] as const) {
    const res = await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers, payload })
    t.equal(res.statusCode, 422, JSON.stringify(payload))
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.ok(res.json().errors.some((e: { path: string }) => e.path === path), `names ${path}`)
  }
  const unknown = await hub.app.inject({ method: 'PUT', url: '/v1/consents/nobody', headers, payload: { decision: 'grant' } })
  t.equal(unknown.statusCode, 422)
  const list = await hub.app.inject({ url: '/v1/consents', headers })
  t.equal(list.json().items[0].state, 'pending', 'nothing changed')
})

t.test('a steward decides for its own country only: the decision lands on KAZ, not on KGZ', async (t) => {
  const res = await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'grant', k: 10, release: 'live', until: '2999-12-31' } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { reader: 'who-euro', state: 'granted', k: 10, release: 'live', until: '2999-12-31' })
  const kgzList = await hub.app.inject({ url: '/v1/consents', headers: await as(kgz) })
  t.equal(kgzList.json().items[0].state, 'pending', 'KGZ\'s list is untouched')
  // A body naming another country is refused, not obeyed.
  const sneaky = await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'refuse', country: 'KGZ' } })
  t.equal(sneaky.statusCode, 422)
  t.match(sneaky.json(), { errors: [{ path: '/country' }] })
  const audit = await hub.app.inject({ url: '/v1/admin/audit?action=consent.grant', headers: { authorization: `Bearer ${adminToken}` } })
  t.match(audit.json().items[0], { partnerId: 'kaz-moh', subject: 'who-euro', detail: { country: 'KAZ', k: 10 } })
})

t.test('origin grants: stored and listed with countryOfOrigin; a bad origin is a 422', async (t) => {
  const tjk = await hub.partner({ id: 'tjk-moh', roles: ['reader', 'steward'], country: 'TJK' })
  const headers = { authorization: `Bearer ${adminToken}` }
  const put = await hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${tjk.id}/grants`, headers, payload: { grants: [{ region: 'RUS', countryOfOrigin: 'TJK' }] } })
  t.equal(put.statusCode, 200)
  t.same(put.json().grants, [{ region: 'RUS', k: null, countryOfOrigin: 'TJK' }])
  const bad = await hub.app.inject({ method: 'PUT', url: `/v1/admin/partners/${tjk.id}/grants`, headers, payload: { grants: [{ region: 'RUS', countryOfOrigin: 'tjk' }] } })
  t.equal(bad.statusCode, 422)
  t.same((await hub.directory.get(tjk.id))?.grants, [{ region: 'RUS', k: null, countryOfOrigin: 'TJK' }])
})

t.test('a refused or expired consent acts on the next request, also in a second process', async (t) => {
  const replica = await buildTestHub(t, { database: hub.database, config: { consent: 'required' } })
  const periods = async (app: TestHub) => app.app.inject({ url: '/v1/periods?region=KAZ&from=2026-01&to=2026-02', headers: await as(who) })
  // who-euro needs a grant on KAZ itself to list its periods.
  await hub.app.inject({ method: 'PUT', url: '/v1/admin/partners/who-euro/grants', headers: { authorization: `Bearer ${adminToken}` }, payload: { grants: [{ region: 'central-asia' }, { region: 'KAZ' }] } })
  await waitStatus(t, () => periods(replica), 200, 'the replica sees the consent')
  const refuse = await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'refuse' } })
  t.equal(refuse.statusCode, 200)
  const here = await periods(hub)
  t.equal(here.statusCode, 403, 'the next request in this process')
  t.same(here.json().missingConsents, ['KAZ'])
  const listed = await hub.app.inject({ url: '/v1/regions', headers: await as(who) })
  t.match(listed.json().items.find((r: { code: string }) => r.code === 'KAZ'), { readable: false, missingConsents: ['KAZ'] }, 'the listing says whose consent a granted unit lacks')
  await waitStatus(t, () => periods(replica), 403, 'the replica hears the refusal')

  const today = new Date().toISOString().slice(0, 10)
  await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'grant', until: today } })
  await waitStatus(t, () => periods(replica), 200, 'granted through today')
  // The day after `until` the same state refuses (the clock of a read is its request's).
  const state = await loadStewardshipState(hub.database.db)
  const reader = { partnerId: 'who-euro', country: null, roles: ['reader'], scopes: new Set(['aggregates:read']), grants: [{ region: 'KAZ', k: null }] }
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
  const read = { purpose: 'counts' as const, unit: { code: 'KAZ', members: ['KAZ'] }, counted: ['KAZ'], singledOut: [], sensitive: false }
  const policy = { stewardship: state, consent: 'required' as const, hubK: 5, sensitiveK: 11 }
  t.match(decideRead(reader, read, { ...policy, today }), { ok: true })
  t.match(decideRead(reader, read, { ...policy, today: tomorrow }), { ok: false, kind: 'consentMissing', missingConsents: ['KAZ'] })
})

async function waitStatus (t: Test, call: () => Promise<{ statusCode: number }>, want: number, what: string) {
  let status = 0
  for (let i = 0; i < 100 && status !== want; i++) {
    status = (await call()).statusCode
    if (status !== want) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(status, want, what)
}
