// Redis away while months are published: the deliveries wait in the outbox, the outage is logged
// once when it starts and once when it ends, and every event arrives once Redis is back.
// @server-only: a Redis outage; skips without DATABASE_URL and REDIS_URL
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Logger } from 'pino'
import { createBullmqDeliveryQueue } from '../../src/notifications/queue.js'
import { startNotifications } from '../../src/notifications/runtime.js'
import { baseConfig, buildTestHub, waitFor, type TestPartner } from '../helpers.js'
import { privateRedis } from '../aggregation/redis.js'

if (!baseConfig.databaseUrl || !baseConfig.redisUrl) {
  t.plan(0, 'skipped: the Redis outage test needs DATABASE_URL and REDIS_URL (it runs its own redis-server)')
  process.exit(0)
}

const redis = await privateRedis()
t.teardown(() => redis.stop())
const hub = await buildTestHub(t, { config: { consent: 'required', webhookAllowHosts: ['127.0.0.1'], sweepIntervalMs: 200, sweepAfterMs: 0 } })
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })

const periods: string[] = []
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    periods.push(JSON.parse(Buffer.concat(chunks).toString('utf8')).data.period)
    res.writeHead(204).end()
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => server.close(resolve)))

const lines: Array<{ level: string, message: string }> = []
const capture = (level: string) => (fields: unknown, message?: string) => { lines.push({ level, message: message === undefined ? String(fields) : `${message} ${JSON.stringify(fields)}` }) }
const logger = { warn: capture('warn'), info: capture('info'), error: capture('error') } as unknown as Logger

const kaz = await hub.partner({ id: 'kaz-moh', roles: ['steward'], country: 'KAZ' })
const reader = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'KAZ' }] })
await hub.app.inject({ method: 'PUT', url: `/v1/consents/${reader.id}`, headers: await as(kaz), payload: { decision: 'grant' } })
const { port } = server.address() as { port: number }
const subscribed = await hub.app.inject({ method: 'POST', url: '/v1/subscriptions', headers: await as(reader), payload: { url: `http://127.0.0.1:${port}/hook`, events: ['period.published'] } })
if (subscribed.statusCode !== 201) throw new Error(subscribed.body)

const queue = createBullmqDeliveryQueue({ redisUrl: redis.url, prefix: `mhx-t-${randomUUID().slice(0, 8)}`, concurrency: 2, lockMs: 5_000, retry: { attempts: 3, backoffMs: 100 }, logger })
const runtime = await startNotifications({ config: hub.config, database: hub.database, queue, unseal: (s, aad) => hub.keys.unseal(s, aad), logger })
t.teardown(() => runtime.close())
const publish = async (period: string) => {
  const res = await hub.app.inject({ method: 'POST', url: `/v1/periods/KAZ/${period}/publish`, headers: await as(kaz) })
  if (res.statusCode !== 201) throw new Error(res.body)
}

t.test('deliveries wait out a Redis outage, logged once at each end', async (t) => {
  await publish('2026-01')
  await waitFor(async () => periods.includes('2026-01'), 10_000)

  await redis.stop()
  await publish('2026-02')
  await publish('2026-03')
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  t.notOk(periods.includes('2026-02'), 'nothing delivered while Redis is away')
  t.equal(lines.filter((l) => /Redis unavailable/.test(l.message)).length, 1, 'one line when it starts')

  await redis.start()
  await waitFor(async () => periods.includes('2026-02') && periods.includes('2026-03'), 15_000)
  await waitFor(async () => lines.some((l) => /Redis available again/.test(l.message)), 5_000)
  t.equal(lines.filter((l) => /Redis available again/.test(l.message)).length, 1, 'one line when it ends')
  t.equal(lines.filter((l) => /Redis unavailable/.test(l.message)).length, 1)
  // Redis came back empty (no persistence): BullMQ may say once that a job's keys went with it
  // (the outbox had the delivery), but there is no line per job or sweep.
  t.ok(lines.filter((l) => l.level === 'warn' && !/Redis unavailable/.test(l.message)).length <= 1, `no line per job or sweep: ${JSON.stringify(lines)}`)
  t.same(periods.filter((p) => p !== '2026-01').sort(), ['2026-02', '2026-03'], 'each once')
})
