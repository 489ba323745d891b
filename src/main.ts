// npm start: the API and an aggregation worker in one process (MHX_ROLE=all), or as MHX_ROLE says.
import { loadConfig } from './config.js'
import { runService } from './service.js'

await runService(() => loadConfig())
