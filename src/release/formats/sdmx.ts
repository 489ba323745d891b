// SDMX: the published structure (SDMX-JSON 2.0: DSD, codelists in English and Russian, dataflow) and
// SDMX-CSV 2.0 answers that load into one table whatever the query: every dimension of the structure in
// a fixed order (_T where summed out), always a TIME_PERIOD, and only codes of the published codelists.
import countries from 'i18n-iso-countries'
import type { Region } from '../../admin/regions.js'
import { ABSENT, DIMENSIONS, SDMX_NAME, type Dimension, type Vocabulary } from '../dimensions.js'
import { badParameter } from '../query.js'
import { singleFilter, spanMonths, type Answer } from './answer.js'
import { csvText } from './csv.js'
import { LANGUAGES, type Language, type Names } from './names.js'

export const SDMX_AGENCY = 'MHX'
export const SDMX_DSD_ID = 'MIGRANT_HEALTH'
/** A new dimension (record model 1.1) is a new version of the structure. */
export const SDMX_VERSION = '1.0.0'
export const SDMX_STRUCTURE_ID = `${SDMX_AGENCY}:${SDMX_DSD_ID}(${SDMX_VERSION})`
/** SDMX "total": the code of a dimension summed out of the answer. */
export const TOTAL = '_T'

/** The dimensions of the structure in their fixed order: TIME_PERIOD last, as SDMX places the time dimension. */
export const SDMX_DIMENSIONS: readonly Dimension[] = [...DIMENSIONS.filter((d) => d !== 'period'), 'period']

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

/** OBS_STATUS: A exact, E perturbed by the cell-key method, O not released. */
function obsStatus (answer: Answer, count: number | null): string {
  if (count === null) return 'O'
  return answer.disclosure.method === 'cellkey' ? 'E' : 'A'
}

/** SDMX-CSV 2.0: STRUCTURE, STRUCTURE_ID, ACTION, every dimension, OBS_VALUE, OBS_STATUS, CONF_STATUS (A primary, F free). */
export function toSdmxCsv (answer: Answer): string {
  const position = new Map(answer.by.map((d, i) => [d, i]))
  const fixed = new Map<Dimension, string>()
  for (const dim of SDMX_DIMENSIONS) {
    if (position.has(dim)) continue
    const one = singleFilter(answer, dim)
    fixed.set(dim, dim === 'period' ? (one ?? spanTimePeriod(answer)) : dim === 'country' ? (one ?? answer.region) : sdmxCode(dim, one ?? TOTAL))
  }
  const rows = [['STRUCTURE', 'STRUCTURE_ID', 'ACTION', ...SDMX_DIMENSIONS.map((d) => SDMX_NAME[d]), 'OBS_VALUE', 'OBS_STATUS', 'CONF_STATUS']]
  for (const cell of answer.cells) {
    const codes = SDMX_DIMENSIONS.map((dim) => {
      const i = position.get(dim)
      return i === undefined ? fixed.get(dim)! : sdmxCode(dim, cell.key[i])
    })
    rows.push(['dataflow', SDMX_STRUCTURE_ID, 'I', ...codes,
      cell.count === null ? '' : String(cell.count), obsStatus(answer, cell.count), cell.suppressed ? 'A' : 'F'])
  }
  return csvText(rows)
}

type Localised = Record<Language, string>
interface Code { id: string, name: string, names: Localised }

const urn = (kind: string, id: string) => `urn:sdmx:org.sdmx.infomodel.${kind}=${SDMX_AGENCY}:${id}(${SDMX_VERSION})`
const codelistId = (dim: Dimension) => dim === 'country' ? 'CL_AREA' : `CL_${SDMX_NAME[dim]}`
const both = (name: (lang: Language) => string): Localised => Object.fromEntries(LANGUAGES.map((l) => [l, name(l)])) as Localised

export interface StructureSources {
  names: Names
  vocabulary: Vocabulary
  /** The stored regions (REF_AREA of a read that is not by country). */
  regions: readonly Region[]
}

