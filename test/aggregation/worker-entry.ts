// A lean worker process for the SIGKILL test: the same queue adapter, runtime and processor as
// src/worker.ts, without the API's modules (the test restarts it 20 times on a 2-core box).
import pino from 'pino'
import { createBullmqQueue } from '../../src/aggregation/bullmq-queue.js'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import { loadConfig } from '../../src/config.js'
import { connectPostgres } from '../../src/db/connect.js'
import { createMetrics } from '../../src/ops/metrics.js'

const config = loadConfig(process.env, 'worker')
const logger = pino({ level: config.logLevel })
const database = await connectPostgres({ url: config.databaseUrl!, poolMax: config.dbPoolMax, statementTimeoutMs: config.dbStatementTimeoutMs })
const queue = createBullmqQueue({ redisUrl: config.redisUrl!, prefix: config.queuePrefix }, logger)
const runtime = await startAggregation({ config, database, queue, metrics: createMetrics(), logger })
logger.info('mhx started')
// Orphaned (the test process died): go too.
setInterval(() => { if (process.ppid === 1) process.exit(1) }, 500).unref()
process.once('SIGTERM', () => {
  void (async () => {
    await runtime.close()
    await queue.close()
    await database.close()
    process.exit(0)
  })()
})
