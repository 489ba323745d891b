// Rate limits under attack: a flood of assertions, one client from many addresses, one partner's
// burst, and the budget shared by two API instances on one Redis.
// @embedded: the in-memory limiter is the embedded default's; Redis's is tested when REDIS_URL is set
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { baseConfig, buildTestHub, clientAssertion, newPartnerKey, testDatabase, tokenForm, type TestHub } from '../helpers.js'

const LIMIT = 5

async function askToken (hub: TestHub, payload: string, remoteAddress = '127.0.0.1') {
  return hub.app.inject({ method: 'POST', url: '/v1/oauth/token', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload })
}

t.test('failures per address: a ceiling ten times the per-client limit, 429 in RFC 6749 form with Retry-After', async (t) => {
  const hub = await buildTestHub(t, { config: { rateToken: LIMIT } })
  const attacker = await newPartnerKey('no-such-partner')
  const ceiling = LIMIT * 10
  const answers = []
  for (let i = 0; i < ceiling + 3; i++) {
    // A different claimed client each time: only the address's failures can stop it.
    answers.push(await askToken(hub, tokenForm(await clientAssertion(attacker, { iss: `guess-${i}`, sub: `guess-${i}` })), '203.0.113.7'))
  }
  t.same(answers.slice(0, ceiling).map((r) => r.statusCode), Array(ceiling).fill(401))
  for (const res of answers.slice(ceiling)) {
    t.equal(res.statusCode, 429)
    t.equal(res.json().error, 'temporarily_unavailable', 'an RFC 6749 error code')
    t.type(res.json().error_description, 'string')
    t.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 60, `Retry-After ${res.headers['retry-after']}`)
  }
  t.equal((await askToken(hub, tokenForm(await clientAssertion(hub.admin)), '203.0.113.7')).statusCode, 200, 'a good assertion from that address still gets its token')
})

t.test('130 bad assertions naming one partner leave another partner at the same address unaffected', async (t) => {
  const hub = await buildTestHub(t, { config: { rateToken: 120 } })
  const victim = await hub.partner({ roles: ['reader'] })
  const neighbour = await hub.partner({ roles: ['reader'] })
  const forger = await newPartnerKey(victim.id)
  const codes = []
  for (let i = 0; i < 130; i++) codes.push((await askToken(hub, tokenForm(await clientAssertion(forger)), '198.51.100.20')).statusCode)
  t.same([...new Set(codes.slice(0, 120))], [401], 'the forged assertions fail')
  t.same([...new Set(codes.slice(120))], [429], 'and past the per-client limit they are slowed down')
  const neighbours = []
  for (let i = 0; i < 5; i++) neighbours.push((await askToken(hub, tokenForm(await clientAssertion(neighbour)), '198.51.100.20')).statusCode)
  t.same(neighbours, Array(5).fill(200), 'the neighbour gets its tokens')
})

t.test('one client from many addresses is limited per client', async (t) => {
  const hub = await buildTestHub(t, { config: { rateToken: LIMIT } })
  const codes = []
  for (let i = 0; i < LIMIT + 2; i++) codes.push((await askToken(hub, tokenForm(await clientAssertion(hub.admin)), `192.0.2.${i + 1}`)).statusCode)
  t.same(codes, [...Array(LIMIT).fill(200), 429, 429])
})

t.test('other routes: MHX_RATE_API per partner, 429 problem+json with Retry-After', async (t) => {
  const hub = await buildTestHub(t, { config: { rateApi: LIMIT } })
  const reader = await hub.partner({ roles: ['reader'] })
  const token = await hub.token(reader)
  const codes = []
  let last
  for (let i = 0; i < LIMIT + 1; i++) {
    last = await hub.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
    codes.push(last.statusCode)
  }
  t.same(codes, [...Array(LIMIT).fill(200), 429])
  t.equal(last!.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(last!.json().type, `${hub.config.publicUrl}/problems/rate-limited`)
  t.ok(Number(last!.headers['retry-after']) >= 1)
  const another = await hub.token(hub.admin)
  t.equal((await hub.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${another}` } })).statusCode, 200, 'another partner has its own budget')

  // Bad tokens count against their address: a flood of them ends in 429, not endless 401s.
  const bad = []
  for (let i = 0; i < LIMIT + 1; i++) bad.push((await hub.app.inject({ url: '/v1/me', remoteAddress: '203.0.113.9', headers: { authorization: 'Bearer a.b.c' } })).statusCode)
  t.same(bad, [...Array(LIMIT).fill(401), 429])
})

t.test('0 turns a limit off', async (t) => {
  const hub = await buildTestHub(t, { config: { rateToken: 0, rateApi: 0 } })
  const token = await hub.token(hub.admin)
  for (let i = 0; i < 30; i++) {
    const res = await hub.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
    if (res.statusCode !== 200) return t.fail(`request ${i}: ${res.statusCode}`)
  }
  for (let i = 0; i < 30; i++) {
    const res = await askToken(hub, tokenForm(await clientAssertion(hub.admin)))
    if (res.statusCode !== 200) return t.fail(`token ${i}: ${res.statusCode}`)
  }
  t.pass('60 requests, none limited')
})

t.test('two API instances on one Redis share the budgets', { skip: baseConfig.redisUrl === undefined && 'REDIS_URL is not set' }, async (t) => {
  const redis = new Redis(baseConfig.redisUrl!, { maxRetriesPerRequest: 1 })
  t.teardown(() => redis.disconnect())
  // A prefix of this run's own: another test run on the same Redis counts elsewhere.
  const config = { rateToken: LIMIT, rateApi: LIMIT, queuePrefix: `mhx-t-${randomUUID().slice(0, 8)}` }
  const database = await testDatabase(t)
  const a = await buildTestHub(t, { config, database, rateLimitRedis: redis })
  const b = await buildTestHub(t, { config, database, rateLimitRedis: redis })

  const tokens = []
  for (let i = 0; i < LIMIT; i++) {
    const res = await askToken(i % 2 === 0 ? a : b, tokenForm(await clientAssertion(a.admin)), `192.0.2.${i + 1}`)
    t.equal(res.statusCode, 200, res.body)
    tokens.push(res.json().access_token)
  }
  t.equal((await askToken(b, tokenForm(await clientAssertion(a.admin)), '192.0.2.99')).statusCode, 429, 'the client budget spent on A and B is spent on both')

  const codes = []
  for (let i = 0; i < LIMIT + 1; i++) codes.push((await (i % 2 === 0 ? b : a).app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${tokens[0]}` } })).statusCode)
  t.same(codes, [...Array(LIMIT).fill(200), 429])
})
