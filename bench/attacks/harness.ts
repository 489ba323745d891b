// What the disclosure attacks share: a hub on a test database holding the demo's synthetic records
// (src/release/demo.ts), readers and a reporter-reader that attack it through the HTTP API only
// (app.inject: the whole route pipeline, no socket), the TRUE counts computed here from the records
// pushed (never from the API), a linear solver, and the scoring against a baseline guess.
import { randomUUID } from 'node:crypto'
import { processSubmission } from '../../src/aggregation/processor.js'
import { loadConfig, type Config } from '../../src/config.js'
import { loadSchemaRegistry } from '../../src/intake/registry.js'
import { CENTRAL_ASIA, recordsFor, VOLUME } from '../../src/release/demo.js'
import type { Dimension } from '../../src/release/dimensions.js'
import { buildTestHub, PUBLIC_URL, testDatabase, type TestHub, type TestPartner } from '../../test/helpers.js'

export type Dim = Dimension
export type Filters = Partial<Record<Dim, string[]>>
/** A record as the cells count it: every dimension, `_Z` for an absent optional one. */
export type TrueRecord = Record<Dim, string>

export const FROM = '2026-01'
export const TO = '2026-06'
export const REGION = 'central-asia'

export type Scale = 'small' | 'demo'
/** Records per country: the demo's volumes (7,590 records), or 30 % of them (2,277) for CI. */
export const SCALE_FACTOR: Record<Scale, number> = { small: 0.3, demo: 1 }

interface Teardown { teardown (fn: () => unknown): void }

/** An attacker's identity and what it has spent. */
export interface Reader {
  id: string
  key: TestPartner
  /** Requests sent to GET /v1/aggregates (each distinct: attackers keep answers they already have). */
  queries: number
  /** The budget answered 429 (and the attack stopped asking). */
  budgetHit: boolean
  token?: string
  answers: Map<string, Answer>
}

export interface AnswerCell { key: string[], count: number | null }
/** An answer as the attacker keeps it: `cells` and `k` only when `status` is 200. */
export interface Answer { status: number, cells: AnswerCell[], k: number, detail?: string }

export interface Query { region?: string, by: Dim[], filters?: Filters }

export interface World {
  hub: TestHub
  scale: Scale
  /** The hub's k (MHX_SUPPRESSION_K). */
  k: number
  /** The query budget the hub is told (MHX_QUERY_BUDGET), which the attacks also respect themselves. */
  budget: number
  /** Every record now counted, by country. */
  records: TrueRecord[]
  /** The ministries that pushed the records: each reports for its country and reads the region. */
  ministries: Map<string, Reader & { country: string }>
  /** A new reader with grants on the region and each member (k: the hub's unless given). */
  reader (id: string, options?: { k?: number, regionOnly?: boolean }): Promise<Reader>
  /** A partner that reports for `country` and reads the region (region grant only). */
  reporterReader (id: string, country: string): Promise<Reader & { country: string }>
  read (reader: Reader, query: Query, options?: { fresh?: boolean }): Promise<Answer>
  /** Pushes records as `reporter` and waits until they are counted; returns the submission id. */
  push (reporter: Reader & { country: string }, records: Array<Record<string, string>>): Promise<string>
  /** Retracts a submission and waits until it is no longer counted. */
  retract (reporter: Reader & { country: string }, submissionId: string): Promise<void>
  close (): Promise<void>
}

const OPTIONAL_FIELDS: Dim[] = ['subnationalArea', 'conditionGroup', 'screeningContext', 'screeningConsequence', 'outcome']

/**
 * A hub on a fresh database (PostgreSQL with DATABASE_URL or `db: 'postgres'`, else PGlite) with the
 * demo's records of its seven countries, pushed by their ministries through POST /v1/submissions.
 */
