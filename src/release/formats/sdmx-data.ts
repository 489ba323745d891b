// The SDMX REST data path (GET /v1/sdmx/data/{flow}/{key}) in terms of GET /v1/aggregates: a flow reference and a
// series key become the queries readAggregates takes (one per REF_AREA code), and their answers one SDMX-JSON 2.0
// data message or one SDMX-CSV 2.0 table. docs/formats.md, "SDMX REST data", says what each key position reads.
import { SDMX_NAME, type Dimension } from '../dimensions.js'
import { labelMonths, MAX_BY, MAX_SPAN_MONTHS, type PeriodType, type RawAggregateQuery } from '../query.js'
import { problem } from '../../problem.js'
import { isSdmx2, mediaRanges } from './index.js'
import {
  codelistCodes, isSdmxVersion, recordCode, sdmxCode, sdmxDimensions, SDMX_AGENCY, SDMX_DSD_ID, SDMX_VERSION, SDMX_VERSIONS,
  sdmxUrn, TOTAL, type Observation, type StructureSources
} from './sdmx.js'

/** The error of a data path fault: 400 naming the part of the request (`key`, `startPeriod`, …). */
function fault (path: string, message: string) {
  return problem('badRequest', `${path}: ${message}`, { errors: [{ path, message }] })
}

/**
 * The version of the structure a flow reference names: `MIGRANT_HEALTH`, `MHX,MIGRANT_HEALTH` or
 * `MHX,MIGRANT_HEALTH,1.1.0` (`latest`, `~` or `*` for the newest, as SDMX REST 1 and 2 spell it). Any other
 * flow is 404: this hub publishes one.
 */
export function flowVersion (flow: string): string {
  const parts = flow.split(',')
  const [agency, id, version] = parts.length === 1 ? ['MHX', parts[0], 'latest'] : parts.length === 2 ? [...parts, 'latest'] : parts
  const latest = version === 'latest' || version === '~' || version === '*' || version === '+'
  if (parts.length > 3 || (agency !== SDMX_AGENCY && agency !== 'all' && agency !== '*') || id !== SDMX_DSD_ID || (!latest && !isSdmxVersion(version))) {
    throw problem('notFound', `no dataflow ${flow}: this hub publishes ${SDMX_AGENCY},${SDMX_DSD_ID} in versions ${SDMX_VERSIONS.join(', ')}`)
  }
  return latest ? SDMX_VERSION : version
}

export interface DataParameters {
  startPeriod?: string
  endPeriod?: string
}

/** A period of an SDMX query parameter: `2026` (a year), `2026-Q1` (a quarter) or `2026-03` (a month), as its type and months. */
function periodOf (name: string, value: string): { type: PeriodType, first: string, last: string } {
  const types: PeriodType[] = ['year', 'quarter', 'month']
  for (const type of types) {
    const range = labelMonths(value, type)
    if (range) return { type, first: monthOf(range[0]), last: monthOf(range[1]) }
  }
  throw fault(name, `"${value}" is not a period of this dataflow: a year (2026), a quarter (2026-Q1) or a month (2026-03)`)
}

const monthOf = (index: number) => `${Math.floor(index / 12)}-${String(index % 12 + 1).padStart(2, '0')}`

/**
 * The queries of GET /v1/aggregates that answer an SDMX data query, one per REF_AREA code (each a country or a
 * stored region, read as its own unit). Per key position: a code fixes the dimension (a filter), several codes
 * (`+`) or none (a wildcard) make it vary (`by`, with the codes as a filter), `_T` sums it out. TIME_PERIOD varies
 * when startPeriod..endPeriod holds more than one period. At most MAX_BY dimensions vary. A structure without
 * record types (1.0.0) counts contacts only.
 */
