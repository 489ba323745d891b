// Names beside codes, in English or Russian: one catalog (schemas/labels) for the enumerated codes and the
// dimensions, i18n-iso-countries for countries, the subnational-areas catalog for areas.
import countries from 'i18n-iso-countries'
import type { SchemaRegistry } from '../../intake/registry.js'
import { DIMENSION_FIELDS } from '../../model/fields.js'
import type { Dimension } from '../dimensions.js'

export const LANGUAGES = ['en', 'ru'] as const
export type Language = typeof LANGUAGES[number]

type Named = Record<Language, string>

/** Dimensions whose codes are ISO 3166-1 alpha-3 countries (named by i18n-iso-countries). */
const COUNTRY_CODED: ReadonlySet<string> = new Set(DIMENSION_FIELDS.filter((f) => f.type === 'country' || f.type === 'countryOrUnknown').map((f) => f.dimension!))

/** The labels catalog as shipped (schemas/labels/<version>.json). */
export interface LabelCatalog {
  dimensions: Record<string, Named>
  special: Record<string, Named>
  codes: Record<string, Record<string, Named>>
  sdmx: {
    OBS_VALUE: Named
    OBS_STATUS: { name: Named, codes: Record<string, Named> }
    CONF_STATUS: { name: Named, codes: Record<string, Named> }
  }
}

export interface Names {
  catalog: LabelCatalog
  /** The name of a dimension. */
  dimension (dim: Dimension, lang: Language): string
  /**
   * The name of a code: countries by ISO name, areas by the catalog's (English) name, enums from the
   * labels catalog, _Z and _T by their meaning; a period or an unknown code names itself.
   */
  code (dim: Dimension, code: string, lang: Language): string
}

/** The newest labels catalog and the newest area names, read once from the schema registry. */
export function loadNames (schemas: SchemaRegistry): Names {
  const versions = schemas.list().filter((s) => s.name === 'labels' && s.kind === 'catalog')
  const newest = versions.at(-1)
  if (!newest) throw new Error('schema registry: no labels catalog (schemas/labels/<version>.json)')
  const catalog = schemas.document('labels', newest.version) as LabelCatalog
  return {
    catalog,
    dimension: (dim, lang) => catalog.dimensions[dim]?.[lang] ?? dim,
    code (dim, code, lang) {
      const special = catalog.special[code]
      if (special) return special[lang]
      const named = catalog.codes[dim]?.[code]
      if (named) return named[lang]
      if (COUNTRY_CODED.has(dim)) return countries.getName(code, lang) ?? code
      // The catalog names areas in English only: Russian readers get the English short name.
      if (dim === 'subnationalArea') return schemas.subnationalArea(code)?.name ?? code
      return code
    }
  }
}
