// The codecs' figures (issues 23 and 24), in one process on real PostgreSQL, requests through
// app.inject (no socket: the figures are the API's own work, client and server on one thread):
//   - a 100,000-value DHIS2 dataValueSets document (10 % zeros, 5 % values of a second facility of
//     the same area, summed) beside the same values as mhx JSON (what the DHIS2 document stores:
//     zeros left out, facilities summed), per value received and per value stored;
//   - a 10,000-value ADX submission (mhx codes): milliseconds to its 202, and its per-value rate
//     beside 10,000 records (migrant-health-event 1.1.0 JSON) in the same run.
// Rounds alternate the paths; each round uses months of its own year, so nothing is a duplicate.
//
//   npx tsx bench/codecs.ts           (DATABASE_URL names the server; default postgres://postgres@127.0.0.1:5432/test)
//   BENCH_ROUNDS=3 BENCH_DHIS2_VALUES=100000 BENCH_ADX_VALUES=10000 npx tsx bench/codecs.ts
import { randomBytes, randomUUID } from 'node:crypto'
import { availableParallelism, loadavg } from 'node:os'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import pino from 'pino'
import { freshDatabase } from './support.js'
import { buildApp } from '../src/app.js'
import { createInProcessQueue } from '../src/aggregation/in-process-queue.js'
import { loadHubKeys } from '../src/auth/hub-keys.js'
import { ASSERTION_TYPE } from '../src/auth/token.js'
import { loadConfig } from '../src/config.js'
import { connectPostgres } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { partners } from '../src/db/schema.js'
import { loadSchemaRegistry } from '../src/intake/registry.js'

const PUBLIC_URL = 'http://bench.mhx.local'
const envInt = (name: string, fallback: number): number => process.env[name] ? Number(process.env[name]) : fallback

// the dimensions a category option combo fixes, one combo per combination (3,456 of them)
const COMBO_AXES: Array<[string, readonly string[]]> = [
  ['countryOfOrigin', ['UZB', 'TJK', 'KGZ', 'TKM']], ['migrationStatus', ['labour_migrant', 'refugee_or_asylum_seeker', 'student']],
  ['migrationStage', ['destination', 'transit', 'pre_departure']], ['sex', ['female', 'male']],
  ['ageBand', ['5-9', '10-14', '15-19', '20-24', '25-29', '30-34', '35-39', '40-44', '45-49', '50-54', '55-59', '60-64']],
  ['encounter', ['primary_care', 'emergency_care', 'screening', 'inpatient']]
]
const COMBOS = COMBO_AXES.reduce((n, [, values]) => n * values.length, 1)
// attribute option combos: insurance × service coverage
const AOCS: Array<Record<string, string>> = ['public', 'none', 'unknown'].flatMap((insurance) => ['covered', 'not_covered'].map((serviceCoverage) => ({ insurance, serviceCoverage })))
const RECORD_TYPES = ['contact', 'case_notification']

function comboOf (c: number): Record<string, string> {
  const dims: Record<string, string> = {}
  let rest = c
  for (const [field, values] of COMBO_AXES) {
    dims[field] = values[rest % values.length]
    rest = Math.floor(rest / values.length)
  }
  return dims
}

const MAPPING = {
  dataElements: Object.fromEntries(RECORD_TYPES.map((recordType, i) => [`de${i}`, { recordType }])),
  categoryOptionCombos: Object.fromEntries(Array.from({ length: COMBOS }, (_, c) => [`coc${c}`, comboOf(c)])),
  attributeOptionCombos: Object.fromEntries(AOCS.map((dims, a) => [`aoc${a}`, dims])),
  // two facilities of Almaty city, one of Astana
  orgUnits: { facAlmaty1: 'KZ-75', facAlmaty2: 'KZ-75', facAstana1: 'KZ-71' }
}

/** The k-th distinct key of a year: combo, attribute combo, record type, area and month (mixed radix). */
function keyOf (k: number, year: number) {
  let rest = k
  const take = (n: number) => { const v = rest % n; rest = Math.floor(rest / n); return v }
  const combo = take(COMBOS)
  const aoc = take(AOCS.length)
  const recordType = take(RECORD_TYPES.length)
  const astana = take(2) === 1
  const month = 1 + take(12)
  return { combo, aoc, recordType, astana, period: `${year}${String(month).padStart(2, '0')}` }
}

/**
 * A DHIS2 2.40 export of `n` values: 10 % zeros, 5 % a second Almaty facility's value of a key
 * already in the document (summed into it), the rest distinct keys; and the mhx JSON data values
 * the document stores.
 */
