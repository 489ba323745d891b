// Notifications end to end: a steward publishes, subscribers' receivers (local HTTP servers) get
// Standard Webhooks that the standardwebhooks package verifies; a failing receiver gets the event
// on a later try; only partners who may read the country at delivery time hear of it; URLs that
// would reach the hub's own network are refused at subscription and again at delivery.
// @embedded: deliveries through the in-process queue (BullMQ's when REDIS_URL is set)
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { systemResolve, type Resolve } from '../../src/notifications/address.js'
import { createBullmqDeliveryQueue, createInProcessDeliveryQueue, type DeliveryQueue } from '../../src/notifications/queue.js'
import { startNotifications, type Notifications } from '../../src/notifications/runtime.js'
import { secretAad } from '../../src/notifications/subscriptions.js'
import { buildTestHub, waitFor, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required', webhookAllowHosts: ['127.0.0.1'] } })
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })

interface Received { path: string, headers: IncomingHttpHeaders, body: string }

/** A receiver on 127.0.0.1: answers each path's queued statuses first, then 204. */
async function receiver (): Promise<{ server: Server, base: string, received: Received[], failNext (path: string, ...statuses: number[]): void }> {
  const received: Received[] = []
  const planned = new Map<string, number[]>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.statusCode = planned.get(req.url ?? '')?.shift() ?? 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  return { server, base: `http://127.0.0.1:${port}`, received, failNext: (path, ...statuses) => planned.set(path, statuses) }
}

