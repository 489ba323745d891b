// SDMX for indicators: the dataflow MIGRANT_HEALTH_IND (INDICATOR, REF_AREA, SEX, TIME_PERIOD; measure OBS_VALUE
// with UNIT_MEASURE, UNIT_MULT, OBS_STATUS, LOWER_BOUND, UPPER_BOUND), its structure (served with the aggregates'
// at GET /v1/sdmx/structure, reusing their REF_AREA and SEX codelists), and its data messages (SDMX-CSV 2.0 and
// SDMX-JSON 2.0) through the SDMX REST data path. docs/indicators.md, "SDMX".
import { ABSENT } from '../release/dimensions.js'
import { csvText } from '../release/formats/csv.js'
import { LANGUAGES, type Language, type Names } from '../release/formats/names.js'
import { codelistId, SDMX_AGENCY, SDMX_VERSION, sdmxUrn, spanTimePeriod, TOTAL } from '../release/formats/sdmx.js'
import type { Answer } from '../release/formats/index.js'
import { problem } from '../problem.js'
import type { IndicatorCatalog } from './catalog.js'
import type { IndicatorAnswer } from './values.js'

export const IND_FLOW = 'MIGRANT_HEALTH_IND'
export const IND_VERSION = '1.0.0'
export const IND_STRUCTURE_ID = `${SDMX_AGENCY}:${IND_FLOW}(${IND_VERSION})`
/** The key's dimensions in order (TIME_PERIOD last). */
export const IND_DIMENSIONS = ['INDICATOR', 'REF_AREA', 'SEX', 'TIME_PERIOD'] as const

type Localised = Record<Language, string>

/** OBS_STATUS of an indicator value: A exact, E estimated (perturbed numerator), O withheld, M no denominator. */
const OBS_STATUS: Record<string, Localised> = {
  A: { en: 'Normal value (exact counts)', ru: 'Обычное значение (точные числа)' },
  E: { en: 'Estimated value (perturbed counts)', ru: 'Оценочное значение (возмущённые числа)' },
  O: { en: 'Missing value: withheld (numerator below k or the minimum)', ru: 'Значение отсутствует: скрыто (числитель меньше k или минимума)' },
  M: { en: 'Missing value: no denominator for the period', ru: 'Значение отсутствует: нет знаменателя за период' }
}
const UNITS: Record<string, Localised> = {
  PER_100000: { en: 'Per 100,000', ru: 'На 100 000' },
  PER_1000: { en: 'Per 1,000', ru: 'На 1 000' },
  PT: { en: 'Percent', ru: 'Процент' }
}
const CONCEPTS: Record<string, Localised> = {
  INDICATOR: { en: 'Indicator', ru: 'Показатель' },
  UNIT_MEASURE: { en: 'Unit of measure', ru: 'Единица измерения' },
  UNIT_MULT: { en: 'Unit multiplier (power of 10)', ru: 'Множитель единицы (степень 10)' },
  OBS_STATUS: { en: 'Observation status', ru: 'Статус наблюдения' },
  LOWER_BOUND: { en: 'Lower bound of the 95 % interval', ru: 'Нижняя граница 95 % интервала' },
  UPPER_BOUND: { en: 'Upper bound of the 95 % interval', ru: 'Верхняя граница 95 % интервала' },
  OBS_VALUE: { en: 'Value', ru: 'Значение' }
}

const urn = (kind: string, id: string) => sdmxUrn(kind, id, IND_VERSION)
const concept = (id: string) => `${urn('conceptscheme.Concept', 'CS_MIGRANT_HEALTH_IND')}.${id}`

/**
 * The artefacts of MIGRANT_HEALTH_IND, to add to a structure message of the aggregates' newest version (whose
 * CL_AREA and CL_SEX the dimensions reference).
 */
