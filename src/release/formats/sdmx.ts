// SDMX: the published structure (SDMX-JSON 2.0: DSD, codelists in English and Russian, dataflow), one version of it
// per set of dimensions, and SDMX-CSV 2.0 answers that load into one table whatever the query: every dimension of
// the structure in a fixed order (_T where summed out), always a TIME_PERIOD, and only codes of the published
// codelists. Both follow the field definitions (src/model/fields.ts): a field that adds a dimension makes a new
// version of the structure, and each codelist holds every code its field can take (docs/formats.md).
import countries from 'i18n-iso-countries'
import type { Region } from '../../admin/regions.js'
import { compareVersions, DIMENSION_FIELDS, type FieldDefinition } from '../../model/fields.js'
import { ABSENT, DIMENSIONS, OPTIONAL, SDMX_NAME, type Dimension, type Vocabulary } from '../dimensions.js'
import { badParameter } from '../query.js'
import { singleFilter, spanMonths, type Answer } from './answer.js'
import { csvText } from './csv.js'
import { LANGUAGES, type Language, type Names } from './names.js'

export const SDMX_AGENCY = 'MHX'
export const SDMX_DSD_ID = 'MIGRANT_HEALTH'
/** SDMX "total": the code of a dimension summed out of the answer. */
export const TOTAL = '_T'

const FIELD_OF = new Map(DIMENSION_FIELDS.map((f) => [f.dimension as Dimension, f]))

/**
 * The versions of the structure, oldest first: one per record-schema version that added a dimension (the
 * `since` of the dimension fields). A version of the record schema that adds no dimension keeps the structure.
 */
export const SDMX_VERSIONS: readonly string[] = [...new Set(DIMENSION_FIELDS.map((f) => f.since))].sort(compareVersions)
/** The newest structure: what GET /v1/aggregates answers in SDMX-CSV. */
export const SDMX_VERSION = SDMX_VERSIONS.at(-1)!

export function isSdmxVersion (version: string): boolean {
  return SDMX_VERSIONS.includes(version)
}

/** `MHX:MIGRANT_HEALTH(1.1.0)`: the STRUCTURE_ID of SDMX-CSV answers of that version. */
export const structureId = (version: string) => `${SDMX_AGENCY}:${SDMX_DSD_ID}(${version})`

/** The dimensions of a version of the structure in their fixed order: TIME_PERIOD last, as SDMX places the time dimension. */
export function sdmxDimensions (version: string = SDMX_VERSION): readonly Dimension[] {
  const present = DIMENSIONS.filter((d) => compareVersions(FIELD_OF.get(d)!.since, version) <= 0)
  return [...present.filter((d) => d !== 'period'), 'period']
}

/** The dimensions of the newest structure. */
export const SDMX_DIMENSIONS: readonly Dimension[] = sdmxDimensions(SDMX_VERSION)

/**
 * The SDMX id of a record code. Codes are already SDMX ids but age bands: `0-4` → `Y0T4`, `80+` → `Y_GE80`
 * (the SDMX convention for age classes); `unknown`, `_Z` and `_T` stay.
 */
export function sdmxCode (dim: Dimension, code: string): string {
  if (dim !== 'ageBand') return code
  const band = /^(\d+)-(\d+)$/.exec(code)
  if (band) return `Y${band[1]}T${band[2]}`
  const open = /^(\d+)\+$/.exec(code)
  return open ? `Y_GE${open[1]}` : code
}

/** The record code of an SDMX id (sdmxCode undone): `Y0T4` → `0-4`, `Y_GE80` → `80+`. */
export function recordCode (dim: Dimension, id: string): string {
  if (dim !== 'ageBand') return id
  const band = /^Y(\d+)T(\d+)$/.exec(id)
  if (band) return `${band[1]}-${band[2]}`
  const open = /^Y_GE(\d+)$/.exec(id)
  return open ? `${open[1]}+` : id
}

/**
 * An answer SDMX cannot represent: a filter of several values on a dimension summed out of `by`
 * (its cells are neither one code nor the total). Checked on the raw query before the read.
 */
export function sdmxFault (raw: Record<string, string | undefined>) {
  const by = (raw.by ?? '').split(',')
  for (const dim of DIMENSIONS) {
    const value = raw[dim]
    if (value !== undefined && value.includes(',') && !by.includes(dim)) {
      return badParameter(dim, `SDMX-CSV needs one value here (a cell is one code or the total _T): add ${dim} to by, or ask for JSON or CSV`)
    }
  }
  return undefined
}

/** TIME_PERIOD of an answer without by=period: the period label when from..to is one period, else a time range. */
export function spanTimePeriod (answer: Answer): string {
  const months = spanMonths(answer)
  if (months === 1) return answer.from
  const [year, month] = [answer.from.slice(0, 4), Number(answer.from.slice(5, 7))]
  if (months === 3 && answer.periodType === 'quarter') return `${year}-Q${(month - 1) / 3 + 1}`
  if (months === 12 && answer.periodType === 'year') return year
  return `${answer.from}-01/P${months}M`
}

