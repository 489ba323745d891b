// npm run demo: seeds a running service over HTTP, with the admin key, like any client would —
// ministries of the five Central Asian countries plus Russia and Türkiye, IOM's regional office,
// WHO and an NGO, their grants, synthetic but plausible records; each ministry, as its country's
// steward, consents to its readers (Turkmenistan refuses the NGO) and publishes January to May —
// then prints what each may read.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'
import { loadCliConfig, loadConfig } from '../config.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const CENTRAL_ASIA = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB']
const FROM = '2026-01'
const TO = '2026-06'

interface DemoPartner { id: string, name: string, roles: string[], country: string | null, grants: Array<{ region: string, k?: number, countryOfOrigin?: string }> }

const MINISTRIES: Array<[string, string, string]> = [
  ['KAZ', 'kaz-moh', 'Ministry of Health of Kazakhstan'],
  ['KGZ', 'kgz-moh', 'Ministry of Health of the Kyrgyz Republic'],
  ['TJK', 'tjk-moh', 'Ministry of Health and Social Protection of Tajikistan'],
  ['TKM', 'tkm-moh', 'Ministry of Health and Medical Industry of Turkmenistan'],
  ['UZB', 'uzb-moh', 'Ministry of Health of Uzbekistan'],
  ['RUS', 'rus-moh', 'Ministry of Health of the Russian Federation'],
  ['TUR', 'tur-moh', 'Ministry of Health of Türkiye']
]

const PARTNERS: DemoPartner[] = [
  // A ministry reports its country's records, stewards them, and reads; Tajikistan's also reads
  // Russia's data about Tajik nationals (an origin grant, with Russia's consent).
  ...MINISTRIES.map(([country, id, name]) => ({ id, name, roles: ['reporter', 'reader', 'steward'], country,
    grants: [{ region: country }, ...(country === 'TJK' ? [{ region: 'RUS', countryOfOrigin: 'TJK' }] : [])] })),
  { id: 'iom-roca', name: 'IOM Regional Office for Central Asia', roles: ['reader'], country: null, grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] },
  { id: 'who-europe', name: 'WHO Regional Office for Europe', roles: ['reader'], country: null, grants: [{ region: 'central-asia' }, { region: 'RUS' }, { region: 'TUR' }] },
  { id: 'ngo-migrant-health', name: 'Migrant health NGO (public use)', roles: ['reader'], country: null, grants: [{ region: 'central-asia', k: 11 }] }
]

// A few first-level areas per country, valid from 2022-11 (see schemas/subnational-areas).
const AREAS: Record<string, string[]> = {
  KAZ: ['KZ-75', 'KZ-71', 'KZ-79', 'KZ-35'], KGZ: ['KG-GB', 'KG-C', 'KG-O'], TJK: ['TJ-DU', 'TJ-SU', 'TJ-KT'],
  TKM: ['TM-A', 'TM-L', 'TM-D'], UZB: ['UZ-TK', 'UZ-SA', 'UZ-FA', 'UZ-AN'], RUS: ['RU-MOW', 'RU-SPE', 'RU-MOS'], TUR: ['TR-34', 'TR-06', 'TR-35']
}
// Where a country's migrant patients come from, and how many records it reports.
const ORIGINS: Record<string, string[]> = {
  KAZ: ['UZB', 'KGZ', 'TJK', 'RUS', 'unknown'], KGZ: ['UZB', 'TJK', 'KAZ'], TJK: ['AFG', 'UZB', 'KGZ'], TKM: ['UZB', 'AFG', 'IRN'],
  UZB: ['TJK', 'KGZ', 'KAZ', 'AFG'], RUS: ['UZB', 'TJK', 'KGZ', 'KAZ', 'TKM', 'unknown'], TUR: ['TKM', 'UZB', 'KGZ', 'SYR', 'AFG', 'unknown']
}
export const VOLUME: Record<string, number> = { KAZ: 1400, KGZ: 600, TJK: 500, TKM: 90, UZB: 900, RUS: 2600, TUR: 1500 }
const CONDITIONS = ['A15', 'A16', 'B20', 'B18.1', 'O80', 'O26.8', 'S62', 'T14', 'F32', 'F43.1', 'I10', 'E11', 'J18', 'J06', 'U07.1', 'A54']