export function indicatorStructure (catalog: IndicatorCatalog, names: Names) {
  const both = (f: (l: Language) => string): Localised => Object.fromEntries(LANGUAGES.map((l) => [l, f(l)])) as Localised
  const concepts = [
    { id: 'INDICATOR', names: CONCEPTS.INDICATOR },
    { id: 'REF_AREA', names: both((l) => names.dimension('country', l)) },
    { id: 'SEX', names: both((l) => names.dimension('sex', l)) },
    { id: 'TIME_PERIOD', names: both((l) => names.dimension('period', l)) },
    ...['OBS_VALUE', 'UNIT_MEASURE', 'UNIT_MULT', 'OBS_STATUS', 'LOWER_BOUND', 'UPPER_BOUND'].map((id) => ({ id, names: CONCEPTS[id] }))
  ]
  const codelist = (id: string, title: Localised, codes: Array<{ id: string, names: Localised }>) => ({
    id, agencyID: SDMX_AGENCY, version: IND_VERSION, name: title.en, names: title, isPartial: false,
    codes: codes.map((c) => ({ id: c.id, name: c.names.en, names: c.names }))
  })
  const title = { en: 'Migrant-health indicators: rates and proportions', ru: 'Показатели здоровья мигрантов: коэффициенты и доли' }
  const enumerated = (id: string, list: string) => ({ enumeration: list.startsWith('urn:') ? list : urn('codelist.Codelist', list), id })
  const shared = (dim: 'country' | 'sex') => sdmxUrn('codelist.Codelist', codelistId(dim), SDMX_VERSION)
  return {
    conceptScheme: {
      id: 'CS_MIGRANT_HEALTH_IND', agencyID: SDMX_AGENCY, version: IND_VERSION, name: 'Migrant health indicator concepts',
      names: { en: 'Migrant health indicator concepts', ru: 'Понятия показателей здоровья мигрантов' },
      concepts: concepts.map((c) => ({ id: c.id, name: c.names.en, names: c.names }))
    },
    codelists: [
      codelist('CL_INDICATOR', CONCEPTS.INDICATOR, catalog.indicators.map((i) => ({ id: i.id, names: i.name }))),
      codelist('CL_UNIT_MEASURE', CONCEPTS.UNIT_MEASURE, [...new Set(catalog.indicators.map((i) => i.unit.code))].map((id) => ({ id, names: UNITS[id] ?? { en: id, ru: id } }))),
      codelist('CL_UNIT_MULT', CONCEPTS.UNIT_MULT, [{ id: '0', names: { en: 'Units', ru: 'Единицы' } }]),
      codelist('CL_IND_OBS_STATUS', CONCEPTS.OBS_STATUS, Object.entries(OBS_STATUS).map(([id, n]) => ({ id, names: n })))
    ],
    dataStructure: {
      id: IND_FLOW, agencyID: SDMX_AGENCY, version: IND_VERSION, name: title.en, names: title,
      description: `Indicators of the catalog schemas/indicators/${catalog.version}: OBS_VALUE = numerator × multiplier ÷ denominator, the numerator being the perturbed count MIGRANT_HEALTH releases for the same query (OBS_STATUS E) or an exact one (A); LOWER_BOUND and UPPER_BOUND bound its 95 % interval (count variation and the perturbation's variance: docs/indicators.md). Rates are not annualised.`,
      dataStructureComponents: {
        dimensionList: {
          id: 'DimensionDescriptor',
          dimensions: [
            { id: 'INDICATOR', position: 0, type: 'Dimension', conceptIdentity: concept('INDICATOR'), localRepresentation: { enumeration: urn('codelist.Codelist', 'CL_INDICATOR') } },
            { id: 'REF_AREA', position: 1, type: 'Dimension', conceptIdentity: concept('REF_AREA'), localRepresentation: { enumeration: shared('country') } },
            { id: 'SEX', position: 2, type: 'Dimension', conceptIdentity: concept('SEX'), localRepresentation: { enumeration: shared('sex') } }
          ],
          timeDimensions: [{ id: 'TIME_PERIOD', position: 3, type: 'TimeDimension', conceptIdentity: concept('TIME_PERIOD'), localRepresentation: { format: { dataType: 'ObservationalTimePeriod' } } }]
        },
        attributeList: {
          id: 'AttributeDescriptor',
          attributes: [
            ...[['UNIT_MEASURE', 'CL_UNIT_MEASURE'], ['UNIT_MULT', 'CL_UNIT_MULT'], ['OBS_STATUS', 'CL_IND_OBS_STATUS']].map(([id, list]) => ({
              id, usage: 'mandatory', conceptIdentity: concept(id), attributeRelationship: { observation: {} }, localRepresentation: { enumeration: enumerated(id, list).enumeration }
            })),
            ...['LOWER_BOUND', 'UPPER_BOUND'].map((id) => ({
              id, usage: 'optional', conceptIdentity: concept(id), attributeRelationship: { observation: {} }, localRepresentation: { format: { dataType: 'Decimal' } }
            }))
          ]
        },
        measureList: {
          id: 'MeasureDescriptor',
          measures: [{ id: 'OBS_VALUE', usage: 'optional', conceptIdentity: concept('OBS_VALUE'), localRepresentation: { format: { dataType: 'Decimal', minValue: 0 } } }]
        }
      }
    },
    dataflow: { id: IND_FLOW, agencyID: SDMX_AGENCY, version: IND_VERSION, name: title.en, names: title, structure: urn('datastructure.DataStructure', IND_FLOW) }
  }
}

