// Aggregate intake: ADX documents and DHIS2 dataValueSets turned into data values of
// migrant-health-aggregate, each with the place in the document a fault should name.
// Pure functions (no DB, no HTTP); the reporter's DHIS2 mapping arrives as an argument.
import type { FieldError } from '../problem.js'
import { ADX_FAULT, attribute, attributesOf, readAdx, refuse, type AdxDataValue, type AdxGroup } from './adx.js'
import type { Utf8Body } from './body.js'
import { AGGREGATE_SCHEMA } from '../model/fields.js'

// the newest: it takes what the others take, and conditionGroup, as another hub's ADX answer holds it
export const AGGREGATE_VERSION = '1.1.0'
export const AGGREGATE_DEFAULT = { schema: AGGREGATE_SCHEMA, version: AGGREGATE_VERSION }

/** Data values of a document, and where each of their fields came from. */
export interface ImportedDataValues {
  dataValues: Array<Record<string, unknown>>
  /** the document path a fault of data value `index` at field pointer `path` (`/sex`, ``) names */
  locate: (index: number, path: string) => string
  /** the line of each data value in the document (ADX) */
  lines?: number[]
  /** DHIS2: the document's index of each data value (zeros and deleted values are left out) */
  indices?: number[]
  /** DHIS2: what the document held and what was left out, for the answer's importSummary */
  summary?: ImportReceived
}

/** A data value of a DHIS2 document that counts nothing, and why. */
export interface IgnoredValue {
  /** its 0-based place among the document's data values */
  index: number
  reason: 'zero' | 'deleted' | 'protected'
  /** ADX: its element and line */
  path?: string
  line?: number
}

/** What a DHIS2 document held: its data values, and those left out of the count. */
export interface ImportReceived { received: number, ignored: IgnoredValue[] }

/** A reporter's DHIS2 ids → mhx dimensions (PUT /v1/mappings/dhis2). */
export interface Dhis2Mapping {
  dataElements: Record<string, Record<string, string>>
  categoryOptionCombos: Record<string, Record<string, string>>
  attributeOptionCombos?: Record<string, Record<string, string>>
  /** DHIS2 ADX: category code → option code → dimensions */
  categories?: Record<string, Record<string, Record<string, string>>>
  orgUnits: Record<string, string>
}

const COUNTRY = /^[A-Z]{3}$/
const INTEGER = /^-?\d{1,15}$/

// an orgUnit is a country (alpha-3) or a first-level sub-national area
function placeOf (orgUnit: string): Record<string, string> {
  return COUNTRY.test(orgUnit) ? { reportingCountry: orgUnit } : { subnationalArea: orgUnit }
}

// counts arrive as text in XML and DHIS2; a non-integer stays as sent so the schema names it
function countOf (value: unknown): unknown {
  return typeof value === 'string' && INTEGER.test(value.trim()) ? Number(value.trim()) : value
}

// ---- ADX ----

// namespace declarations are no dimensions
function isNamespaceDeclaration (attribute: string): boolean {
  return attribute === 'xmlns' || attribute.startsWith('xmlns:')
}

const GROUP_ATTRIBUTES_IGNORED = new Set(['dataSet', 'completeDate', 'exported'])
const ADX_MONTH = /^(\d{4}-(0[1-9]|1[0-2]))-01\/P1M$/

/** A group's month (YYYY-MM), or a fault naming its period attribute. */
function groupPeriod (group: AdxGroup, at: string, faults: FieldError[]): string | undefined {
  const period = attribute(group, 'period')
  if (period === undefined) {
    faults.push({ line: group.line, path: `${at}/@period`, message: 'a group needs a period (YYYY-MM-01/P1M)' })
    return undefined
  }
  const month = ADX_MONTH.exec(period)
  if (!month) faults.push({ line: group.line, path: `${at}/@period`, message: notMonthly(period, ADX_PERIOD_KINDS, 'YYYY-MM-01/P1M, e.g. 2026-03-01/P1M') })
  return month?.[1]
}

