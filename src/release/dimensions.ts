// The dimensions of an aggregate cell: their column, their SDMX name, and the values a filter may name.
// Vocabularies come from the shipped schemas and catalogs, through the schema registry.
import { isCountryCode } from '../admin/regions.js'
import { CELL_COLUMNS, dimensionName } from '../aggregation/dimensions.js'
import type { SchemaRegistry } from '../intake/registry.js'

/** The value stored in a cell for an absent optional dimension (SDMX "not applicable"). */
export const ABSENT = '_Z'

export const DIMENSIONS = [
  'period', 'country', 'countryOfOrigin', 'subnationalArea', 'migrationStatus', 'migrationStage', 'sex', 'ageBand',
  'encounter', 'conditionGroup', 'screeningContext', 'screeningConsequence', 'insurance', 'outcome'
] as const
export type Dimension = typeof DIMENSIONS[number]

export function isDimension (name: string): name is Dimension {
  return (DIMENSIONS as readonly string[]).includes(name)
}

/** Column of each dimension in `cells` (the cells' own column list, named as answers name them). */
export const COLUMN = Object.fromEntries(CELL_COLUMNS.map((column) => [dimensionName(column), column])) as Record<Dimension, string>

/** SDMX-CSV column of each dimension: REF_AREA, TIME_PERIOD, the others in upper snake case. */
export const SDMX_NAME: Record<Dimension, string> = Object.fromEntries(DIMENSIONS.map((d) => [d,
  d === 'country' ? 'REF_AREA' : d === 'period' ? 'TIME_PERIOD' : COLUMN[d].toUpperCase()])) as Record<Dimension, string>

/** Dimensions a record may leave out: their cells hold ABSENT. */
export const OPTIONAL: ReadonlySet<Dimension> = new Set<Dimension>(['subnationalArea', 'conditionGroup', 'screeningContext', 'screeningConsequence', 'outcome'])

export interface Vocabulary {
  /** Allowed values of the enumerated dimensions (ABSENT included for optional ones). */
  enums: Partial<Record<Dimension, ReadonlySet<string>>>
  /** Every sub-national area code of every catalog version, with its country. */
  areaCountry: ReadonlyMap<string, string>
  /** Dimensions marked `x-mhx-sensitive` in a record schema: a read using one takes the sensitive k. */
  sensitive: ReadonlySet<Dimension>
}

/** The union over every shipped version, read from the schema registry: an old version's values stay readable. */
export function loadVocabulary (schemas: SchemaRegistry): Vocabulary {
  const enums: Partial<Record<Dimension, Set<string>>> = {}
  const add = (dim: Dimension, values: Iterable<string>) => {
    const set = enums[dim] ?? (enums[dim] = new Set())
    for (const v of values) set.add(v)
  }
  const areaCountry = new Map<string, string>()
  const sensitive = new Set<Dimension>()
  for (const { name, version, kind } of schemas.list()) {
    if (kind === 'record-schema') {
      const doc = schemas.document(name, version) as { properties: Record<string, { enum?: string[], 'x-mhx-sensitive'?: boolean }> }
      for (const [field, spec] of Object.entries(doc.properties)) {
        if (isDimension(field) && Array.isArray(spec.enum)) add(field, spec.enum)
        if (isDimension(field) && spec['x-mhx-sensitive'] === true) sensitive.add(field)
      }
    } else if (name === 'condition-groups') {
      add('conditionGroup', schemas.conditionGroupNames(version))
      const { default: fallback } = schemas.document(name, version) as { default?: string }
      if (fallback) add('conditionGroup', [fallback])
    } else if (name === 'subnational-areas') {
      for (const area of (schemas.document(name, version) as { areas: Array<{ code: string, country: string }> }).areas) {
        areaCountry.set(area.code, area.country)
      }
    }
  }
  for (const dim of OPTIONAL) if (dim !== 'subnationalArea') add(dim, [ABSENT])
  return { enums, areaCountry, sensitive }
}

/** Whether `value` may be named in a filter on `dim` (period is checked with the query's period type). */
export function isKnownValue (vocabulary: Vocabulary, dim: Dimension, value: string): boolean {
  switch (dim) {
    case 'country': return isCountryCode(value)
    case 'countryOfOrigin': return value === 'unknown' || isCountryCode(value)
    case 'subnationalArea': return value === ABSENT || vocabulary.areaCountry.has(value)
    case 'period': return true
    default: return vocabulary.enums[dim]?.has(value) ?? false
  }
}
