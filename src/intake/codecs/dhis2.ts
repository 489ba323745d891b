// DHIS2 as DHIS2 exports it, read through the reporter's mapping (PUT /v1/mappings/dhis2):
// dataValueSets JSON and ADX. A zero or a deleted value counts nothing and is left out (listed in
// the summary, for the answer's importSummary); values that map to the same dimensions are summed
// by the submission (facilities of one area), not here. An unmapped id, a period that is not a
// month, or two ids giving one dimension different values is a 422 naming the value.
import type { FieldError } from '../../problem.js'
import { ADX_FAULT, AdxPlaces, countOf, groupPeriod, isNamespaceDeclaration, isProtected, notMonthly, placeOf, readAdx } from './adx.js'
import { readJsonSubmission } from './json.js'
import { refuse, textOf, type Decoded, type IgnoredValue, type SubmissionBody } from './index.js'

/** A reporter's DHIS2 ids → mhx dimensions (PUT /v1/mappings/dhis2). */
export interface Dhis2Mapping {
  dataElements: Record<string, Record<string, string>>
  categoryOptionCombos: Record<string, Record<string, string>>
  attributeOptionCombos?: Record<string, Record<string, string>>
  /** DHIS2 ADX: category code → option code → dimensions */
  categories?: Record<string, Record<string, Record<string, string>>>
  orgUnits: Record<string, string>
}

// DHIS2 period identifiers (https://docs.dhis2.org, "Date and period format")
const DHIS2_PERIOD_KINDS: Array<[RegExp, string]> = [
  [/^\d{8}$/, 'daily'], [/^\d{4}(Wed|Thu|Sat|Sun)?W\d{1,2}$/, 'weekly'], [/^\d{4}BiW\d{1,2}$/, 'bi-weekly'],
  [/^\d{6}B$/, 'bi-monthly'], [/^\d{4}Q[1-4]$/, 'quarterly'], [/^\d{4}(Nov|April)?S[12]$/, 'six-monthly'],
  [/^\d{4}$/, 'yearly'], [/^\d{4}(April|July|Oct|Nov)$/, 'a financial year']
]

/** A DHIS2 export as its media type says: a dataValueSet (JSON) or an ADX export. */
export function decode (body: SubmissionBody, mapping: Dhis2Mapping | undefined): Decoded {
  return body.mediaType === 'application/adx+xml' ? decodeAdx(textOf(body), mapping) : decodeDataValueSet(withEnvelopeDefaults(readJsonSubmission(body)), mapping)
}

// DHIS2 lets a dataValueSet give period, orgUnit and attributeOptionCombo once for all its data values
function withEnvelopeDefaults (json: Record<string, unknown>): unknown {
  if (!Array.isArray(json.dataValues)) return json
  const defaults = Object.fromEntries(['period', 'orgUnit', 'attributeOptionCombo'].filter((k) => json[k] !== undefined).map((k) => [k, json[k]]))
  if (Object.keys(defaults).length === 0) return json
  return { dataValues: json.dataValues.map((dv: unknown) => typeof dv === 'object' && dv !== null && !Array.isArray(dv) ? { ...defaults, ...dv } : dv) }
}

// DHIS2 writes a zero where a data element's zeros are significant; it counts nothing
const ZERO = /^[+-]?0+(\.0*)?$/
function isZero (value: unknown): boolean {
  return (typeof value === 'number' && value === 0) || (typeof value === 'string' && ZERO.test(value.trim()))
}

function reasonsOf (ignored: IgnoredValue[]): string {
  return [...new Set(ignored.map((i) => i.reason))].join(', ')
}

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
export function decodeAdx (text: string, mapping: Dhis2Mapping | undefined): Decoded {
  const groups = readAdx(text)
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
    const groupAttributes = group.attributes
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
      const attributes = element.attributes
      const { dataElement, value, categoryOptionCombo, deleted } = attributes
      // what counts nothing is left out before its ids are looked up, as DHIS2 exports hold them for any data element
      const reason = isProtected(element) ? 'protected' : deleted === 'true' ? 'deleted' : isZero(value) ? 'zero' : undefined
      if (reason !== undefined) {
        ignored.push({ index, reason, path: here, line: element.line })
        return
      }
      if (deleted !== undefined && deleted !== 'false') faults.push({ line: element.line, path: `${here}/@deleted`, message: 'deleted must be true or false' })
      const dataValue = { ...common }
      const from = { ...source }
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
    items: dataValues,
    lines: places.lines,
    indices,
    summary: { received, ignored },
    locate (index, path) {
      const element = `/adx/group[${places.groups[index]}]/dataValue[${places.values[index]}]`
      return path === '' ? element : sources[index][path.slice(1)] ?? element
    }
  }
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
export function decodeDataValueSet (body: unknown, mapping: Dhis2Mapping | undefined): Decoded {
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
    items: dataValues,
    indices,
    summary: { received: list.length, ignored },
    locate: (index, path) => `/dataValues/${indices[index]}` + (path === '' ? '' : `/${sources[index][path.slice(1)] ?? path.slice(1)}`)
  }
}