// ADX periods by their duration (DHIS2 writes weeks as P7D)
const ADX_PERIOD_KINDS: Array<[RegExp, string]> = [
  [/\/P1D$/, 'daily'], [/\/P(7D|1W)$/, 'weekly'], [/\/P14D$/, 'bi-weekly'], [/\/P2M$/, 'bi-monthly'],
  [/\/P3M$/, 'quarterly'], [/\/P6M$/, 'six-monthly'], [/\/P(1Y|12M)$/, 'yearly']
]
// DHIS2 period identifiers (https://docs.dhis2.org, "Date and period format")
const DHIS2_PERIOD_KINDS: Array<[RegExp, string]> = [
  [/^\d{8}$/, 'daily'], [/^\d{4}(Wed|Thu|Sat|Sun)?W\d{1,2}$/, 'weekly'], [/^\d{4}BiW\d{1,2}$/, 'bi-weekly'],
  [/^\d{6}B$/, 'bi-monthly'], [/^\d{4}Q[1-4]$/, 'quarterly'], [/^\d{4}(Nov|April)?S[12]$/, 'six-monthly'],
  [/^\d{4}$/, 'yearly'], [/^\d{4}(April|July|Oct|Nov)$/, 'a financial year']
]

/** Why a period is refused: what it is, when recognised, and that only months are exchanged. */
function notMonthly (period: string, kinds: Array<[RegExp, string]>, format: string): string {
  const kind = kinds.find(([pattern]) => pattern.test(period))?.[1]
  const named = JSON.stringify(period.slice(0, 32))
  return `period ${named} is ${kind === undefined ? 'not a month' : kind}: mhx exchanges only monthly data sets, each period a month as ${format}`
}

// A dataValue without a value but with an annotation is a cell another hub did not release
// (ADX out): it is no count, so it is skipped, never read as zero.
function isProtected (dataValue: AdxDataValue): boolean {
  return dataValue.annotated && attribute(dataValue, 'value') === undefined
}

/** Where each data value of the imported list sits: its group and dataValue (1-based) and line. */
class AdxPlaces {
  readonly groups: number[] = []
  readonly values: number[] = []
  readonly lines: number[] = []
  add (group: number, value: number, line: number): void {
    this.groups.push(group)
    this.values.push(value)
    this.lines.push(line)
  }
}

function noDataValue (faults: FieldError[], imported: number, groups: AdxGroup[]): void {
  if (imported === 0 && faults.length === 0) {
    const skipped = groups.some((g) => g.dataValues.length > 0)
    faults.push({ path: '/adx', message: skipped ? 'every dataValue of the document is protected (an annotation, no value): nothing to count' : 'the document holds no dataValue' })
  }
}

/**
 * ADX (IHE QRPH, namespace urn:ihe:qrph:adx:2015) in mhx's own codes: each group has orgUnit
 * (country or sub-national code) and period (YYYY-MM-01/P1M); each dataValue has dataElement (the
 * recordType), value (the count) and the other dimensions as attributes named as in the schema.
 * A dataValue without a value but with an annotation (a protected cell) is skipped.
 */
