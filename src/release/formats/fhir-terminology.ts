// The FHIR R4 resources behind every canonical URL mhx emits (docs/formats.md, "FHIR R4"): the code systems
// of the hub's codes and their value sets, the StructureDefinitions of its two MeasureReport extensions, the
// Organization that reports, the CapabilityStatement at /v1/fhir/metadata, and errors as OperationOutcome.
import type { Region } from '../../admin/regions.js'
import { PROBLEM_PAGES, type Problem } from '../../problem.js'
import { ABSENT, DIMENSIONS, type Dimension, type Vocabulary } from '../dimensions.js'
import { PERIOD_TYPES } from '../query.js'
import { FHIR_CONTENT_VERSION, FHIR_VERSION, fhirUrl, HUB_ORGANIZATION, hubSystemOf, MEASURES, PUBLISHER } from './fhir.js'
import type { Names } from './names.js'

export interface FhirSources {
  publicUrl: string
  names: Names
  vocabulary: Vocabulary
  /** The stored regions: the codes of the `region` code system. */
  regions: readonly Region[]
}

interface Concept { code: string, display: string, definition?: string, designation?: Array<{ language: string, value: string }> }
interface CodeSystemContent { title: string, description: string, content: 'complete' | 'not-present', concept?: Concept[] }

const pascal = (id: string) => id.split(/[^a-zA-Z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('')

/** Dimensions whose codes are the hub's own (a code system each), period aside. */
const CODED_DIMENSIONS: readonly Dimension[] = DIMENSIONS.filter((d) => d !== 'period' && hubSystemOf(d) !== undefined)

/** The names of the hub's code systems. */
export function codeSystemNames (): string[] {
  return ['dimension', 'measure-group', 'period', 'region', 'problem-type', ...CODED_DIMENSIONS]
}

function contentOf (name: string, sources: FhirSources): CodeSystemContent | undefined {
  const { names, vocabulary } = sources
  const bilingual = (en: string, ru: string): Pick<Concept, 'display' | 'designation'> => ({ display: en, ...(ru !== en ? { designation: [{ language: 'ru', value: ru }] } : {}) })
  switch (name) {
    case 'dimension': return {
      title: 'Dimensions of migrant-health aggregates',
      description: 'The dimensions an aggregate answer may be stratified by (MeasureReport stratifier codes), as GET /v1/aggregates names them.',
      content: 'complete',
      concept: DIMENSIONS.map((d) => ({ code: d, ...bilingual(names.dimension(d, 'en'), names.dimension(d, 'ru')) }))
    }
    case 'measure-group': return {
      title: 'Groups of migrant-health Measures',
      description: 'The one group of every Measure of this hub: a count of records.',
      content: 'complete',
      concept: [{ code: 'count', display: 'Count', definition: 'The number of records (perturbed by the cell-key method unless the reader reads only its own country).' }]
    }
    case 'period': return {
      title: 'Periods of migrant-health aggregates',
      description: `A period as answers label it: a month YYYY-MM (2026-03), a quarter YYYY-Qn (2026-Q1) or a year YYYY (2026), by the read's periodType (${PERIOD_TYPES.join(', ')}). The codes are not listed: any such label is a code.`,
      content: 'not-present'
    }
    case 'region': return {
      title: 'Regions of this hub',
      description: 'The regions stored at this hub (sets of countries read as one unit); a country is identified by its ISO 3166-1 alpha-3 code instead.',
      content: 'complete',
      concept: sources.regions.map((r) => ({ code: r.code, display: r.name, definition: `Members: ${r.members.join(', ')}` }))
    }
    case 'problem-type': return {
      title: 'Problem types of this hub',
      description: 'What went wrong, as the RFC 9457 problem type of an error names it (<MHX_PUBLIC_URL>/problems/<code>); an OperationOutcome issue carries it in details.',
      content: 'complete',
      concept: Object.entries(PROBLEM_PAGES).map(([code, page]) => ({ code, display: page.title, definition: page.description }))
    }
  }
  const dim = CODED_DIMENSIONS.find((d) => d === name)
  if (!dim) return undefined
  const codes = [...(vocabulary.enums[dim] ?? [])].filter((c) => c !== ABSENT)
  return {
    title: names.dimension(dim, 'en'),
    description: `The codes of ${dim} in records and aggregates of the migrant-health-event schema (an absent value is the data-absent-reason not-applicable, _Z in SDMX).`,
    content: 'complete',
    concept: codes.map((code) => ({ code, ...bilingual(names.code(dim, code, 'en'), names.code(dim, code, 'ru')) }))
  }
}

const common = (publicUrl: string, type: string, id: string, title: string) => ({
  id,
  url: fhirUrl(publicUrl, type, id),
  version: FHIR_CONTENT_VERSION,
  name: pascal(id),
  title,
  status: 'active',
  experimental: false,
  publisher: PUBLISHER
})

/** The CodeSystem `name` of this hub, or undefined. */
export function codeSystem (name: string, sources: FhirSources) {
  const content = contentOf(name, sources)
  if (!content) return undefined
  return {
    resourceType: 'CodeSystem' as const,
    ...common(sources.publicUrl, 'CodeSystem', name, content.title),
    description: content.description,
    caseSensitive: true,
    valueSet: fhirUrl(sources.publicUrl, 'ValueSet', name),
    content: content.content,
    ...(content.concept ? { count: content.concept.length, concept: content.concept } : {})
  }
}

/** The ValueSet of every code of the hub's CodeSystem `name` (CodeSystem.valueSet), or undefined. */
export function valueSet (name: string, sources: FhirSources) {
  const content = contentOf(name, sources)
  if (!content) return undefined
  return {
    resourceType: 'ValueSet' as const,
    ...common(sources.publicUrl, 'ValueSet', name, `${content.title}: every code`),
    description: `Every code of the code system ${fhirUrl(sources.publicUrl, 'CodeSystem', name)}.`,
    compose: { include: [{ system: fhirUrl(sources.publicUrl, 'CodeSystem', name) }] }
  }
}

interface ExtensionPart { name: string, type: 'code' | 'string' | 'integer' | 'decimal', min: number, max: '1' | '*', short: string }

/** The MeasureReport extensions of this hub: how the counts were protected, and the query they answer. */
const EXTENSIONS: Record<string, { title: string, description: string, parts: ExtensionPart[], context?: string[] }> = {
  disclosure: {
    title: 'Disclosure control of an aggregate answer',
    description: 'How the counts of this MeasureReport were protected (GET /v1/disclosure describes the method).',
    parts: [
      { name: 'method', type: 'code', min: 1, max: '1', short: 'cellkey: perturbed by the cell-key method; none: exact counts (a partner reading only its own country)' },
      { name: 'ptable', type: 'string', min: 0, max: '1', short: 'the perturbation table (cellkey)' },
      { name: 'k', type: 'integer', min: 1, max: '1', short: 'counts below k are not released' }
    ]
  },
  'aggregate-query': {
    title: 'The aggregate query a MeasureReport answers',
    description: 'The parameters of GET /v1/aggregates this MeasureReport answers (its by dimensions are the stratifier).',
    parts: [
      { name: 'region', type: 'code', min: 1, max: '1', short: 'the country (ISO 3166-1 alpha-3) or region read' },
      { name: 'periodType', type: 'code', min: 1, max: '1', short: `${PERIOD_TYPES.join(', ')}` },
      { name: 'filter', type: 'string', min: 0, max: '*', short: 'a filter as dimension=value,value (any of)' }
    ]
  },
  'indicator-interval': {
    title: 'The 95 % interval of an indicator\'s value',
    description: 'The bounds of the 95 % interval of an indicator\'s measureScore, covering the counts\' random variation and the perturbation\'s variance (docs/indicators.md).',
    context: ['MeasureReport.group', 'MeasureReport.group.stratifier.stratum'],
    parts: [
      { name: 'low', type: 'decimal', min: 1, max: '1', short: 'the lower bound, in the unit of measureScore' },
      { name: 'high', type: 'decimal', min: 1, max: '1', short: 'the upper bound, in the unit of measureScore' },
      { name: 'method', type: 'code', min: 1, max: '1', short: 'poisson-score+perturbation (rates) or wilson+perturbation (proportions)' }
    ]
  }
}

/** The StructureDefinition of the hub's extension `name` (a complex extension of MeasureReport), or undefined. */
export function structureDefinition (name: string, publicUrl: string) {
  if (!Object.hasOwn(EXTENSIONS, name)) return undefined
  const extension = EXTENSIONS[name]
  const url = fhirUrl(publicUrl, 'StructureDefinition', name)
  return {
    resourceType: 'StructureDefinition' as const,
    ...common(publicUrl, 'StructureDefinition', name, extension.title),
    description: extension.description,
    fhirVersion: FHIR_VERSION,
    kind: 'complex-type',
    abstract: false,
    context: (extension.context ?? ['MeasureReport']).map((expression) => ({ type: 'element', expression })),
    type: 'Extension',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
    derivation: 'constraint',
    differential: {
      element: [
        { id: 'Extension', path: 'Extension', short: extension.title, definition: extension.description, min: 0, max: '1' },
        { id: 'Extension.extension', path: 'Extension.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'closed' } },
        ...extension.parts.flatMap((part) => [
          { id: `Extension.extension:${part.name}`, path: 'Extension.extension', sliceName: part.name, short: part.short, definition: part.short, min: part.min, max: part.max },
          { id: `Extension.extension:${part.name}.url`, path: 'Extension.extension.url', fixedUri: part.name },
          { id: `Extension.extension:${part.name}.value[x]`, path: 'Extension.extension.value[x]', type: [{ code: part.type }] }
        ]),
        { id: 'Extension.url', path: 'Extension.url', fixedUri: url },
        { id: 'Extension.value[x]', path: 'Extension.value[x]', max: '0' }
      ]
    }
  }
}

/** The extensions this hub defines. */
export const EXTENSION_NAMES = Object.keys(EXTENSIONS)

/** The Organization that reports every MeasureReport: this hub. */
export function hubOrganization (id: string, publicUrl: string) {
  if (id !== HUB_ORGANIZATION) return undefined
  return {
    resourceType: 'Organization' as const,
    id,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: publicUrl }],
    active: true,
    name: PUBLISHER,
    alias: ['mhx']
  }
}

/** GET /v1/fhir/metadata: what this FHIR endpoint serves (read of the hub's conformance resources). */
export function capabilityStatement (publicUrl: string, date: string) {
  const read = (type: string, documentation: string) => ({ type, documentation, interaction: [{ code: 'read' }] })
  return {
    resourceType: 'CapabilityStatement' as const,
    id: 'mhx',
    url: `${publicUrl}/v1/fhir/metadata`,
    version: FHIR_CONTENT_VERSION,
    name: 'MigrantHealthExchange',
    title: 'Migrant Health Exchange FHIR endpoint',
    status: 'active',
    experimental: false,
    date,
    publisher: PUBLISHER,
    description: 'The FHIR R4 resources of this hub: the Measures its aggregate answers report on, their code systems and value sets, the extensions of its MeasureReports and the Organization that reports them. Aggregates are read at GET /v1/aggregates with Accept: application/fhir+json (a MeasureReport; bearer token from POST /v1/oauth/token, see /openapi.json).',
    kind: 'instance',
    implementation: { description: `Migrant Health Exchange hub at ${publicUrl}` },
    fhirVersion: FHIR_VERSION,
    format: ['json'],
    rest: [{
      mode: 'server',
      documentation: 'Public reads of the resources below, by id. Errors are OperationOutcome on this path and whenever Accept asks for application/fhir+json.',
      resource: [
        read('Measure', `The Measures: ${Object.keys(MEASURES).join(', ')}.`),
        read('CodeSystem', `The hub's code systems: ${codeSystemNames().join(', ')}.`),
        read('ValueSet', 'Every code of each of the hub\'s code systems, by the same id.'),
        read('StructureDefinition', `The MeasureReport extensions: ${EXTENSION_NAMES.join(', ')}.`),
        read('Organization', `The hub (${HUB_ORGANIZATION}), the reporter of every MeasureReport.`),
        { type: 'MeasureReport', documentation: 'Not stored: GET /v1/aggregates with Accept: application/fhir+json answers a summary MeasureReport of the read.' }
      ]
    }]
  }
}

/** The FHIR issue type of an HTTP error status (http://hl7.org/fhir/issue-type). */
function issueType (status: number): string {
  const types: Record<number, string> = {
    400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 406: 'not-supported', 408: 'timeout', 409: 'conflict',
    413: 'too-costly', 414: 'too-long', 415: 'not-supported', 422: 'invalid', 429: 'throttled', 431: 'too-long', 503: 'transient'
  }
  return types[status] ?? (status >= 500 ? 'exception' : 'processing')
}

/** A problem (RFC 9457, made absolute) as an OperationOutcome: one issue for the problem, one per field it names. */
export function operationOutcome (problem: Problem, publicUrl: string) {
  const slug = problem.type.split('/').pop() ?? ''
  const known = Object.hasOwn(PROBLEM_PAGES, slug)
  return {
    resourceType: 'OperationOutcome' as const,
    issue: [
      {
        severity: 'error',
        code: issueType(problem.status),
        details: {
          ...(known ? { coding: [{ system: fhirUrl(publicUrl, 'CodeSystem', 'problem-type'), code: slug, display: problem.title }] } : {}),
          text: problem.title
        },
        diagnostics: `${problem.detail}${problem.instance ? ` (request ${problem.instance})` : ''}`
      },
      ...(problem.errors ?? []).map((e) => ({ severity: 'error', code: issueType(problem.status), diagnostics: `${e.path}: ${e.message}` }))
    ]
  }
}
