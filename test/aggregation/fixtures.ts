// Rows for aggregation tests, written with SQL as the intake would (src/db/schema.ts): partners,
// submissions in the outbox (counted, not applied) and their records.
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { rows, type Queryable } from '../../src/db/connect.js'
import { CELL_COLUMNS } from '../../src/model/cells.js'

export type RecordRow = Record<typeof CELL_COLUMNS[number] | 'condition', string>

/** A small deterministic generator, so a failing run can be repeated. */
export function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const pick = <T> (random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)]

const CONDITIONS: Array<[string, string]> = [['A15', 'tb'], ['B20', 'hiv'], ['O80.1', 'maternal'], ['F32', 'mental_health'], ['_Z', '_Z'], ['J18', 'respiratory']]

/** A record of `country`; few distinct values per dimension, so cells collect several records. */
export function randomRecord (random: () => number, country: string): RecordRow {
  const [condition, group] = pick(random, CONDITIONS)
  return {
    // dimensions not drawn below (a later schema version's) are absent
    ...Object.fromEntries(CELL_COLUMNS.map((c) => [c, '_Z'])) as RecordRow,
    country,
    period: pick(random, ['2026-01', '2026-02', '2026-03']),
    subnational_area: pick(random, ['_Z', `${country.slice(0, 2)}-1`]),
    country_of_origin: pick(random, ['UZB', 'TJK', 'KGZ', 'unknown']),
    migration_status: pick(random, ['labour_migrant', 'family_member', 'student']),
    migration_stage: pick(random, ['destination', 'transit']),
    sex: pick(random, ['female', 'male']),
    age_band: pick(random, ['20-24', '25-29', '30-34']),
    encounter: pick(random, ['primary_care', 'occupational_injury']),
    condition,
    condition_group: group,
    screening_context: pick(random, ['_Z', 'work_permit']),
    screening_consequence: '_Z',
    insurance: pick(random, ['none', 'public']),
    outcome: pick(random, ['_Z', 'treated'])
  }
}

export async function insertPartner (q: Queryable, id: string, country: string): Promise<void> {
  await q.execute(sql`
    INSERT INTO partners (id, name, roles, country, jwks) VALUES (${id}, ${`Ministry ${country}`}, ARRAY['reporter'], ${country}, '{"keys":[]}')
    ON CONFLICT (id) DO NOTHING`)
}

export interface FixtureSubmission { id: string, generation: number, records: RecordRow[] }

/** A committed submission with its records, not yet announced (as after a crash before enqueue). */
export async function insertSubmission (q: Queryable, partnerId: string, country: string, records: RecordRow[]): Promise<FixtureSubmission> {
  const id = randomUUID()
  await q.transaction(async (tx) => {
    await tx.execute(sql`
      INSERT INTO submissions (id, partner_id, country, schema_name, schema_version, record_count, body_sha256, receipt)
      VALUES (${id}, ${partnerId}, ${country}, 'migrant-health-event', '1.0.0', ${records.length}, 'x', 'receipt')`)
    if (records.length === 0) return
    // a dimension the fixture does not set (a later schema version's) is absent, as for a 1.0.0 record
    const column = (name: keyof RecordRow) => sql.param(records.map((r) => r[name] ?? '_Z'))
    await tx.execute(sql`
      INSERT INTO records (submission_id, partner_id, record_id, record_key, ${sql.raw(['condition', ...CELL_COLUMNS].join(', '))})
      SELECT ${id}, ${partnerId}, gen_random_uuid(), floor(random() * 4294967296)::bigint, ${sql.join(['condition', ...CELL_COLUMNS].map((c) => sql`unnest(${column(c as keyof RecordRow)}::text[])`), sql`, `)}`)
  })
  return { id, generation: 1, records }
}

/** The intake's DELETE: wanted effect off, a new generation, recordIds freed. */
export async function retractSubmission (q: Queryable, id: string): Promise<number> {
  const [row] = await rows<{ generation: number }>(q, sql`
    UPDATE submissions SET counted = false, generation = generation + 1, changed_at = now() WHERE id = ${id} RETURNING generation`)
  await q.execute(sql`UPDATE records SET live = false WHERE submission_id = ${id}`)
  return row.generation
}

/** Counts per value of every dimension (and per full cell key), from records held in memory. */
export function tally (records: RecordRow[]): Map<string, number> {
  const out = new Map<string, number>()
  const add = (key: string) => out.set(key, (out.get(key) ?? 0) + 1)
  for (const r of records) {
    for (const c of CELL_COLUMNS) add(`${c}=${r[c]}`)
    add(`cell=${CELL_COLUMNS.map((c) => r[c]).join('|')}`)
  }
  return out
}

/** The same tally, read from the cells. */
export async function tallyCells (q: Queryable): Promise<Map<string, number>> {
  const cells = await rows<Record<string, string> & { count: string }>(q, sql`SELECT * FROM cells`)
  const out = new Map<string, number>()
  const add = (key: string, n: number) => out.set(key, (out.get(key) ?? 0) + n)
  for (const cell of cells) {
    const n = Number(cell.count)
    for (const c of CELL_COLUMNS) add(`${c}=${cell[c].trim()}`, n)
    add(`cell=${CELL_COLUMNS.map((c) => cell[c].trim()).join('|')}`, n)
  }
  return out
}

export function sorted (m: Map<string, number>): Array<[string, number]> {
  return [...m.entries()].filter(([, n]) => n !== 0).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

/** Submissions whose effect is still pending. */
export async function pending (q: Queryable): Promise<number> {
  const [row] = await rows<{ n: string }>(q, sql`SELECT count(*) AS n FROM submissions WHERE counted <> applied`)
  return Number(row.n)
}