export function parseAdx (document: string | Utf8Body): ImportedDataValues {
  const groups = readAdx(document)
  const faults: FieldError[] = []
  const dataValues: Array<Record<string, unknown>> = []
  // where each data value sits (numbers in arrays: an object per data value was garbage the API paid for)
  const places = new AdxPlaces()
  const fromGroups: Array<Set<string>> = []
  groups.forEach((group, g) => {
    const at = `/adx/group[${g + 1}]`
    const common: Record<string, unknown> = {}
    const period = groupPeriod(group, at, faults)
    if (period !== undefined) common.period = period
    group.names.forEach((name, i) => {
      if (GROUP_ATTRIBUTES_IGNORED.has(name) || name === 'period' || isNamespaceDeclaration(name)) return
      if (name === 'orgUnit') Object.assign(common, placeOf(group.values[i]))
      else common[name] = group.values[i]
    })
    if (attribute(group, 'orgUnit') === undefined) faults.push({ line: group.line, path: `${at}/@orgUnit`, message: 'a group needs an orgUnit (country or sub-national code)' })
    const commonKeys = Object.keys(common)
    fromGroups.push(new Set(commonKeys))
    let layout: DataValueLayout | undefined
    group.dataValues.forEach((element, v) => {
      if (isProtected(element)) return
      // consecutive dataValues with the same attribute names share one names array
      if (layout === undefined || layout.names !== element.names) layout = dataValueLayout(commonKeys, element.names)
      const dataValue = layout.make(common, element.values)
      if (!layout.hasDataElement) faults.push({ line: element.line, path: `${at}/dataValue[${v + 1}]/@dataElement`, message: 'a dataValue needs a dataElement (contact or case_notification)' })
      if (!layout.hasValue) faults.push({ line: element.line, path: `${at}/dataValue[${v + 1}]/@value`, message: 'a dataValue needs a value (the count), or an annotation when it is a protected cell' })
      dataValues.push(dataValue)
      places.add(g + 1, v + 1, element.line)
    })
  })
  noDataValue(faults, places.lines.length, groups)
  if (faults.length > 0) refuse('validation', faults, ADX_FAULT)
  return {
    dataValues,
    lines: places.lines,
    locate (index, path) {
      const group = places.groups[index]
      const value = places.values[index]
      const fromGroup = fromGroups[group - 1]
      const field = path.slice(1)
      const element = `/adx/group[${group}]/dataValue[${value}]`
      if (field === '') return element
      // a dimension given on the group applies to its data values: the fault names the group's attribute
      if (fromGroup.has(field) || field === 'period') return `/adx/group[${group}]/@${GROUP_ATTRIBUTE[field] ?? field}`
      return `${element}/@${field === 'recordType' ? 'dataElement' : field === 'count' ? 'value' : field}`
    }
  }
}

/** ADX data values of one attribute layout (a group's dimensions, a dataValue's attribute names in order). */
interface DataValueLayout {
  /** the dataValue attribute names it was made for */
  names: readonly string[]
  hasDataElement: boolean
  hasValue: boolean
  /** the data value of a group's dimensions and a dataValue's attribute values */
  make: (common: Record<string, unknown>, values: readonly string[]) => Record<string, unknown>
}

const layouts = new Map<string, Omit<DataValueLayout, 'names'>>()
const LAYOUTS_KEPT = 64

/**
 * A layout's data values made by one object literal, compiled once per layout (names are quoted
 * by JSON.stringify): the object is allocated whole, where adding a dozen properties one by one
 * cost ~0.2 µs per data value and left the grown property stores as garbage. The same result as
 * copying the group's dimensions and then each attribute: dataElement becomes recordType, value
 * the count, namespace declarations are dropped, and an attribute named as a group dimension
 * overrides it in its place. A `__proto__` key (which a literal would take as the prototype) is
 * added key by key instead.
 */
function dataValueLayout (commonKeys: string[], names: readonly string[]): DataValueLayout {
  const key = `${commonKeys.join('\t')}\n${names.join('\t')}`
  let made = layouts.get(key)
  if (made === undefined) {
    made = { hasDataElement: names.includes('dataElement'), hasValue: names.includes('value'), make: compiledLayout(commonKeys, names) }
    if (layouts.size >= LAYOUTS_KEPT) layouts.delete(layouts.keys().next().value as string)
    layouts.set(key, made)
  }
  return { names, ...made }
}

