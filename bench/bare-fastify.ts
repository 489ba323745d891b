// A bare Fastify route, for bench/release.ts: the same answer as the service's /health/live with
// none of the service's hooks (request ids and logging, rate limits, compression, ETags, the
// problem handler), so the ratio of the service's trivial route to this one is what the hooks cost.
// Prints {"port":N} once it listens; SIGTERM closes it.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(JSON.stringify({ port: (app.server.address() as { port: number }).port }) + '\n')
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