export async function buildWorld (options: { scale: Scale, budget?: number, db?: 'postgres' | 'pglite' | 'env', t?: Teardown }): Promise<World> {
  const teardowns: Array<() => unknown> = []
  const t: Teardown = options.t ?? { teardown: (fn) => { teardowns.push(fn) } }
  const budget = options.budget ?? 2000
  // Through the environment so the hub reads it as the service would (MHX_QUERY_BUDGET, issue 9).
  const loaded = loadConfig({ ...process.env, MHX_QUERY_BUDGET: String(budget) })
  // The threat model gives the attacker every grant and consent it asks for: read by grants alone
  // (MHX_CONSENT=grants is the same as every steward consenting live). Rate limits are not what is measured.
  const config: Partial<Config> = { ...loaded, publicUrl: PUBLIC_URL, role: 'all', consent: 'grants', rateToken: 0, rateApi: 0 }
  const database = await testDatabase(t, options.db ?? 'env')
  const hub = await buildTestHub(t, { config, database })
  hub.queue.process(async (job) => { await processSubmission(hub.database, job.submissionId) })
  const registry = await loadSchemaRegistry()
  const k = hub.config.suppressionK

  const toTrue = (country: string, r: Record<string, string>): TrueRecord => {
    const out = { country, period: r.period, countryOfOrigin: r.countryOfOrigin, migrationStatus: r.migrationStatus, migrationStage: r.migrationStage, sex: r.sex, ageBand: r.ageBand, encounter: r.encounter, insurance: r.insurance } as TrueRecord
    for (const f of OPTIONAL_FIELDS) out[f] = r[f] ?? '_Z'
    out.conditionGroup = registry.conditionGroup(r.condition) ?? '_Z'
    return out
  }

  const records: TrueRecord[] = []
  const bySubmission = new Map<string, TrueRecord[]>()

  async function call (reader: Reader, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
    for (let attempt = 0; ; attempt++) {
      reader.token ??= await hub.token(reader.key)
      const res = await hub.app.inject({ method, url, headers: { authorization: `Bearer ${reader.token}` }, ...(payload === undefined ? {} : { payload: payload as object }) })
      if (res.statusCode === 401 && attempt === 0) { reader.token = undefined; continue }
      return res
    }
  }

  const newReader = (id: string, key: TestPartner): Reader => ({ id, key, queries: 0, budgetHit: false, answers: new Map() })

  async function waitCounted (reporter: Reader, id: string, status: string) {
    await hub.queue.drain()
    for (let i = 0; i < 200; i++) {
      const res = await call(reporter, 'GET', `/v1/submissions/${id}`)
      if (res.json().status === status) return
      await new Promise((resolve) => setTimeout(resolve, 20))
      await hub.queue.drain()
    }
    throw new Error(`submission ${id} did not reach ${status}`)
  }

  const world: World = {
    hub, scale: options.scale, k, budget, records, ministries: new Map(),
    async reader (id, opts = {}) {
      const grants = [{ region: REGION, ...(opts.k ? { k: opts.k } : {}) }, ...(opts.regionOnly ? [] : CENTRAL_ASIA.map((c) => ({ region: c, ...(opts.k ? { k: opts.k } : {}) })))]
      return newReader(id, await hub.partner({ id, roles: ['reader'], grants }))
    },
    async reporterReader (id, country) {
      const key = await hub.partner({ id, roles: ['reporter', 'reader'], country, grants: [{ region: country }, { region: REGION }] })
      return { ...newReader(id, key), country }
    },
    async read (reader, query, opts = {}) {
      const url = aggregatesUrl(query)
      const known = reader.answers.get(url)
      if (known && !opts.fresh) return known
      if (reader.budgetHit) return { status: 429, cells: [], k: 0 }
      reader.queries++
      const res = await call(reader, 'GET', url)
      let answer: Answer
      if (res.statusCode === 200) {
        const body = res.json() as { k: number, by: string[], cells: Array<Record<string, unknown>> }
        answer = { status: 200, k: body.k, cells: body.cells.map((c) => ({ key: body.by.map((d) => c[d] === null ? '_Z' : String(c[d])), count: typeof c.count === 'number' ? c.count : null })) }
      } else if (res.statusCode === 429) {
        reader.budgetHit = true
        answer = { status: 429, cells: [], k: 0 }
      } else {
        answer = { status: res.statusCode, cells: [], k: 0, detail: res.body.slice(0, 300) }
      }
      reader.answers.set(url, answer)
      return answer
    },
    async push (reporter, list) {
      const res = await call(reporter, 'POST', '/v1/submissions', { schema: 'migrant-health-event', version: '1.0.0', records: list })
      if (res.statusCode !== 202) throw new Error(`push as ${reporter.id}: ${res.statusCode} ${res.body.slice(0, 500)}`)
      const id = res.json().id as string
      await waitCounted(reporter, id, 'aggregated')
      const added = list.map((r) => toTrue(reporter.country, r))
      records.push(...added)
      bySubmission.set(id, added)
      return id
    },
    async retract (reporter, id) {
      const res = await call(reporter, 'DELETE', `/v1/submissions/${id}`)
      if (res.statusCode !== 202) throw new Error(`retract ${id}: ${res.statusCode} ${res.body.slice(0, 300)}`)
      await waitCounted(reporter, id, 'retracted')
      const gone = new Set(bySubmission.get(id) ?? [])
      const kept = records.filter((r) => !gone.has(r))
      records.length = 0
      records.push(...kept)
      bySubmission.delete(id)
    },
    async close () {
      for (const fn of teardowns.reverse()) await fn()
    }
  }

  // The demo's ministries push the demo's records, scaled.
  for (const country of Object.keys(VOLUME)) {
    const ministry = await world.reporterReader(`${country.toLowerCase()}-moh`, country)
    world.ministries.set(country, ministry)
    const list = recordsFor(country, Math.max(1, Math.round(VOLUME[country] * SCALE_FACTOR[options.scale])))
    for (let i = 0; i < list.length; i += 1000) await world.push(ministry, list.slice(i, i + 1000))
  }
  return world
}

