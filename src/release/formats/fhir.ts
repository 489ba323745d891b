// FHIR R4: an answer as a MeasureReport (summary) of the Measure it counts, and the Measures themselves.
// One group; its population count is the answer's total when the answer has no `by` (answers are not
// additive, so a total is never summed from cells); one stratifier over the `by` dimensions, whose strata
// carry one value (one dimension) or one component per dimension; a protected count is absent with the
// data-absent-reason "masked". Every canonical URL these name is served under /v1/fhir/ (fhir-terminology.ts).
import { DIMENSION_FIELDS } from '../../model/fields.js'
import { ABSENT, DIMENSIONS, type Dimension } from '../dimensions.js'
import { singleFilter, type Answer } from './answer.js'
import type { Language, Names } from './names.js'

export const FHIR_VERSION = '4.0.1'
/** The version of the resources this hub defines (Measures, code systems, extensions). */
export const FHIR_CONTENT_VERSION = '1.1.0'
export const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason'
export const DATA_ABSENT_SYSTEM = 'http://terminology.hl7.org/CodeSystem/data-absent-reason'
export const ADMINISTRATIVE_GENDER = 'http://hl7.org/fhir/administrative-gender'
export const ISO_3166 = 'urn:iso:std:iso:3166'
const ISO_3166_2 = 'urn:iso:std:iso:3166:-2'
const INITIAL_POPULATION = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population', display: 'Initial Population' }] }
export const PUBLISHER = 'Migrant Health Exchange'

/**
 * The Measures this hub reports. A MeasureReport names the one its answer counts: the Measure of a record
 * type when the read filters one, else the one of every record (contacts and case notifications).
 */
export const MEASURES = {
  'migrant-health-records': {
    recordType: null,
    title: 'Health-service contacts and case notifications of migrants',
    description: 'The number of records of the migrant-health-event schema reported by ministries of health, of every record type (health-service contacts and case notifications; every record of schema 1.0.0 is a contact), by any of the stratifiers, record type included.'
  },
  'migrant-health-contacts': {
    recordType: 'contact',
    title: 'Health-service contacts of migrants',
    description: 'The number of health-service contacts of migrants reported by ministries of health (records of record type contact; every record of schema 1.0.0 is a contact), by any of the stratifiers.'
  },
  'migrant-health-case-notifications': {
    recordType: 'case_notification',
    title: 'Case notifications of migrants',
    description: 'The number of case notifications of migrants reported by ministries of health (records of record type case_notification), by any of the stratifiers.'
  }
} as const
export type MeasureId = keyof typeof MEASURES

export function isMeasureId (id: string): id is MeasureId {
  return Object.hasOwn(MEASURES, id)
}

/** The Measure an answer counts: the one of its record type when it filters one, else the one of every record. */
export function measureOf (answer: Pick<Answer, 'filters'>): MeasureId {
  const recordType = singleFilter(answer, 'recordType')
  const found = (Object.keys(MEASURES) as MeasureId[]).find((id) => MEASURES[id].recordType === recordType)
  return found ?? 'migrant-health-records'
}

/** Where the hub's FHIR resources live: `<public URL>/v1/fhir/<type>/<id>`, their canonical URLs. */
export const fhirUrl = (publicUrl: string, type: string, id: string) => `${publicUrl}/v1/fhir/${type}/${id}`
export const systemOf = (publicUrl: string, name: string) => fhirUrl(publicUrl, 'CodeSystem', name)

/** Dimensions whose codes are ISO 3166-1 alpha-3 countries (REF_AREA's regions excepted). */
const COUNTRY_CODED: ReadonlySet<string> = new Set(DIMENSION_FIELDS.filter((f) => f.type === 'country' || f.type === 'countryOrUnknown').map((f) => f.dimension!))

/** The code system of a dimension's codes, when it is not an external one (ISO 3166, administrative-gender). */
export function hubSystemOf (dim: Dimension): string | undefined {
  if (COUNTRY_CODED.has(dim) || dim === 'subnationalArea' || dim === 'sex') return undefined
  return dim
}

export function dimensionConcept (publicUrl: string, dim: Dimension, names: Names, lang: Language = 'en') {
  return { coding: [{ system: systemOf(publicUrl, 'dimension'), code: dim, display: names.dimension(dim, lang) }], text: names.dimension(dim, lang) }
}

/**
 * A code as a CodeableConcept: ISO 3166 for countries (a region code: the hub's `region` system) and areas,
 * administrative-gender for sex, the hub's own systems for the rest; _Z as not-applicable, `unknown` of a
 * country-coded dimension as the data-absent-reason unknown.
 */
export function valueConcept (publicUrl: string, dim: Dimension, code: string, names: Names, labels?: Language) {
  if (code === ABSENT) return { coding: [{ system: DATA_ABSENT_SYSTEM, code: 'not-applicable', display: 'Not Applicable' }] }
  if (COUNTRY_CODED.has(dim) && code === 'unknown') return { coding: [{ system: DATA_ABSENT_SYSTEM, code: 'unknown', display: 'Unknown' }] }
  const system = COUNTRY_CODED.has(dim)
    ? (/^[A-Z]{3}$/.test(code) ? ISO_3166 : systemOf(publicUrl, 'region'))
    : dim === 'subnationalArea' ? ISO_3166_2 : dim === 'sex' ? ADMINISTRATIVE_GENDER : systemOf(publicUrl, hubSystemOf(dim)!)
  const coding: Record<string, string> = { system, code }
  if (labels) coding.display = names.code(dim, code, labels)
  return labels ? { coding: [coding], text: coding.display } : { coding: [coding] }
}

