// ADX (IHE QRPH, namespace urn:ihe:qrph:adx:2015) in: the one reader of ADX documents (saxes, a
// streaming parser that checks well-formedness as it goes), and the decoder of ADX in mhx's own
// codes. DHIS2's ADX exports are read by the same reader, through a mapping (dhis2.ts).
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import type { FieldError } from '../../problem.js'
import { refuse, textOf, type Decoded } from './index.js'

export const ADX_NAMESPACE = 'urn:ihe:qrph:adx:2015'
export const ADX_FAULT = 'ADX document'

/** An element of an ADX document: its attributes (namespace declarations included; no prototype) and its line. */
export interface AdxElement { attributes: Readonly<Record<string, string>>, line: number }
export interface AdxDataValue extends AdxElement {
  /** holds an annotation element: a protected cell of another hub's answer when it has no value */
  annotated: boolean
}
export interface AdxGroup extends AdxElement { dataValues: AdxDataValue[] }

class RootFault extends Error {
  constructor (readonly fault: FieldError) { super(fault.message) }
}

/**
 * The groups and data values of an ADX document. DOCTYPE and entity declarations are refused
 * before parsing (external entities, entity expansion); an undefined entity is a fault of the
 * parser. Every fault names the line.
 */
export function readAdx (text: string): AdxGroup[] {
  const declaration = /<!(DOCTYPE|ENTITY)\b/i.exec(text)
  if (declaration) {
    const line = text.slice(0, declaration.index).split('\n').length
    refuse('badRequest', [{ line, path: `<!${declaration[1].toUpperCase()}>`, message: `XML with a ${declaration[1].toUpperCase()} declaration is refused (external entities, entity expansion): send plain ADX` }], ADX_FAULT)
  }
  // namespaces are resolved for the root only: saxes's own resolution builds an object per attribute
  const parser = new SaxesParser<{ xmlns: false, position: true }>({ xmlns: false, position: true })
  const groups: AdxGroup[] = []
  let rooted = false
  // depth 1 is the root, 2 its groups, 3 their data values, 4 what a data value holds
  let depth = 0
  let group: AdxGroup | undefined
  let dataValue: AdxDataValue | undefined
  // the line a tag starts on (opentag comes at its end, which may be lines later); opentagstart
  // comes after the character that ends the name, so a name ending a line has moved to the next
  let line = 1
  parser.on('opentagstart', () => { line = parser.columnIndex === 0 ? parser.line - 1 : parser.line })
  parser.on('opentag', (tag: SaxesTagPlain) => {
    depth++
    const { name, attributes } = tag
    const local = name.slice(name.indexOf(':') + 1)
    if (depth === 1) {
      rooted = true
      const prefix = name.length > local.length ? name.slice(0, name.length - local.length - 1) : ''
      if (local !== 'adx') throw new RootFault({ line, path: `/${name}`, message: 'the root element must be adx' })
      if (attributes[prefix === '' ? 'xmlns' : `xmlns:${prefix}`] !== ADX_NAMESPACE) throw new RootFault({ line, path: '/adx/@xmlns', message: `the adx element must be in namespace ${ADX_NAMESPACE}` })
    } else if (depth === 2 && local === 'group') {
      groups.push(group = { attributes, line, dataValues: [] })
    } else if (depth === 3 && group && local === 'dataValue') {
      group.dataValues.push(dataValue = { attributes, line, annotated: false })
    } else if (depth === 4 && dataValue && local === 'annotation') {
      dataValue.annotated = true
    }
  })
  parser.on('closetag', () => {
    if (depth === 2) group = undefined
    if (depth === 3) dataValue = undefined
    depth--
  })
  parser.on('doctype', () => { throw new Error('a DOCTYPE is refused') })
  try {
    parser.write(text).close()
  } catch (err) {
    if (err instanceof RootFault) refuse('badRequest', [err.fault], ADX_FAULT)
    // saxes's messages start with "line:column: "; the line goes in its own member
    const message = (err as Error).message.replace(/^[^:]*:?\d+:\d+: /, '')
    refuse('badRequest', [{ line: parser.line, path: '', message: `not well-formed XML: ${message}` }], ADX_FAULT)
  }
  if (!rooted) refuse('badRequest', [{ line: parser.line, path: '', message: 'not well-formed XML: no root element' }], ADX_FAULT)
  return groups
}

// ---- what the ADX decoders share (this one and DHIS2's) ----

const COUNTRY = /^[A-Z]{3}$/
const INTEGER = /^-?\d{1,15}$/

/** An orgUnit's place: a country (alpha-3) or a first-level sub-national area. */
export function placeOf (orgUnit: string): Record<string, string> {
  return COUNTRY.test(orgUnit) ? { reportingCountry: orgUnit } : { subnationalArea: orgUnit }
}

/** Counts arrive as text in XML and DHIS2; a non-integer stays as sent so the schema names it. */
export function countOf (value: unknown): unknown {
  return typeof value === 'string' && INTEGER.test(value.trim()) ? Number(value.trim()) : value
}

/** Namespace declarations are no dimensions. */
export function isNamespaceDeclaration (attribute: string): boolean {
  return attribute === 'xmlns' || attribute.startsWith('xmlns:')
}

/**
 * A dataValue without a value but with an annotation is a cell another hub did not release (ADX
 * out): it is no count, so it is skipped, never read as zero.
 */
export function isProtected (dataValue: AdxDataValue): boolean {
  return dataValue.annotated && dataValue.attributes.value === undefined
}