function compiledLayout (commonKeys: string[], names: readonly string[]): DataValueLayout['make'] {
  if ([...commonKeys, ...names].includes('__proto__')) return (common, values) => addedOneByOne(common, names, values)
  const quoted = (name: string): string => JSON.stringify(name)
  const fields = [
    ...commonKeys.map((k) => `${quoted(k)}: common[${quoted(k)}]`),
    ...names.flatMap((n, i) => isNamespaceDeclaration(n)
      ? []
      : [n === 'dataElement' ? `recordType: values[${i}]` : n === 'value' ? `count: countOf(values[${i}])` : `${quoted(n)}: values[${i}]`])
  ]
  // the names are string literals by JSON.stringify (ajv compiles schemas the same way)
  const literal = new Function('countOf', `return (common, values) => ({ ${fields.join(', ')} })`) as (count: typeof countOf) => DataValueLayout['make']
  return literal(countOf)
}

function addedOneByOne (common: Record<string, unknown>, names: readonly string[], values: readonly string[]): Record<string, unknown> {
  const dataValue = copyOf(common)
  names.forEach((name, i) => {
    if (isNamespaceDeclaration(name)) return
    if (name === 'dataElement') dataValue.recordType = values[i]
    else if (name === 'value') dataValue.count = countOf(values[i])
    else dataValue[name] = values[i]
  })
  return dataValue
}

// A spread copy (`{ ...common }`) has no room for more properties: V8 then spent ~10 µs per data
// value adding its attributes, more than parsing it. A copy built key by key grows as usual.
function copyOf<T> (object: Record<string, T>): Record<string, T> {
  const copy: Record<string, T> = {}
  for (const key in object) copy[key] = object[key]
  return copy
}

const GROUP_ATTRIBUTE: Record<string, string> = { reportingCountry: 'orgUnit', subnationalArea: 'orgUnit' }
// attributes of a DHIS2 ADX group or dataValue that are not categories
const DHIS2_GROUP_ATTRIBUTES = new Set(['orgUnit', 'period', 'dataSet', 'completeDate', 'exported', 'attributeOptionCombo'])
const DHIS2_VALUE_ATTRIBUTES = new Set(['dataElement', 'value', 'categoryOptionCombo', 'deleted'])

/**
 * ADX as DHIS2 exports it (`?format=dhis2` with Content-Type application/adx+xml), read through the
 * reporter's DHIS2 mapping: orgUnit, dataElement, categoryOptionCombo and attributeOptionCombo by
 * the id or code the export uses (orgUnits, dataElements, categoryOptionCombos,
 * attributeOptionCombos), and every other attribute of a group or dataValue as a category code
 * whose value is an option code (categories). The dimensions of a data value are the union of
 * their mappings; an unmapped id, category or option, or two of them giving one dimension
 * different values, is a 422 naming the attribute.
 */