/** One observation: its codes in the order of the structure's dimensions (TIME_PERIOD last), its value and attributes. */
export interface Observation {
  key: string[]
  value: number | null
  /** A exact, E perturbed by the cell-key method, O not released. */
  obsStatus: 'A' | 'E' | 'O'
  /** A primary confidential (below k), F free. */
  confStatus: 'A' | 'F'
}

/** The observations of an answer in a version of the structure: every dimension, a one-value filter as its code, _T where summed out. */
export function observationsOf (answer: Answer, version: string = SDMX_VERSION): Observation[] {
  const dims = sdmxDimensions(version)
  const position = new Map(answer.by.map((d, i) => [d, i]))
  const fixed = new Map<Dimension, string>()
  for (const dim of dims) {
    if (position.has(dim)) continue
    const one = singleFilter(answer, dim)
    fixed.set(dim, dim === 'period' ? (one ?? spanTimePeriod(answer)) : dim === 'country' ? (one ?? answer.region) : sdmxCode(dim, one ?? TOTAL))
  }
  return answer.cells.map((cell) => ({
    key: dims.map((dim) => {
      const i = position.get(dim)
      return i === undefined ? fixed.get(dim)! : sdmxCode(dim, cell.key[i])
    }),
    value: cell.count,
    obsStatus: cell.count === null ? 'O' : answer.disclosure.method === 'cellkey' ? 'E' : 'A',
    confStatus: cell.suppressed ? 'A' : 'F'
  }))
}

/** SDMX-CSV 2.0: STRUCTURE, STRUCTURE_ID, ACTION, every dimension, OBS_VALUE, OBS_STATUS, CONF_STATUS. */
export function sdmxCsv (observations: readonly Observation[], version: string = SDMX_VERSION): string {
  const rows = [['STRUCTURE', 'STRUCTURE_ID', 'ACTION', ...sdmxDimensions(version).map((d) => SDMX_NAME[d]), 'OBS_VALUE', 'OBS_STATUS', 'CONF_STATUS']]
  for (const o of observations) {
    rows.push(['dataflow', structureId(version), 'I', ...o.key, o.value === null ? '' : String(o.value), o.obsStatus, o.confStatus])
  }
  return csvText(rows)
}

/** An answer of GET /v1/aggregates in SDMX-CSV 2.0, of the newest structure. */
export function toSdmxCsv (answer: Answer): string {
  return sdmxCsv(observationsOf(answer, SDMX_VERSION), SDMX_VERSION)
}

type Localised = Record<Language, string>
interface Code { id: string, name: string, names: Localised }

export const sdmxUrn = (kind: string, id: string, version: string) => `urn:sdmx:org.sdmx.infomodel.${kind}=${SDMX_AGENCY}:${id}(${version})`
export const codelistId = (dim: Dimension) => dim === 'country' ? 'CL_AREA' : `CL_${SDMX_NAME[dim]}`
const both = (name: (lang: Language) => string): Localised => Object.fromEntries(LANGUAGES.map((l) => [l, name(l)])) as Localised

export interface StructureSources {
  names: Names
  vocabulary: Vocabulary
  /** The stored regions (REF_AREA of a read that is not by country). */
  regions: readonly Region[]
}

/** The codes a field's values take, from its type: country codes from ISO 3166, areas and enumerations from the catalogs. */
function fieldCodes (field: FieldDefinition, dim: Dimension, vocabulary: Vocabulary): string[] {
  const alpha3 = () => Object.keys(countries.getAlpha3Codes()).sort()
  switch (field.type) {
    case 'country': return alpha3()
    case 'countryOrUnknown': return [...alpha3(), 'unknown']
    case 'subnationalArea': return [...vocabulary.areaCountry.keys()].sort()
    default: return [...(vocabulary.enums[dim] ?? [])].filter((c) => c !== ABSENT)
  }
}

/**
 * Every code each dimension's codelist holds, as record codes (before sdmxCode): every value of its field,
 * `_Z` when it may be absent, `_T` when it may be summed out (every dimension but REF_AREA, which is the
 * region read when not a country), and the stored regions for REF_AREA.
 */
export function codelistCodes (sources: Pick<StructureSources, 'vocabulary' | 'regions'>, version: string = SDMX_VERSION): Map<Dimension, string[]> {
  const out = new Map<Dimension, string[]>()
  for (const dim of sdmxDimensions(version)) {
    if (dim === 'period') continue
    const codes = fieldCodes(FIELD_OF.get(dim)!, dim, sources.vocabulary)
    if (dim === 'country') codes.push(...sources.regions.map((r) => r.code))
    if (OPTIONAL.has(dim) && dim !== 'country') codes.push(ABSENT)
    if (dim !== 'country') codes.push(TOTAL)
    out.set(dim, codes)
  }
  return out
}