/** Source of the demo's denominators and reference values: they are made up, and say so. */
export const DEMO_SOURCE = 'illustrative (demo)'
/** Illustrative population figures for 2025 (orders of magnitude only; not official statistics). */
const DEMO_POPULATIONS: Record<string, Record<string, number>> = {
  KAZ: { migrant_stock: 3_700_000, migrant_stock_female: 1_900_000, migrant_stock_male: 1_800_000, migrant_workers: 150_000, nationals_abroad: 4_000_000 },
  KGZ: { migrant_stock: 200_000, migrant_workers: 20_000, nationals_abroad: 800_000 },
  TJK: { migrant_stock: 280_000, migrant_workers: 10_000, nationals_abroad: 600_000 },
  TKM: { migrant_stock: 190_000, migrant_workers: 5_000, nationals_abroad: 250_000 },
  UZB: { migrant_stock: 1_150_000, migrant_workers: 30_000, nationals_abroad: 2_000_000 },
  RUS: { migrant_stock: 11_600_000, migrant_stock_female: 5_800_000, migrant_stock_male: 5_800_000, migrant_workers: 2_500_000, migrant_workers_female: 400_000, migrant_workers_male: 2_100_000 },
  TUR: { migrant_stock: 6_000_000, migrant_workers: 300_000 }
}
/** Illustrative comparators (the nationals' figure an analyst sets beside the migrants'). */
const DEMO_REFERENCES: Record<string, Record<string, number>> = {
  KAZ: { 'tb-notification-rate': 45, 'uninsured-share': 3 },
  KGZ: { 'tb-notification-rate': 90 },
  RUS: { 'occupational-injury-rate': 110 }
}

/** A small seeded generator: the same demo data on every run (so a second run finds it already there). */
function rng (seed: string) {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1
  return () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5
    return ((state >>> 0) % 1_000_000) / 1_000_000
  }
}
const pickFrom = (r: () => number) => <T>(values: T[], skew = 1.6): T => values[Math.min(values.length - 1, Math.floor(Math.pow(r(), skew) * values.length))]

function uuidFrom (text: string): string {
  const h = createHash('sha256').update(text).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) % 4]}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** The demo's synthetic records of `country` (bench/attacks reuses them, at other volumes). */
export function recordsFor (country: string, volume = VOLUME[country]): Array<Record<string, string>> {
  const r = rng(country)
  const pick = pickFrom(r)
  const destination = ['KAZ', 'RUS', 'TUR'].includes(country)
  const out: Array<Record<string, string>> = []
  for (let i = 0; i < volume; i++) {
    const sex = pick(['male', 'female', 'unknown'], destination ? 1.3 : 2.2)
    const encounter = sex === 'female' && r() < 0.25 ? pick(['antenatal_care', 'delivery', 'postnatal_care']) : pick(['primary_care', 'emergency_care', 'occupational_injury', 'screening', 'inpatient', 'mental_health_psychosocial', 'immunization', 'other'])
    const record: Record<string, string> = {
      recordId: uuidFrom(`demo-${country}-${i}`),
      period: `2026-0${1 + Math.floor(r() * 6)}`,
      subnationalArea: pick(AREAS[country]),
      countryOfOrigin: pick(ORIGINS[country]),
      migrationStatus: pick(destination ? ['labour_migrant', 'family_member', 'student', 'refugee_or_asylum_seeker', 'stateless'] : ['returnee', 'labour_migrant', 'family_member', 'refugee_or_asylum_seeker']),
      migrationStage: destination ? pick(['destination', 'transit']) : pick(['return', 'pre_departure', 'destination']),
      sex,
      ageBand: pick(['25-29', '30-34', '20-24', '35-39', '40-44', '15-19', '45-49', '50-54', '0-4', '5-9', '55-59', '60-64'], 1.4),
      encounter,
      insurance: pick(destination ? ['none', 'private', 'public', 'unknown'] : ['public', 'none', 'unknown'])
    }
    if (encounter === 'delivery') record.condition = 'O80'
    else if (encounter === 'occupational_injury') record.condition = pick(['S62', 'T14'])
    else if (r() < 0.6) record.condition = pick(CONDITIONS)
    if (encounter === 'screening') {
      record.screeningContext = pick(destination ? ['work_permit', 'arrival', 'voluntary'] : ['pre_departure', 'voluntary'])
      record.screeningConsequence = pick(['none', 'referral', 'permit_denied', 'removal'], 2.5)
    }
    if (r() < 0.7) record.outcome = pick(['treated', 'referred', 'unknown', 'denied_care', 'died'], 2.5)
    out.push(record)
  }
  return out
}