export function aggregatesUrl (query: Query): string {
  const params = new URLSearchParams({ region: query.region ?? REGION, from: FROM, to: TO })
  if (query.by.length > 0) params.set('by', query.by.join(','))
  for (const [dim, values] of Object.entries(query.filters ?? {})) params.set(dim, values.join(','))
  return `/v1/aggregates?${params.toString()}`
}

// ------------------------------------------------------------ true counts

export const cellKey = (values: string[]): string => values.join('|')

export function matches (record: TrueRecord, filters: Filters): boolean {
  for (const [dim, values] of Object.entries(filters) as Array<[Dim, string[]]>) {
    if (!values.includes(record[dim])) return false
  }
  return true
}

/** The true table of the region (its members' records): key (the `by` values) → count, zero cells absent. */
export function regionTable (records: readonly TrueRecord[], by: Dim[], filters: Filters = {}): Map<string, number> {
  return trueTable(records, by, { country: CENTRAL_ASIA, ...filters })
}

/** The true table: key (the `by` values) → count, zero cells absent. */
export function trueTable (records: readonly TrueRecord[], by: Dim[], filters: Filters = {}): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of records) {
    if (!matches(r, filters)) continue
    const key = cellKey(by.map((d) => r[d]))
    out.set(key, (out.get(key) ?? 0) + 1)
  }
  return out
}

// ------------------------------------------------------------ a record shaped like a cell

/** A valid 1.0.0 record of a reporter in `country` whose cell has `values` on the given dimensions. */
export function recordLike (values: Partial<Record<Dim, string>>): Record<string, string> {
  const record: Record<string, string> = {
    recordId: randomUUID(), period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant',
    migrationStage: 'destination', sex: 'male', ageBand: '30-34', encounter: 'primary_care', insurance: 'none'
  }
  for (const [dim, value] of Object.entries(values) as Array<[Dim, string]>) {
    if (dim === 'country' || dim === 'conditionGroup') throw new Error(`recordLike: ${dim} is not a record field`)
    if (value !== '_Z') record[dim] = value
  }
  return record
}

// ------------------------------------------------------------ solving

export interface Equation { vars: number[], value: number }

/**
 * The attacker's solver: least squares over every equation (ridge 1e-6, so undetermined variables
 * get the minimum-norm value), and which variables the equations determine exactly (e_j in their
 * row space, by Gaussian elimination). With exact counts a determined variable comes out exact.
 */
export function solve (n: number, equations: Equation[]): { estimate: Float64Array, determined: boolean[] } {
  const g = new Float64Array(n * n)
  const rhs = new Float64Array(n)
  for (const { vars, value } of equations) {
    for (const a of vars) {
      rhs[a] += value
      for (const b of vars) g[a * n + b] += 1
    }
  }
  for (let i = 0; i < n; i++) g[i * n + i] += 1e-6
  // Cholesky: g = L Lᵀ, in place (lower triangle).
  for (let j = 0; j < n; j++) {
    let d = g[j * n + j]
    for (let p = 0; p < j; p++) d -= g[j * n + p] * g[j * n + p]
    d = Math.sqrt(Math.max(d, 1e-12))
    g[j * n + j] = d
    for (let i = j + 1; i < n; i++) {
      let s = g[i * n + j]
      for (let p = 0; p < j; p++) s -= g[i * n + p] * g[j * n + p]
      g[i * n + j] = s / d
    }
  }
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = rhs[i]
    for (let p = 0; p < i; p++) s -= g[i * n + p] * y[p]
    y[i] = s / g[i * n + i]
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]
    for (let p = i + 1; p < n; p++) s -= g[p * n + i] * x[p]
    x[i] = s / g[i * n + i]
  }
  return { estimate: x, determined: determinedVariables(n, equations) }
}

