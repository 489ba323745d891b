// The service starts on the embedded default and on PostgreSQL in the same suite, and a
// second start on the same data keeps everything.
// @embedded: the start on the embedded default: PGlite in MHX_DATA_DIR, in-process queues
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import pino from 'pino'
import t from 'tap'
import { rows } from '../src/db/connect.js'
import { startService } from '../src/service.js'
import { baseConfig, testConfig } from './helpers.js'

const logger = pino({ level: 'silent' })

t.test('embedded default: PGlite in MHX_DATA_DIR, admin key written, restart keeps it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-start-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = testConfig({ databaseUrl: undefined, redisUrl: undefined, dataDir, port: 0, publicUrl: 'http://localhost:0' })
  const first = await startService(config, logger)
  const ready = await first.app!.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json().database, { status: 'ok', kind: 'pglite' })
  const keyFile = join(dataDir, 'admin.private.jwk')
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the admin private key is readable by its owner only')
  t.equal(statSync(join(dataDir, 'hub.kek')).mode & 0o777, 0o600)
  const key = readFileSync(keyFile, 'utf8')
  const jwks = (await first.app!.inject({ url: '/.well-known/jwks.json' })).json()
  await first.close()

  const second = await startService(config, logger)
  t.equal(readFileSync(keyFile, 'utf8'), key, 'the admin key is not replaced')
  t.same((await second.app!.inject({ url: '/.well-known/jwks.json' })).json(), jwks, 'the hub keys are kept')
  await second.close()
})

t.test('PostgreSQL: migrations under the advisory lock, two starts at once', { skip: baseConfig.databaseUrl ? false : 'DATABASE_URL is not set' }, async (t) => {
  const admin = new pg.Client({ connectionString: baseConfig.databaseUrl })
  await admin.connect()
  const name = `mhx_s_${randomUUID().replace(/-/g, '').slice(0, 12)}`
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(baseConfig.databaseUrl!)
  url.pathname = `/${name}`
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-start-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = testConfig({ databaseUrl: url.toString(), redisUrl: undefined, dataDir, port: 0 })
  const [a, b] = await Promise.all([startService(config, logger), startService(config, logger)])
  for (const service of [a, b]) {
    const ready = await service.app!.inject({ url: '/health/ready' })
    t.equal(ready.statusCode, 200)
    t.equal(ready.json().database.kind, 'postgres')
  }
  const [partners] = await rows<{ n: number }>(a.database.db, sql`SELECT count(*)::int AS n FROM partners`)
  t.equal(partners.n, 1, 'exactly one admin partner, whichever start created it')
  await a.close()
  await b.close()
})
