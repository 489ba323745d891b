// npm run worker: an aggregation worker process only (needs DATABASE_URL and REDIS_URL).
import { loadConfig } from './config.js'
import { runService } from './service.js'

await runService(() => loadConfig(undefined, 'worker'))