function documents (n: number, year: number): { dhis2: string, mhx: string, stored: number } {
  const values: Array<Record<string, unknown>> = []
  const stored = new Map<string, Record<string, unknown>>()
  let distinct = 0
  // the keys a second Almaty facility also reports, in order: each once, each already in the document
  let seconded = 0
  for (let i = 0; i < n; i++) {
    const zero = i % 10 === 9
    while (seconded < distinct && keyOf(seconded, year).astana) seconded++
    const second = !zero && i % 20 === 3 && seconded < distinct
    const k = second ? seconded++ : distinct++
    const key = keyOf(k, year)
    const area = key.astana ? 'KZ-71' : 'KZ-75'
    const orgUnit = key.astana ? 'facAstana1' : second ? 'facAlmaty2' : 'facAlmaty1'
    const count = zero ? 0 : 1 + (i % 97)
    values.push({
      dataElement: `de${key.recordType}`, period: key.period, orgUnit, categoryOptionCombo: `coc${key.combo}`, attributeOptionCombo: `aoc${key.aoc}`,
      value: String(count), storedBy: 'bench', created: '2026-04-02T09:14:03.112+0000', lastUpdated: '2026-04-02T09:14:03.112+0000', followup: false
    })
    if (zero) continue
    const name = `${k}`
    const dv = stored.get(name)
    if (dv) dv.count = (dv.count as number) + count
    else {
      stored.set(name, {
        period: `${key.period.slice(0, 4)}-${key.period.slice(4)}`, subnationalArea: area, recordType: RECORD_TYPES[key.recordType],
        ...comboOf(key.combo), ...AOCS[key.aoc], count
      })
    }
  }
  return {
    dhis2: JSON.stringify({ dataValues: values }),
    mhx: JSON.stringify({ schema: 'migrant-health-aggregate', version: '1.1.0', dataValues: [...stored.values()] }),
    stored: stored.size
  }
}

function adxOf (n: number, year: number): string {
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const key = keyOf(i, year)
    const dims = { ...comboOf(key.combo), ...AOCS[key.aoc] }
    lines.push(`<group orgUnit="${key.astana ? 'KZ-71' : 'KZ-75'}" period="${key.period.slice(0, 4)}-${key.period.slice(4)}-01/P1M"><dataValue dataElement="${RECORD_TYPES[key.recordType]}" ${Object.entries(dims).map(([f, v]) => `${f}="${v}"`).join(' ')} value="${1 + (i % 97)}"/></group>`)
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015">\n${lines.join('\n')}\n</adx>\n`
}

function recordsOf (n: number, year: number): string {
  return JSON.stringify({
    schema: 'migrant-health-event',
    version: '1.1.0',
    records: Array.from({ length: n }, (_, i) => {
      const key = keyOf(i, year)
      return { recordId: randomUUID(), period: `${key.period.slice(0, 4)}-${key.period.slice(4)}`, subnationalArea: key.astana ? 'KZ-71' : 'KZ-75', recordType: 'contact', ...comboOf(key.combo), ...AOCS[key.aoc] }
    })
  })
}