export function fromDhis2Adx (document: string | Utf8Body, mapping: Dhis2Mapping | undefined): ImportedDataValues {
  const groups = readAdx(document)
  if (!mapping) refuse('validation', [{ path: '', message: 'you have no DHIS2 mapping yet: PUT /v1/mappings/dhis2 first (dataElements, categories or categoryOptionCombos, orgUnits)' }], ADX_FAULT)
  const faults: FieldError[] = []
  const dataValues: Array<Record<string, unknown>> = []
  const places = new AdxPlaces()
  const indices: number[] = []
  const ignored: IgnoredValue[] = []
  let received = 0
  // where each dimension of each data value came from
  const sources: Array<Record<string, string>> = []
  groups.forEach((group, g) => {
    const at = `/adx/group[${g + 1}]`
    const common: Record<string, unknown> = {}
    const source: Record<string, string> = {}
    const period = groupPeriod(group, at, faults)
    if (period !== undefined) { common.period = period; source.period = `${at}/@period` }
    const groupAttributes = attributesOf(group)
    const orgUnit = groupAttributes.orgUnit
    const place = orgUnit === undefined ? undefined : mapping.orgUnits[orgUnit]
    if (orgUnit === undefined) faults.push({ line: group.line, path: `${at}/@orgUnit`, message: 'a group needs an orgUnit' })
    else if (place === undefined) faults.push({ line: group.line, path: `${at}/@orgUnit`, message: `unmapped orgUnit ${JSON.stringify(orgUnit.slice(0, 64))}: add it to orgUnits of your mapping (PUT /v1/mappings/dhis2)` })
    else for (const [field, value] of Object.entries(placeOf(place))) { common[field] = value; source[field] = `${at}/@orgUnit` }
    const aoc = groupAttributes.attributeOptionCombo
    if (aoc !== undefined) mapInto(common, source, mapping.attributeOptionCombos?.[aoc], `${at}/@attributeOptionCombo`, `attributeOptionCombo ${JSON.stringify(aoc.slice(0, 64))}`, 'attributeOptionCombos', group.line, faults)
    for (const [category, option] of Object.entries(groupAttributes)) {
      if (DHIS2_GROUP_ATTRIBUTES.has(category) || isNamespaceDeclaration(category)) continue
      mapCategory(common, source, mapping, category, option, `${at}/@${category}`, group.line, faults)
    }
    group.dataValues.forEach((element, v) => {
      const index = received++
      const here = `${at}/dataValue[${v + 1}]`
      const attributes = attributesOf(element)
      const { dataElement, value, categoryOptionCombo, deleted } = attributes
      // what counts nothing is left out before its ids are looked up, as DHIS2 exports hold them for any data element
      const reason = isProtected(element) ? 'protected' : deleted === 'true' ? 'deleted' : isZero(value) ? 'zero' : undefined
      if (reason !== undefined) {
        ignored.push({ index, reason, path: here, line: element.line })
        return
      }
      if (deleted !== undefined && deleted !== 'false') faults.push({ line: element.line, path: `${here}/@deleted`, message: 'deleted must be true or false' })
      const dataValue = copyOf(common)
      const from = copyOf(source)
      if (dataElement === undefined) faults.push({ line: element.line, path: `${here}/@dataElement`, message: 'a dataValue needs a dataElement' })
      else mapInto(dataValue, from, mapping.dataElements[dataElement], `${here}/@dataElement`, `dataElement ${JSON.stringify(dataElement.slice(0, 64))}`, 'dataElements', element.line, faults)
      if (categoryOptionCombo !== undefined) mapInto(dataValue, from, mapping.categoryOptionCombos[categoryOptionCombo], `${here}/@categoryOptionCombo`, `categoryOptionCombo ${JSON.stringify(categoryOptionCombo.slice(0, 64))}`, 'categoryOptionCombos', element.line, faults)
      for (const category in attributes) {
        if (DHIS2_VALUE_ATTRIBUTES.has(category) || isNamespaceDeclaration(category)) continue
        mapCategory(dataValue, from, mapping, category, attributes[category], `${here}/@${category}`, element.line, faults)
      }
      if (value === undefined) faults.push({ line: element.line, path: `${here}/@value`, message: 'a dataValue needs a value (the count), or an annotation when it is a protected cell' })
      dataValue.count = countOf(value)
      from.count = `${here}/@value`
      dataValues.push(dataValue)
      places.add(g + 1, v + 1, element.line)
      indices.push(index)
      sources.push(from)
    })
  })
  if (places.lines.length === 0 && faults.length === 0) {
    faults.push({ path: '/adx', message: received === 0 ? 'the document holds no dataValue' : `every dataValue of the document counts nothing (${reasonsOf(ignored)}): nothing to count` })
  }
  if (faults.length > 0) refuse('validation', faults, ADX_FAULT)
  return {
    dataValues,
    lines: places.lines,
    indices,
    summary: { received, ignored },
    locate (index, path) {
      const element = `/adx/group[${places.groups[index]}]/dataValue[${places.values[index]}]`
      return path === '' ? element : sources[index][path.slice(1)] ?? element
    }
  }
}