/** A structure message (the aggregates' newest) with MIGRANT_HEALTH_IND's artefacts added. */
export function withIndicatorStructure<M extends { data: { conceptSchemes: unknown[], codelists: unknown[], dataStructures: unknown[], dataflows: unknown[] } }> (message: M, catalog: IndicatorCatalog, names: Names): M {
  const ind = indicatorStructure(catalog, names)
  return {
    ...message,
    data: {
      ...message.data,
      conceptSchemes: [...message.data.conceptSchemes, ind.conceptScheme],
      codelists: [...message.data.codelists, ...ind.codelists],
      dataStructures: [...message.data.dataStructures, ind.dataStructure],
      dataflows: [...message.data.dataflows, ind.dataflow]
    }
  }
}

/** Whether a flow reference names MIGRANT_HEALTH_IND (`MIGRANT_HEALTH_IND`, `MHX,MIGRANT_HEALTH_IND`, `…,1.0.0` or latest). */
export function isIndicatorFlow (flow: string): boolean {
  const parts = flow.split(',')
  const id = parts.length === 1 ? parts[0] : parts[1]
  if (id !== IND_FLOW) return false
  const version = parts[2] ?? 'latest'
  if (!['latest', '~', '*', '+', IND_VERSION].includes(version) || (parts.length > 1 && !['MHX', 'all', '*'].includes(parts[0]))) {
    throw problem('notFound', `no dataflow ${flow}: this hub publishes ${SDMX_AGENCY},${IND_FLOW} in version ${IND_VERSION}`)
  }
  return true
}

export interface IndicatorObservation {
  key: [string, string, string, string]
  value: number | null
  unit: string
  obsStatus: 'A' | 'E' | 'O' | 'M'
  lower: number | null
  upper: number | null
}

/** The observations of an indicator answer: REF_AREA the cell's country or the region, SEX the cell's or _T. */
export function indicatorObservations (answer: IndicatorAnswer): IndicatorObservation[] {
  const at = (dim: string) => answer.by.indexOf(dim as never)
  const [period, country, sex] = [at('period'), at('country'), at('sex')]
  const oneSex = answer.filters.sex?.length === 1 ? answer.filters.sex[0] : TOTAL
  const span = spanTimePeriod(answer as unknown as Answer)
  return answer.cells.map((cell) => ({
    key: [answer.indicator.id, country >= 0 ? cell.key[country] : answer.region, sex >= 0 ? (cell.key[sex] === ABSENT ? '_Z' : cell.key[sex]) : oneSex, period >= 0 ? cell.key[period] : span],
    value: cell.value,
    unit: answer.indicator.unit.code,
    obsStatus: cell.status === 'withheld' ? 'O' : cell.status === 'no-denominator' ? 'M' : answer.disclosure.method === 'none' ? 'A' : 'E',
    lower: cell.lower,
    upper: cell.upper
  }))
}

const text = (v: number | null) => v === null ? '' : String(v)

/** SDMX-CSV 2.0 of MIGRANT_HEALTH_IND. */
export function indicatorSdmxCsv (observations: readonly IndicatorObservation[]): string {
  const rows = [['STRUCTURE', 'STRUCTURE_ID', 'ACTION', ...IND_DIMENSIONS, 'OBS_VALUE', 'UNIT_MEASURE', 'UNIT_MULT', 'OBS_STATUS', 'LOWER_BOUND', 'UPPER_BOUND']]
  for (const o of observations) rows.push(['dataflow', IND_STRUCTURE_ID, 'I', ...o.key, text(o.value), o.unit, '0', o.obsStatus, text(o.lower), text(o.upper)])
  return csvText(rows)
}

