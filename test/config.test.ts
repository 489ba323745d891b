// Configuration faults stop the start with one line naming the variable.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.publicUrl, 'http://localhost:3000')
  t.equal(config.suppressionK, 5)
  t.equal(config.tokenTtlS, 300)
  t.equal(config.maxRecords, 10000)
  t.equal(config.role, 'all')
  t.equal(config.readAudit, 'sync')
  t.equal(config.rateToken, 120)
  t.equal(config.rateApi, 1200)
  t.equal(loadConfig({ MHX_RATE_TOKEN: '0', MHX_RATE_API: '0' }).rateApi, 0, '0 turns a limit off')
  t.equal(loadConfig({ MHX_READ_AUDIT: 'async' }).readAudit, 'async')
  t.equal(config.databaseUrl, undefined)
  t.equal(config.redisUrl, undefined)
  t.match(config.dataDir, /\.mhx$/)
  t.equal(loadConfig({ PORT: '8080' }).publicUrl, 'http://localhost:8080')
  t.equal(loadConfig({ MHX_PUBLIC_URL: 'https://mhx.example.org/' }).publicUrl, 'https://mhx.example.org', 'no trailing slash')
  t.same(config.corsOrigins, [], 'no browser origin by default')
  t.same(loadConfig({ MHX_CORS_ORIGINS: 'https://dash.example.org, http://localhost:5173' }).corsOrigins, ['https://dash.example.org', 'http://localhost:5173'])
  t.same(config.webhookAllowHosts, [], 'no webhook host is exempt by default')
  t.same(loadConfig({ MHX_WEBHOOK_ALLOW_HOSTS: 'Receiver.Internal, 10.0.0.7, ::1, [fd00::7]' }).webhookAllowHosts, ['receiver.internal', '10.0.0.7', '[::1]', '[fd00::7]'], 'as a URL writes them')
})

const faults: Array<[Record<string, string>, string]> = [
  [{ PORT: 'abc' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
  [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
  [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
  [{ MHX_PUBLIC_URL: 'ftp://x' }, 'MHX_PUBLIC_URL'],
  [{ MHX_SUPPRESSION_K: '2' }, 'MHX_SUPPRESSION_K'],
  [{ MHX_ROLE: 'boss' }, 'MHX_ROLE'],
  [{ MHX_ROLE: 'worker' }, 'DATABASE_URL'],
  [{ MHX_ROLE: 'api', DATABASE_URL: 'postgres://127.0.0.1/x' }, 'REDIS_URL'],
  [{ MHX_KEK: 'c2hvcnQ=' }, 'MHX_KEK'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ MHX_READ_AUDIT: 'later' }, 'MHX_READ_AUDIT'],
  [{ MHX_RATE_TOKEN: '-1' }, 'MHX_RATE_TOKEN'],
  [{ MHX_RATE_API: 'many' }, 'MHX_RATE_API'],
  [{ MHX_CORS_ORIGINS: '*' }, 'MHX_CORS_ORIGINS'],
  [{ MHX_CORS_ORIGINS: 'https://dash.example.org/app' }, 'MHX_CORS_ORIGINS'],
  [{ MHX_CORS_ORIGINS: 'dash.example.org' }, 'MHX_CORS_ORIGINS'],
  [{ MHX_WEBHOOK_ALLOW_HOSTS: 'https://receiver.internal' }, 'MHX_WEBHOOK_ALLOW_HOSTS'],
  [{ MHX_WEBHOOK_ALLOW_HOSTS: 'receiver.internal:8443' }, 'MHX_WEBHOOK_ALLOW_HOSTS'],
  // a spelling URL parsing would change (to 127.0.0.1): it could never match a URL's host as written
  [{ MHX_WEBHOOK_ALLOW_HOSTS: '127.1' }, 'MHX_WEBHOOK_ALLOW_HOSTS'],
  // more than a submission can hold (docs/operations.md), or than the statement timeout can store
  [{ MHX_MAX_RECORDS: '100001' }, 'MHX_MAX_RECORDS'],
  [{ DATABASE_URL: 'postgres://127.0.0.1/x', MHX_MAX_RECORDS: '100000', MHX_DB_STATEMENT_TIMEOUT_MS: '5000' }, 'MHX_MAX_RECORDS']
]

t.test('the largest limit fits the default statement timeout; a shorter timeout lowers what is allowed', async (t) => {
  t.equal(loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/x', MHX_MAX_RECORDS: '100000' }).maxRecords, 100_000)
  t.equal(loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/x', MHX_MAX_RECORDS: '50000', MHX_DB_STATEMENT_TIMEOUT_MS: '5000' }).maxRecords, 50_000)
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/x', MHX_MAX_RECORDS: '50001', MHX_DB_STATEMENT_TIMEOUT_MS: '5000' }),
    { message: /^MHX_MAX_RECORDS: 50001 records cannot be stored within MHX_DB_STATEMENT_TIMEOUT_MS \(5000 ms\): allow at most 50000 records, or a timeout of at least 5001 ms$/ })
  t.throws(() => loadConfig({ MHX_MAX_RECORDS: '566000' }), { message: /^MHX_MAX_RECORDS: must be at most 100000, got 566000: .*`mhx push`/ })
})

t.test('each fault names its variable', async (t) => {
  for (const [env, variable] of faults) {
    const err = t.throws(() => loadConfig(env), JSON.stringify(env)) as unknown
    t.ok(err instanceof ConfigError && err.variable === variable, `${JSON.stringify(env)} names ${variable}`)
  }
})

t.test('the process prints one line, not a stack trace', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'abc' }, /^mhx: configuration error: PORT: must be a whole number, got "abc"\n$/],
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' }, /^mhx: configuration error: DATABASE_URL: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere: .*\n$/]
  ]
  for (const [env, line] of cases) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, MHX_DATA_DIR: '/nonexistent-mhx-test', ...env },
      encoding: 'utf8',
      timeout: 60_000
    })
    t.equal(run.status, 1, JSON.stringify(env))
    t.match(run.stderr, line)
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  }
})