const rx = await receiver()
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const published = await hub.partner({ id: 'reader-published', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const live = await hub.partner({ id: 'reader-live', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const withdrawn = await hub.partner({ id: 'reader-withdrawn', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const stranger = await hub.partner({ id: 'reader-no-consent', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const regional = await hub.partner({ id: 'reader-region', roles: ['reader'], grants: [{ region: 'central-asia' }] })
const reporter = await hub.partner({ id: 'reporter-only', roles: ['reporter'], country: 'KGZ' })

async function consent (reader: TestPartner, decision: 'grant' | 'refuse', release: 'live' | 'published' = 'published') {
  const res = await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader.id}`, headers: await as(kaz), payload: decision === 'grant' ? { decision, release } : { decision } })
  if (res.statusCode !== 200) throw new Error(`consent: ${res.statusCode} ${res.body}`)
}
await consent(published, 'grant', 'published')
await consent(live, 'grant', 'live')
await consent(withdrawn, 'grant', 'live')

async function subscribe (partner: TestPartner, payload: object) {
  return hub.app.inject({ method: 'POST', url: '/v1/subscriptions', headers: await as(partner), payload })
}
const secrets = new Map<string, string>()
const subscriptionOf = new Map<string, string>()
for (const partner of [published, live, withdrawn, stranger, regional]) {
  const res = await subscribe(partner, { url: `${rx.base}/${partner.id}`, events: ['period.published', 'period.revised'] })
  if (res.statusCode !== 201) throw new Error(`subscribe: ${res.statusCode} ${res.body}`)
  secrets.set(partner.id, res.json().secret)
  subscriptionOf.set(partner.id, res.json().id)
}
const publish = async (period: string) => {
  const res = await hub.app.inject({ method: 'POST', url: `/v1/periods/KAZ/${period}/publish`, headers: await as(kaz) })
  if (res.statusCode !== 201) throw new Error(`publish: ${res.statusCode} ${res.body}`)
  return res.json()
}
const deliveriesOf = async (partner: TestPartner) => {
  const res = await hub.app.inject({ url: `/v1/subscriptions/${subscriptionOf.get(partner.id)}/deliveries`, headers: await as(partner) })
  if (res.statusCode !== 200) throw new Error(`deliveries: ${res.statusCode} ${res.body}`)
  return res.json().items as Array<{ state: string, event: { type: string, period: string, revision: number }, attempts: Array<{ status: number | null, error: string | null }> }>
}
const to = (partner: TestPartner, period?: string) => rx.received.filter((r) => r.path === `/${partner.id}` && (period === undefined || JSON.parse(r.body).data.period === period))

// Delivery through BullMQ when REDIS_URL is set (as the service does), in-process otherwise; short backoff.
const retry = { attempts: 4, backoffMs: 100 }
function deliveryQueue (): DeliveryQueue {
  if (!hub.config.redisUrl) return createInProcessDeliveryQueue(retry)
  return createBullmqDeliveryQueue({ redisUrl: hub.config.redisUrl, prefix: `mhx-t-${randomUUID().slice(0, 8)}`, concurrency: 4, lockMs: 5_000, retry, logger: pino({ level: 'silent' }) })
}
// A name that resolved to a public address when subscribed and resolves to loopback at delivery.
const resolve: Resolve = async (host) => host === 'rebind.test' ? [{ address: '127.0.0.1', family: 4 }] : systemResolve(host)
let runtime: Notifications | undefined
async function startDelivering (): Promise<Notifications> {
  runtime = await startNotifications({
    config: hub.config, database: hub.database, queue: deliveryQueue(), unseal: (s, aad) => hub.keys.unseal(s, aad), logger: pino({ level: 'silent' }), resolve, timeoutMs: 2_000
  })
  return runtime
}
t.teardown(() => runtime?.close())

t.test('a month published while nobody delivers: sent at start to readers who may read it then, never to one whose consent was withdrawn', async (t) => {
  await publish('2026-01')
  const pending = await rows<{ n: string | number }>(hub.database.db, sql`SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'`)
  t.equal(Number(pending[0].n), 5, 'one delivery per subscription, written with the publication')
  await consent(withdrawn, 'refuse')
  await startDelivering()
  await waitFor(async () => to(published, '2026-01').length === 1 && to(live, '2026-01').length === 1, 10_000)
  await waitFor(async () => Number((await rows<{ n: string | number }>(hub.database.db, sql`SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'`))[0].n) === 0, 10_000)
  const states = await rows<{ partner_id: string, state: string }>(hub.database.db, sql`
    SELECT s.partner_id, d.state FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id ORDER BY s.partner_id`)
  t.same(states.map((r) => [r.partner_id, r.state]), [
    ['reader-live', 'delivered'], ['reader-no-consent', 'withheld'], ['reader-published', 'delivered'], ['reader-region', 'withheld'], ['reader-withdrawn', 'withheld']
  ])
  t.equal(to(withdrawn).length, 0, 'consent withdrawn before delivery: nothing')
  t.equal(to(stranger).length, 0, 'no consent: nothing')
  t.equal(to(regional).length, 0, 'a region whose other members have not consented: nothing (as GET /v1/periods would refuse)')
  t.same(await deliveriesOf(withdrawn), [], 'and nothing in its delivery log either')
  t.same(await deliveriesOf(stranger), [])
})

t.test('a delivery verifies with the standardwebhooks package; tampering does not', async (t) => {
  const publication = await publish('2026-02')
  await waitFor(async () => to(published, '2026-02').length === 1 && to(live, '2026-02').length === 1, 10_000)
  for (const partner of [published, live]) {
    const [message] = to(partner, '2026-02')
    const verified = new Webhook(secrets.get(partner.id)!).verify(message.body, message.headers as Record<string, string>) as { type: string, data: Record<string, unknown> }
    t.same(verified.data, { country: 'KAZ', period: '2026-02', revision: 1, publishedAt: publication.publishedAt }, `${partner.id}: a live and a published consent alike`)
    t.equal(verified.type, 'period.published')
    t.notOk('records' in verified.data, 'no count leaves with an event')
    t.match(message.headers['webhook-id'], /^msg_[0-9a-f]{32}$/)
    t.match(message.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+={0,2}$/)
    t.throws(() => new Webhook(secrets.get(partner.id)!).verify(message.body.replace('2026-02', '2026-03'), message.headers as Record<string, string>), 'a changed body fails')
    t.throws(() => new Webhook(secrets.get(live.id === partner.id ? published.id : live.id)!).verify(message.body, message.headers as Record<string, string>), 'another subscription\'s secret fails')
  }
  await publish('2026-02')
  await waitFor(async () => to(published, '2026-02').length === 2, 10_000)
  const revised = JSON.parse(to(published, '2026-02')[1].body)
  t.match(revised, { type: 'period.revised', data: { period: '2026-02', revision: 2 } })
})

t.test('a receiver that fails twice gets the event on the third try, under the same webhook-id; the log shows every try', async (t) => {
  rx.failNext(`/${published.id}`, 500, 503)
  await publish('2026-03')
  await waitFor(async () => to(published, '2026-03').length === 3, 10_000)
  const tries = to(published, '2026-03')
  t.equal(new Set(tries.map((r) => r.headers['webhook-id'])).size, 1, 'one message id on every try')
  t.doesNotThrow(() => new Webhook(secrets.get(published.id)!).verify(tries[2].body, tries[2].headers as Record<string, string>))
  await waitFor(async () => (await deliveriesOf(published)).find((d) => d.event.period === '2026-03')?.state === 'delivered', 5_000)
  const logged = (await deliveriesOf(published)).find((d) => d.event.period === '2026-03')!
  t.match(logged, { state: 'delivered', event: { type: 'period.published', period: '2026-03', revision: 1 } })
  t.same(logged.attempts.map((a) => [a.status, a.error]), [[500, 'answered 500'], [503, 'answered 503'], [204, null]])
  const log = await deliveriesOf(published)
  t.same(log.map((d) => `${d.event.period}/${d.event.revision}`), ['2026-03/1', '2026-02/2', '2026-02/1', '2026-01/1'], 'newest first')
  const page = await hub.app.inject({ url: `/v1/subscriptions/${subscriptionOf.get(published.id)}/deliveries?limit=3`, headers: await as(published) })
  const next = await hub.app.inject({ url: `/v1/subscriptions/${subscriptionOf.get(published.id)}/deliveries?limit=3&cursor=${page.json().nextCursor}`, headers: await as(published) })
  t.same([...page.json().items, ...next.json().items].map((d: { id: string }) => d.id), (log as unknown as Array<{ id: string }>).map((d) => d.id), 'pages')
})

t.test('a receiver that always fails: the delivery is failed after its last try', async (t) => {
  rx.failNext(`/${live.id}`, ...Array.from({ length: retry.attempts }, () => 500))
  await publish('2026-04')
  await waitFor(async () => (await deliveriesOf(live)).find((d) => d.event.period === '2026-04')?.state === 'failed', 10_000)
  t.equal(to(live, '2026-04').length, retry.attempts, 'every try made, and no more')
  t.equal(to(published, '2026-04').length, 1, 'another subscriber is not held up')
})

t.test('a partner sees and deletes only its own subscriptions; a deleted one gets nothing more', async (t) => {
  const mine = await subscribe(live, { url: `${rx.base}/mine`, events: ['period.revised'], regions: ['KAZ'] })
  t.equal(mine.statusCode, 201, mine.body)
  const body = mine.json()
  t.match(body, { url: `${rx.base}/mine`, events: ['period.revised'], regions: ['KAZ'], secret: /^whsec_[A-Za-z0-9+/]{43}=$/ })
  t.equal(mine.headers.location, `/v1/subscriptions/${body.id}`)
  const shown = await hub.app.inject({ url: `/v1/subscriptions/${body.id}`, headers: await as(live) })
  t.equal(shown.statusCode, 200)
  t.notOk('secret' in shown.json(), 'the secret is shown once')
  const sealed = await rows<{ secret_sealed: string }>(hub.database.db, sql`SELECT secret_sealed FROM subscriptions WHERE id = ${body.id}`)
  t.not(sealed[0].secret_sealed, body.secret, 'stored sealed')
  t.equal(hub.keys.unseal(sealed[0].secret_sealed, secretAad(body.id)), body.secret)
  t.throws(() => hub.keys.unseal(sealed[0].secret_sealed, secretAad(randomUUID())), 'bound to its row')

  const other = await as(published)
  for (const call of [
    { method: 'GET' as const, url: `/v1/subscriptions/${body.id}` },
    { method: 'GET' as const, url: `/v1/subscriptions/${body.id}/deliveries` },
    { method: 'DELETE' as const, url: `/v1/subscriptions/${body.id}` }
  ]) {
    const res = await hub.app.inject({ ...call, headers: other })
    t.equal(res.statusCode, 404, `another partner's: ${call.method} ${call.url}`)
    t.match(res.json().type, /\/problems\/not-found$/)
  }
  const theirs = await hub.app.inject({ url: '/v1/subscriptions', headers: other })
  t.notOk(theirs.json().items.some((s: { id: string }) => s.id === body.id), 'not in another partner\'s list')
  const list = await hub.app.inject({ url: '/v1/subscriptions', headers: await as(live) })
  t.same(list.json().items.map((s: { id: string }) => s.id), [subscriptionOf.get(live.id), body.id])
  t.equal((await hub.app.inject({ url: '/v1/subscriptions/not-a-uuid', headers: await as(live) })).statusCode, 404)

  const refused = await hub.app.inject({ url: '/v1/subscriptions', headers: await as(reporter) })
  t.equal(refused.statusCode, 403, 'a reporter only reads nothing, and subscribes to nothing')
  t.equal((await hub.app.inject({ url: '/v1/subscriptions' })).statusCode, 401)

  const gone = await hub.app.inject({ method: 'DELETE', url: `/v1/subscriptions/${body.id}`, headers: await as(live) })
  t.equal(gone.statusCode, 204)
  t.equal((await hub.app.inject({ url: `/v1/subscriptions/${body.id}`, headers: await as(live) })).statusCode, 404)
  await publish('2026-01')
  await waitFor(async () => to(live, '2026-01').length === 2, 10_000)
  t.equal(rx.received.filter((r) => r.path === '/mine').length, 0, 'the deleted subscription heard nothing')
})

t.test('URLs that reach the hub\'s own network are refused at subscription, naming the field; nothing is stored', async (t) => {
  const before = (await hub.app.inject({ url: '/v1/subscriptions', headers: await as(live) })).json().items.length
  const cases: Array<[string, RegExp]> = [
    ['http://example.org/hook', /must use https/],
    ['ftp://example.org/hook', /must use https/],
    ['https://localhost/hook', /127\.0\.0\.1 is a loopback address \(localhost resolves to it\)|::1 is a loopback address/],
    [`https://localhost:${new URL(rx.base).port}/hook`, /loopback/],
    ['https://10.1.2.3/hook', /10\.1\.2\.3 is a private address/],
    ['https://192.168.0.10/hook', /private/],
    ['https://172.20.0.1/hook', /private/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://[::1]/hook', /::1 is a loopback address/],
    ['https://[fe80::1]/hook', /link-local/],
    ['https://[fd12::1]/hook', /unique local/],
    ['https://[::ffff:127.0.0.1]/hook', /::ffff:7f00:1 is a loopback address/],
    // 127.0.0.1 is listed, but not these spellings of it
    ['https://2130706433/hook', /127\.0\.0\.1 is a loopback/],
    ['http://127.1/hook', /must use https/],
    ['https://0.0.0.0/hook', /unspecified/],
    ['https://user:pw@example.org/hook', /user name or password/],
    ['not a url', /absolute URL/],
    ['https://no-such-host.invalid/hook', /does not resolve/]
  ]
  for (const [url, message] of cases) {
    const res = await subscribe(live, { url, events: ['period.published'] })
    t.equal(res.statusCode, 422, `${url}: ${res.body}`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(res.json(), { type: /\/problems\/validation$/, errors: [{ path: '/url', message }] }, url)
  }
  const badInput: Array<[object, string]> = [
    [{ url: 'https://93.184.215.14/hook', events: ['period.deleted'] }, '/events/0'],
    [{ url: 'https://93.184.215.14/hook', events: [] }, '/events'],
    [{ url: 'https://93.184.215.14/hook' }, '/events'],
    [{ url: 'https://93.184.215.14/hook', events: ['period.published'], regions: ['atlantis'] }, '/regions/0'],
    [{ url: 'https://93.184.215.14/hook', events: ['period.published'], secret: 'mine' }, '/secret']
  ]
  for (const [payload, path] of badInput) {
    const res = await subscribe(live, payload)
    t.equal(res.statusCode, 422, res.body)
    t.ok(res.json().errors.some((e: { path: string }) => e.path === path), `${JSON.stringify(payload)} names ${path}: ${res.body}`)
  }
  t.equal((await hub.app.inject({ url: '/v1/subscriptions', headers: await as(live) })).json().items.length, before, 'nothing stored')
  const publicAddress = await subscribe(live, { url: 'https://93.184.215.14/hook', events: ['period.published'], regions: ['central-asia'] })
  t.equal(publicAddress.statusCode, 201, 'a public address is fine (not contacted at subscription)')
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/v1/subscriptions/${publicAddress.json().id}`, headers: await as(live) })).statusCode, 204)
  t.equal((await subscribe(live, { url: `${rx.base}/allowed-http`, events: ['period.published'] })).statusCode, 201, 'http to a listed host')
})

t.test('at delivery a name is resolved again: one that now points at loopback is refused, and logged', async (t) => {
  // As if rebind.test resolved to a public address when subscribed (made here directly).
  const id = randomUUID()
  const secret = 'whsec_' + Buffer.alloc(32, 1).toString('base64')
  await hub.database.db.execute(sql`
    INSERT INTO subscriptions (id, partner_id, url, events, secret_sealed, created_at)
    VALUES (${id}, ${live.id}, ${`https://rebind.test:${new URL(rx.base).port}/rebind`}, ARRAY['period.published', 'period.revised']::text[], ${hub.keys.seal(secret, secretAad(id))}, now())`)
  subscriptionOf.set('rebind', id)
  await publish('2026-05')
  await waitFor(async () => {
    const [row] = await rows<{ attempts: Array<{ error: string }> }>(hub.database.db, sql`SELECT attempts FROM webhook_deliveries WHERE subscription_id = ${id}`)
    return (row?.attempts.length ?? 0) >= 1
  }, 10_000)
  const log = (await hub.app.inject({ url: `/v1/subscriptions/${id}/deliveries`, headers: await as(live) })).json().items
  t.match(log[0].attempts[0], { status: null, error: /refused: 127\.0\.0\.1 is a loopback address \(rebind\.test resolves to it\)/ })
  t.equal(rx.received.filter((r) => r.path === '/rebind').length, 0, 'nothing reached the loopback receiver')
})