/** Every code each dimension's codelist holds, as record codes (before sdmxCode). */
export function codelistCodes (sources: Pick<StructureSources, 'vocabulary' | 'regions'>): Map<Dimension, string[]> {
  const alpha3 = Object.keys(countries.getAlpha3Codes()).sort()
  const out = new Map<Dimension, string[]>()
  for (const dim of SDMX_DIMENSIONS) {
    if (dim === 'period') continue
    let codes: string[]
    if (dim === 'country') codes = [...alpha3, ...sources.regions.map((r) => r.code)]
    else if (dim === 'countryOfOrigin') codes = [...alpha3, 'unknown']
    else if (dim === 'subnationalArea') codes = [...[...sources.vocabulary.areaCountry.keys()].sort(), ABSENT]
    else codes = [...(sources.vocabulary.enums[dim] ?? [])]
    out.set(dim, dim === 'country' ? codes : [...codes, TOTAL])
  }
  return out
}

/** The SDMX-JSON 2.0 structure message: concept scheme, codelists (en, ru), data structure and dataflow. */
export function sdmxStructure (sources: StructureSources, prepared: string) {
  const { names } = sources
  const { sdmx } = names.catalog
  const concepts = [
    ...SDMX_DIMENSIONS.map((d) => ({ id: SDMX_NAME[d], names: both((l) => names.dimension(d, l)) })),
    { id: 'OBS_VALUE', names: sdmx.OBS_VALUE },
    { id: 'OBS_STATUS', names: sdmx.OBS_STATUS.name },
    { id: 'CONF_STATUS', names: sdmx.CONF_STATUS.name }
  ]
  const regionNames = new Map(sources.regions.map((r) => [r.code, r.name]))
  const codelists = [...codelistCodes(sources)].map(([dim, codes]) => ({
    id: codelistId(dim),
    agencyID: SDMX_AGENCY,
    version: SDMX_VERSION,
    name: names.dimension(dim, 'en'),
    names: both((l) => names.dimension(dim, l)),
    isPartial: false,
    codes: codes.map((code): Code => {
      const label = both((l) => regionNames.get(code) ?? names.code(dim, code, l))
      return { id: sdmxCode(dim, code), name: label.en, names: label }
    })
  }))
  for (const attribute of ['OBS_STATUS', 'CONF_STATUS'] as const) {
    codelists.push({
      id: `CL_${attribute}`, agencyID: SDMX_AGENCY, version: SDMX_VERSION, name: sdmx[attribute].name.en, names: sdmx[attribute].name, isPartial: false,
      codes: Object.entries(sdmx[attribute].codes).map(([id, label]) => ({ id, name: label.en, names: label }))
    })
  }
  const concept = (id: string) => `${urn('conceptscheme.Concept', 'CS_MIGRANT_HEALTH')}.${id}`
  const dimensions = SDMX_DIMENSIONS.filter((d) => d !== 'period').map((d, position) => ({
    id: SDMX_NAME[d], position, type: 'Dimension', conceptIdentity: concept(SDMX_NAME[d]),
    localRepresentation: { enumeration: urn('codelist.Codelist', codelistId(d)) }
  }))
  const title = { en: 'Health-service contacts of migrants', ru: 'Обращения мигрантов за медицинской помощью' }
  return {
    meta: {
      schema: 'https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/2.0.0/sdmx-json-structure-schema.json',
      id: `${SDMX_DSD_ID}_STRUCTURE`,
      test: false,
      prepared,
      contentLanguages: [...LANGUAGES],
      sender: { id: SDMX_AGENCY }
    },
    data: {
      conceptSchemes: [{
        id: 'CS_MIGRANT_HEALTH', agencyID: SDMX_AGENCY, version: SDMX_VERSION, name: 'Migrant health concepts', names: { en: 'Migrant health concepts', ru: 'Понятия здоровья мигрантов' },
        concepts: concepts.map((c) => ({ id: c.id, name: c.names.en, names: c.names }))
      }],
      codelists,
      dataStructures: [{
        id: SDMX_DSD_ID, agencyID: SDMX_AGENCY, version: SDMX_VERSION, name: title.en, names: title,
        description: 'Counts of anonymised migrant-health records. Counts are perturbed by the cell-key method unless OBS_STATUS is A; answers are not additive (a total is a cell of its own); _T marks a dimension summed out, _Z an optional value left out.',
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
        id: SDMX_DSD_ID, agencyID: SDMX_AGENCY, version: SDMX_VERSION, name: title.en, names: title,
        structure: urn('datastructure.DataStructure', SDMX_DSD_ID)
      }]
    }
  }
}
