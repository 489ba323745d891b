// Data versions: kept per process, forgotten when a writer of cells announces a change (NOTIFY in its
// transaction), and at once in the process whose worker made the change.
// @embedded: data versions hear NOTIFY through PGlite's LISTEN as through PostgreSQL's
import { sql } from 'drizzle-orm'
import t from 'tap'
import { createInProcessQueue } from '../../src/aggregation/in-process-queue.js'
import { processSubmission } from '../../src/aggregation/processor.js'
import { announceCellChange, createCellVersions, type CellVersions, type DataVersion } from '../../src/aggregation/versions.js'
import { jobHandler } from '../../src/aggregation/worker-runtime.js'
import { rebuildCells } from '../../src/aggregation/cells.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { testDatabase, waitFor } from '../helpers.js'
import { insertPartner, insertSubmission, randomRecord, rng } from './fixtures.js'

const database = await testDatabase(t)
await insertPartner(database.db, 'moh-kaz', 'KAZ')
await insertPartner(database.db, 'moh-kgz', 'KGZ')
const random = rng(5)
const push = (country: string) => insertSubmission(database.db, `moh-${country.toLowerCase()}`, country, Array.from({ length: 5 }, () => randomRecord(random, country)))

// What an unannounced writer (SQL by hand) does: cells change, nobody is told.
async function touchSilently (country: string): Promise<void> {
  await database.db.execute(sql`UPDATE cells SET updated_at = clock_timestamp() WHERE country = ${country}`)
}

// Waits until `versions` has heard an announcement about `countries` after `since` was taken.
async function heard (versions: CellVersions, countries: string[], since: DataVersion, timeoutMs = 2_000): Promise<DataVersion> {
  await waitFor(async () => (await versions.of(countries)).changesHeard > since.changesHeard, timeoutMs, 20)
  return versions.of(countries)
}

t.test('another process hears a processed submission; an unannounced write stays unseen until then', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const none = await versions.of(['KAZ'])
  t.equal(none.lastUpdated, null, 'no cells: no lastUpdated')
  await processSubmission(database, (await push('KAZ')).id)
  const first = await heard(versions, ['KAZ'], none, 3_000)
  t.not(first.lastUpdated, null)

  await touchSilently('KAZ')
  t.same(await versions.of(['KAZ']), first, 'kept: nothing was announced')
  await processSubmission(database, (await push('KAZ')).id)
  // Well inside the 5 s safety net: only the NOTIFY can make this pass.
  const second = await heard(versions, ['KAZ'], first)
  t.not(second.key, first.key)
  t.ok(second.lastUpdated! > first.lastUpdated!, 'a later lastUpdated after the announcement')
  const withKgz = await versions.of(['KGZ', 'KAZ'])
  t.same(withKgz.lastUpdated, second.lastUpdated, 'a country without cells adds nothing')
})

t.test('an announced change makes a new version even when updated_at does not move (a writer that committed late)', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const before = await versions.of(['KAZ', 'KGZ'])
  const uzb = await versions.of(['UZB'])
  await announceCellChange(database.db, ['KGZ'])
  const after = await heard(versions, ['KAZ', 'KGZ'], before)
  t.not(after.key, before.key, 'a new version')
  t.same(after.lastUpdated, before.lastUpdated, 'of the same cells')
  t.same(await versions.of(['UZB']), uzb, 'other countries keep their version')
})

t.test('a rebuild announces its changes too', async (t) => {
  const versions = await createCellVersions(database)
  t.teardown(() => versions.close())
  const start = await versions.of(['KGZ'])
  await processSubmission(database, (await push('KGZ')).id)
  const before = await heard(versions, ['KGZ'], start)
  await database.db.execute(sql`UPDATE cells SET count = count + 1 WHERE country = 'KGZ'`)
  t.same(await versions.of(['KGZ']), before, 'the cached version is kept')
  await rebuildCells(database)
  const after = await heard(versions, ['KGZ'], before)
  t.not(after.key, before.key, 'the rebuild that repaired the KGZ cells was heard')
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
