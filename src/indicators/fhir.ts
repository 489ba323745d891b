// FHIR R4 for indicators: each indicator is a Measure (scoring proportion, or ratio for a rate over a
// population), and a values answer is a summary MeasureReport of it: numerator and denominator populations and
// measureScore, per stratum of the `by` dimensions; a withheld value is absent with the data-absent-reason
// "masked", its interval in the hub's indicator-interval extension.
import { ABSENT } from '../release/dimensions.js'
import {
  DATA_ABSENT_REASON, dimensionConcept, fhirUrl, HUB_ORGANIZATION, ISO_3166, lastDay, PUBLISHER, reportExtensions, systemOf, valueConcept
} from '../release/formats/fhir.js'
import type { Language, Names } from '../release/formats/names.js'
import type { Indicator } from './catalog.js'
import type { IndicatorAnswer, IndicatorCell } from './values.js'

const MEASURE_POPULATION = 'http://terminology.hl7.org/CodeSystem/measure-population'
const NUMERATOR = { coding: [{ system: MEASURE_POPULATION, code: 'numerator', display: 'Numerator' }] }
const DENOMINATOR = { coding: [{ system: MEASURE_POPULATION, code: 'denominator', display: 'Denominator' }] }
/** UCUM codes of the indicators' units. */
const UCUM: Record<string, string> = { PT: '%', PER_100000: '/10*5', PER_1000: '/10*3' }
const masked = { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'masked' }] }

/** Scoring: a share of a cohort is a proportion; a count over a population outside the records is a ratio. */
const scoringOf = (indicator: Pick<Indicator, 'kind'>) => indicator.kind === 'proportion' ? 'proportion' : 'ratio'

/** The Measure of an indicator, at its canonical URL `<hub>/v1/fhir/Measure/<indicator id>`. */
export function indicatorMeasure (indicator: Indicator, publicUrl: string) {
  const scoring = scoringOf(indicator)
  const criteria = (filters: Record<string, string[]>) => ({
    language: 'text/fhirpath',
    expression: Object.entries(filters).map(([dim, values]) => `(${values.map((v) => `${dim} = '${v}'`).join(' or ')})`).join(' and ')
  })
  return {
    resourceType: 'Measure' as const,
    id: indicator.id,
    url: fhirUrl(publicUrl, 'Measure', indicator.id),
    version: indicator.version,
    name: indicator.id.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(''),
    title: indicator.name.en,
    status: 'active',
    experimental: false,
    publisher: PUBLISHER,
    description: `${indicator.definition.en} Convention: ${indicator.convention} SDG target ${indicator.sdg.target}. Counts are perturbed by the cell-key method unless the reader reads only its own country; values whose numerator is below the read's k or ${indicator.minimumNumerator} are not released.`,
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: scoring, display: scoring === 'ratio' ? 'Ratio' : 'Proportion' }] },
    group: [{
      code: { coding: [{ system: systemOf(publicUrl, 'measure-group'), code: 'indicator' }], text: indicator.name.en },
      population: [
        { code: NUMERATOR, description: `Records: ${Object.entries(indicator.numerator.filters).map(([d, v]) => `${d} ${v.join(' or ')}`).join('; ')}`, criteria: criteria(indicator.numerator.filters) },
        'population' in indicator.denominator
          ? { code: DENOMINATOR, description: `The population ${indicator.denominator.population} (GET /v1/denominators), not records`, criteria: { language: 'text/fhirpath', expression: `%denominators.where(population = '${indicator.denominator.population}').value` } }
          : { code: DENOMINATOR, description: `Records: ${Object.entries(indicator.denominator.filters).map(([d, v]) => `${d} ${v.join(' or ')}`).join('; ')}`, criteria: criteria(indicator.denominator.filters) }
      ]
    }]
  }
}

function populations (indicator: IndicatorAnswer['indicator'], cell: Pick<IndicatorCell, 'numerator' | 'denominator' | 'value' | 'lower' | 'upper' | 'status'> | undefined, publicUrl: string, method: string) {
  const numerator = cell?.numerator ?? null
  const denominator = cell?.denominator ?? null
  const out: Record<string, unknown> = {
    population: [
      numerator === null ? { code: NUMERATOR, _count: masked } : { code: NUMERATOR, count: numerator },
      // A rate's population over several years is a months-weighted mean: a count is whole.
      denominator === null ? { code: DENOMINATOR, _count: masked } : { code: DENOMINATOR, count: Math.round(denominator) }
    ]
  }
  if (cell && cell.status === 'released' && cell.value !== null) {
    out.measureScore = { value: cell.value, unit: indicator.unit.en, system: 'http://unitsofmeasure.org', code: UCUM[indicator.unit.code] ?? '1' }
    out.extension = [{
      url: fhirUrl(publicUrl, 'StructureDefinition', 'indicator-interval'),
      extension: [{ url: 'low', valueDecimal: cell.lower }, { url: 'high', valueDecimal: cell.upper }, { url: 'method', valueCode: method }]
    }]
  } else {
    out.measureScore = masked
  }
  return out
}

/** A values answer as a summary MeasureReport of the indicator's Measure. */
export function indicatorMeasureReport (answer: IndicatorAnswer, publicUrl: string, names: Names, labels?: Language) {
  const group: Record<string, unknown> = {
    code: { coding: [{ system: systemOf(publicUrl, 'measure-group'), code: 'indicator' }], text: answer.indicator.id }
  }
  if (answer.by.length === 0) {
    Object.assign(group, populations(answer.indicator, answer.cells[0], publicUrl, answer.interval.method))
  } else {
    group.stratifier = [{
      code: answer.by.map((dim) => dimensionConcept(publicUrl, dim, names, labels)),
      stratum: answer.cells.map((cell) => ({
        ...(answer.by.length === 1
          ? { value: valueConcept(publicUrl, answer.by[0], cell.key[0], names, labels) }
          : { component: answer.by.map((dim, i) => ({ code: dimensionConcept(publicUrl, dim, names, labels), value: valueConcept(publicUrl, dim, cell.key[i] ?? ABSENT, names, labels) })) }),
        ...populations(answer.indicator, cell, publicUrl, answer.interval.method)
      }))
    }]
  }
  return {
    resourceType: 'MeasureReport' as const,
    extension: reportExtensions(answer, publicUrl),
    status: 'complete',
    type: 'summary',
    measure: fhirUrl(publicUrl, 'Measure', answer.indicator.id),
    subject: {
      identifier: /^[A-Z]{3}$/.test(answer.region) ? { system: ISO_3166, value: answer.region } : { system: systemOf(publicUrl, 'region'), value: answer.region }
    },
    ...(answer.lastUpdated ? { date: answer.lastUpdated } : {}),
    reporter: { reference: fhirUrl(publicUrl, 'Organization', HUB_ORGANIZATION), type: 'Organization', display: PUBLISHER },
    period: { start: `${answer.from}-01`, end: lastDay(answer.to) },
    group: [group]
  }
}