export function dataQueries (key: string, parameters: DataParameters, version: string, sources: Pick<StructureSources, 'vocabulary' | 'regions'>, today: Date): RawAggregateQuery[] {
  const dims = sdmxDimensions(version).filter((d) => d !== 'period')
  const parts = key === '' || key === 'all' || key === '*' ? dims.map(() => '') : key.split('.')
  if (parts.length !== dims.length) {
    throw fault('key', `has ${parts.length} position${parts.length === 1 ? '' : 's'}; the key of ${SDMX_DSD_ID}(${version}) has ${dims.length}, separated by dots: ${dims.map((d) => SDMX_NAME[d]).join('.')}`)
  }
  const codelists = codelistCodes({ vocabulary: sources.vocabulary, regions: sources.regions }, version)
  const base: RawAggregateQuery = {}
  const by: Dimension[] = []
  let areas: string[] = []
  parts.forEach((part, i) => {
    const dim = dims[i]
    const codes = part === '' ? [] : [...new Set(part.split('+'))]
    const allowed = new Set(codelists.get(dim)!.map((c) => sdmxCode(dim, c)))
    const unknown = codes.filter((c) => !allowed.has(c))
    if (unknown.length > 0) throw fault('key', `${SDMX_NAME[dim]} (position ${i + 1}): ${unknown.map((c) => `"${c}"`).join(', ')} not in its codelist`)
    if (dim === 'country') {
      if (codes.length === 0) throw fault('key', `${SDMX_NAME[dim]} (position 1) names the countries or regions to read (a+b for several); the hub does not read every area at once`)
      areas = codes
      return
    }
    if (codes.includes(TOTAL)) {
      if (codes.length > 1) throw fault('key', `${SDMX_NAME[dim]} (position ${i + 1}): _T (the total) with other codes; ask for the total or the codes`)
      return
    }
    if (codes.length !== 1) by.push(dim)
    if (codes.length > 0) base[dim] = codes.map((c) => recordCode(dim, c)).join(',')
  })
  // Before record types every record counted a health-service contact.
  if (!dims.includes('recordType')) base.recordType = 'contact'

  if (parameters.startPeriod === undefined) throw fault('startPeriod', `is required: the first period to read (2026, 2026-Q1 or 2026-03; at most ${MAX_SPAN_MONTHS} months up to endPeriod)`)
  const start = periodOf('startPeriod', parameters.startPeriod)
  const end = parameters.endPeriod === undefined
    ? periodOf('endPeriod', currentPeriod(start.type, today))
    : periodOf('endPeriod', parameters.endPeriod)
  if (end.type !== start.type) throw fault('endPeriod', `is a ${end.type}, startPeriod a ${start.type}: give both as the same kind of period`)
  base.from = start.first
  base.to = end.last
  base.periodType = start.type
  if (start.first !== end.first) by.unshift('period')
  if (by.length > MAX_BY) {
    throw fault('key', `${by.length} dimensions vary (${by.map((d) => SDMX_NAME[d]).join(', ')}), at most ${MAX_BY}: a wildcard or several codes make a dimension vary (TIME_PERIOD too, when startPeriod..endPeriod holds several periods); give the others one code, or _T for their total`)
  }
  if (by.length > 0) base.by = by.join(',')
  return areas.map((region) => ({ region, ...base }))
}

/** The label of the period of `type` that holds `today` (the default endPeriod: SDMX reads up to the latest data). */
function currentPeriod (type: PeriodType, today: Date): string {
  const year = today.getUTCFullYear()
  const month = today.getUTCMonth() + 1
  if (type === 'year') return String(year)
  if (type === 'quarter') return `${year}-Q${Math.floor((month - 1) / 3) + 1}`
  return `${year}-${String(month).padStart(2, '0')}`
}

/** Names in the message, in English (the codelists of the structure hold both languages). */
export interface DataNames {
  dimension (dim: Dimension): string
  /** The name of a record code (before sdmxCode). */
  code (dim: Dimension, code: string): string
  measure: string
  attributes: Record<'OBS_STATUS' | 'CONF_STATUS', { name: string, codes: Record<string, string> }>
}