/** An SDMX-JSON 2.0 data message of MIGRANT_HEALTH_IND: observations `[OBS_VALUE, UNIT_MEASURE, UNIT_MULT, OBS_STATUS, LOWER_BOUND, UPPER_BOUND]` (attribute values by index). */
export function indicatorSdmxJson (observations: readonly IndicatorObservation[], options: { id: string, prepared: string, structureUrl: string, catalog: IndicatorCatalog, codeName: (dim: 'country' | 'sex', code: string) => string }) {
  const values = IND_DIMENSIONS.map(() => new Map<string, number>())
  const keys = observations.map((o) => o.key.map((code, i) => {
    let n = values[i].get(code)
    if (n === undefined) values[i].set(code, n = values[i].size)
    return n
  }).join(':'))
  const listed = <T>(items: T[]) => { const m = new Map<T, number>(); for (const x of items) if (!m.has(x)) m.set(x, m.size); return m }
  const units = listed(observations.map((o) => o.unit))
  const statuses = listed(observations.map((o) => o.obsStatus))
  const lowers = listed(observations.flatMap((o) => o.lower === null ? [] : [o.lower]))
  const uppers = listed(observations.flatMap((o) => o.upper === null ? [] : [o.upper]))
  const nameOf = (i: number, code: string) => i === 0 ? options.catalog.indicator(code)?.name.en ?? code : i === 1 ? options.codeName('country', code) : i === 2 ? options.codeName('sex', code) : code
  const valued = (m: Map<number, number>) => m.size === 0 ? {} : { values: [...m.keys()].map((value) => ({ value })) }
  const flow = urn('datastructure.Dataflow', IND_FLOW)
  const dsd = urn('datastructure.DataStructure', IND_FLOW)
  return {
    meta: {
      schema: 'https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/2.0.0/sdmx-json-data-schema.json',
      id: options.id, test: false, prepared: options.prepared, contentLanguages: ['en'], sender: { id: SDMX_AGENCY }
    },
    data: {
      structures: [{
        links: [{ rel: 'dataflow', urn: flow, href: options.structureUrl }, { rel: 'datastructure', urn: dsd, href: options.structureUrl }],
        name: 'Migrant-health indicators',
        dimensions: {
          dataSet: [],
          series: [],
          observation: IND_DIMENSIONS.map((id, keyPosition) => ({
            id, name: CONCEPTS[id]?.en ?? id, keyPosition,
            ...(id === 'TIME_PERIOD' ? { roles: ['TIME_PERIOD'] } : id === 'REF_AREA' ? { roles: ['REF_AREA'] } : {}),
            values: [...values[keyPosition].keys()].map((code) => ({ id: code, name: nameOf(keyPosition, code) }))
          }))
        },
        measures: { observation: [{ id: 'OBS_VALUE', name: CONCEPTS.OBS_VALUE.en }] },
        attributes: {
          dataSet: [],
          series: [],
          observation: [
            { id: 'UNIT_MEASURE', name: CONCEPTS.UNIT_MEASURE.en, relationship: { observation: {} }, values: [...units.keys()].map((id) => ({ id, name: UNITS[id]?.en ?? id })) },
            { id: 'UNIT_MULT', name: CONCEPTS.UNIT_MULT.en, relationship: { observation: {} }, values: [{ id: '0', name: 'Units' }] },
            { id: 'OBS_STATUS', name: CONCEPTS.OBS_STATUS.en, relationship: { observation: {} }, values: [...statuses.keys()].map((id) => ({ id, name: OBS_STATUS[id].en })) },
            { id: 'LOWER_BOUND', name: CONCEPTS.LOWER_BOUND.en, relationship: { observation: {} }, ...valued(lowers) },
            { id: 'UPPER_BOUND', name: CONCEPTS.UPPER_BOUND.en, relationship: { observation: {} }, ...valued(uppers) }
          ]
        },
        dataSets: [0]
      }],
      dataSets: [{
        structure: 0,
        action: 'Information',
        links: [{ rel: 'dataflow', urn: flow, href: options.structureUrl }],
        observations: Object.fromEntries(observations.map((o, i) => [keys[i], [
          o.value, units.get(o.unit) ?? null, 0, statuses.get(o.obsStatus) ?? null,
          o.lower === null ? null : lowers.get(o.lower) ?? null, o.upper === null ? null : uppers.get(o.upper) ?? null
        ]]))
      }]
    }
  }
}
