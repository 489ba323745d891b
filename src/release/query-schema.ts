// The querystring of GET /v1/aggregates as a schema with what each parameter accepts (enums and patterns, made from
// the field definitions and the vocabularies), so the OpenAPI document tells a client generator what parseAggregateQuery
// will take. parseAggregateQuery still checks everything (the schema cannot: spans, periods inside from..to, areas in the region).
import { Type } from 'typebox'
import { COUNTRY_CODE_PATTERN, REGION_CODE_PATTERN } from '../admin/regions.js'
import { DIMENSION_FIELDS } from '../model/fields.js'
import { ABSENT, DIMENSIONS, OPTIONAL, type Dimension, type Vocabulary } from './dimensions.js'
import { MAX_BY, MAX_SPAN_MONTHS, PERIOD_TYPES } from './query.js'

const escape = (code: string) => code.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const inner = (pattern: string) => pattern.replace(/^\^/, '').replace(/\$$/, '')
/** `^(a)(,(a))*$`: a comma list of one or more of `one`. */
const listOf = (one: string) => `^(${one})(,(${one}))*$`

export const MONTH_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])$'
/** A period label of any period type: 2026-03, 2026-Q1 or 2026. */
export const PERIOD_LABEL = '\\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?'
const AREA_CODE = '[A-Z]{2}-[A-Z0-9]{1,3}'

/** The values a filter on `dim` may name, as one alternative of a regular expression. */
export function filterValue (dim: Dimension, vocabulary: Vocabulary): string {
  if (dim === 'period') return PERIOD_LABEL
  const field = DIMENSION_FIELDS.find((f) => f.dimension === dim)!
  const absent = OPTIONAL.has(dim) && dim !== 'country' ? [ABSENT] : []
  switch (field.type) {
    case 'country': return [inner(COUNTRY_CODE_PATTERN), ...absent].join('|')
    case 'countryOrUnknown': return [inner(COUNTRY_CODE_PATTERN), 'unknown', ...absent].join('|')
    case 'subnationalArea': return [AREA_CODE, ...absent].join('|')
    default: return [...(vocabulary.enums[dim] ?? [])].map(escape).join('|')
  }
}

/** The values of a filter in words, for its description (and so the message of a malformed one). */
function filterText (dim: Dimension, vocabulary: Vocabulary): string {
  const absent = OPTIONAL.has(dim) && dim !== 'country' ? ', or _Z (the value is absent)' : ''
  if (dim === 'period') return 'the period labels of periodType (2026-03, 2026-Q1, 2026) within from..to'
  const field = DIMENSION_FIELDS.find((f) => f.dimension === dim)!
  switch (field.type) {
    case 'country': return `ISO 3166-1 alpha-3 country codes (KAZ)${absent}`
    case 'countryOrUnknown': return `ISO 3166-1 alpha-3 country codes (UZB) or unknown${absent}`
    case 'subnationalArea': return `ISO 3166-2 first-level codes of the subnational-areas catalog (KZ-75)${absent}`
    default: return [...(vocabulary.enums[dim] ?? [])].join(', ')
  }
}

const PeriodType = Type.Unsafe<string>({ type: 'string', enum: [...PERIOD_TYPES], description: 'month (2026-03, the default), quarter (2026-Q1) or year (2026); from/to on its boundaries' })

/** The querystring schema of GET /v1/aggregates. No `default`: Ajv's useDefaults would write it into the query (and so into audit rows and cache keys). */
export function aggregatesQuery (vocabulary: Vocabulary) {
  const dimension = DIMENSIONS.join('|')
  return Type.Object({
    region: Type.String({ maxLength: 64, pattern: `^(${inner(COUNTRY_CODE_PATTERN)}|${inner(REGION_CODE_PATTERN)})$`, description: 'a country code (KAZ) or a region code (central-asia); exact case' }),
    from: Type.String({ maxLength: 7, pattern: MONTH_PATTERN, description: 'the first month, YYYY-MM' }),
    to: Type.String({ maxLength: 7, pattern: MONTH_PATTERN, description: `the last month, YYYY-MM (a span of at most ${MAX_SPAN_MONTHS} months)` }),
    by: Type.Optional(Type.String({ maxLength: 300, pattern: `^((${dimension})(,(${dimension})){0,${MAX_BY - 1}})?$`, description: `a comma list of at most ${MAX_BY} of: ${DIMENSIONS.join(', ')}` })),
    periodType: Type.Optional(PeriodType),
    labels: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('ru')], { description: 'names beside codes, in English or Russian: CSV <dim>_label columns, JSON `labels` (dimension → code → name), FHIR displays' })),
    ...Object.fromEntries(DIMENSIONS.map((d) => [d, Type.Optional(Type.String({
      maxLength: 4000,
      pattern: listOf(filterValue(d, vocabulary)),
      description: `a filter: one or more (a comma list, any of) of ${filterText(d, vocabulary)}`
    }))]))
  }, { additionalProperties: false })
}

export { PeriodType }
