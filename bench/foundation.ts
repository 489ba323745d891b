// Foundation benchmark: start-up time on each database, token endpoint requests/s, and
// bearer-verified requests/s on a trivial protected route beside an unprotected one.
// Run: [REDIS_URL=redis://…] npx tsx bench/foundation.ts [admin database URL]   (default postgres://postgres@127.0.0.1:5432/test)
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import { describe, load, type LoadResult } from './load.js'
import { cpuSeconds, freshDatabase, startServer } from './support.js'

const ADMIN_DB_URL = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test'
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

async function assertion (id: string, kid: string, key: CryptoKey, aud: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(id).setSubject(id).setAudience(aud)
    .setIssuedAt().setExpirationTime('4m').setJti(randomUUID()).sign(key)
}

function form (a: string): string {
  return new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: a }).toString()
}

const lines: string[] = []
const say = (line: string) => { lines.push(line); console.log(line) }

// 1. Start-up time.
const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-'))
const adminPair = await generateKeyPair('ES256', { extractable: true })
const adminJwk = { ...(await exportJWK(adminPair.publicKey)), kid: 'bench-admin', alg: 'ES256' }
writeFileSync(join(dataDir, 'admin.jwk'), JSON.stringify(adminJwk))
const common = { MHX_DATA_DIR: dataDir, MHX_ADMIN_PUBLIC_JWK: join(dataDir, 'admin.jwk') }

const pgliteFirst = await startServer(common, 3901)
await pgliteFirst.stop()
const pgliteAgain = await startServer(common, 3901)
await pgliteAgain.stop()
say(`start-up to /health/ready, PGlite: first start (creates + migrates) ${pgliteFirst.readyMs.toFixed(0)} ms, second start ${pgliteAgain.readyMs.toFixed(0)} ms`)

const database = await freshDatabase(ADMIN_DB_URL)
const pgFirst = await startServer({ ...common, DATABASE_URL: database.url }, 3902)
await pgFirst.stop()
const publicUrl = 'http://127.0.0.1:3902'
const server = await startServer({ ...common, DATABASE_URL: database.url, MHX_PUBLIC_URL: publicUrl }, 3902)
say(`start-up to /health/ready, PostgreSQL: first start (migrates) ${pgFirst.readyMs.toFixed(0)} ms, second start ${server.readyMs.toFixed(0)} ms`)

// 2. A reader partner registered by the admin.
const tokenUrl = `${publicUrl}/v1/oauth/token`
async function token (id: string, kid: string, key: CryptoKey): Promise<string> {
  const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(await assertion(id, kid, key, tokenUrl)) })
  return (await res.json() as { access_token: string }).access_token
}
const adminToken = await token('admin', 'bench-admin', adminPair.privateKey)
const readerPair = await generateKeyPair('ES256', { extractable: true })
const readerJwk = { ...(await exportJWK(readerPair.publicKey)), kid: 'bench-reader', alg: 'ES256' }
const created = await fetch(`${publicUrl}/v1/admin/partners`, {
  method: 'POST',
  headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({ id: 'bench-reader', name: 'Bench reader', roles: ['reader'], jwks: { keys: [readerJwk] } })
})
if (created.status !== 201) throw new Error(`partner: ${created.status} ${await created.text()}`)

// 3. Token endpoint: every request a fresh assertion (pre-signed, so the client's signing is not measured).
const signed = (n: number) => Promise.all(Array.from({ length: n }, () => assertion('bench-reader', 'bench-reader', readerPair.privateKey, tokenUrl)))
const tokenLoad = async (seconds: number) => {
  const assertions = await signed(Math.ceil(seconds * 1_500))
  return load({
    url: tokenUrl, method: 'POST', connections: 16, seconds,
    request: (n) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(assertions[n % assertions.length]) })
  })
}

// 4. Bearer-verified trivial route beside an unprotected one, same server, same run.
const readerToken = await token('bench-reader', 'bench-reader', readerPair.privateKey)
const open = await load({ url: `${publicUrl}/health/live`, connections: 50, seconds: 8 })
const bearer = await load({ url: `${publicUrl}/v1/me`, connections: 50, seconds: 8, request: () => ({ headers: { authorization: `Bearer ${readerToken}` } }) })
await server.stop()

