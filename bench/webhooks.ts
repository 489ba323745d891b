// Webhook latency (issue 26: < 2 s p95 from a publication's commit to its subscribers' receivers):
// KAZ publishes months one after another; ten readers (consent `published`) subscribe a local
// receiver each. Measured from publishPeriod's return (the commit) to each request's arrival,
// through the BullMQ queue on Redis and through the in-process queue, alternately.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/webhooks.ts [--publications 20] [--rounds 2]
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { freshDatabase } from './support.js'
import { seal, unseal } from '../src/auth/hub-keys.js'
import { loadConfig } from '../src/config.js'
import { connectPostgres } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { createBullmqDeliveryQueue, createInProcessDeliveryQueue } from '../src/notifications/queue.js'
import { startNotifications } from '../src/notifications/runtime.js'
import { createSubscription } from '../src/notifications/subscriptions.js'
import { publishPeriod } from '../src/stewardship/periods.js'

const { values: args } = parseArgs({ options: { publications: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' } } })
const PUBLICATIONS = Number(args.publications)
const READERS = 10
const base = loadConfig()
if (!base.databaseUrl || !base.redisUrl) throw new Error('bench/webhooks.ts needs DATABASE_URL and REDIS_URL')
const config = { ...base, consent: 'required' as const, webhookAllowHosts: ['127.0.0.1'] }
const bench = await freshDatabase(base.databaseUrl)
const database = await connectPostgres({ url: bench.url, poolMax: 8, statementTimeoutMs: 60_000 })
const kek = randomBytes(32)
const arrivals = new Map<string, number[]>()
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const { data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { period: string, revision: number } }
    const key = `${data.period}/${data.revision}`
    arrivals.set(key, [...(arrivals.get(key) ?? []), performance.now()])
    res.writeHead(204).end()
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as { port: number }

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]

try {
  await migrate(database)
  const { db } = database
  await db.execute(sql`INSERT INTO partners (id, name, roles, country, jwks) VALUES ('kaz-moh', 'Ministry KAZ', ARRAY['steward'], 'KAZ', '{"keys":[]}')`)
  for (let i = 0; i < READERS; i++) {
    const id = `reader-${i}`
    await db.execute(sql`INSERT INTO partners (id, name, roles, country, jwks) VALUES (${id}, ${id}, ARRAY['reader'], NULL, '{"keys":[]}')`)
    await db.execute(sql`INSERT INTO grants (partner_id, region) VALUES (${id}, 'KAZ')`)
    await db.execute(sql`INSERT INTO consents (country, reader_id, state, release, decided_at, decided_by) VALUES ('KAZ', ${id}, 'granted', 'published', now(), 'kaz-moh')`)
    await createSubscription({ database, sealer: { seal: (p, aad) => seal(kek, p, aad) }, allowHosts: config.webhookAllowHosts, resolve: async () => [], now: new Date() },
      id, { url: `http://127.0.0.1:${port}/${id}`, events: ['period.published', 'period.revised'] })
  }
  let month = 0
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const kind of ['bullmq', 'in-process'] as const) {
      const queue = kind === 'bullmq'
        ? createBullmqDeliveryQueue({ redisUrl: base.redisUrl, prefix: `mhx-bench-${randomUUID().slice(0, 8)}`, concurrency: config.workerConcurrency, lockMs: config.workerLockMs, logger: pino({ level: 'warn' }) })
        : createInProcessDeliveryQueue()
      const runtime = await startNotifications({ config, database, queue, unseal: (s, aad) => unseal(kek, s, aad), logger: pino({ level: 'warn' }) })
      const latencies: number[] = []
      for (let i = 0; i < PUBLICATIONS; i++) {
        const n = month++
        const period = `${2000 + Math.floor(n / 12)}-${String(n % 12 + 1).padStart(2, '0')}`
        const published = await publishPeriod(database, { partnerId: 'kaz-moh', country: 'KAZ' }, 'KAZ', period, new Date())
        const committed = performance.now()
        const key = `${period}/${published.revision}`
        const until = Date.now() + 30_000
        while ((arrivals.get(key)?.length ?? 0) < READERS && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5))
        const got = arrivals.get(key) ?? []
        if (got.length < READERS) throw new Error(`${key}: ${got.length} of ${READERS} deliveries within 30 s`)
        latencies.push(...got.map((at) => at - committed))
      }
      await runtime.close()
      latencies.sort((a, b) => a - b)
      process.stdout.write(`round ${round + 1} ${kind}: ${latencies.length} deliveries, p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p95 ${percentile(latencies, 0.95).toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms\n`)
    }
  }
} finally {
  server.close()
  await database.close()
  await bench.drop()
}
