// Records and requests for the intake tests.
import { randomUUID } from 'node:crypto'
import type { TestHub, TestPartner } from '../helpers.js'

export type Rec = Record<string, unknown>

/** A valid migrant-health-event 1.0.0 record (required fields only, plus overrides). */
export function record (overrides: Rec = {}): Rec {
  return {
    recordId: randomUUID(),
    period: '2026-03',
    countryOfOrigin: 'UZB',
    migrationStatus: 'labour_migrant',
    migrationStage: 'destination',
    sex: 'female',
    ageBand: '25-29',
    encounter: 'primary_care',
    insurance: 'none',
    ...overrides
  }
}

export function records (n: number, overrides: Rec = {}): Rec[] {
  return Array.from({ length: n }, () => record(overrides))
}

export const SCHEMA = { schema: 'migrant-health-event', version: '1.0.0' }
export const QUERY = 'schema=migrant-health-event&version=1.0.0'

export function ndjson (recs: Rec[]): string {
  return recs.map((r) => JSON.stringify(r)).join('\n') + '\n'
}

export const CSV_FIELDS = ['recordId', 'period', 'subnationalArea', 'countryOfOrigin', 'migrationStatus', 'migrationStage', 'sex', 'ageBand', 'encounter', 'condition', 'insurance', 'outcome']

export function csv (recs: Rec[], fields = CSV_FIELDS): string {
  return [fields.join(','), ...recs.map((r) => fields.map((f) => (r[f] as string | undefined) ?? '').join(','))].join('\n') + '\n'
}

/** A reporter for `country` with a token; `post` sends a JSON submission (or any body with headers). */
export async function reporterOf (hub: TestHub, country = 'KAZ') {
  const partner: TestPartner = await hub.partner({ roles: ['reporter'], country })
  const token = await hub.token(partner)
  const auth = { authorization: `Bearer ${token}` }
  return {
    partner,
    token,
    auth,
    post (body: unknown, options: { url?: string, headers?: Record<string, string> } = {}) {
      const raw = typeof body === 'string' || Buffer.isBuffer(body)
      return hub.app.inject({
        method: 'POST',
        url: options.url ?? '/v1/submissions',
        headers: { ...auth, 'content-type': 'application/json', ...options.headers },
        payload: raw ? body as string | Buffer : JSON.stringify(body)
      })
    }
  }
}
