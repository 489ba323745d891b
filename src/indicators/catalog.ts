// The indicator and population catalogs (schemas/indicators/, schemas/populations/), read from the
// schema registry and checked once at start against the dimensions: a definition that names an
// unknown dimension or value, or a proportion whose numerator is not inside its denominator, stops
// the hub rather than answering wrong figures.
import type { SchemaRegistry } from '../intake/registry.js'
import { compareVersions } from '../model/fields.js'
import { isDimension, isKnownValue, type Dimension, type Vocabulary } from '../release/dimensions.js'

export interface Text { en: string, ru: string }

export interface Population {
  id: string
  /** The population this one is the part of one sex of (null for a whole population). */
  parent: string | null
  sex: 'female' | 'male' | null
  label: Text
  definition: Text
  sources: string[]
}

export type IndicatorKind = 'rate' | 'proportion'

export interface Indicator {
  id: string
  kind: IndicatorKind
  sdg: { target: string, indicator: string | null }
  name: Text
  definition: Text
  convention: string
  numerator: { filters: Partial<Record<Dimension, string[]>> }
  /** A population's figure (rates), or a count of records with these values (proportions). */
  denominator: { population: string } | { filters: Partial<Record<Dimension, string[]>> }
  multiplier: number
  unit: { code: string, en: string, ru: string }
  minimumNumerator: number
  /** The catalog version that defines it. */
  version: string
}

export interface IndicatorCatalog {
  version: string
  indicators: Indicator[]
  populations: Population[]
  indicator (id: string): Indicator | undefined
  population (id: string): Population | undefined
  /** The population of one sex of `id` (its child with that sex), if the catalog has one. */
  populationOfSex (id: string, sex: string): Population | undefined
}

function newest (schemas: SchemaRegistry, name: string): { version: string, document: unknown } {
  const versions = schemas.list().filter((s) => s.name === name).map((s) => s.version).sort(compareVersions)
  const version = versions.at(-1)
  if (version === undefined) throw new Error(`indicator catalog: no ${name} catalog under schemas/`)
  return { version, document: schemas.document(name, version) }
}

function checkFilters (where: string, filters: Record<string, string[]>, vocabulary: Vocabulary): void {
  for (const [dim, values] of Object.entries(filters)) {
    if (!isDimension(dim) || dim === 'period' || dim === 'country') throw new Error(`${where}: "${dim}" is not a dimension an indicator may fix`)
    for (const v of values) if (!isKnownValue(vocabulary, dim, v)) throw new Error(`${where}: ${dim} has no value "${v}"`)
  }
}

/** The newest catalogs, checked against the dimensions' vocabulary (throws on a faulty definition). */
export function loadIndicatorCatalog (schemas: SchemaRegistry, vocabulary: Vocabulary): IndicatorCatalog {
  const pops = newest(schemas, 'populations')
  const inds = newest(schemas, 'indicators')
  const populations = (pops.document as { populations: Population[] }).populations
  const byPopulation = new Map(populations.map((p) => [p.id, p]))
  for (const p of populations) {
    if (p.parent !== null && !byPopulation.has(p.parent)) throw new Error(`populations: ${p.id}'s parent ${p.parent} is not in the catalog`)
  }
  const indicators = (inds.document as { indicators: Array<Omit<Indicator, 'version'>> }).indicators.map((raw) => {
    const where = `indicators ${inds.version}: ${raw.id}`
    // Values sorted, as the aggregate parser normalizes them: the same query, the same budget key.
    const sorted = (filters: Record<string, string[]>) => Object.fromEntries(Object.entries(filters).map(([d, v]) => [d, [...v].sort()])) as Partial<Record<Dimension, string[]>>
    const numerator = { filters: sorted(raw.numerator.filters as Record<string, string[]>) }
    checkFilters(where, numerator.filters as Record<string, string[]>, vocabulary)
    let denominator: Indicator['denominator']
    if ('population' in raw.denominator) {
      if (raw.kind !== 'rate') throw new Error(`${where}: a population denominator makes a rate`)
      if (!byPopulation.has(raw.denominator.population)) throw new Error(`${where}: unknown population ${raw.denominator.population}`)
      denominator = { population: raw.denominator.population }
    } else {
      if (raw.kind !== 'proportion') throw new Error(`${where}: a count denominator makes a proportion`)
      const filters = sorted(raw.denominator.filters as Record<string, string[]>)
      checkFilters(where, filters as Record<string, string[]>, vocabulary)
      // The numerator's record set lies inside the denominator's, atom by atom: the same dimensions
      // fixed, each numerator value list a subset of the denominator's.
      const dims = new Set([...Object.keys(filters), ...Object.keys(numerator.filters)])
      for (const d of dims as Set<Dimension>) {
        const n = numerator.filters[d]
        const dn = filters[d]
        if (!n || !dn || !n.every((v) => dn.includes(v))) throw new Error(`${where}: the numerator's ${d} must be a subset of the denominator's`)
      }
      denominator = { filters }
    }
    if (!(raw.multiplier > 0) || !Number.isInteger(raw.minimumNumerator) || raw.minimumNumerator < 1) throw new Error(`${where}: multiplier and minimumNumerator must be positive`)
    return { ...raw, numerator, denominator, version: inds.version }
  })
  const byId = new Map(indicators.map((i) => [i.id, i]))
  return {
    version: inds.version,
    indicators,
    populations,
    indicator: (id) => byId.get(id),
    population: (id) => byPopulation.get(id),
    populationOfSex: (id, sex) => populations.find((p) => p.parent === id && p.sex === sex)
  }
}

/** The population a rate divides by. */
export function populationOf (indicator: Indicator): string | null {
  return 'population' in indicator.denominator ? indicator.denominator.population : null
}
