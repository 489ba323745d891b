// Test harness: a fresh database per test file (PostgreSQL when DATABASE_URL is set, else PGlite
// in memory), the app built on it, and partners with real keys that obtain real tokens.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { Redis } from 'ioredis'
import pg from 'pg'
import pino from 'pino'
import { buildApp, type App } from '../src/app.js'
import { createCellVersions, type CellVersions } from '../src/aggregation/versions.js'
import { startAggregation } from '../src/aggregation/worker-runtime.js'
import { createMetrics } from '../src/ops/metrics.js'
import { createPartnerDirectory, type PartnerDirectory } from '../src/auth/directory.js'
import { createInProcessQueue, type InProcessQueue } from '../src/aggregation/in-process-queue.js'
import { loadHubKeys, type HubKeys } from '../src/auth/hub-keys.js'
import { ASSERTION_TYPE } from '../src/auth/token.js'
import { loadConfig, type Config } from '../src/config.js'
import { connectPglite, connectPostgres, type Database } from '../src/db/connect.js'
import { migrate, MIGRATIONS_FOLDER } from '../src/db/migrate.js'
import { bootstrapAdmin } from '../src/admin/bootstrap.js'
import { loadSchemaRegistry, type SchemaRegistry } from '../src/intake/registry.js'

interface Teardown { teardown (fn: () => unknown): void }

/** The environment's configuration: DATABASE_URL and REDIS_URL decide what the suite runs against. */
export const baseConfig: Config = loadConfig()

export const PUBLIC_URL = 'http://mhx.test'

/**
 * First-wave tests read by grants alone (MHX_CONSENT=grants); stewardship tests ask for consent: 'required'.
 * Rate limits are off unless a test turns them on: a test file is hundreds of clients' requests
 * from one address within a minute (test/auth/rate-limits.test.ts tests the limits themselves).
 */
export function testConfig (overrides: Partial<Config> = {}): Config {
  return { ...baseConfig, publicUrl: PUBLIC_URL, role: 'all', rateToken: 0, rateApi: 0, consent: 'grants', ...overrides }
}

// Creating a PGlite database (its initdb) costs ~5 s of CPU and every test file makes one or more:
// they start from one migrated database dumped once per machine instead (~1.5 s), named by the
// migrations and PGlite's version, written whole under a temporary name, then renamed.
let pgliteSeed: Promise<Blob> | undefined
function migratedPgliteSeed (): Promise<Blob> {
  pgliteSeed ??= (async () => {
    const digest = createHash('sha256')
    digest.update(JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, '../node_modules/@electric-sql/pglite/package.json'), 'utf8')).version)
    for (const name of readdirSync(MIGRATIONS_FOLDER, { recursive: true }).map(String).sort()) {
      const path = join(MIGRATIONS_FOLDER, name)
      if (statSync(path).isFile()) digest.update(name).update(readFileSync(path))
    }
    const file = join(tmpdir(), `mhx-pglite-seed-${digest.digest('hex').slice(0, 16)}.tar`)
    if (!existsSync(file)) {
      const database = await connectPglite()
      await migrate(database)
      const dump = await (database.pglite as { dumpDataDir: (compression: 'none') => Promise<Blob> }).dumpDataDir('none')
      await database.close()
      const partial = `${file}.${process.pid}.${randomUUID()}`
      writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
      renameSync(partial, file)
    }
    return new Blob([readFileSync(file)])
  })()
  return pgliteSeed
}

/**
 * A migrated database of this test file's own: a new PostgreSQL database, or PGlite in memory.
 * `migrationsFolder`: migrated by those migrations instead (e.g. up to an older one).
 */
