// The backup drill of docs/operations.md against real PostgreSQL: pg_dump while submissions and
// their aggregation go on, pg_restore into a fresh database, start on it, and both verifications
// pass with every table's count equal to the dump's snapshot.
// @server-only: pg_dump and pg_restore; skips without DATABASE_URL
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import pino from 'pino'
import t from 'tap'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import { connectPostgres } from '../../src/db/connect.js'
import { migrate } from '../../src/db/migrate.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { baseConfig, buildTestHub, testDatabase } from '../helpers.js'
import { records, SCHEMA } from '../intake/intake-fixtures.js'

const run = promisify(execFile)
const TABLES = ['partners', 'grants', 'submissions', 'records', 'cells', 'audit_log', 'hub_keys']

t.test('dump under load, restore into a fresh database, start: audit and cells verify, counts equal', { skip: baseConfig.databaseUrl === undefined && 'DATABASE_URL is not set' }, async (t) => {
  const source = await testDatabase(t, 'postgres')
  const hub = await buildTestHub(t, { database: source })
  const runtime = await startAggregation({
    config: { ...hub.config, sweepAfterMs: 0, sweepIntervalMs: 200 },
    database: source, queue: hub.queue, metrics: createMetrics({ queue: hub.queue, database: source }), logger: pino({ level: 'silent' })
  })
  t.teardown(() => runtime.close())
  const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
  const reporterToken = await hub.token(reporter)
  const push = async () => {
    const res = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: { authorization: `Bearer ${reporterToken}` }, payload: { ...SCHEMA, records: [...records(8), ...records(6, { sex: 'male' }), ...records(6, { ageBand: '30-34' })] } })
    if (res.statusCode !== 202) throw new Error(`push: ${res.statusCode} ${res.body}`)
  }
  for (let i = 0; i < 10; i++) await push()
  await hub.queue.drain()

  // Writes go on during the dump: submissions, their aggregation, their audit rows.
  let writing = true
  let pushedDuring = 0
  const load = (async () => { while (writing) { await push(); pushedDuring++ } })()

  // The dump's snapshot, exported by a transaction that also counts what it holds.
  const sourceUrl = (source.pool as unknown as { options: { connectionString: string } }).options.connectionString
  const snapshot = new pg.Client({ connectionString: sourceUrl })
  await snapshot.connect()
  await snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  const { rows: [{ id }] } = await snapshot.query<{ id: string }>('SELECT pg_export_snapshot() AS id')
  const dumped: Record<string, number> = {}
  for (const table of TABLES) dumped[table] = Number((await snapshot.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
  const dir = mkdtempSync(join(tmpdir(), 'mhx-backup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'mhx.dump')
  await run('pg_dump', ['--format=custom', `--snapshot=${id}`, `--file=${file}`, sourceUrl])
  await snapshot.query('COMMIT')
  await snapshot.end()
  writing = false
  await load
  t.ok(pushedDuring > 0, `${pushedDuring} submissions were pushed while the dump ran`)

  // Restore into a fresh database and start on it (migrations find everything applied).
  const adminUrl = new URL(baseConfig.databaseUrl!)
  const name = `mhx_restore_${randomUUID().replace(/-/g, '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: adminUrl.toString() })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.teardown(async () => {
    const cleanup = new pg.Client({ connectionString: adminUrl.toString() })
    await cleanup.connect()
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await cleanup.end()
  })
  const restoredUrl = new URL(adminUrl)
  restoredUrl.pathname = `/${name}`
  await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${restoredUrl}`, file])
  const restored = await connectPostgres({ url: restoredUrl.toString(), poolMax: 5, statementTimeoutMs: 30_000 })
  t.teardown(() => restored.close())
  await migrate(restored)
  const counts: Record<string, number> = {}
  for (const table of TABLES) counts[table] = Number((await restored.pool!.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
  t.same(counts, dumped, 'every table holds what the snapshot held')
  t.ok(dumped.records >= 200 && dumped.cells > 0, `${dumped.records} records, ${dumped.cells} cells`)

  const after = await buildTestHub(t, { database: restored })

  // The admin of the source (its key is the test's) signs in to the restored hub.
  const adminToken = { authorization: `Bearer ${await after.token(hub.admin)}` }
  const audit = await after.app.inject({ url: '/v1/admin/audit/verify', headers: adminToken })
  t.equal(audit.statusCode, 200, audit.body)
  t.equal(audit.json().ok, true, 'the audit chain is whole')
  const cells = await after.app.inject({ url: '/v1/admin/aggregates/verify', headers: adminToken })
  t.equal(cells.statusCode, 200, cells.body)
  t.equal(cells.json().ok, true, 'every cell equals the records it stands for')
})