function population (count: number | null) {
  return count === null
    ? { code: INITIAL_POPULATION, _count: { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'masked' }] } }
    : { code: INITIAL_POPULATION, count }
}

export function lastDay (month: string): string {
  const [y, m] = month.split('-').map(Number)
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`
}

/** The hub's extensions of a MeasureReport: how its numbers are protected and the query they answer. */
export function reportExtensions (answer: Pick<Answer, 'disclosure' | 'k' | 'region' | 'periodType' | 'filters'>, publicUrl: string) {
  const hub = (name: string) => fhirUrl(publicUrl, 'StructureDefinition', name)
  return [{
    url: hub('disclosure'),
    extension: [
      { url: 'method', valueCode: answer.disclosure.method },
      ...(answer.disclosure.ptable ? [{ url: 'ptable', valueString: answer.disclosure.ptable }] : []),
      { url: 'k', valueInteger: answer.k }
    ]
  }, {
    url: hub('aggregate-query'),
    extension: [
      { url: 'region', valueCode: answer.region },
      { url: 'periodType', valueCode: answer.periodType },
      ...Object.entries(answer.filters).map(([dim, values]) => ({ url: 'filter', valueString: `${dim}=${(values as string[]).join(',')}` }))
    ]
  }]
}

export function toMeasureReport (answer: Answer, publicUrl: string, names: Names, labels?: Language) {
  const extension = reportExtensions(answer, publicUrl)
  const group: Record<string, unknown> = {
    code: { coding: [{ system: systemOf(publicUrl, 'measure-group'), code: 'count' }], text: 'Count' },
    population: [answer.by.length === 0 ? population(answer.cells[0]?.count ?? 0) : { code: INITIAL_POPULATION }]
  }
  if (answer.by.length > 0) {
    group.stratifier = [{
      code: answer.by.map((dim) => dimensionConcept(publicUrl, dim, names, labels)),
      stratum: answer.cells.map((cell) => {
        const stratum: Record<string, unknown> = answer.by.length === 1
          ? { value: valueConcept(publicUrl, answer.by[0], cell.key[0], names, labels) }
          : { component: answer.by.map((dim, i) => ({ code: dimensionConcept(publicUrl, dim, names, labels), value: valueConcept(publicUrl, dim, cell.key[i], names, labels) })) }
        stratum.population = [population(cell.count)]
        return stratum
      })
    }]
  }
  return {
    resourceType: 'MeasureReport' as const,
    extension,
    status: 'complete',
    type: 'summary',
    measure: fhirUrl(publicUrl, 'Measure', measureOf(answer)),
    subject: {
      identifier: /^[A-Z]{3}$/.test(answer.region)
        ? { system: ISO_3166, value: answer.region }
        : { system: systemOf(publicUrl, 'region'), value: answer.region }
    },
    ...(answer.lastUpdated ? { date: answer.lastUpdated } : {}),
    reporter: { reference: fhirUrl(publicUrl, 'Organization', HUB_ORGANIZATION), type: 'Organization', display: PUBLISHER },
    period: { start: `${answer.from}-01`, end: lastDay(answer.to) },
    group: [group]
  }
}

/** The id of the Organization that reports every MeasureReport: this hub. */
export const HUB_ORGANIZATION = 'hub'

/** The Measure resource `id`, at its canonical URL under this hub. */
export function measure (id: MeasureId, publicUrl: string, names: Names) {
  const m = MEASURES[id]
  return {
    resourceType: 'Measure' as const,
    id,
    url: fhirUrl(publicUrl, 'Measure', id),
    version: FHIR_CONTENT_VERSION,
    name: id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(''),
    title: m.title,
    status: 'active',
    experimental: false,
    publisher: PUBLISHER,
    description: `${m.description} Counts are perturbed by the cell-key method (see GET /v1/disclosure) unless the reader reads only its own country; counts below the read's k are not released.`,
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'cohort', display: 'Cohort' }] },
    // FHIRPath over a record of the migrant-health-event schema (conditionGroup: its condition's group).
    group: [{
      code: { coding: [{ system: systemOf(publicUrl, 'measure-group'), code: 'count' }], text: 'Count' },
      population: [{
        code: INITIAL_POPULATION,
        description: m.recordType === null
          ? 'Records of every record type in the period (a record of migrant-health-event 1.0.0 is a contact)'
          : `Records of record type "${m.recordType}" in the period${m.recordType === 'contact' ? ' (every record of migrant-health-event 1.0.0 is a contact)' : ''}`,
        criteria: m.recordType === null
          ? { language: 'text/fhirpath', expression: 'true' }
          : { language: 'text/fhirpath', expression: m.recordType === 'contact' ? 'recordType = \'contact\' or recordType.empty()' : `recordType = '${m.recordType}'` }
      }],
      stratifier: DIMENSIONS.filter((dim) => m.recordType === null || dim !== 'recordType').map((dim) => ({
        code: dimensionConcept(publicUrl, dim, names),
        description: names.dimension(dim, 'en'),
        criteria: { language: 'text/fhirpath', expression: dim }
      }))
    }]
  }
}