const ADX_MONTH = /^(\d{4}-(0[1-9]|1[0-2]))-01\/P1M$/
// ADX periods by their duration (DHIS2 writes weeks as P7D)
const ADX_PERIOD_KINDS: Array<[RegExp, string]> = [
  [/\/P1D$/, 'daily'], [/\/P(7D|1W)$/, 'weekly'], [/\/P14D$/, 'bi-weekly'], [/\/P2M$/, 'bi-monthly'],
  [/\/P3M$/, 'quarterly'], [/\/P6M$/, 'six-monthly'], [/\/P(1Y|12M)$/, 'yearly']
]

/** Why a period is refused: what it is, when recognised, and that only months are exchanged. */
export function notMonthly (period: string, kinds: Array<[RegExp, string]>, format: string): string {
  const kind = kinds.find(([pattern]) => pattern.test(period))?.[1]
  const named = JSON.stringify(period.slice(0, 32))
  return `period ${named} is ${kind === undefined ? 'not a month' : kind}: mhx exchanges only monthly data sets, each period a month as ${format}`
}

/** A group's month (YYYY-MM), or a fault naming its period attribute. */
export function groupPeriod (group: AdxGroup, at: string, faults: FieldError[]): string | undefined {
  const period = group.attributes.period
  if (period === undefined) {
    faults.push({ line: group.line, path: `${at}/@period`, message: 'a group needs a period (YYYY-MM-01/P1M)' })
    return undefined
  }
  const month = ADX_MONTH.exec(period)
  if (!month) faults.push({ line: group.line, path: `${at}/@period`, message: notMonthly(period, ADX_PERIOD_KINDS, 'YYYY-MM-01/P1M, e.g. 2026-03-01/P1M') })
  return month?.[1]
}

/** Where each data value of a decoded list sits: its group and dataValue (1-based) and line. */
export class AdxPlaces {
  readonly groups: number[] = []
  readonly values: number[] = []
  readonly lines: number[] = []
  add (group: number, value: number, line: number): void {
    this.groups.push(group)
    this.values.push(value)
    this.lines.push(line)
  }
}

// ---- ADX in mhx's codes ----

// an attribute is a field of its own, whatever its name: `__proto__` too, for the schema to refuse
function setField (object: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
  else object[name] = value
}

const GROUP_ATTRIBUTES_IGNORED = new Set(['dataSet', 'completeDate', 'exported'])
const GROUP_ATTRIBUTE: Record<string, string> = { reportingCountry: 'orgUnit', subnationalArea: 'orgUnit' }

/**
 * ADX in mhx's own codes: each group has orgUnit (country or sub-national code) and period
 * (YYYY-MM-01/P1M); each dataValue has dataElement (the recordType), value (the count) and the
 * other dimensions as attributes named as in the schema; an attribute of a group is a dimension of
 * its data values, which a dataValue's own attribute overrides. A dataValue without a value but
 * with an annotation (a protected cell) is skipped.
 */
export function decode (body: { bytes: Buffer }): Decoded {
  const groups = readAdx(textOf(body))
  const faults: FieldError[] = []
  const items: Array<Record<string, unknown>> = []
  const places = new AdxPlaces()
  const fromGroups: Array<Set<string>> = []
  groups.forEach((group, g) => {
    const at = `/adx/group[${g + 1}]`
    const common: Record<string, unknown> = {}
    const period = groupPeriod(group, at, faults)
    if (period !== undefined) common.period = period
    for (const name in group.attributes) {
      if (GROUP_ATTRIBUTES_IGNORED.has(name) || name === 'period' || isNamespaceDeclaration(name)) continue
      if (name === 'orgUnit') Object.assign(common, placeOf(group.attributes.orgUnit))
      else setField(common, name, group.attributes[name])
    }
    if (group.attributes.orgUnit === undefined) faults.push({ line: group.line, path: `${at}/@orgUnit`, message: 'a group needs an orgUnit (country or sub-national code)' })
    fromGroups.push(new Set(Object.keys(common)))
    group.dataValues.forEach((element, v) => {
      if (isProtected(element)) return
      // the group's dimensions, then the dataValue's attributes (one named as a dimension of the group overrides it in its place)
      const dataValue: Record<string, unknown> = {}
      for (const name in common) setField(dataValue, name, common[name])
      const { attributes } = element
      for (const name in attributes) {
        if (isNamespaceDeclaration(name)) continue
        if (name === 'dataElement') dataValue.recordType = attributes[name]
        else if (name === 'value') dataValue.count = countOf(attributes[name])
        else setField(dataValue, name, attributes[name])
      }
      if (attributes.dataElement === undefined) faults.push({ line: element.line, path: `${at}/dataValue[${v + 1}]/@dataElement`, message: 'a dataValue needs a dataElement (contact or case_notification)' })
      if (attributes.value === undefined) faults.push({ line: element.line, path: `${at}/dataValue[${v + 1}]/@value`, message: 'a dataValue needs a value (the count), or an annotation when it is a protected cell' })
      items.push(dataValue)
      places.add(g + 1, v + 1, element.line)
    })
  })
  if (places.lines.length === 0 && faults.length === 0) {
    const skipped = groups.some((g) => g.dataValues.length > 0)
    faults.push({ path: '/adx', message: skipped ? 'every dataValue of the document is protected (an annotation, no value): nothing to count' : 'the document holds no dataValue' })
  }
  if (faults.length > 0) refuse('validation', faults, ADX_FAULT)
  return {
    items,
    lines: places.lines,
    locate (index, path) {
      const group = places.groups[index]
      const element = `/adx/group[${group}]/dataValue[${places.values[index]}]`
      const field = path.slice(1)
      if (field === '') return element
      // a dimension given on the group applies to its data values: the fault names the group's attribute
      if (fromGroups[group - 1].has(field) || field === 'period') return `/adx/group[${group}]/@${GROUP_ATTRIBUTE[field] ?? field}`
      return `${element}/@${field === 'recordType' ? 'dataElement' : field === 'count' ? 'value' : field}`
    }
  }
}