/** The SDMX-JSON 2.0 structure message of a version: concept scheme, codelists (en, ru), data structure and dataflow. */
export function sdmxStructure (sources: StructureSources, prepared: string, version: string = SDMX_VERSION) {
  const { names } = sources
  const { sdmx } = names.catalog
  const dims = sdmxDimensions(version)
  const urn = (kind: string, id: string) => sdmxUrn(kind, id, version)
  const concepts = [
    ...dims.map((d) => ({ id: SDMX_NAME[d], names: both((l) => names.dimension(d, l)) })),
    { id: 'OBS_VALUE', names: sdmx.OBS_VALUE },
    { id: 'OBS_STATUS', names: sdmx.OBS_STATUS.name },
    { id: 'CONF_STATUS', names: sdmx.CONF_STATUS.name }
  ]
  const regionNames = new Map(sources.regions.map((r) => [r.code, r.name]))
  const codelists = [...codelistCodes(sources, version)].map(([dim, codes]) => ({
    id: codelistId(dim),
    agencyID: SDMX_AGENCY,
    version,
    name: names.dimension(dim, 'en'),
    names: both((l) => names.dimension(dim, l)),
    isPartial: false,
    codes: codes.map((code): Code => {
      const label = both((l) => (dim === 'country' ? regionNames.get(code) : undefined) ?? names.code(dim, code, l))
      return { id: sdmxCode(dim, code), name: label.en, names: label }
    })
  }))
  for (const attribute of ['OBS_STATUS', 'CONF_STATUS'] as const) {
    codelists.push({
      id: `CL_${attribute}`, agencyID: SDMX_AGENCY, version, name: sdmx[attribute].name.en, names: sdmx[attribute].name, isPartial: false,
      codes: Object.entries(sdmx[attribute].codes).map(([id, label]) => ({ id, name: label.en, names: label }))
    })
  }
  const concept = (id: string) => `${urn('conceptscheme.Concept', 'CS_MIGRANT_HEALTH')}.${id}`
  const dimensions = dims.filter((d) => d !== 'period').map((d, position) => ({
    id: SDMX_NAME[d], position, type: 'Dimension', conceptIdentity: concept(SDMX_NAME[d]),
    localRepresentation: { enumeration: urn('codelist.Codelist', codelistId(d)) }
  }))
  // Before record types every record was a health-service contact (record model 1.1: docs/formats.md).
  const typed = dims.includes('recordType')
  const title = typed
    ? { en: 'Health-service contacts and case notifications of migrants', ru: 'Обращения мигрантов за медицинской помощью и извещения о случаях заболеваний' }
    : { en: 'Health-service contacts of migrants', ru: 'Обращения мигрантов за медицинской помощью' }
  return {
    meta: {
      schema: 'https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/2.0.0/sdmx-json-structure-schema.json',
      id: `${SDMX_DSD_ID}_STRUCTURE_${version.replace(/\./g, '_')}`,
      test: false,
      prepared,
      contentLanguages: [...LANGUAGES],
      sender: { id: SDMX_AGENCY }
    },
    data: {
      conceptSchemes: [{
        id: 'CS_MIGRANT_HEALTH', agencyID: SDMX_AGENCY, version, name: 'Migrant health concepts', names: { en: 'Migrant health concepts', ru: 'Понятия здоровья мигрантов' },
        concepts: concepts.map((c) => ({ id: c.id, name: c.names.en, names: c.names }))
      }],
      codelists,
      dataStructures: [{
        id: SDMX_DSD_ID, agencyID: SDMX_AGENCY, version, name: title.en, names: title,
        description: 'Counts of anonymised migrant-health records. Counts are perturbed by the cell-key method unless OBS_STATUS is A; answers are not additive (a total is a cell of its own); _T marks a dimension summed out, _Z an optional value left out.'
          + (version !== SDMX_VERSION ? ` Superseded by version ${SDMX_VERSION}, which adds dimensions.` : '')
          + (!typed && SDMX_DIMENSIONS.includes('recordType') ? ` Every observation counts health-service contacts (RECORD_TYPE contact of version ${SDMX_VERSION}).` : ''),
        dataStructureComponents: {
          dimensionList: {
            id: 'DimensionDescriptor',
            dimensions,
            timeDimensions: [{ id: 'TIME_PERIOD', position: dimensions.length, type: 'TimeDimension', conceptIdentity: concept('TIME_PERIOD'), localRepresentation: { format: { dataType: 'ObservationalTimePeriod' } } }]
          },
          attributeList: {
            id: 'AttributeDescriptor',
            attributes: (['OBS_STATUS', 'CONF_STATUS'] as const).map((id) => ({
              id, usage: 'mandatory', conceptIdentity: concept(id), attributeRelationship: { observation: {} },
              localRepresentation: { enumeration: urn('codelist.Codelist', `CL_${id}`) }
            }))
          },
          measureList: {
            id: 'MeasureDescriptor',
            measures: [{ id: 'OBS_VALUE', usage: 'optional', conceptIdentity: concept('OBS_VALUE'), localRepresentation: { format: { dataType: 'Integer', minValue: 0 } } }]
          }
        }
      }],
      dataflows: [{
        id: SDMX_DSD_ID, agencyID: SDMX_AGENCY, version, name: title.en, names: title,
        structure: urn('datastructure.DataStructure', SDMX_DSD_ID)
      }]
    }
  }
}
