// Who hears of a country's month at delivery time (mayHear, through decideRead as GET /v1/periods
// would decide), and one try's limits: a receiver that never answers fails the try in time.
import { createServer, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { AttemptFailed, deliver, mayHear } from '../../src/notifications/delivery.js'
import { recordPeriodEvent } from '../../src/notifications/events.js'
import { secretAad } from '../../src/notifications/subscriptions.js'
import { buildTestHub } from '../helpers.js'

const hub = await buildTestHub(t, { config: { consent: 'required', webhookAllowHosts: ['127.0.0.1'] } })
const db = hub.database.db
const config = hub.config
const now = new Date()
const CENTRAL_ASIA = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB']

async function partner (id: string, roles: string[], country: string | null = null, grants: Array<{ region: string, origin?: string }> = []) {
  await db.execute(sql`INSERT INTO partners (id, name, roles, country, jwks) VALUES (${id}, ${id}, ${sql.raw(`ARRAY[${roles.map((r) => `'${r}'`).join(',')}]::text[]`)}, ${country}, '{"keys":[]}')`)
  for (const g of grants) await db.execute(sql`INSERT INTO grants (partner_id, region, country_of_origin) VALUES (${id}, ${g.region}, ${g.origin ?? null})`)
}
async function consent (country: string, reader: string, options: { release?: string, until?: string } = {}) {
  await db.execute(sql`INSERT INTO consents (country, reader_id, state, release, until, decided_at, decided_by)
    VALUES (${country}, ${reader}, 'granted', ${options.release ?? 'published'}, ${options.until ?? null}, now(), ${`${country.toLowerCase()}-moh`})
    ON CONFLICT (country, reader_id) DO UPDATE SET state = 'granted', until = EXCLUDED.until, release = EXCLUDED.release`)
}
for (const c of CENTRAL_ASIA) await partner(`${c.toLowerCase()}-moh`, ['steward'], c)

t.test('who may hear that a month of KAZ was published, now', async (t) => {
  const hears = (id: string, regions: string[] | null = null) => mayHear(db, config, id, 'KAZ', regions, now)
  t.ok(await hears('kaz-moh'), 'the steward of the country itself')
  t.notOk(await hears('kgz-moh'), 'another country\'s steward')
  await partner('operator', ['admin'])
  t.ok(await hears('operator'), 'the hub\'s operator sees every period')

  await partner('reader-kaz', ['reader'], null, [{ region: 'KAZ' }])
  t.notOk(await hears('reader-kaz'), 'a grant without consent')
  await consent('KAZ', 'reader-kaz', { release: 'live' })
  t.ok(await hears('reader-kaz'), 'a live consent')
  await consent('KAZ', 'reader-kaz', { release: 'published' })
  t.ok(await hears('reader-kaz'), 'a published consent alike')
  await consent('KAZ', 'reader-kaz', { until: '2000-01-31' })
  t.notOk(await hears('reader-kaz'), 'an expired consent')
  await db.execute(sql`UPDATE consents SET state = 'refused', until = NULL WHERE reader_id = 'reader-kaz'`)
  t.notOk(await hears('reader-kaz'), 'a refused consent')
  await db.execute(sql`UPDATE consents SET state = 'granted' WHERE reader_id = 'reader-kaz'`)
  await db.execute(sql`UPDATE partners SET status = 'suspended' WHERE id = 'reader-kaz'`)
  t.notOk(await hears('reader-kaz'), 'a suspended partner')
  t.notOk(await hears('nobody'), 'an unknown partner')

  await partner('reader-origin', ['reader'], null, [{ region: 'KAZ', origin: 'TJK' }])
  await consent('KAZ', 'reader-origin')
  t.ok(await hears('reader-origin'), 'an origin grant: which months are published is not about nationals')

  await partner('reader-region', ['reader'], null, [{ region: 'central-asia' }])
  for (const c of CENTRAL_ASIA.filter((c) => c !== 'UZB')) await consent(c, 'reader-region')
  t.notOk(await hears('reader-region'), 'a region one of whose countries has not consented (as GET /v1/periods?region=central-asia)')
  await consent('UZB', 'reader-region')
  t.ok(await hears('reader-region'), 'every country of the region consented')
  t.notOk(await mayHear(db, config, 'reader-region', 'RUS', null, now), 'a country outside its grants')

  await partner('reporter-kgz', ['reporter'], 'KGZ', [{ region: 'KAZ' }])
  await consent('KAZ', 'reporter-kgz')
  t.notOk(await hears('reporter-kgz'), 'a reporter without the reader role reads nothing')
})

t.test('a receiver that never answers fails the try within its time; the last try marks it failed', async (t) => {
  const hanging = new Set<ServerResponse>()
  const server = createServer((_req, res) => { hanging.add(res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const res of hanging) res.destroy(); server.close() })
  const { port } = server.address() as { port: number }
  const id = randomUUID()
  await db.execute(sql`
    INSERT INTO subscriptions (id, partner_id, url, events, secret_sealed, created_at)
    VALUES (${id}, 'kaz-moh', ${`http://127.0.0.1:${port}/slow`}, ARRAY['period.published']::text[], ${hub.keys.seal('whsec_' + Buffer.alloc(32).toString('base64'), secretAad(id))}, now())`)
  await db.transaction((tx) => recordPeriodEvent(tx, { country: 'KAZ', period: '2026-01', revision: 1, publishedAt: now.toISOString() }, now))
  const [delivery] = await rows<{ id: string }>(db, sql`SELECT id FROM webhook_deliveries WHERE subscription_id = ${id}`)
  const deps = { db, unseal: (s: string, aad: string) => hub.keys.unseal(s, aad), config, resolve: async () => [], now: () => new Date(), timeoutMs: 300 }
  const started = Date.now()
  await t.rejects(deliver(deps, delivery.id, false), AttemptFailed)
  t.ok(Date.now() - started < 2_000, 'within its time')
  await t.rejects(deliver(deps, delivery.id, true), /no answer within 300 ms/)
  const [row] = await rows<{ state: string, attempts: Array<{ status: number | null, error: string }> }>(db, sql`SELECT state, attempts FROM webhook_deliveries WHERE id = ${delivery.id}`)
  t.equal(row.state, 'failed')
  t.same(row.attempts.map((a) => [a.status, a.error]), [[null, 'no answer within 300 ms'], [null, 'no answer within 300 ms']])
  t.equal(await deliver(deps, delivery.id, true), 'done', 'a delivery no longer pending is left alone')

  // A secret sealed under another key-encryption key: the hub's fault, said so.
  const other = randomUUID()
  await db.execute(sql`
    INSERT INTO subscriptions (id, partner_id, url, events, secret_sealed, created_at)
    VALUES (${other}, 'kaz-moh', ${`http://127.0.0.1:${port}/slow`}, ARRAY['period.revised']::text[], ${hub.keys.seal('whsec_x', secretAad(id))}, now())`)
  await db.transaction((tx) => recordPeriodEvent(tx, { country: 'KAZ', period: '2026-01', revision: 2, publishedAt: now.toISOString() }, now))
  const [second] = await rows<{ id: string }>(db, sql`SELECT id FROM webhook_deliveries WHERE subscription_id = ${other}`)
  await t.rejects(deliver(deps, second.id, true), /could not open this subscription's secret/)
})