// DHIS2 writes a zero where a data element's zeros are significant; it counts nothing
const ZERO = /^[+-]?0+(\.0*)?$/
function isZero (value: unknown): boolean {
  return (typeof value === 'number' && value === 0) || (typeof value === 'string' && ZERO.test(value.trim()))
}

function reasonsOf (ignored: IgnoredValue[]): string {
  return [...new Set(ignored.map((i) => i.reason))].join(', ')
}

function mapCategory (into: Record<string, unknown>, source: Record<string, string>, mapping: Dhis2Mapping, category: string, option: string, at: string, line: number, faults: FieldError[]): void {
  const options = mapping.categories?.[category]
  if (options === undefined) {
    faults.push({ line, path: at, message: `unmapped category ${JSON.stringify(category.slice(0, 64))}: add it to categories of your mapping (PUT /v1/mappings/dhis2)` })
    return
  }
  mapInto(into, source, options[option], at, `option ${JSON.stringify(option.slice(0, 64))} of category ${category}`, `categories.${category}`, line, faults)
}

// adds the dimensions an id maps to; a missing mapping or a dimension already set otherwise is a fault at `at`
function mapInto (into: Record<string, unknown>, source: Record<string, string>, dims: Record<string, string> | undefined, at: string, what: string, table: string, line: number, faults: FieldError[]): void {
  if (dims === undefined) {
    faults.push({ line, path: at, message: `unmapped ${what}: add it to ${table} of your mapping (PUT /v1/mappings/dhis2)` })
    return
  }
  for (const field in dims) {
    const value = dims[field]
    if (into[field] !== undefined && into[field] !== value) {
      faults.push({ line, path: at, message: `${what} maps ${field} to ${value}, but ${source[field]} already mapped it to ${String(into[field])}` })
      continue
    }
    into[field] = value
    source[field] = at
  }
}

// ---- DHIS2 dataValueSets ----

const DHIS2_PERIOD = /^(\d{4})(0[1-9]|1[0-2])$/
const ID_KINDS = [
  ['dataElement', 'dataElements'],
  ['categoryOptionCombo', 'categoryOptionCombos'],
  ['attributeOptionCombo', 'attributeOptionCombos']
] as const
// the members of a data value DHIS2 2.40 exports; those not among the ids, period and value count nothing here
const DHIS2_VALUE_MEMBERS = new Set(['dataElement', 'period', 'orgUnit', 'categoryOptionCombo', 'attributeOptionCombo', 'value', 'storedBy', 'created', 'lastUpdated', 'comment', 'followup', 'deleted'])

/**
 * DHIS2 dataValueSets JSON as DHIS2 exports it (`{dataValues: [{dataElement, period: YYYYMM,
 * orgUnit, categoryOptionCombo, attributeOptionCombo?, value, storedBy?, created?, lastUpdated?,
 * comment?, followup?, deleted?}]}`): a zero or a deleted value counts nothing and is left out
 * (listed in `summary`); the dimensions of the others are the union of the mappings of their ids.
 * An unmapped id, a period that is not a month, a member DHIS2 does not export, or two ids giving
 * one dimension different values is a 422 naming the data value's member. Values that map to the
 * same dimensions are summed by the submission (facilities of one area), not here.
 */