export async function testDatabase (t: Teardown, kind: 'postgres' | 'pglite' | 'env' = 'env', options: { migrationsFolder?: string } = {}): Promise<Database> {
  const usePostgres = kind === 'postgres' || (kind === 'env' && baseConfig.databaseUrl !== undefined)
  if (!usePostgres) {
    const database = await connectPglite(undefined, options.migrationsFolder === undefined ? await migratedPgliteSeed() : undefined)
    // the seed is migrated already: this applies nothing, or what came since (it checks, as at every start)
    await migrate(database, options.migrationsFolder)
    t.teardown(() => database.close())
    return database
  }
  const adminUrl = baseConfig.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test'
  const name = `mhx_t_${randomUUID().replace(/-/g, '').slice(0, 16)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const database = await connectPostgres({ url: url.toString(), poolMax: 10, statementTimeoutMs: 30_000 })
  await migrate(database, options.migrationsFolder)
  t.teardown(async () => {
    await database.close()
    const cleanup = new pg.Client({ connectionString: adminUrl })
    await cleanup.connect()
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await cleanup.end()
  })
  return database
}

export interface TestPartner {
  id: string
  kid: string
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function newPartnerKey (id: string, alg: 'EdDSA' | 'ES256' | 'RS256' | 'PS256' | 'ES384' = 'ES256'): Promise<TestPartner> {
  const pair = await generateKeyPair(alg, { extractable: true })
  const kid = `${id}-${alg.toLowerCase()}-${randomUUID().slice(0, 6)}`
  return { id, kid, alg, privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg } }
}

export interface AssertionOptions {
  aud?: string | string[]
  iss?: string
  sub?: string
  expInS?: number | null
  jti?: string | null
  kid?: string
  key?: CryptoKey
  alg?: string
}

export async function clientAssertion (partner: TestPartner, options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? partner.alg, kid: options.kid ?? partner.kid })
    .setIssuer(options.iss ?? partner.id)
    .setSubject(options.sub ?? partner.id)
    .setAudience(options.aud ?? `${PUBLIC_URL}/v1/oauth/token`)
    .setIssuedAt(now)
  if (options.expInS !== null) jwt.setExpirationTime(now + (options.expInS ?? 60))
  if (options.jti !== null) jwt.setJti(options.jti ?? randomUUID())
  return jwt.sign(options.key ?? partner.privateKey)
}

export function tokenForm (assertion: string, scope?: string): string {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
  if (scope) form.set('scope', scope)
  return form.toString()
}

export interface TestHub {
  app: App
  database: Database
  queue: InProcessQueue
  keys: HubKeys
  config: Config
  /** The app's partner directory and data versions (tests that write by SQL tell them, as the service's writers do). */
  directory: PartnerDirectory
  cellVersions: CellVersions
  admin: TestPartner
  /** An access token for a partner (a fresh assertion each time). */
  token (partner: TestPartner, scope?: string): Promise<string>
  /** Registers a partner with a fresh key through the admin API. */
  partner (input: { id?: string, roles: string[], country?: string | null, grants?: Array<{ region: string, k?: number }> }): Promise<TestPartner>
}

// Compiled once per test file: the registry is immutable.
let schemaRegistry: SchemaRegistry | undefined

/** The app on a fresh database with an admin partner whose key the test holds. */
export async function buildTestHub (t: Teardown, options: { config?: Partial<Config>, database?: Database, now?: () => Date, rateLimitRedis?: Redis, schemas?: SchemaRegistry, logger?: pino.Logger } = {}): Promise<TestHub> {
  const config = testConfig(options.config)
  const database = options.database ?? await testDatabase(t)
  const queue = createInProcessQueue()
  const dataDir = mkdtempSync(join(tmpdir(), 'mhx-test-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const keys = await loadHubKeys(database.db, Buffer.alloc(32, 7))
  const adminKey = await newPartnerKey('admin', 'EdDSA')
  const jwkFile = join(dataDir, 'admin.jwk')
  writeFileSync(jwkFile, JSON.stringify({ keys: [adminKey.publicJwk] }))
  await bootstrapAdmin(database, { adminPublicJwkPath: jwkFile, dataDir, now: new Date() })
  const schemas = options.schemas ?? (schemaRegistry ??= await loadSchemaRegistry())
  const directory = await createPartnerDirectory(database)
  const cellVersions = await createCellVersions(database)
  const app = await buildApp({ config, database, queue, keys, schemas, directory, cellVersions, now: options.now, logger: options.logger ?? pino({ level: 'silent' }), rateLimitRedis: options.rateLimitRedis })
  t.teardown(async () => { await app.close(); await directory.close(); await cellVersions.close() })

  async function token (partner: TestPartner, scope?: string): Promise<string> {
    const res = await app.inject({
      method: 'POST', url: '/v1/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: tokenForm(await clientAssertion(partner, { aud: `${config.publicUrl}/v1/oauth/token` }), scope)
    })
    if (res.statusCode !== 200) throw new Error(`token for ${partner.id}: ${res.statusCode} ${res.body}`)
    return res.json().access_token
  }

  let adminToken: string | undefined
  /** An admin call; a token the admin lost to a change of its own (a suspension a test made) is renewed once. */
  async function asAdmin (call: { method: 'POST' | 'PUT', url: string, payload: object }) {
    adminToken ??= await token(adminKey)
    const res = await app.inject({ ...call, headers: { authorization: `Bearer ${adminToken}` } })
    if (res.statusCode !== 401) return res
    adminToken = await token(adminKey)
    return app.inject({ ...call, headers: { authorization: `Bearer ${adminToken}` } })
  }

  async function partner (input: { id?: string, roles: string[], country?: string | null, grants?: Array<{ region: string, k?: number }> }): Promise<TestPartner> {
    const id = input.id ?? `p-${randomUUID().slice(0, 8)}`
    const key = await newPartnerKey(id)
    const res = await asAdmin({
      method: 'POST', url: '/v1/admin/partners',
      payload: { id, name: `Partner ${id}`, roles: input.roles, country: input.country ?? null, jwks: { keys: [key.publicJwk] } }
    })
    if (res.statusCode !== 201) throw new Error(`create partner ${id}: ${res.statusCode} ${res.body}`)
    if (input.grants) {
      const g = await asAdmin({ method: 'PUT', url: `/v1/admin/partners/${id}/grants`, payload: { grants: input.grants } })
      if (g.statusCode !== 200) throw new Error(`grants for ${id}: ${g.statusCode} ${g.body}`)
    }
    return key
  }

  return { app, database, queue, keys, config, directory, cellVersions, admin: adminKey, token, partner }
}

/** A TCP port free on 127.0.0.1 just now. */
/**
 * The aggregation worker on the hub's database and queue, stopped at teardown; its sweep waits a
 * minute and runs hourly, so a test's submissions are taken by their own jobs.
 */
export async function startTestAggregation (t: Teardown, hub: TestHub): Promise<void> {
  const runtime = await startAggregation({
    config: { ...hub.config, sweepAfterMs: 60_000, sweepIntervalMs: 3_600_000 },
    database: hub.database, queue: hub.queue, metrics: createMetrics({ queue: hub.queue, database: hub.database }), logger: pino({ level: 'silent' }),
    cellVersions: hub.cellVersions
  })
  t.teardown(() => runtime.close())
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it holds; throws after `timeoutMs`. */
export async function waitFor (check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