/**
 * The demo's TB case notifications of `country` (record model 1.1.0), about one for every twenty
 * contacts, with a WHO treatment outcome for most: what the TB indicators count. Apart from
 * recordsFor, whose stream bench/attacks reuses.
 */
export function caseNotificationsFor (country: string): Array<Record<string, string>> {
  const r = rng(`tb-${country}`)
  const pick = pickFrom(r)
  const destination = ['KAZ', 'RUS', 'TUR'].includes(country)
  return Array.from({ length: Math.round(VOLUME[country] / 20) }, (_, i) => {
    const record: Record<string, string> = {
      recordId: uuidFrom(`demo-tb-${country}-${i}`),
      recordType: 'case_notification',
      period: `2026-0${1 + Math.floor(r() * 6)}`,
      countryOfOrigin: pick(ORIGINS[country]),
      migrationStatus: pick(destination ? ['labour_migrant', 'family_member', 'student'] : ['returnee', 'labour_migrant']),
      migrationStage: destination ? 'destination' : 'return',
      sex: pick(['male', 'female'], 1.2),
      ageBand: pick(['25-29', '30-34', '20-24', '35-39', '40-44', '45-49'], 1.3),
      encounter: pick(['primary_care', 'inpatient', 'screening']),
      condition: pick(['A15', 'A16', 'A19'], 1.5),
      insurance: pick(destination ? ['none', 'private', 'public'] : ['public', 'none'])
    }
    if (r() < 0.8) record.tbOutcome = pick(['cured', 'treatment_completed', 'lost_to_follow_up', 'treatment_failed', 'died', 'not_evaluated'], 1.8)
    return record
  })
}

class Client {
  private tokens = new Map<string, { token: string, exp: number }>()
  constructor (readonly url: string, readonly tokenEndpoint: string) {}

