// Aggregate intake: ADX documents and DHIS2 dataValueSets turned into data values of
// migrant-health-aggregate, each with the place in the document a fault should name.
// Pure functions (no DB, no HTTP); the reporter's DHIS2 mapping arrives as an argument.
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { problem, type FieldError } from '../problem.js'
import { AGGREGATE_SCHEMA } from './fields.js'

export const ADX_NAMESPACE = 'urn:ihe:qrph:adx:2015'
export const AGGREGATE_VERSION = '1.0.0'
export const AGGREGATE_DEFAULT = { schema: AGGREGATE_SCHEMA, version: AGGREGATE_VERSION }

/** Data values of a document, and where each of their fields came from. */
export interface ImportedDataValues {
  dataValues: Array<Record<string, unknown>>
  /** the document path a fault of data value `index` at field pointer `path` (`/sex`, ``) names */
  locate: (index: number, path: string) => string
}

/** A reporter's DHIS2 ids → mhx dimensions (PUT /v1/mappings/dhis2). */
export interface Dhis2Mapping {
  dataElements: Record<string, Record<string, string>>
  categoryOptionCombos: Record<string, Record<string, string>>
  attributeOptionCombos?: Record<string, Record<string, string>>
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

function refuse (status: 'badRequest' | 'validation', errors: FieldError[], what: string): never {
  const listed = errors.slice(0, 100)
  throw problem(status, `${errors.length} fault${errors.length === 1 ? '' : 's'} in the ${what}; nothing was stored`, {
    errors: listed, ...(errors.length > listed.length ? { errorsOmitted: errors.length - listed.length } : {})
  })
}

// ---- ADX ----

type XmlNode = Record<string, unknown>
const localName = (name: string) => name.slice(name.indexOf(':') + 1)
const GROUP_ATTRIBUTES_IGNORED = new Set(['dataSet', 'completeDate', 'exported'])
const GROUP_ATTRIBUTE: Record<string, string> = { reportingCountry: 'orgUnit', subnationalArea: 'orgUnit' }

/**
 * ADX (IHE QRPH, namespace urn:ihe:qrph:adx:2015): each group has orgUnit (country or sub-national
 * code) and period (YYYY-MM-01/P1M); each dataValue has dataElement (the recordType), value (the
 * count) and the other dimensions as attributes named as in the schema. DOCTYPE and entity
 * declarations are refused before parsing (XXE, entity expansion).
 */
export function parseAdx (text: string): ImportedDataValues {
  const declaration = /<!(DOCTYPE|ENTITY)\b/i.exec(text)
  if (declaration) {
    const line = text.slice(0, declaration.index).split('\n').length
    refuse('badRequest', [{ line, path: `<!${declaration[1].toUpperCase()}>`, message: `XML with a ${declaration[1].toUpperCase()} declaration is refused (external entities, entity expansion): send plain ADX` }], 'ADX document')
  }
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    refuse('badRequest', [{ line: valid.err.line, path: '', message: `not well-formed XML: ${valid.err.msg}` }], 'ADX document')
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    processEntities: false,
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => ['group', 'dataValue'].includes(localName(name))
  })
  const document = parser.parse(text) as XmlNode
  const rootName = Object.keys(document).find((name) => !name.startsWith('?'))
  const root = rootName ? document[rootName] as XmlNode : undefined
  if (!rootName || localName(rootName) !== 'adx' || typeof root !== 'object' || root === null) {
    refuse('badRequest', [{ path: rootName ? `/${rootName}` : '', message: 'the root element must be adx' }], 'ADX document')
  }
  const namespaces = Object.entries(root).filter(([name]) => name === '@xmlns' || name.startsWith('@xmlns:')).map(([, value]) => value)
  if (!namespaces.includes(ADX_NAMESPACE)) {
    refuse('badRequest', [{ path: '/adx/@xmlns', message: `the adx element must be in namespace ${ADX_NAMESPACE}` }], 'ADX document')
  }
  const faults: FieldError[] = []
  const dataValues: Array<Record<string, unknown>> = []
  const places: Array<{ group: number, value: number, fromGroup: Set<string> }> = []
  const groups = Object.entries(root).filter(([name]) => localName(name) === 'group').flatMap(([, list]) => list as XmlNode[])
  groups.forEach((group, g) => {
    const at = `/adx/group[${g + 1}]`
    const common: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(group)) {
      if (!name.startsWith('@') || name.startsWith('@xmlns')) continue
      const attribute = name.slice(1)
      if (GROUP_ATTRIBUTES_IGNORED.has(attribute)) continue
      if (attribute === 'period') {
        const month = /^(\d{4}-(0[1-9]|1[0-2]))-01\/P1M$/.exec(String(value))
        if (month) common.period = month[1]
        else faults.push({ path: `${at}/@period`, message: `period must be a month as YYYY-MM-01/P1M, not ${JSON.stringify(String(value).slice(0, 32))}` })
      } else if (attribute === 'orgUnit') {
        Object.assign(common, placeOf(String(value)))
      } else {
        common[attribute] = String(value)
      }
    }
    if (group['@period'] === undefined) faults.push({ path: `${at}/@period`, message: 'a group needs a period (YYYY-MM-01/P1M)' })
    if (group['@orgUnit'] === undefined) faults.push({ path: `${at}/@orgUnit`, message: 'a group needs an orgUnit (country or sub-national code)' })
    const fromGroup = new Set(Object.keys(common))
    const values = Object.entries(group).filter(([name]) => localName(name) === 'dataValue').flatMap(([, list]) => list as XmlNode[])
    values.forEach((element, v) => {
      const dataValue: Record<string, unknown> = { ...common }
      for (const [name, value] of Object.entries(element)) {
        if (!name.startsWith('@') || name.startsWith('@xmlns')) continue
        const attribute = name.slice(1)
        if (attribute === 'dataElement') dataValue.recordType = value
        else if (attribute === 'value') dataValue.count = countOf(value)
        else dataValue[attribute] = value
      }
      if (element['@dataElement'] === undefined) faults.push({ path: `${at}/dataValue[${v + 1}]/@dataElement`, message: 'a dataValue needs a dataElement (contact or case_notification)' })
      if (element['@value'] === undefined) faults.push({ path: `${at}/dataValue[${v + 1}]/@value`, message: 'a dataValue needs a value (the count)' })
      dataValues.push(dataValue)
      places.push({ group: g + 1, value: v + 1, fromGroup })
    })
  })
  if (faults.length > 0) refuse('validation', faults, 'ADX document')
  if (dataValues.length === 0) refuse('validation', [{ path: '/adx', message: 'the document holds no dataValue' }], 'ADX document')
  return {
    dataValues,
    locate (index, path) {
      const { group, value, fromGroup } = places[index]
      const field = path.slice(1)
      const element = `/adx/group[${group}]/dataValue[${value}]`
      if (field === '') return element
      // a dimension given on the group applies to its data values: the fault names the group's attribute
      if (fromGroup.has(field) || field === 'period') return `/adx/group[${group}]/@${GROUP_ATTRIBUTE[field] ?? field}`
      return `${element}/@${field === 'recordType' ? 'dataElement' : field === 'count' ? 'value' : field}`
    }
  }
}

