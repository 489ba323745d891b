// Adding a field is one edit to the definitions plus generated migrations and schemas. Here
// src/model/fields.ts resolves to a copy of it with one more dimension (test/db/fields-hook.mjs),
// so every module derives its tables, keys, margins, schemas and routes from that; the tables'
// migration (drizzle-kit's diff) and the margins' one (db/write-migrations.ts, as npm run
// db:generate writes them) go into a copy of the committed migrations, the published schemas
// (intake/write-schemas.ts, as npm run schemas) into a copy of schemas/. A database holding data
// from before the field is migrated; records carrying it are pushed, rolled up through the margins
// and the cells alike, published, read back by a published reader; every cell and margin verifies.
// @embedded: generated migrations applied by each driver's migrator
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'

const DEFINITIONS = new URL('../../src/model/fields.ts', import.meta.url)
const LAST_ENTRY_END = '}\n] as const satisfies readonly FieldDefinition[]'
const ADDED = `},
  {
    name: 'disability', type: 'codes', since: '1.1.0', required: false, column: 'disability', dimension: 'disability', sdmx: 'DISABILITY',
    codes: ['none', 'some', 'severe', 'unknown'],
    description: 'Functional disability (optional; a field of this test only)',
    label: { en: 'Disability', ru: 'Инвалидность' }
  }
] as const satisfies readonly FieldDefinition[]`

const work = mkdtempSync(join(tmpdir(), 'mhx-added-field-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const definitions = readFileSync(DEFINITIONS, 'utf8')
if (definitions.split(LAST_ENTRY_END).length !== 2) throw new Error('src/model/fields.ts: the list of fields no longer ends as this test expects')
// An ES module like the original: outside the repository's package scope tsx would load it as CommonJS.
writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }))
writeFileSync(join(work, 'fields.ts'), definitions.replace(LAST_ENTRY_END, ADDED))
register('./fields-hook.mjs', import.meta.url, { data: { from: DEFINITIONS.href, to: pathToFileURL(join(work, 'fields.ts')).href } })

// Everything from here on loads with the added field.
const { CELL_COLUMNS, KEY_MODULUS } = await import('../../src/model/cells.js')
const { migrate, MIGRATIONS_FOLDER } = await import('../../src/db/migrate.js')
const { followFields, marginsFunctionCurrent, tableDrift, writeTableMigration } = await import('../../src/db/write-migrations.js')
const { schemaFiles } = await import('../../src/intake/write-schemas.js')
const { defaultSchemasDir, loadSchemaRegistry } = await import('../../src/intake/registry.js')
const { rows } = await import('../../src/db/connect.js')
const { verifyCells } = await import('../../src/aggregation/cells.js')
const { rollUp } = await import('../../src/release/rollup.js')
const { buildPtable } = await import('../../src/release/ptable.js')
const { buildTestHub, startTestAggregation, testDatabase } = await import('../helpers.js')
type Dimension = import('../../src/release/dimensions.js').Dimension
type TestPartner = import('../helpers.js').TestPartner

if (!CELL_COLUMNS.includes('disability')) throw new Error('the added field is no cell dimension: the resolve hook did not apply')

// A database of the committed migrations holding data from before the field: records and their
// cells written as the service wrote them then (every column but the new one).
const database = await testDatabase(t)
const db = database.db
const before = CELL_COLUMNS.filter((c) => c !== 'disability')
const known: Record<string, string> = {
  period: '2026-03', country: 'KAZ', country_of_origin: 'UZB', migration_status: 'labour_migrant', migration_stage: 'destination',
  age_band: '25-29', encounter: 'primary_care', insurance: 'none', record_type: 'contact'
}
const submissionId = randomUUID()
await db.execute(sql`INSERT INTO partners (id, name, roles, country, jwks) VALUES ('kaz-before', 'Ministry of KAZ', ARRAY['reporter'], 'KAZ', '{"keys":[]}')`)
await db.execute(sql`INSERT INTO submissions (id, partner_id, country, schema_name, schema_version, record_count, body_sha256, receipt, counted, applied)
  VALUES (${submissionId}, 'kaz-before', 'KAZ', 'migrant-health-event', '1.1.0', 40, 'x', 'receipt', true, true)`)
await db.execute(sql`INSERT INTO records (submission_id, partner_id, record_id, record_key, condition, ${sql.raw(before.join(', '))})
  SELECT ${submissionId}, 'kaz-before', gen_random_uuid(), floor(random() * ${KEY_MODULUS})::bigint, '_Z',
    ${sql.join(before.map((c) => c === 'sex' ? sql`CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END` : sql`${known[c] ?? '_Z'}`), sql`, `)}
  FROM generate_series(1, 40) AS i`)
await db.execute(sql`INSERT INTO cells (${sql.raw(before.join(', '))}, count, key_sum)
  SELECT ${sql.raw(before.join(', '))}, sum(count), sum(record_key) % ${KEY_MODULUS} FROM records GROUP BY ${sql.raw(before.join(', '))}`)

