// The dimensions of an aggregate cell: their column, their SDMX name, and the values a filter may name.
// Vocabularies come from the shipped schemas and catalogs (schemas/ is data, not code).
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isCountryCode } from '../admin/regions.js'

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

/** Column of each dimension in `cells`. */
export const COLUMN: Record<Dimension, string> = {
  period: 'period',
  country: 'country',
  countryOfOrigin: 'country_of_origin',
  subnationalArea: 'subnational_area',
  migrationStatus: 'migration_status',
  migrationStage: 'migration_stage',
  sex: 'sex',
  ageBand: 'age_band',
  encounter: 'encounter',
  conditionGroup: 'condition_group',
  screeningContext: 'screening_context',
  screeningConsequence: 'screening_consequence',
  insurance: 'insurance',
  outcome: 'outcome'
}

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
}

export function defaultSchemasDir (): string {
  return fileURLToPath(new URL('../../schemas', import.meta.url))
}

function jsonFiles (dir: string): unknown[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown)
}

/** The union over every shipped version: an old version's values stay readable. */
export function loadVocabulary (schemasDir: string = defaultSchemasDir()): Vocabulary {
  const enums: Partial<Record<Dimension, Set<string>>> = {}
  const add = (dim: Dimension, values: Iterable<string>) => {
    const set = enums[dim] ?? (enums[dim] = new Set())
    for (const v of values) set.add(v)
  }
  for (const doc of jsonFiles(join(schemasDir, 'migrant-health-event')) as Array<{ properties: Record<string, { enum?: string[] }> }>) {
    for (const [field, spec] of Object.entries(doc.properties)) {
      if (isDimension(field) && Array.isArray(spec.enum)) add(field, spec.enum)
    }
  }
  for (const doc of jsonFiles(join(schemasDir, 'condition-groups')) as Array<{ groups: Array<{ group: string }>, default?: string }>) {
    add('conditionGroup', doc.groups.map((g) => g.group))
    if (doc.default) add('conditionGroup', [doc.default])
  }
  for (const dim of OPTIONAL) if (dim !== 'subnationalArea') add(dim, [ABSENT])
  const areaCountry = new Map<string, string>()
  for (const doc of jsonFiles(join(schemasDir, 'subnational-areas')) as Array<{ areas: Array<{ code: string, country: string }> }>) {
    for (const area of doc.areas) areaCountry.set(area.code, area.country)
  }
  return { enums, areaCountry }
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