export function fromDhis2 (body: unknown, mapping: Dhis2Mapping | undefined): ImportedDataValues {
  const list = (body as { dataValues?: unknown } | null)?.dataValues
  if (typeof body !== 'object' || body === null || !Array.isArray(list) || list.length === 0) {
    refuse('validation', [{ path: '/dataValues', message: 'a DHIS2 dataValueSet needs a non-empty dataValues array' }], 'dataValueSet')
  }
  if (!mapping) {
    refuse('validation', [{ path: '', message: 'you have no DHIS2 mapping yet: PUT /v1/mappings/dhis2 first (dataElements, categoryOptionCombos, orgUnits)' }], 'dataValueSet')
  }
  const faults: FieldError[] = []
  const dataValues: Array<Record<string, unknown>> = []
  const sources: Array<Record<string, string>> = []
  const indices: number[] = []
  const ignored: IgnoredValue[] = []
  list.forEach((item: unknown, i) => {
    const at = `/dataValues/${i}`
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      faults.push({ index: i, path: at, message: 'a data value must be a JSON object' })
      return
    }
    const dv = item as Record<string, unknown>
    for (const member of Object.keys(dv)) {
      if (!DHIS2_VALUE_MEMBERS.has(member)) faults.push({ index: i, path: `${at}/${member}`, message: `${JSON.stringify(member.slice(0, 64))} is not a member of a DHIS2 data value (${[...DHIS2_VALUE_MEMBERS].join(', ')})` })
    }
    if (dv.deleted !== undefined && typeof dv.deleted !== 'boolean') faults.push({ index: i, path: `${at}/deleted`, message: 'deleted must be true or false' })
    // what counts nothing is left out before its ids are looked up: an export holds zeros of any data element
    const reason = dv.deleted === true ? 'deleted' : isZero(dv.value) ? 'zero' : undefined
    if (reason !== undefined) {
      ignored.push({ index: i, reason })
      return
    }
    const source: Record<string, string> = {}
    const dataValue: Record<string, unknown> = {}
    sources.push(source)
    dataValues.push(dataValue)
    indices.push(i)
    const period = DHIS2_PERIOD.exec(String(dv.period ?? ''))
    if (period) dataValue.period = `${period[1]}-${period[2]}`
    else faults.push({ index: i, path: `${at}/period`, message: notMonthly(String(dv.period ?? ''), DHIS2_PERIOD_KINDS, 'YYYYMM, e.g. 202603') })
    source.period = 'period'
    const orgUnit = mapping.orgUnits[String(dv.orgUnit)]
    if (orgUnit === undefined) faults.push({ index: i, path: `${at}/orgUnit`, message: `unmapped orgUnit ${JSON.stringify(String(dv.orgUnit ?? '').slice(0, 64))}: add it to orgUnits of your mapping (PUT /v1/mappings/dhis2)` })
    else for (const [field, value] of Object.entries(placeOf(orgUnit))) { dataValue[field] = value; source[field] = 'orgUnit' }
    for (const [key, table] of ID_KINDS) {
      const id = dv[key]
      if (id === undefined && key === 'attributeOptionCombo') continue
      const dims = mapping[table]?.[String(id)]
      if (dims === undefined) {
        faults.push({ index: i, path: `${at}/${key}`, message: `unmapped ${key} ${JSON.stringify(String(id ?? '').slice(0, 64))}: add it to ${table} of your mapping (PUT /v1/mappings/dhis2)` })
        continue
      }
      for (const [field, value] of Object.entries(dims)) {
        if (dataValue[field] !== undefined && dataValue[field] !== value) {
          faults.push({ index: i, path: `${at}/${key}`, message: `${key} ${String(id)} maps ${field} to ${value}, but ${source[field]} already mapped it to ${String(dataValue[field])}` })
          continue
        }
        dataValue[field] = value
        source[field] = key
      }
    }
    dataValue.count = countOf(typeof dv.value === 'number' ? String(dv.value) : dv.value)
    source.count = 'value'
  })
  if (dataValues.length === 0 && faults.length === 0) {
    faults.push({ path: '/dataValues', message: `every data value of the document counts nothing (${reasonsOf(ignored)}): nothing to count` })
  }
  if (faults.length > 0) refuse('validation', faults, 'dataValueSet')
  return {
    dataValues,
    indices,
    summary: { received: list.length, ignored },
    locate: (index, path) => `/dataValues/${indices[index]}` + (path === '' ? '' : `/${sources[index][path.slice(1)] ?? path.slice(1)}`)
  }
}
