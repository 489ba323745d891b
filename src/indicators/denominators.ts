// Denominators and reference values: public figures set by the admin or a country's steward, every
// revision kept. Checks that need the catalog or the clock (unknown population or indicator, a year
// in the future, another country's steward) are here, before anything is written.
import { sql } from 'drizzle-orm'
import { appendAudit } from '../audit/log.js'
import { inTransaction, rows, type Database, type Queryable } from '../db/connect.js'
import { announceChange } from '../db/held.js'
import { denominators, referenceValues } from '../db/schema.js'
import { SCOPE } from '../auth/scopes.js'
import { problem } from '../problem.js'
import type { IndicatorCatalog } from './catalog.js'

/** Who sets a figure: the admin (any country) or a steward (its own country only). */
export interface FigureSetter { partnerId: string, scopes: ReadonlySet<string>, country: string | null }

export interface DenominatorInput { value: number, source: string, sourceUrl?: string, vintage: string, note?: string }
export interface ReferenceInput { value: number, source: string, sourceUrl?: string, note?: string }

export interface Denominator {
  country: string
  year: number
  population: string
  value: number
  source: string
  sourceUrl: string | null
  vintage: string
  note: string | null
  revision: number
  setBy: string
  setAt: string
}

export interface ReferenceValue {
  indicator: string
  country: string
  year: number
  value: number
  source: string
  sourceUrl: string | null
  note: string | null
  revision: number
  setBy: string
  setAt: string
}

const fieldFault = (kind: 'yearInFuture' | 'notCountrySteward' | 'populationUnknown' | 'indicatorUnknown' | 'denominatorInvalid', path: string, message: string) =>
  problem(kind, `${path}: ${message}`, { errors: [{ path, message }] })

/** The admin sets any country's figures; a steward its own country's; nobody else any. */
export function checkSetter (setter: FigureSetter, country: string): void {
  if (setter.scopes.has(SCOPE.admin)) return
  if (setter.scopes.has(SCOPE.steward) && setter.country === country) return
  if (setter.scopes.has(SCOPE.steward)) throw fieldFault('notCountrySteward', 'country', `a steward sets its own country's figures only (${setter.country ?? 'none'}), not ${country}'s`)
  throw problem('forbidden', `setting a figure needs the scope ${SCOPE.admin} or ${SCOPE.steward}`, { requiredScope: SCOPE.steward })
}

/** A year of a figure: not after the current UTC year (a projection is not a denominator). */
export function checkYear (year: number, now: Date): void {
  if (year > now.getUTCFullYear()) throw fieldFault('yearInFuture', 'year', `${year} is in the future (now ${now.getUTCFullYear()})`)
}

export async function setDenominator (database: Database, catalog: IndicatorCatalog, setter: FigureSetter, key: { country: string, year: number, population: string }, input: DenominatorInput, now: Date): Promise<Denominator> {
  checkSetter(setter, key.country)
  if (!catalog.population(key.population)) throw fieldFault('populationUnknown', 'population', `unknown population "${key.population}"; one of ${catalog.populations.map((p) => p.id).join(', ')}`)
  checkYear(key.year, now)
  if (!Number.isSafeInteger(input.value) || input.value < 1) throw fieldFault('denominatorInvalid', '/value', 'must be a positive integer')
  return inTransaction(database, async (tx) => {
    // One writer per key at a time: the revision is the next after the last.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`denominator:${key.country}:${key.population}:${key.year}`}))`)
    const [last] = await rows<{ revision: number | null }>(tx, sql`SELECT max(revision) AS revision FROM denominators
      WHERE country = ${key.country} AND population = ${key.population} AND year = ${key.year}`)
    const revision = Number(last?.revision ?? 0) + 1
    const row = { ...key, revision, value: input.value, source: input.source, sourceUrl: input.sourceUrl ?? null, vintage: input.vintage, note: input.note ?? null, setBy: setter.partnerId, setAt: now }
    await tx.insert(denominators).values(row)
    await announceChange(tx, FIGURES_CHANNEL)
    await appendAudit(tx, { partnerId: setter.partnerId, action: 'denominator.set', subject: key.country, detail: { ...key, revision, value: input.value, source: input.source, vintage: input.vintage } }, now)
    return { ...row, setAt: now.toISOString() }
  })
}

