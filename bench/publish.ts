// Publishing benchmark (real PostgreSQL): one country-month of 100,000 records (tens of thousands of
// cells) published three times; each publication replaces the published cells in one transaction.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/publish.ts [--records 100000]
import { parseArgs } from 'node:util'
import { sql } from 'drizzle-orm'
import { freshDatabase } from './support.js'
import { processSubmission } from '../src/aggregation/processor.js'
import { loadConfig } from '../src/config.js'
import { connectPostgres, rows } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { publishPeriod } from '../src/stewardship/periods.js'
import { insertPartner, insertSubmission, randomRecord, rng } from '../test/aggregation/fixtures.js'

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '100000' } } })
const RECORDS = Number(args.records)
const config = loadConfig()
if (!config.databaseUrl) throw new Error('bench/publish.ts needs DATABASE_URL')
const bench = await freshDatabase(config.databaseUrl)
const database = await connectPostgres({ url: bench.url, poolMax: 4, statementTimeoutMs: 600_000 })
try {
  await migrate(database)
  await insertPartner(database.db, 'kaz-moh', 'KAZ')
  const random = rng(2026)
  for (let done = 0; done < RECORDS; done += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, RECORDS - done) }, () => ({ ...randomRecord(random, 'KAZ'), period: '2026-01' }))
    const s = await insertSubmission(database.db, 'kaz-moh', 'KAZ', batch)
    await processSubmission(database, s.id)
  }
  const [cells] = await rows<{ n: string, records: string }>(database.db, sql`SELECT count(*) AS n, sum(count) AS records FROM cells WHERE country = 'KAZ' AND period = '2026-01'`)
  process.stdout.write(`${cells.records} records in ${cells.n} cells of KAZ 2026-01\n`)
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint()
    const published = await publishPeriod(database, { partnerId: 'kaz-moh', country: 'KAZ' }, 'KAZ', '2026-01', new Date())
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    process.stdout.write(`publish revision ${published.revision}: ${published.records} records, ${ms.toFixed(0)} ms\n`)
  }
} finally {
  await database.close()
  await bench.drop()
}
