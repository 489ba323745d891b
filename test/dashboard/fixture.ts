// A hub listening on a real port with data pushed through the API: ministries of four Central Asian countries
// report (Turkmenistan does not), IOM reads the region country by country, an NGO reads its totals only.
// Used by the browser test and by the screenshot script.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { exportJWK, type JWK } from 'jose'
import pino from 'pino'
import { startAggregation } from '../../src/aggregation/worker-runtime.js'
import type { Config } from '../../src/config.js'
import { createMetrics } from '../../src/ops/metrics.js'
import { buildTestHub, freePort, waitFor, type TestHub, type TestPartner } from '../helpers.js'

interface Teardown { teardown (fn: () => unknown): void }

export const CHROMIUM = '/usr/bin/chromium'

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's serious and critical violations on the page, one line each (none expected). */
export async function seriousViolations (page: { evaluate: <R>(fn: string | (() => Promise<R>)) => Promise<R> }): Promise<string[]> {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string, impact: string, nodes: Array<{ target: unknown }> }> }> } }).axe.run
    return run(document, { resultTypes: ['violations'] })
  })
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => n.target))}`)
}
export const FROM = '2026-01'
export const TO = '2026-06'

/** Records per country: months and records per month for each sex. KGZ reports 1 record: released as at most 1 + D = 4, always below k. */
const PLAN: Record<string, { months: string[], male: number, female: number, area?: string }> = {
  KAZ: { months: ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'], male: 9, female: 6, area: 'KZ-75' },
  UZB: { months: ['2026-01', '2026-02', '2026-03', '2026-04'], male: 12, female: 8 },
  TJK: { months: ['2026-02', '2026-03', '2026-04', '2026-05'], male: 7, female: 7 },
  KGZ: { months: ['2026-03'], male: 1, female: 0 }
}

export interface DashboardHub {
  hub: TestHub
  baseUrl: string
  /** Whether the stewardship routes exist on this build (GET /v1/consents answers 401, not 404). */
  stewardship: boolean
  iom: TestPartner
  ngo: TestPartner
  /** Kazakhstan's ministry reading its own country: exact counts (disclosure.method none, k 1). */
  ownCountry: TestPartner
  /** A regional analyst whose consents release published months only: June 2026, published by nobody, is a gap. */
  analyst: TestPartner
  /** A reader of Central Asia's data about migrants from Uzbekistan only (an origin grant). */
  origin: TestPartner
  /** The months each reporting country has published (all but June, and Kazakhstan's February). */
  published: Record<string, string[]>
  /** Whether GET /v1/indicators exists on this build (the fixture then sets denominators and a reference). */
  indicators: boolean
  reporters: Record<string, TestPartner>
  /** The partner's private JWK as a ministry would keep it in a file (with kid and alg). */
  privateJwk (partner: TestPartner): Promise<JWK>
  bearer (partner: TestPartner): Promise<string>
}

/** TB case notifications (1.1.0) per country and month: TJK's few are withheld; KGZ and TKM notify none. */
const TB_PLAN: Record<string, { months: string[], perMonth: number }> = {
  KAZ: { months: ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'], perMonth: 14 },
  UZB: { months: ['2026-01', '2026-02', '2026-03', '2026-04'], perMonth: 12 },
  TJK: { months: ['2026-03'], perMonth: 2 }
}
/** Migrant stock (illustrative figures) for the TB notification rate, every country's: a withheld value is the numerator's doing. */
export const MIGRANT_STOCK: Record<string, number> = { KAZ: 3_700_000, UZB: 1_200_000, TJK: 300_000, KGZ: 200_000, TKM: 200_000 }
/** Kazakhstan's reference TB notification rate (illustrative), for 2025. */
export const KAZ_REFERENCE = { value: 47, year: 2025, source: 'WHO Global TB Report (illustrative)' }

function record (country: string, period: string, sex: string, area?: string) {
  return {
    recordId: randomUUID(), period, countryOfOrigin: country === 'UZB' ? 'TJK' : 'UZB', migrationStatus: 'labour_migrant',
    migrationStage: 'destination', sex, ageBand: '25-29', encounter: 'primary_care', insurance: 'none',
    ...(area ? { subnationalArea: area } : {})
  }
}

export async function startDashboardHub (t: Teardown, options: { config?: Partial<Config> } = {}): Promise<DashboardHub> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  // Consent as a hub runs it (MHX_CONSENT=required), not the first-wave tests' grants-only rule: a refusal must bite.
  const hub = await buildTestHub(t, { config: { ...options.config, publicUrl: baseUrl, consent: 'required' } })
  const { app } = hub
  // The aggregation worker in this process, as `npm start` runs it.
  const runtime = await startAggregation({
    config: hub.config, database: hub.database, queue: hub.queue,
    metrics: createMetrics({ queue: hub.queue, database: hub.database }), logger: pino({ level: 'silent' })
  })
  t.teardown(() => runtime.close())
  const stewardship = (await app.inject({ method: 'GET', url: '/v1/consents' })).statusCode !== 404
  const countries = Object.keys(PLAN)
  const reporters: Record<string, TestPartner> = {}
  for (const country of [...countries, 'TKM']) {
    reporters[country] = await hub.partner({ id: `moh-${country.toLowerCase()}`, roles: stewardship ? ['reporter', 'steward'] : ['reporter'], country, grants: [{ region: country }] })
  }
  const iom = await hub.partner({ id: 'iom-ca', roles: ['reader'], grants: [{ region: 'central-asia' }, ...[...countries, 'TKM'].map((c) => ({ region: c }))] })
  const ngo = await hub.partner({ id: 'ngo-ca', roles: ['reader'], grants: [{ region: 'central-asia' }] })
  const ownCountry = await hub.partner({ id: 'moh-kaz-analysis', roles: ['reader'], country: 'KAZ', grants: [{ region: 'KAZ' }] })
  const analyst = await hub.partner({ id: 'who-analyst', roles: ['reader'], grants: [{ region: 'central-asia' }, ...[...countries, 'TKM'].map((c) => ({ region: c }))] })
  const originGrant = { region: 'central-asia', countryOfOrigin: 'UZB' } as { region: string }
  const origin = await hub.partner({ id: 'uzb-diaspora', roles: ['reader'], grants: [originGrant] })

  const tokens = new Map<TestPartner, string>()
  const bearer = async (p: TestPartner) => {
    if (!tokens.has(p)) tokens.set(p, await hub.token(p))
    return tokens.get(p)!
  }

  const submissions: Array<{ id: string, partner: TestPartner }> = []
  for (const [country, plan] of Object.entries(PLAN)) {
    const records = plan.months.flatMap((period) => [
      ...Array.from({ length: plan.male }, () => record(country, period, 'male', plan.area)),
      ...Array.from({ length: plan.female }, () => record(country, period, 'female', plan.area))
    ])
    const res = await app.inject({
      method: 'POST', url: '/v1/submissions',
      headers: { authorization: `Bearer ${await bearer(reporters[country])}` },
      payload: { schema: 'migrant-health-event', version: '1.0.0', records }
    })
    if (res.statusCode !== 202) throw new Error(`push for ${country}: ${res.statusCode} ${res.body}`)
    submissions.push({ id: res.json().id, partner: reporters[country] })
  }
  for (const [country, plan] of Object.entries(TB_PLAN)) {
    const records = plan.months.flatMap((period) => Array.from({ length: plan.perMonth }, (_, i) => ({
      ...record(country, period, i % 3 === 0 ? 'female' : 'male'), recordType: 'case_notification', condition: 'A15'
    })))
    const res = await app.inject({
      method: 'POST', url: '/v1/submissions',
      headers: { authorization: `Bearer ${await bearer(reporters[country])}` },
      payload: { schema: 'migrant-health-event', version: '1.1.0', records }
    })
    if (res.statusCode !== 202) throw new Error(`TB push for ${country}: ${res.statusCode} ${res.body}`)
    submissions.push({ id: res.json().id, partner: reporters[country] })
  }
  await hub.queue.drain()
  await waitFor(async () => {
    for (const s of submissions) {
      const res = await app.inject({ method: 'GET', url: `/v1/submissions/${s.id}`, headers: { authorization: `Bearer ${await bearer(s.partner)}` } })
      if (res.json().status !== 'aggregated') return false
    }
    return true
  }, 30_000)

  // With stewardship, a reader reads a country only with its ministry's consent: every ministry grants IOM, the NGO
  // and the origin reader its working data, the analyst its published months.
  const published: Record<string, string[]> = {}
  if (stewardship) {
    for (const country of [...countries, 'TKM']) {
      for (const [reader, release] of [[iom, 'live'], [ngo, 'live'], [origin, 'live'], [analyst, 'published']] as const) {
        const res = await app.inject({
          method: 'PUT', url: `/v1/consents/${reader.id}`,
          headers: { authorization: `Bearer ${await bearer(reporters[country])}` },
          payload: { decision: 'grant', release }
        })
        if (res.statusCode >= 300) throw new Error(`consent of ${country} for ${reader.id}: ${res.statusCode} ${res.body}`)
      }
    }
    // Every reported month is published but June (Kazakhstan's stays open, the others have none) and
    // Kazakhstan's February, left for the steward tests to publish as revision 1.
    for (const [country, plan] of Object.entries(PLAN)) {
      published[country] = plan.months.filter((m) => m !== '2026-06' && !(country === 'KAZ' && m === '2026-02'))
      for (const period of published[country]) {
        const res = await app.inject({ method: 'POST', url: `/v1/periods/${country}/${period}/publish`, headers: { authorization: `Bearer ${await bearer(reporters[country])}` } })
        if (res.statusCode >= 300) throw new Error(`publish ${country} ${period}: ${res.statusCode} ${res.body}`)
      }
    }
  }

  // Indicators: each ministry sets its migrant stock; Kazakhstan its reference TB notification rate.
  const indicators = (await app.inject({ method: 'GET', url: '/v1/indicators' })).statusCode === 200
  if (indicators && stewardship) {
    for (const [country, value] of Object.entries(MIGRANT_STOCK)) {
      const res = await app.inject({
        method: 'PUT', url: `/v1/denominators/${country}/2025/migrant_stock`, headers: { authorization: `Bearer ${await bearer(reporters[country])}` },
        payload: { value, source: 'illustrative (test)', vintage: '2025' }
      })
      if (res.statusCode >= 300) throw new Error(`denominator of ${country}: ${res.statusCode} ${res.body}`)
    }
    const res = await app.inject({
      method: 'PUT', url: `/v1/references/tb-notification-rate/KAZ/${KAZ_REFERENCE.year}`, headers: { authorization: `Bearer ${await bearer(reporters.KAZ)}` },
      payload: { value: KAZ_REFERENCE.value, source: KAZ_REFERENCE.source }
    })
    if (res.statusCode >= 300) throw new Error(`reference of KAZ: ${res.statusCode} ${res.body}`)
  }

  await app.listen({ port, host: '127.0.0.1' })
  return {
    hub, baseUrl, stewardship, indicators, iom, ngo, ownCountry, analyst, origin, published, reporters, bearer,
    privateJwk: async (partner) => ({ ...(await exportJWK(partner.privateKey)), kid: partner.kid, alg: partner.alg })
  }
}