// ---- DHIS2 dataValueSets ----

const DHIS2_PERIOD = /^(\d{4})(0[1-9]|1[0-2])$/
const ID_KINDS = [
  ['dataElement', 'dataElements'],
  ['categoryOptionCombo', 'categoryOptionCombos'],
  ['attributeOptionCombo', 'attributeOptionCombos']
] as const

/**
 * DHIS2 dataValueSets JSON (`{dataValues: [{dataElement, period: YYYYMM, orgUnit,
 * categoryOptionCombo, attributeOptionCombo?, value}]}`): the dimensions of a data value are the
 * union of the mappings of its ids; an unmapped id, a period that is not a month, or two ids
 * giving one dimension different values is a 422 naming the data value's field.
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
  list.forEach((item: unknown, i) => {
    const at = `/dataValues/${i}`
    const source: Record<string, string> = {}
    const dataValue: Record<string, unknown> = {}
    sources.push(source)
    dataValues.push(dataValue)
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      faults.push({ index: i, path: at, message: 'a data value must be a JSON object' })
      return
    }
    const dv = item as Record<string, unknown>
    const period = DHIS2_PERIOD.exec(String(dv.period ?? ''))
    if (period) dataValue.period = `${period[1]}-${period[2]}`
    else faults.push({ index: i, path: `${at}/period`, message: `period must be a month as YYYYMM, not ${JSON.stringify(String(dv.period ?? '').slice(0, 32))}` })
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
  if (faults.length > 0) refuse('validation', faults, 'dataValueSet')
  return {
    dataValues,
    locate: (index, path) => `/dataValues/${index}` + (path === '' ? '' : `/${sources[index][path.slice(1)] ?? path.slice(1)}`)
  }
}
