// Migration 0013 (1.0.0 records are contacts) on a database that holds 1.0.0 and 1.1.0 data as the
// service stored it before: migrated up to the migration before this change's (0011, the key of
// published_cells from the fields, comes first), filled through the API, the 1.0.0 records' recordType
// put back to '_Z' as the intake of then stored it; then the rest of the migrations. Afterwards no
// '_Z' recordType is left, the cells are what a rebuild from the records makes (a `_Z` cell merged
// into its `contact` twin: counts and key sums added), the margins follow, the publication keeps
// its counts, and the verify routes of the aggregates and the audit chain pass.
// @embedded: a data migration run by each driver's migrator
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rebuildCells } from '../../src/aggregation/cells.js'
import { rows } from '../../src/db/connect.js'
import { migrate, MIGRATIONS_FOLDER } from '../../src/db/migrate.js'
import { CELL_COLUMNS, KEY_MODULUS } from '../../src/model/cells.js'
import { buildTestHub, testDatabase, type TestPartner, startTestAggregation } from '../helpers.js'
import type { Rec } from '../intake/intake-fixtures.js'

/** A copy of the committed migrations that ends before the first whose name ends with `name`. */
function migrationsBefore (name: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'mhx-migrations-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true })
  const journalFile = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> }
  const end = journal.entries.findIndex((e) => e.tag.endsWith(name))
  if (end < 1) throw new Error(`no migration ${name} after another`)
  for (const { tag } of journal.entries.slice(end)) rmSync(join(folder, `${tag}.sql`))
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, end) }))
  return folder
}

const database = await testDatabase(t, 'env', { migrationsFolder: migrationsBefore('_published_cells_key_from_fields') })
const hub = await buildTestHub(t, { database, config: { consent: 'required' } })
const db = database.db
await startTestAggregation(t, hub)
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })

const base = { countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none' }
const recs = (n: number, extra: Rec) => Array.from({ length: n }, () => ({ recordId: randomUUID(), ...base, ...extra }))
async function submit (version: string, records: Rec[]): Promise<void> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: await as(kaz), payload: { schema: 'migrant-health-event', version, records } })
  if (res.statusCode !== 202) throw new Error(res.body)
}
const cellKey = (r: Record<string, unknown>) => CELL_COLUMNS.map((c) => String(r[c]).trim()).join('|')
const allCells = async () => rows<Record<string, string> & { count: string, key_sum: string }>(db, sql`SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count, key_sum FROM cells`)
const zeds = async () => rows<{ records: string, cells: string, published: string, margins: string }>(db, sql`SELECT
  (SELECT count(*) FROM records WHERE record_type = '_Z') AS records, (SELECT count(*) FROM cells WHERE record_type = '_Z') AS cells,
  (SELECT count(*) FROM published_cells WHERE record_type = '_Z') AS published,
  (SELECT count(*) FROM cell_margins WHERE dimension = 'record_type' AND value = '_Z') AS margins`)

t.test('1.0.0 records and their cells become contacts; cells merge; everything verifies', async (t) => {
  // March: 1.0.0 records and 1.1.0 contacts with the same 1.0.0 dimensions (two cells before, one
  // after), and case notifications; February: 1.0.0 records only, published.
  await submit('1.0.0', [...recs(20, { period: '2026-03' }), ...recs(12, { period: '2026-02' }), ...recs(7, { period: '2026-02', sex: 'male' })])
  await submit('1.1.0', [...recs(10, { period: '2026-03', recordType: 'contact' }), ...recs(5, { period: '2026-03', recordType: 'case_notification' })])
  await hub.queue.drain()
  // What the intake stored for 1.0.0 records before this change.
  await db.execute(sql`UPDATE records r SET record_type = '_Z' FROM submissions s WHERE s.id = r.submission_id AND s.schema_version = '1.0.0'`)
  await rebuildCells(database)
  // Publishing today also records a webhook event (migration 0014, independent of the cells): its
  // tables stand in for the publication and go before the rest of the migrations recreate them.
  const webhookTables = readFileSync(join(MIGRATIONS_FOLDER, '0014_webhook_subscriptions.sql'), 'utf8').split('--> statement-breakpoint')
  for (const statement of webhookTables) await db.execute(sql.raw(statement))
  const pub = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-02/publish', headers: await as(kaz) })
  t.equal(pub.statusCode, 201, 'a month of 1.0.0 records published before the migration')
  await db.execute(sql`DROP TABLE webhook_deliveries, webhook_events, subscriptions`)
  const publishedBefore = await rows<Record<string, string>>(db, sql`SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count, key_sum FROM published_cells ORDER BY sex`)

  const before = await allCells()
  t.same((await zeds())[0], { records: '39', cells: '3', published: '2', margins: '2' }, 'the old state: 1.0.0 data under _Z')
  const march = (recordType: string) => before.find((c) => c.period === '2026-03' && c.record_type === recordType && c.sex === 'female')
  const [old, twin] = [march('_Z'), march('contact')]
  t.ok(old && twin, 'March holds a _Z cell and its contact twin')

  await migrate(database)

  t.same((await zeds())[0], { records: '0', cells: '0', published: '0', margins: '0' }, 'no _Z recordType left anywhere')
  const after = await allCells()
  t.equal(after.length, before.length - 1, 'the _Z cell merged into its twin, the others moved')
  const merged = after.find((c) => cellKey(c) === cellKey(twin!))
  t.equal(Number(merged?.count), Number(old!.count) + Number(twin!.count))
  t.equal(Number(merged?.key_sum), (Number(old!.key_sum) + Number(twin!.key_sum)) % KEY_MODULUS, 'key sums added mod 2^32')
  t.same(after.reduce((n, c) => n + Number(c.count), 0), before.reduce((n, c) => n + Number(c.count), 0), 'nothing counted twice or lost')

  t.equal((await rebuildCells(database)).changed, 0, 'the cells are what a rebuild from the records makes')
  const verify = await hub.app.inject({ url: '/v1/admin/aggregates/verify', headers: await as(hub.admin) })
  t.match(verify.json(), { ok: true, differences: [], marginDifferences: 0, records: 54 })
  const audit = await hub.app.inject({ url: '/v1/admin/audit/verify', headers: await as(hub.admin) })
  t.equal(audit.statusCode, 200)
  t.match(audit.json(), { ok: true })

  const publishedAfter = await rows<Record<string, string>>(db, sql`SELECT ${sql.raw(CELL_COLUMNS.join(', '))}, count, key_sum FROM published_cells ORDER BY sex`)
  t.same(publishedAfter, publishedBefore.map((c) => ({ ...c, record_type: 'contact' })), 'the publication keeps its counts, as contacts')
  const march2 = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-03/publish', headers: await as(kaz) })
  t.equal(march2.statusCode, 201, 'the mixed month publishes')
  t.match(march2.json(), { records: 35 })
})