  async token (id: string, jwk: JWK): Promise<string> {
    const hit = this.tokens.get(id)
    if (hit && hit.exp > Date.now() + 30_000) return hit.token
    const key = await importJWK(jwk, jwk.alg)
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: jwk.alg as string, kid: jwk.kid as string })
      .setIssuer(id).setSubject(id).setAudience(this.tokenEndpoint).setIssuedAt().setExpirationTime('2m').setJti(randomUUID()).sign(key)
    const res = await fetch(`${this.url}/v1/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
    })
    const body = await res.json() as { access_token: string, expires_in: number, error_description?: string }
    if (res.status !== 200) throw new Error(`token for ${id}: ${res.status} ${body.error_description ?? ''}`)
    this.tokens.set(id, { token: body.access_token, exp: Date.now() + body.expires_in * 1000 })
    return body.access_token
  }

  async call (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    let json: unknown
    try { json = JSON.parse(text) } catch { json = text }
    return { status: res.status, body: json as Record<string, unknown> }
  }
}

async function partnerKey (dir: string, id: string): Promise<{ jwk: JWK, publicJwk: JWK, created: boolean }> {
  const file = join(dir, `${id}.private.jwk`)
  if (existsSync(file)) {
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK
    const { d: _d, ...publicJwk } = jwk
    return { jwk, publicJwk, created: false }
  }
  const pair = await generateKeyPair('ES256', { extractable: true })
  const kid = `${id}-${randomUUID().slice(0, 8)}`
  const jwk = { ...(await exportJWK(pair.privateKey)), kid, alg: 'ES256' }
  writeFileSync(file, JSON.stringify(jwk, null, 2) + '\n', { mode: 0o600 })
  return { jwk, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' }, created: true }
}

async function main () {
  const { url } = loadCliConfig()
  const { dataDir } = loadConfig()
  const adminFile = join(dataDir, 'admin.private.jwk')
  if (!existsSync(adminFile)) throw new Error(`no admin key at ${adminFile}: start the service first (npm start) with the same MHX_DATA_DIR`)
  const metadata = await fetch(`${url}/.well-known/oauth-authorization-server`).catch(() => undefined)
  if (!metadata || metadata.status !== 200) throw new Error(`no mhx service answers at ${url}: start it with npm start (or set MHX_URL)`)
  const client = new Client(url, ((await metadata.json()) as { token_endpoint: string }).token_endpoint)
  const adminJwk = JSON.parse(readFileSync(adminFile, 'utf8')) as JWK
  const admin = await client.token('admin', adminJwk)
  const demoDir = join(dataDir, 'demo')
  mkdirSync(demoDir, { recursive: true, mode: 0o700 })

  console.log(`mhx demo → ${url}\n\nPartners and grants:`)
  const keys = new Map<string, JWK>()
  for (const p of PARTNERS) {
    const key = await partnerKey(demoDir, p.id)
    keys.set(p.id, key.jwk)
    const created = await client.call(admin, 'POST', '/v1/admin/partners', { id: p.id, name: p.name, roles: p.roles, country: p.country, jwks: { keys: [key.publicJwk] } })
    if (created.status === 409) {
      // The partner exists from an earlier run: make sure it holds the key saved here.
      const patched = await client.call(admin, 'PATCH', `/v1/admin/partners/${p.id}`, { status: 'active', jwks: { keys: [key.publicJwk] } })
      if (patched.status !== 200) throw new Error(`update ${p.id}: ${patched.status} ${JSON.stringify(patched.body)}`)
    } else if (created.status !== 201) {
      throw new Error(`create ${p.id}: ${created.status} ${JSON.stringify(created.body)}`)
    }
    const granted = await client.call(admin, 'PUT', `/v1/admin/partners/${p.id}/grants`, { grants: p.grants })
    if (granted.status !== 200) throw new Error(`grants of ${p.id}: ${granted.status} ${JSON.stringify(granted.body)}`)
    console.log(`  ${p.id.padEnd(20)} ${p.roles.join('+').padEnd(24)} grants ${p.grants.map((g) => g.region + (g.countryOfOrigin ? ` (origin ${g.countryOfOrigin})` : '') + (g.k ? ` (k=${g.k})` : '')).join(', ')}`)
  }

  console.log('\nPushing synthetic records (POST /v1/submissions):')
  const pending: Array<{ id: string, partner: string }> = []
  for (const [country, id] of MINISTRIES) {
    const token = await client.token(id, keys.get(id) as JWK)
    const records = recordsFor(country)
    let pushed = 0
    let already = 0
    for (let i = 0; i < records.length; i += 1000) {
      const batch = records.slice(i, i + 1000)
      const res = await client.call(token, 'POST', '/v1/submissions', { schema: 'migrant-health-event', version: '1.0.0', records: batch }, { 'idempotency-key': `demo-${country}-${i}` })
      if (res.status === 202 || res.status === 200) {
        pushed += batch.length
        if (typeof res.body.id === 'string') pending.push({ id: res.body.id, partner: id })
      } else if (res.status === 409) {
        already += batch.length
      } else {
        throw new Error(`push for ${country}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`)
      }
    }
    const tb = await client.call(token, 'POST', '/v1/submissions', { schema: 'migrant-health-event', version: '1.1.0', records: caseNotificationsFor(country) }, { 'idempotency-key': `demo-tb-${country}` })
    if (tb.status === 202 || tb.status === 200) {
      if (typeof tb.body.id === 'string') pending.push({ id: tb.body.id, partner: id })
    } else if (tb.status !== 409) {
      throw new Error(`TB case notifications for ${country}: ${tb.status} ${JSON.stringify(tb.body).slice(0, 500)}`)
    }
    console.log(`  ${id.padEnd(10)} ${String(pushed).padStart(5)} records pushed${already ? `, ${already} already there from an earlier run` : ''}; ${caseNotificationsFor(country).length} TB case notifications`)
  }

  process.stdout.write('\nWaiting for aggregation')
  const deadline = Date.now() + 120_000
  for (const s of pending) {
    for (;;) {
      const token = await client.token(s.partner, keys.get(s.partner) as JWK)
      const res = await client.call(token, 'GET', `/v1/submissions/${s.id}`)
      if (res.body.status === 'aggregated') break
      if (Date.now() > deadline) throw new Error(`submission ${s.id} is still ${String(res.body.status)} after 2 minutes: is the worker running?`)
      process.stdout.write('.')
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  console.log(' done.\n')

  // Each ministry, as its country's steward, decides who reads it and publishes its months.
  console.log('Stewards consent and publish (PUT /v1/consents/{reader}, POST /v1/periods/{country}/{month}/publish):')
  for (const [country, id] of MINISTRIES) {
    const token = await client.token(id, keys.get(id) as JWK)
    const { body } = await client.call(token, 'GET', '/v1/consents')
    const decided: string[] = []
    for (const item of (body.items ?? []) as Array<{ reader: string }>) {
      const refuse = country === 'TKM' && item.reader === 'ngo-migrant-health'
      const res = await client.call(token, 'PUT', `/v1/consents/${item.reader}`, refuse ? { decision: 'refuse' } : { decision: 'grant' })
      if (res.status !== 200) throw new Error(`consent of ${country} for ${item.reader}: ${res.status} ${JSON.stringify(res.body)}`)
      decided.push(`${item.reader}${refuse ? ' REFUSED' : ''}`)
    }
    // January to May are final; June stays open (answers list it in their coverage).
    const months = ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05']
    for (const month of months) {
      const res = await client.call(token, 'POST', `/v1/periods/${country}/${month}/publish`)
      if (res.status !== 201) throw new Error(`publish ${country} ${month}: ${res.status} ${JSON.stringify(res.body)}`)
    }
    console.log(`  ${id.padEnd(10)} consents: ${decided.join(', ') || '-'}; published ${months[0]}..${months[months.length - 1]}`)
  }
  console.log('')

  // Population figures and comparators for the indicators: made up for the demonstration, and
  // labelled so (source "illustrative (demo)"), never to be quoted as real.
  console.log('Denominators and reference values (PUT /v1/denominators/…, /v1/references/…), source "illustrative (demo)":')
  for (const [country, id] of MINISTRIES) {
    // Each ministry sets its own country's figures, as a steward does.
    const token = await client.token(id, keys.get(id) as JWK)
    const set: string[] = []
    for (const [population, value] of Object.entries(DEMO_POPULATIONS[country])) {
      const res = await client.call(token, 'PUT', `/v1/denominators/${country}/2025/${population}`, { value, source: DEMO_SOURCE, vintage: '2025', note: 'illustrative figure for the demo, not an official statistic' })
      if (res.status !== 200) throw new Error(`denominator ${country} ${population}: ${res.status} ${JSON.stringify(res.body)}`)
      set.push(`${population} ${value.toLocaleString('en')}`)
    }
    for (const [indicator, value] of Object.entries(DEMO_REFERENCES[country] ?? {})) {
      const res = await client.call(token, 'PUT', `/v1/references/${indicator}/${country}/2025`, { value, source: DEMO_SOURCE })
      if (res.status !== 200) throw new Error(`reference ${indicator} ${country}: ${res.status} ${JSON.stringify(res.body)}`)
      set.push(`reference ${indicator} ${value}`)
    }
    console.log(`  ${id.padEnd(10)} ${set.join('; ')}`)
  }
  console.log('')

  const keyPath = (id: string) => relative(process.cwd(), join(demoDir, `${id}.private.jwk`)) || join(demoDir, `${id}.private.jwk`)
  const reads: Array<[string, string, string]> = [
    ['iom-roca', `region=central-asia&from=${FROM}&to=${TO}&by=country,sex`, 'IOM: Central Asia country by country'],
    ['who-europe', `region=central-asia&from=${FROM}&to=${TO}&by=conditionGroup`, 'WHO: Central Asia totals by condition group'],
    ['who-europe', `region=RUS&from=${FROM}&to=${TO}&by=countryOfOrigin&encounter=occupational_injury`, 'WHO: occupational injuries in Russia by origin (SDG 8.8.1)'],
    ['ngo-migrant-health', `region=central-asia&from=${FROM}&to=${TO}&by=period,sex&periodType=quarter`, 'NGO: Central Asia by quarter and sex — refused, Turkmenistan did not consent'],
    ['ngo-migrant-health', `region=central-asia&from=${FROM}&to=${TO}&by=country`, 'NGO: by country — refused, no grant on the members'],
    ['kaz-moh', `region=KAZ&from=${FROM}&to=${TO}&by=subnationalArea,screeningConsequence&encounter=screening`, 'Kazakhstan\'s ministry: its own screenings by area'],
    ['kaz-moh', `region=UZB&from=${FROM}&to=${TO}`, 'Kazakhstan\'s ministry reaching for Uzbekistan — refused'],
    ['tjk-moh', `region=RUS&from=${FROM}&to=${TO}&by=encounter&countryOfOrigin=TJK`, 'Tajikistan\'s ministry: Tajik nationals treated in Russia (origin grant)'],
    ['tjk-moh', `region=RUS&from=${FROM}&to=${TO}&by=encounter`, 'Tajikistan\'s ministry: all of Russia — refused, its grant covers Tajik nationals only']
  ]
  console.log('What each partner sees now:')
  for (const [id, query, what] of reads) {
    const token = await client.token(id, keys.get(id) as JWK)
    const res = await client.call(token, 'GET', `/v1/aggregates?${query}`)
    const cells = res.body.cells as Array<{ suppressed: string | null }> | undefined
    const coverage = (res.body.coverage ?? []) as unknown[]
    const summary = res.status === 200 && cells
      ? `${cells.length} cells, ${cells.filter((c) => c.suppressed).length} withheld (k=${String(res.body.k)}); ${coverage.length} country-months not published`
      : `${res.status} ${String(res.body.detail ?? '')}${res.body.missingConsents ? ` missingConsents=${JSON.stringify(res.body.missingConsents)}` : ''}`
    console.log(`  ${what}\n    → ${summary}`)
  }

  const indicatorReads: Array<[string, string, string]> = [
    ['iom-roca', `uninsured-share/values?region=central-asia&from=${FROM}&to=${TO}&by=country`, 'IOM: migrants\' contacts without insurance, % (SDG 3.8)'],
    ['who-europe', `occupational-injury-rate/values?region=RUS&from=${FROM}&to=${TO}&by=sex`, 'WHO: occupational injuries per 100,000 migrant workers in Russia, by sex (SDG 8.8.1)']
  ]
  console.log('\nIndicators (GET /v1/indicators/{id}/values; the numerators are the aggregates\' counts):')
  for (const [id, path, what] of indicatorReads) {
    const token = await client.token(id, keys.get(id) as JWK)
    const res = await client.call(token, 'GET', `/v1/indicators/${path}`)
    console.log(`  ${what}`)
    if (res.status !== 200) {
      console.log(`    → ${res.status} ${String(res.body.detail ?? '')}`)
      continue
    }
    const by = (res.body.by as string[])[0]
    for (const c of res.body.cells as Array<Record<string, unknown>>) {
      const value = c.value === null ? String(c.status) : `${(c.value as number).toFixed(1)} [${(c.lower as number).toFixed(1)}–${(c.upper as number).toFixed(1)}]`
      const reference = c.reference ? `; reference ${(c.reference as { value: number }).value}` : ''
      console.log(`    ${String(c[by]).padEnd(8)} ${value}  (${String(c.numerator ?? 'withheld')} / ${c.denominator === null ? '-' : Math.round(c.denominator as number)})${reference}`)
    }
    console.log(`    interval: ${(res.body.interval as { method: string }).method}; denominators: ${DEMO_SOURCE}`)
  }

  console.log('\nTry it yourself (each partner\'s private key is in ' + relative(process.cwd(), demoDir) + '/):\n')
  for (const [id, query] of reads.slice(0, 3)) {
    const params = new URLSearchParams(query)
    const flags = [...params.entries()].map(([k, v]) => k === 'region' || k === 'from' || k === 'to' || k === 'by' ? `--${k} ${v}` : k === 'periodType' ? `--period-type ${v}` : `--filter ${k}=${v}`).join(' ')
    console.log(`  npx mhx aggregates --url ${url} --partner ${id} --key ${keyPath(id)} ${flags}`)
  }
  const id = 'iom-roca'
  console.log(`\n  TOKEN=$(npx mhx token --url ${url} --partner ${id} --key ${keyPath(id)})`)
  console.log(`  curl -s -H "Authorization: Bearer $TOKEN" '${url}/v1/aggregates?${reads[0][1]}'`)
  console.log(`  curl -s -H "Authorization: Bearer $TOKEN" -H 'Accept: text/csv' '${url}/v1/aggregates?${reads[0][1]}'`)
  console.log(`  curl -s -H "Authorization: Bearer $TOKEN" -H 'Accept: application/vnd.sdmx.data+csv;version=2.0.0' '${url}/v1/aggregates?${reads[0][1]}'`)
  console.log(`  curl -s -H "Authorization: Bearer $TOKEN" '${url}/v1/regions'`)
  const steward = `--url ${url} --partner kaz-moh --key ${keyPath('kaz-moh')}`
  console.log('\n  As Kazakhstan\'s steward: who may read, which months are final, who read them:')
  console.log(`  npx mhx consents list ${steward}`)
  console.log(`  npx mhx consents refuse who-europe ${steward}`)
  console.log(`  npx mhx periods list --region KAZ --from ${FROM} --to ${TO} ${steward}`)
  console.log(`  npx mhx periods publish KAZ 2026-06 ${steward}`)
  console.log(`  npx mhx access-log ${steward}`)
  console.log(`  npx mhx indicators values uninsured-share --region KAZ --from ${FROM} --to ${TO} --by period ${steward}`)
  console.log(`  npx mhx denominators list --url ${url}`)
  console.log('\n  Every read above is in the hash-chained audit log (admin key):')
  console.log(`  ADMIN=$(npx mhx token --url ${url} --partner admin --key ${relative(process.cwd(), adminFile) || adminFile})`)
  console.log(`  curl -s -H "Authorization: Bearer $ADMIN" '${url}/v1/admin/audit?action=aggregates.read&limit=10'`)
  console.log(`  curl -s -H "Authorization: Bearer $ADMIN" '${url}/v1/admin/audit/verify'`)
}

// Run only as the entry point (npm run demo): bench/attacks imports the record generator.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: Error) => {
    process.stderr.write(`mhx demo: ${err.message}\n`)
    process.exit(1)
  })
}
