// FHIR R4: an answer as a MeasureReport (summary) of the Measure it counts, and the Measures themselves.
// One group; its population count is the answer's total when the answer has no `by` (answers are not
// additive, so a total is never summed from cells); one stratifier over the `by` dimensions, whose strata
// carry one value (one dimension) or one component per dimension; a protected count is absent with the
// data-absent-reason "masked".
import { ABSENT, DIMENSIONS, type Dimension } from '../dimensions.js'
import type { Answer } from './answer.js'
import type { Language, Names } from './names.js'

export const FHIR_VERSION = '4.0.1'
const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason'
const DATA_ABSENT_SYSTEM = 'http://terminology.hl7.org/CodeSystem/data-absent-reason'
const INITIAL_POPULATION = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population', display: 'Initial Population' }] }

/** The Measures this hub reports; their id is the record type they count. */
export const MEASURES = {
  'migrant-health-contacts': {
    recordType: 'contact',
    title: 'Health-service contacts of migrants',
    description: 'The number of health-service contacts of migrants reported by ministries of health (records of the migrant-health-event schema), by any of the stratifiers.'
  }
} as const
export type MeasureId = keyof typeof MEASURES
/** The Measure every answer counts until records carry a record type (record model 1.1). */
export const DEFAULT_MEASURE: MeasureId = 'migrant-health-contacts'

export function isMeasureId (id: string): id is MeasureId {
  return Object.hasOwn(MEASURES, id)
}

const measureUrl = (publicUrl: string, id: MeasureId) => `${publicUrl}/v1/fhir/Measure/${id}`
const systemOf = (publicUrl: string, name: string) => `${publicUrl}/v1/fhir/CodeSystem/${name}`

function dimensionConcept (publicUrl: string, dim: Dimension, names: Names, lang: Language = 'en') {
  return { coding: [{ system: systemOf(publicUrl, 'dimension'), code: dim, display: names.dimension(dim, lang) }], text: names.dimension(dim, lang) }
}

/** A code as a CodeableConcept: ISO systems for countries and areas, the hub's own for the rest; _Z as not-applicable. */
function valueConcept (publicUrl: string, dim: Dimension, code: string, names: Names, labels?: Language) {
  if (code === ABSENT) return { coding: [{ system: DATA_ABSENT_SYSTEM, code: 'not-applicable', display: 'Not Applicable' }] }
  const system = dim === 'country' && /^[A-Z]{3}$/.test(code)
    ? 'urn:iso:std:iso:3166'
    : dim === 'subnationalArea' ? 'urn:iso:std:iso:3166:-2' : systemOf(publicUrl, dim)
  const coding: Record<string, string> = { system, code }
  if (labels) coding.display = names.code(dim, code, labels)
  return labels ? { coding: [coding], text: coding.display } : { coding: [coding] }
}

function population (count: number | null) {
  return count === null
    ? { code: INITIAL_POPULATION, _count: { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'masked' }] } }
    : { code: INITIAL_POPULATION, count }
}

function lastDay (month: string): string {
  const [y, m] = month.split('-').map(Number)
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`
}

export function toMeasureReport (answer: Answer, publicUrl: string, names: Names, labels?: Language) {
  const hub = (name: string) => `${publicUrl}/v1/fhir/StructureDefinition/${name}`
  const extension = [{
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
      ...Object.entries(answer.filters).map(([dim, values]) => ({ url: 'filter', valueString: `${dim}=${values.join(',')}` }))
    ]
  }]
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
    measure: measureUrl(publicUrl, DEFAULT_MEASURE),
    subject: {
      identifier: /^[A-Z]{3}$/.test(answer.region)
        ? { system: 'urn:iso:std:iso:3166', value: answer.region }
        : { system: `${publicUrl}/v1/regions`, value: answer.region }
    },
    ...(answer.lastUpdated ? { date: answer.lastUpdated } : {}),
    period: { start: `${answer.from}-01`, end: lastDay(answer.to) },
    group: [group]
  }
}

/** The Measure resource `id`, at its canonical URL under this hub. */
export function measure (id: MeasureId, publicUrl: string, names: Names) {
  const m = MEASURES[id]
  return {
    resourceType: 'Measure' as const,
    id,
    url: measureUrl(publicUrl, id),
    version: '1.0.0',
    name: id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(''),
    title: m.title,
    status: 'active',
    experimental: false,
    publisher: 'Migrant Health Exchange',
    description: `${m.description} Counts are perturbed by the cell-key method (see GET /v1/disclosure) unless the reader reads only its own country; counts below the read's k are not released.`,
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'cohort', display: 'Cohort' }] },
    // FHIRPath over a record of the migrant-health-event schema (conditionGroup: its condition's group).
    group: [{
      code: { coding: [{ system: systemOf(publicUrl, 'measure-group'), code: 'count' }], text: 'Count' },
      population: [{
        code: INITIAL_POPULATION,
        description: `Records of record type "${m.recordType}" in the period (every record of migrant-health-event 1.0.0 is a contact)`,
        criteria: { language: 'text/fhirpath', expression: `recordType = '${m.recordType}'` }
      }],
      stratifier: DIMENSIONS.map((dim) => ({
        code: dimensionConcept(publicUrl, dim, names),
        description: names.dimension(dim, 'en'),
        criteria: { language: 'text/fhirpath', expression: dim }
      }))
    }]
  }
}
