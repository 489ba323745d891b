// Data versions: kept per process, forgotten when a writer of cells announces a change (NOTIFY in its
// transaction), and at once in the process whose worker made the change.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { createInProcessQueue } from '../../src/aggregation/in-process-queue.js'
import { processSubmission } from '../../src/aggregation/processor.js'
import { announceCellChange, createCellVersions } from '../../src/aggregation/versions.js'
import { jobHandler } from '../../src/aggregation/worker-runtime.js'
import { rebuildCells } from '../../src/aggregation/cells.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { testDatabase } from '../helpers.js'
import { insertPartner, insertSubmission, randomRecord, rng } from './fixtures.js'
import { waitFor } from './redis.js'

const database = await testDatabase(t)
await insertPartner(database.db, 'moh-kaz', 'KAZ')
await insertPartner(database.db, 'moh-kgz', 'KGZ')
const random = rng(5)
const push = (country: string) => insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, Array.from({ length: 5 }, () => randomRecord(random, country)))

// What an unannounced writer (SQL by hand) does: cells change, nobody is told.
async function touchSilently (country: string): Promise<void> {
  await database.db.execute(sql`UPDATE cells SET updated_at = clock_timestamp() WHERE country = ${country}`)
}

t.test('another process hears a processed submission; an unannounced write stays unseen until then', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const none = await versions.of(['KAZ'])
  t.equal(none.lastUpdated, null, 'no cells: no lastUpdated')
  await processSubmission(database, (await push('KAZ')).id)
  await waitFor(async () => (await versions.of(['KAZ'])).lastUpdated !== null, 3_000, 20)
  const first = await versions.of(['KAZ'])

  await touchSilently('KAZ')
  t.same(await versions.of(['KAZ']), first, 'kept: nothing was announced')
  await processSubmission(database, (await push('KAZ')).id)
  // Well inside the 5 s safety net: only the NOTIFY can make this pass.
  await waitFor(async () => (await versions.of(['KAZ'])).key !== first.key, 2_000, 20)
  const second = await versions.of(['KAZ'])
  t.ok(second.lastUpdated! > first.lastUpdated!, 'a later lastUpdated after the announcement')
  t.same(await versions.of(['KGZ', 'KAZ']), { key: second.key, lastUpdated: second.lastUpdated }, 'a country without cells adds nothing')
})

t.test('an announced change makes a new version even when updated_at does not move (a writer that committed late)', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const before = await versions.of(['KAZ', 'KGZ'])
  await announceCellChange(database.db, ['KGZ'])
  await waitFor(async () => (await versions.of(['KAZ', 'KGZ'])).key !== before.key, 2_000, 20)
  const after = await versions.of(['KAZ', 'KGZ'])
  t.same(after.lastUpdated, before.lastUpdated, 'the same cells')
  t.same(await versions.of(['UZB']), await versions.of(['UZB']), 'other countries keep their version')
})

t.test('a rebuild announces its changes too', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  await processSubmission(database, (await push('KGZ')).id)
  const before = await versions.of(['KGZ'])
  await database.db.execute(sql`UPDATE cells SET count = count + 1 WHERE country = 'KGZ'`)
  t.same(await versions.of(['KGZ']), before, 'the cached version is kept')
  await rebuildCells(database)
  await waitFor(async () => (await versions.of(['KGZ'])).key !== before.key, 2_000, 20)
  t.pass('the rebuild that repaired the KGZ cells was heard')
})

t.test('the worker of the same process tells the versions at once', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const before = await versions.of(['KAZ'])
  const queue = createInProcessQueue()
  t.teardown(() => queue.close())
  const handle = jobHandler({ database, metrics: createMetrics({ queue, database }), cellVersions: versions })
  const s = await push('KAZ')
  await handle({ submissionId: s.id, generation: 1 }, 1)
  t.not((await versions.of(['KAZ'])).key, before.key, 'the next read after the job sees the new version, no wait')
})