/**
 * An SDMX-JSON 2.0 data message: one data set of every observation at the observation level (AllDimensions),
 * each an array of OBS_VALUE and the indexes of OBS_STATUS and CONF_STATUS. Written to be valid against the
 * SDMX-JSON 2.1.0 data schema as well, where 2.0 and 2.1 agree (docs/formats.md).
 */
export function sdmxJsonData (observations: readonly Observation[], version: string, options: { id: string, prepared: string, structureUrl: string, names: DataNames }) {
  const { names } = options
  const dims = sdmxDimensions(version)
  const values = dims.map(() => new Map<string, number>())
  const keys = observations.map((o) => o.key.map((code, i) => {
    const seen = values[i]
    let at = seen.get(code)
    if (at === undefined) seen.set(code, at = seen.size)
    return at
  }).join(':'))
  const attributes = (['OBS_STATUS', 'CONF_STATUS'] as const).map((id) => ({
    id,
    name: names.attributes[id].name,
    relationship: { observation: {} },
    values: Object.entries(names.attributes[id].codes).map(([code, name]) => ({ id: code, name }))
  }))
  const index = (attribute: 0 | 1, code: string) => attributes[attribute].values.findIndex((v) => v.id === code)
  const dsd = sdmxUrn('datastructure.DataStructure', SDMX_DSD_ID, version)
  const flow = sdmxUrn('datastructure.Dataflow', SDMX_DSD_ID, version)
  return {
    meta: {
      schema: 'https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/2.0.0/sdmx-json-data-schema.json',
      id: options.id,
      test: false,
      prepared: options.prepared,
      contentLanguages: ['en'],
      sender: { id: SDMX_AGENCY }
    },
    data: {
      structures: [{
        links: [{ rel: 'dataflow', urn: flow, href: options.structureUrl }, { rel: 'datastructure', urn: dsd, href: options.structureUrl }],
        name: 'Migrant health',
        dimensions: {
          dataSet: [],
          series: [],
          observation: dims.map((dim, keyPosition) => ({
            id: SDMX_NAME[dim],
            name: names.dimension(dim),
            keyPosition,
            ...(dim === 'period' ? { roles: ['TIME_PERIOD'] } : dim === 'country' ? { roles: ['REF_AREA'] } : {}),
            values: [...values[keyPosition].keys()].map((code) => dim === 'period'
              ? { id: code, name: code }
              : { id: code, name: names.code(dim, recordCode(dim, code)) })
          }))
        },
        measures: { observation: [{ id: 'OBS_VALUE', name: names.measure }] },
        attributes: { dataSet: [], series: [], observation: attributes },
        dataSets: [0]
      }],
      dataSets: [{
        structure: 0,
        action: 'Information',
        links: [{ rel: 'dataflow', urn: flow, href: options.structureUrl }],
        observations: Object.fromEntries(observations.map((o, i) => [keys[i], [o.value, index(0, o.obsStatus), index(1, o.confStatus)]]))
      }]
    }
  }
}

/** The Content-Type of each SDMX data representation. */
export const SDMX_DATA_CONTENT_TYPE = {
  csv: 'application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8',
  json: 'application/vnd.sdmx.data+json; version=2.0.0; charset=utf-8'
} as const

/** SDMX-JSON 2.0 (the default, and for JSON or any type) or SDMX-CSV 2.0 (also for text/csv); undefined: 406. */
export function negotiateSdmxData (accept: string | undefined): keyof typeof SDMX_DATA_CONTENT_TYPE | undefined {
  if (accept === undefined || accept.trim() === '') return 'json'
  for (const r of mediaRanges(accept)) {
    if ((r.type === 'application/vnd.sdmx.data+json' && isSdmx2(r)) || r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') return 'json'
    if ((r.type === 'application/vnd.sdmx.data+csv' && isSdmx2(r)) || r.type === 'text/csv' || r.type === 'text/*') return 'csv'
  }
  return undefined
}
