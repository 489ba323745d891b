// The dimensions of an aggregate cell: their column, their SDMX name, and the values a filter may name.
// Vocabularies come from the shipped schemas and catalogs, through the schema registry.
import { isCountryCode } from '../admin/regions.js'
import { ABSENT, DIMENSION_FIELDS, FIELDS, type DimensionName, type FieldDefinition } from '../model/fields.js'
import type { SchemaRegistry } from '../intake/registry.js'

/** The value stored in a cell for an absent optional dimension (SDMX "not applicable"). */
export { ABSENT }

export type Dimension = DimensionName

/** Every dimension, from the field definitions: period and country first, then in definition order. */
export const DIMENSIONS: readonly Dimension[] = ['period', 'country',
  ...FIELDS.flatMap((f) => 'dimension' in f && f.dimension !== 'period' && f.dimension !== 'country' ? [f.dimension] : [])]

export function isDimension (name: string): name is Dimension {
  return (DIMENSIONS as readonly string[]).includes(name)
}

const FIELD_OF = new Map<Dimension, FieldDefinition>(DIMENSION_FIELDS.map((f) => [f.dimension as Dimension, f]))
const SENSITIVE: ReadonlySet<Dimension> = new Set(DIMENSION_FIELDS.filter((f) => f.sensitive === true).map((f) => f.dimension as Dimension))

/** Column of each dimension in `cells`. */
export const COLUMN = Object.fromEntries(DIMENSION_FIELDS.map((f) => [f.dimension, f.column])) as Record<Dimension, string>

/** SDMX concept id of each dimension (REF_AREA, TIME_PERIOD, …), from the field definitions. */
export const SDMX_NAME = Object.fromEntries(DIMENSION_FIELDS.map((f) => [f.dimension, f.sdmx])) as Record<Dimension, string>

/**
 * Dimensions a cell may hold ABSENT for: optional fields, the derived condition group, and fields
 * of a later schema version (older records lack them) unless the field says what their lack means
 * (`before`: 1.0.0 records are contacts). The reporting country is never absent.
 */
export const OPTIONAL: ReadonlySet<Dimension> = new Set<Dimension>(DIMENSION_FIELDS
  .filter((f) => f.name !== 'reportingCountry' && f.before === undefined && (!f.required || f.since !== '1.0.0'))
  .map((f) => f.dimension as Dimension))

/** English and Russian names of each dimension. */
export function dimensionLabel (dim: Dimension, language: 'en' | 'ru'): string {
  return (FIELD_OF.get(dim) as FieldDefinition).label[language]
}

export interface Vocabulary {
  /** Allowed values of the enumerated dimensions (ABSENT included for optional ones). */
  enums: Partial<Record<Dimension, ReadonlySet<string>>>
  /** Every sub-national area code of every catalog version, with its country. */
  areaCountry: ReadonlyMap<string, string>
  /** Dimensions near enforcement (`sensitive` in the field definitions, `x-mhx-sensitive` in the schemas): a read using one takes the sensitive k. */
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
  for (const { name, version, kind } of schemas.list()) {
    if (kind === 'record-schema') {
      const doc = schemas.document(name, version) as { properties: Record<string, { enum?: string[] }>, $defs?: { dataValue?: { properties: Record<string, { enum?: string[] }> } } }
      for (const [field, spec] of Object.entries(doc.$defs?.dataValue?.properties ?? doc.properties)) {
        const dim = FIELDS.find((f) => f.name === field && 'dimension' in f)
        // catalog-coded dimensions (countries, areas) are checked against the catalogs below
        if (dim && 'codes' in dim && isDimension(field) && Array.isArray(spec.enum)) add(field, spec.enum)
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
  for (const dim of OPTIONAL) if (FIELD_OF.get(dim)?.type === 'codes' || dim === 'conditionGroup') add(dim, [ABSENT])
  return { enums, areaCountry, sensitive: SENSITIVE }
}

/** Whether `value` may be named in a filter on `dim` (period is checked with the query's period type). */
export function isKnownValue (vocabulary: Vocabulary, dim: Dimension, value: string): boolean {
  switch (dim) {
    case 'country': return isCountryCode(value)
    case 'countryOfOrigin': return value === 'unknown' || isCountryCode(value)
    case 'returnedFrom': return value === ABSENT || isCountryCode(value)
    case 'subnationalArea': return value === ABSENT || vocabulary.areaCountry.has(value)
    case 'period': return true
    default: return vocabulary.enums[dim]?.has(value) ?? false
  }
}