async function main (): Promise<void> {
  const rounds = Math.min(envInt('BENCH_ROUNDS', 3), 3)
  const dhis2Values = envInt('BENCH_DHIS2_VALUES', 100_000)
  const adxValues = envInt('BENCH_ADX_VALUES', 10_000)
  const benchDatabase = await freshDatabase(loadConfig().databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test')
  const kek = randomBytes(32).toString('base64')
  const database = await connectPostgres({ url: benchDatabase.url, poolMax: 8, statementTimeoutMs: 300_000 })
  try {
    await migrate(database)
    const config = { ...loadConfig(), databaseUrl: benchDatabase.url, publicUrl: PUBLIC_URL, kek, role: 'all' as const, rateToken: 0, rateApi: 0, maxRecords: Math.max(dhis2Values, adxValues) }
    const keys = await loadHubKeys(database.db, Buffer.from(kek, 'base64'))
    const app = await buildApp({ config, database, queue: createInProcessQueue(), keys, schemas: await loadSchemaRegistry(), logger: pino({ level: 'warn' }) })
    await app.ready()
    // one reporter per path, so that the same dimensions are never live twice
    const reporters = ['dhis2', 'mhx', 'adx', 'records']
    const pair = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bench-1', alg: 'ES256' }
    await database.db.insert(partners).values(reporters.map((r) => ({ id: `bench-${r}`, name: r, roles: ['reporter'], country: 'KAZ', jwks: { keys: [jwk] } })))
    const tokens = Object.fromEntries(await Promise.all(reporters.map(async (r) => [r, await tokenOf(app, `bench-${r}`, pair.privateKey)] as const)))
    const put = await app.inject({ method: 'PUT', url: '/v1/mappings/dhis2', headers: { authorization: `Bearer ${tokens.dhis2}` }, payload: MAPPING })
    if (put.statusCode !== 204) throw new Error(`mapping: ${put.statusCode} ${put.body}`)
    const send = async (who: string, body: string, url = '/v1/submissions', type = 'application/json'): Promise<{ ms: number, json: Record<string, unknown> }> => {
      const t0 = performance.now()
      const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': type }, payload: body })
      const ms = performance.now() - t0
      if (res.statusCode !== 202) throw new Error(`${who}: ${res.statusCode} ${res.body.slice(0, 500)}`)
      return { ms, json: res.json() }
    }

    console.log(`codecs bench: ${rounds} rounds; DHIS2 ${dhis2Values} values, ADX ${adxValues} values; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`)
    // warm-up: one small round of every path (a year before the measured ones; areas KZ-71 and KZ-75 exist from 2022-11)
    {
      const small = documents(2000, 2023)
      await send('dhis2', small.dhis2, '/v1/submissions?format=dhis2')
      await send('mhx', small.mhx)
      await send('adx', adxOf(2000, 2023), '/v1/submissions', 'application/adx+xml')
      await send('records', recordsOf(2000, 2023))
    }
    const totals = { dhis2: 0, mhx: 0, adx: 0, records: 0, received: 0, stored: 0 }
    const adxMs: number[] = []
    for (let r = 0; r < rounds; r++) {
      const year = 2024 + r
      const docs = documents(dhis2Values, year)
      const dhis2 = await send('dhis2', docs.dhis2, '/v1/submissions?format=dhis2')
      const summary = dhis2.json.importSummary as { received: number, imported: number, summed: number, ignored: unknown[] }
      if (summary.imported !== docs.stored) throw new Error(`DHIS2 stored ${summary.imported}, expected ${docs.stored}`)
      const mhx = await send('mhx', docs.mhx)
      const adx = await send('adx', adxOf(adxValues, year), '/v1/submissions', 'application/adx+xml')
      const records = await send('records', recordsOf(adxValues, year))
      totals.dhis2 += dhis2.ms
      totals.mhx += mhx.ms
      totals.adx += adx.ms
      totals.records += records.ms
      totals.received += summary.received
      totals.stored += summary.imported
      adxMs.push(adx.ms)
      console.log(`  round ${r + 1}: DHIS2 ${fmt(dhis2.ms)} ms (received ${summary.received}, imported ${summary.imported}, summed ${summary.summed}, ignored ${summary.ignored.length}); mhx JSON ${fmt(mhx.ms)} ms; ADX ${fmt(adx.ms)} ms; records ${fmt(records.ms)} ms`)
    }
    const rate = (values: number, ms: number) => values / (ms / 1000)
    const dhis2PerReceived = rate(totals.received, totals.dhis2)
    const dhis2PerStored = rate(totals.stored, totals.dhis2)
    const mhxRate = rate(totals.stored, totals.mhx)
    console.log(`  DHIS2 dataValueSets: ${fmt(dhis2PerReceived)} values received/s, ${fmt(dhis2PerStored)} data values stored/s`)
    console.log(`  the same values as mhx JSON: ${fmt(mhxRate)} data values/s`)
    console.log(`  DHIS2 / mhx JSON per value: ${(dhis2PerReceived / mhxRate).toFixed(2)} per value received (target ≥ 0.8), ${(dhis2PerStored / mhxRate).toFixed(2)} per value stored`)
    const adxRate = rate(rounds * adxValues, totals.adx)
    const recordRate = rate(rounds * adxValues, totals.records)
    console.log(`  ADX ${adxValues} values accepted in ${adxMs.map(fmt).join(', ')} ms (target < 500 ms); ${fmt(adxRate)} data values/s`)
    console.log(`  records (1.1.0 JSON), ${adxValues} per submission: ${fmt(recordRate)} records/s; ADX / records per value: ${(adxRate / recordRate).toFixed(2)} (target ≥ 0.8)`)
    await app.close()
  } finally {
    await database.close()
    await benchDatabase.drop()
  }
}

async function tokenOf (app: Awaited<ReturnType<typeof buildApp>>, id: string, key: CryptoKey): Promise<string> {
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
    .setIssuer(id).setSubject(id).setAudience(`${PUBLIC_URL}/v1/oauth/token`)
    .setIssuedAt().setExpirationTime('2m').setJti(randomUUID()).sign(key)
  const res = await app.inject({
    method: 'POST', url: '/v1/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }).toString()
  })
  if (res.statusCode !== 200) throw new Error(`token for ${id}: ${res.statusCode} ${res.body}`)
  return res.json().access_token as string
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

await main()