export async function setReference (database: Database, catalog: IndicatorCatalog, setter: FigureSetter, key: { indicator: string, country: string, year: number }, input: ReferenceInput, now: Date): Promise<ReferenceValue> {
  checkSetter(setter, key.country)
  if (!catalog.indicator(key.indicator)) throw fieldFault('indicatorUnknown', 'indicator', `unknown indicator "${key.indicator}" (see GET /v1/indicators)`)
  checkYear(key.year, now)
  if (!Number.isFinite(input.value) || input.value < 0) throw fieldFault('denominatorInvalid', '/value', 'must be a number ≥ 0')
  return inTransaction(database, async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`reference:${key.indicator}:${key.country}:${key.year}`}))`)
    const [last] = await rows<{ revision: number | null }>(tx, sql`SELECT max(revision) AS revision FROM reference_values
      WHERE indicator = ${key.indicator} AND country = ${key.country} AND year = ${key.year}`)
    const revision = Number(last?.revision ?? 0) + 1
    const row = { ...key, revision, value: input.value, source: input.source, sourceUrl: input.sourceUrl ?? null, note: input.note ?? null, setBy: setter.partnerId, setAt: now }
    await tx.insert(referenceValues).values(row)
    await announceChange(tx, FIGURES_CHANNEL)
    await appendAudit(tx, { partnerId: setter.partnerId, action: 'reference.set', subject: key.country, detail: { ...key, revision, value: input.value, source: input.source } }, now)
    return { ...row, setAt: now.toISOString() }
  })
}

interface DenominatorRow { country: string, year: number, population: string, value: string | number, source: string, source_url: string | null, vintage: string, note: string | null, revision: number, set_by: string, set_at: string | Date }

const denominatorOf = (r: DenominatorRow): Denominator => ({
  country: r.country, year: Number(r.year), population: r.population, value: Number(r.value), source: r.source, sourceUrl: r.source_url,
  vintage: r.vintage, note: r.note, revision: Number(r.revision), setBy: r.set_by, setAt: new Date(r.set_at).toISOString()
})

/** The current figure of each (country, population, year) matching the filters, sorted. */
export async function listDenominators (q: Queryable, filter: { country?: string, year?: number, population?: string, countries?: readonly string[], populations?: readonly string[], upToYear?: number } = {}): Promise<Denominator[]> {
  const where = [sql`true`]
  if (filter.country !== undefined) where.push(sql`country = ${filter.country}`)
  if (filter.year !== undefined) where.push(sql`year = ${filter.year}`)
  if (filter.population !== undefined) where.push(sql`population = ${filter.population}`)
  if (filter.countries !== undefined) where.push(filter.countries.length === 0 ? sql`false` : sql`country IN (${sql.join(filter.countries.map((c) => sql`${c}`), sql`, `)})`)
  if (filter.populations !== undefined) where.push(filter.populations.length === 0 ? sql`false` : sql`population IN (${sql.join(filter.populations.map((p) => sql`${p}`), sql`, `)})`)
  if (filter.upToYear !== undefined) where.push(sql`year <= ${filter.upToYear}`)
  const found = await rows<DenominatorRow>(q, sql`SELECT DISTINCT ON (country, population, year) country, year, population, value, source, source_url, vintage, note, revision, set_by, set_at
    FROM denominators WHERE ${sql.join(where, sql` AND `)} ORDER BY country, population, year, revision DESC`)
  return found.map(denominatorOf)
}

/** Every revision of one figure, newest first. */
export async function denominatorHistory (q: Queryable, key: { country: string, year: number, population: string }): Promise<Denominator[]> {
  const found = await rows<DenominatorRow>(q, sql`SELECT country, year, population, value, source, source_url, vintage, note, revision, set_by, set_at
    FROM denominators WHERE country = ${key.country} AND population = ${key.population} AND year = ${key.year} ORDER BY revision DESC`)
  return found.map(denominatorOf)
}

interface ReferenceRow { indicator: string, country: string, year: number, value: string | number, source: string, source_url: string | null, note: string | null, revision: number, set_by: string, set_at: string | Date }

/** The current reference values matching the filters, sorted. */
export async function listReferences (q: Queryable, filter: { indicator?: string, country?: string, countries?: readonly string[], upToYear?: number } = {}): Promise<ReferenceValue[]> {
  const where = [sql`true`]
  if (filter.indicator !== undefined) where.push(sql`indicator = ${filter.indicator}`)
  if (filter.country !== undefined) where.push(sql`country = ${filter.country}`)
  if (filter.countries !== undefined) where.push(filter.countries.length === 0 ? sql`false` : sql`country IN (${sql.join(filter.countries.map((c) => sql`${c}`), sql`, `)})`)
  if (filter.upToYear !== undefined) where.push(sql`year <= ${filter.upToYear}`)
  const found = await rows<ReferenceRow>(q, sql`SELECT DISTINCT ON (indicator, country, year) indicator, country, year, value, source, source_url, note, revision, set_by, set_at
    FROM reference_values WHERE ${sql.join(where, sql` AND `)} ORDER BY indicator, country, year, revision DESC`)
  return found.map((r) => ({
    indicator: r.indicator, country: r.country, year: Number(r.year), value: Number(r.value), source: r.source, sourceUrl: r.source_url,
    note: r.note, revision: Number(r.revision), setBy: r.set_by, setAt: new Date(r.set_at).toISOString()
  }))
}

/** Every current denominator and reference value: public, small, read by every indicator read. */
export interface Figures { denominators: Denominator[], references: ReferenceValue[] }

export const FIGURES_CHANNEL = 'mhx_figures_changed'

export async function loadFigures (q: Queryable): Promise<Figures> {
  const [denominators, references] = await Promise.all([listDenominators(q), listReferences(q)])
  return { denominators, references }
}