function determinedVariables (n: number, equations: Equation[]): boolean[] {
  const basis: Array<{ pivot: number, row: Float64Array }> = []
  const reduce = (row: Float64Array) => {
    for (const b of basis) {
      const f = row[b.pivot]
      if (Math.abs(f) < 1e-9) continue
      for (let j = 0; j < n; j++) row[j] -= f * b.row[j]
    }
  }
  const seen = new Set<string>()
  for (const { vars } of equations) {
    const sig = [...vars].sort((a, b) => a - b).join(',')
    if (seen.has(sig) || vars.length === 0) continue
    seen.add(sig)
    if (basis.length === n) break
    const row = new Float64Array(n)
    for (const v of vars) row[v] = 1
    reduce(row)
    let pivot = -1
    for (let j = 0; j < n; j++) if (Math.abs(row[j]) > 1e-9) { pivot = j; break }
    if (pivot === -1) continue
    const p = row[pivot]
    for (let j = 0; j < n; j++) row[j] /= p
    basis.push({ pivot, row })
  }
  return Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n)
    e[j] = 1
    reduce(e)
    return e.every((v) => Math.abs(v) < 1e-7)
  })
}

// ------------------------------------------------------------ scoring

/** `group`: the table a cell is of, when cells of several tables are scored together (each has its own baseline mode). */
export interface Scored { truth: number, released: number | null, estimate: number | null, group?: string }

export interface Score {
  /** Cells whose true count is 1…k−1. */
  small: number
  /** Of those, recovered exactly by the attack. */
  recovered: number
  rate: number
  /** Over every scored cell (any true count). */
  all: number
  recoveredAll: number
  rateAll: number
  baseline: Baseline
}

/**
 * The BASELINE: guessing from the released value, without attacking. Guess = the released count
 * when the cell is released; else the most frequent true count among the suppressed small cells
 * of the scored set, per table (the best constant guess, known to the harness only: generous to the
 * release; `mode` prints the most common of the tables' modes).
 * Also printed: guessing the midpoint of 1…k−1 for suppressed cells.
 */
export interface Baseline { rate: number, mode: number, perTable: boolean, midpoint: number, midpointRate: number }

export function score (cells: Scored[], k: number): Score {
  const small = cells.filter((c) => c.truth >= 1 && c.truth < k)
  const freq = new Map<string, Map<number, number>>()
  for (const c of small) {
    if (c.released !== null) continue
    const f = freq.get(c.group ?? '') ?? new Map<number, number>()
    f.set(c.truth, (f.get(c.truth) ?? 0) + 1)
    freq.set(c.group ?? '', f)
  }
  const modeOf = (f: Map<number, number> | undefined) => [...(f ?? [])].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1
  const modes = new Map([...freq].map(([g, f]) => [g, modeOf(f)]))
  const mode = modeOf(new Map([...modes.values()].map((m) => [m, [...modes.values()].filter((x) => x === m).length])))
  const midpoint = Math.round(k / 2)
  const rateOf = (guess: (c: Scored) => number) => small.length === 0 ? 0 : small.filter((c) => guess(c) === c.truth).length / small.length
  const recovered = small.filter((c) => c.estimate === c.truth).length
  const recoveredAll = cells.filter((c) => c.estimate === c.truth).length
  return {
    small: small.length,
    recovered,
    rate: small.length === 0 ? 0 : recovered / small.length,
    all: cells.length,
    recoveredAll,
    rateAll: cells.length === 0 ? 0 : recoveredAll / cells.length,
    baseline: { rate: rateOf((c) => c.released ?? modes.get(c.group ?? '') ?? mode), mode, perTable: modes.size > 1, midpoint, midpointRate: rateOf((c) => c.released ?? midpoint) }
  }
}

export const pct = (x: number): string => `${(100 * x).toFixed(1)} %`

export function describeScore (s: Score): string {
  return `recovered ${s.recovered} of ${s.small} true counts 1…k−1 (${pct(s.rate)}); baseline ${pct(s.baseline.rate)} `
    + `(released value, else ${s.baseline.perTable ? `each table's most frequent small count, mostly ${s.baseline.mode}` : s.baseline.mode}; midpoint ${s.baseline.midpoint}: ${pct(s.baseline.midpointRate)}); `
    + `all cells ${s.recoveredAll} of ${s.all} (${pct(s.rateAll)})`
}

/** Round an estimate to a count: never negative. */
export const toCount = (x: number): number => Math.max(0, Math.round(x))

/** A small seeded generator (xorshift), so an attack's choices repeat. */
export function rng (seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5
    return (state >>> 0) / 4294967296
  }
}