t.test('db:generate writes the tables\' and the margins\' migrations; migrations:check then passes', async (t) => {
  const migrations = join(work, 'migrations')
  cpSync(MIGRATIONS_FOLDER, migrations, { recursive: true })
  t.ok((await tableDrift(migrations)).length > 0, 'the committed migrations lag the tables')
  t.notOk(marginsFunctionCurrent(migrations), 'and the margins\' trigger function')
  const tables = await writeTableMigration(migrations, 'disability')
  const margins = followFields(migrations)
  t.ok(tables && margins, `${tables}, ${margins}`)
  const tablesSql = readFileSync(join(migrations, `${tables}.sql`), 'utf8')
  for (const table of ['records', 'cells', 'published_cells']) t.match(tablesSql, `ALTER TABLE "${table}" ADD COLUMN "disability" text DEFAULT '_Z' NOT NULL`)
  for (const key of ['cells_pkey', 'published_cells_pkey']) t.match(tablesSql, new RegExp(`ADD CONSTRAINT "${key}" PRIMARY KEY\\([^)]*"disability"\\)`), `${key} holds the new dimension`)
  t.same(await tableDrift(migrations), [], 'nothing left for the tables')
  t.ok(marginsFunctionCurrent(migrations), 'nor for the margins')

  await migrate(database, migrations)
  const margin = await rows<{ value: string, count: string }>(db, sql`SELECT value, count FROM cell_margins WHERE dimension = 'disability'`)
  t.same(margin, [{ value: '_Z', count: '40' }], 'the migration filled the margins of the new dimension from the cells before it')
  t.match(await verifyCells(db), { ok: true, marginDifferences: 0, records: 40 })
})

t.test('records with the new dimension: intake, roll-up, publication, a published reader, verify', async (t) => {
  const dir = join(work, 'schemas')
  cpSync(defaultSchemasDir(), dir, { recursive: true })
  for (const [file, text] of schemaFiles(dir)) writeFileSync(join(dir, file), text)
  const published = JSON.parse(readFileSync(join(dir, 'migrant-health-event/1.1.0.json'), 'utf8'))
  t.same(published.properties.disability.enum, ['none', 'some', 'severe', 'unknown'], 'the published 1.1.0 schema holds the field')
  const hub = await buildTestHub(t, { database, schemas: await loadSchemaRegistry(dir), config: { consent: 'required' } })
  await startTestAggregation(t, hub)
  const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
  const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
  const who = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'KAZ' }] })
  t.equal((await hub.app.inject({ method: 'PUT', url: '/v1/consents/who-euro', headers: await as(kaz), payload: { decision: 'grant', release: 'published' } })).statusCode, 200)

  const record = (extra: Record<string, string>) => ({
    recordId: randomUUID(), period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination',
    sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none', ...extra
  })
  const submit = async (version: string, records: object[]) => hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: await as(kaz), payload: { schema: 'migrant-health-event', version, records } })
  const pushed = await submit('1.1.0', [
    ...Array.from({ length: 20 }, () => record({ recordType: 'contact', disability: 'some' })),
    ...Array.from({ length: 15 }, () => record({ recordType: 'contact', disability: 'none' }))
  ])
  t.equal(pushed.statusCode, 202, 'a 1.1.0 submission with the new field')
  t.equal((await submit('1.0.0', Array.from({ length: 10 }, () => record({})))).statusCode, 202, 'and a 1.0.0 one without it')
  const refused = await submit('1.1.0', [record({ recordType: 'contact', disability: 'partly' })])
  t.equal(refused.statusCode, 422, 'a value outside its codes is refused')
  t.match(refused.json().errors, [{ index: 0, path: '/disability' }])
  await hub.queue.drain()

  const query = { region: 'KAZ', from: '2026-03', to: '2026-03', periodType: 'month' as const, by: ['disability' as Dimension], filters: {} }
  const ptable = buildPtable()
  const viaMargins = await rollUp(db, query, ['KAZ'], 'none', ptable)
  t.same(viaMargins, [{ key: ['_Z'], count: 50 }, { key: ['none'], count: 15 }, { key: ['some'], count: 20 }], 'by the new dimension (the earlier data absent from it)')
  t.same(await rollUp(db, query, ['KAZ'], 'none', ptable, [], { margins: false }), viaMargins, 'the margins answer as the cells do')
  t.same(await rollUp(db, query, ['KAZ'], 'cellkey', ptable, [], { margins: false }), await rollUp(db, query, ['KAZ'], 'cellkey', ptable), 'perturbed alike')
  const own = await hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-03&to=2026-03&by=sex&disability=some', headers: await as(kaz) })
  t.equal(own.statusCode, 200, 'a query filters on the new dimension')
  t.match(own.json().cells, [{ sex: 'female', count: 20 }])

  const pub = await hub.app.inject({ method: 'POST', url: '/v1/periods/KAZ/2026-03/publish', headers: await as(kaz) })
  t.equal(pub.statusCode, 201, 'the month publishes')
  t.match(pub.json(), { records: 85 })
  const read = await hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-03&to=2026-03&by=disability', headers: await as(who) })
  t.equal(read.statusCode, 200, 'a published reader reads it by the new dimension')
  const counts = Object.fromEntries((read.json().cells as Array<{ disability: string | null, count: number }>).map((c) => [String(c.disability), c.count]))
  t.same(Object.keys(counts).sort(), ['none', 'null', 'some'])
  for (const [value, want] of [['null', 50], ['none', 15], ['some', 20]] as const) t.ok(Math.abs(counts[value] - want) <= 3, `${value}: ${counts[value]} within the perturbation of ${want}`)

  const verify = await hub.app.inject({ url: '/v1/admin/aggregates/verify', headers: await as(hub.admin) })
  t.match(verify.json(), { ok: true, differences: [], marginDifferences: 0, records: 85 })
})