// 5. The token endpoint with its rate limits off and on (issue 12), each on a server of its own
// (warmed up for 2 s), alternating twice. On: counted in Redis when the bench has REDIS_URL, as a
// replicated deployment counts them, else in the process; first with a budget the load stays
// within (every request counted, none refused: the cost of counting), then at the default
// MHX_RATE_TOKEN (the bench client is one client from one address: most answers are 429s).
const redis: Record<string, string> = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}
const store = process.env.REDIS_URL ? 'Redis' : 'in-process'
async function tokensWith (env: Record<string, string>, warmUp = true) {
  // A key prefix of its own per run: neither run's counters (a minute's window) carry into the other's.
  const prefix = { MHX_QUEUE_PREFIX: `bench-${randomUUID().slice(0, 8)}` }
  const limited = await startServer({ ...common, DATABASE_URL: database.url, MHX_PUBLIC_URL: publicUrl, ...redis, ...prefix, ...env }, 3902)
  try {
    if (warmUp) await tokenLoad(2)
    // CPU the server spent per request: steadier than the rate on two cores shared with other work.
    const cpuBefore = cpuSeconds({ pid: limited.child.pid! })
    const result = await tokenLoad(6)
    return { ...result, serverUs: (cpuSeconds({ pid: limited.child.pid! }) - cpuBefore) * 1e6 / result.requests }
  } finally {
    await limited.stop()
    if (process.env.REDIS_URL) {
      // The run's queue and counter keys go with it (the Redis is shared).
      const client = new Redis(process.env.REDIS_URL)
      const keys = await client.keys(`${prefix.MHX_QUEUE_PREFIX}:*`)
      if (keys.length > 0) await client.del(...keys)
      await client.quit()
    }
  }
}
const OFF = { MHX_RATE_TOKEN: '0' }
const COUNTED = { MHX_RATE_TOKEN: '1000000' }
const tokensOff = [await tokensWith(OFF)]
const tokensCounted = [await tokensWith(COUNTED)]
tokensOff.push(await tokensWith(OFF))
tokensCounted.push(await tokensWith(COUNTED))
// No warm-up: it would spend the minute's budget before the measured run.
const tokensDefault = await tokensWith({ MHX_RATE_TOKEN: '120' }, false)
const mean = (runs: Array<LoadResult & { serverUs: number }>, of: 'rps' | 'serverUs') => runs.reduce((sum, r) => sum + r[of], 0) / runs.length
const withCpu = (line: string, r: { serverUs: number }) => `${line}; server CPU ${r.serverUs.toFixed(0)} µs per request`

for (const r of tokensOff) say(withCpu(describe('POST /v1/oauth/token (ES256 assertion, 16 connections), rate limits off (MHX_RATE_TOKEN=0)', r), r))
for (const r of tokensCounted) say(withCpu(describe(`POST /v1/oauth/token, rate limits on, ${store} counters, budget 1,000,000/min (none refused)`, r), r))
say(withCpu(describe(`POST /v1/oauth/token, rate limits on, ${store} counters, default budget 120/min per client and address`, tokensDefault), tokensDefault))
say(`token endpoint, limits on (counted, all answered) / off = ${(mean(tokensCounted, 'rps') / mean(tokensOff, 'rps')).toFixed(2)} (means of two runs each: ${mean(tokensCounted, 'rps').toFixed(0)} / ${mean(tokensOff, 'rps').toFixed(0)} req/s; server CPU ${mean(tokensCounted, 'serverUs').toFixed(0)} / ${mean(tokensOff, 'serverUs').toFixed(0)} µs per request); answered (200) per second at the default budget: ${((tokensDefault.statuses[200] ?? 0) / tokensDefault.seconds).toFixed(1)}`)
say(describe('GET /health/live (unprotected, 50 connections)', open))
say(describe('GET /v1/me (bearer verified + partner status read, 50 connections)', bearer))
say(`bearer / unprotected = ${(bearer.rps / open.rps).toFixed(2)}`)

await database.drop()
rmSync(dataDir, { recursive: true, force: true })
console.log('\n' + lines.map((l) => `- ${l}`).join('\n'))
