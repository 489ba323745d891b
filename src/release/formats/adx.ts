// ADX (IHE QRPH, urn:ihe:qrph:adx:2015) in the shape ADX intake takes, so one hub's answer is another's import,
// and valid against IHE's adx_loose.xsd (docs/formats.md): a group per orgUnit (country, or sub-national area)
// and period (YYYY-MM-01/P1M for a month); a dataValue per released cell with dataElement = its record type
// (an ADX read is split by record type: adxQuery), the other dimensions as attributes named as in the record
// schema (conditionGroup as the answer has it, which migrant-health-aggregate 1.1.0 takes; absent values left
// out), and value = the count. The schema requires a value on every dataValue and a dataValue in every group,
// and allows no annotation on a group: a withheld cell is left out and named in an XML comment of its group,
// a group with nothing released is left out and named in a comment of the document.
import { XMLBuilder } from 'fast-xml-parser'
import { ADX_NAMESPACE } from '../../intake/codecs/adx.js'
import { ABSENT, SDMX_NAME, type Dimension } from '../dimensions.js'
import { badParameter, MAX_BY, type RawAggregateQuery } from '../query.js'
import { periodStart, singleFilter, spanMonths, type Answer } from './answer.js'

export const ADX_DATA_SET = 'MIGRANT_HEALTH'

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true, commentPropName: '#comment' })

/**
 * The query an ADX answer reads: `dataElement` is always a record type, so a read that does not fix one
 * record type (a one-value filter) is split by it (recordType added to `by`). Refused when `by` is full.
 */
export function adxQuery (raw: RawAggregateQuery): RawAggregateQuery {
  const by = raw.by === undefined || raw.by === '' ? [] : raw.by.split(',')
  const oneType = raw.recordType !== undefined && raw.recordType !== '' && !raw.recordType.includes(',')
  if (by.includes('recordType') || oneType) return raw
  if (by.length >= MAX_BY) {
    throw badParameter('by', `an ADX answer is split by recordType (its dataElement), which makes ${by.length + 1} by dimensions, more than ${MAX_BY}: name at most ${MAX_BY - 1}, or filter recordType to one value`)
  }
  return { ...raw, by: [...by, 'recordType'].join(',') }
}

/** Whether an answer has a released count: an ADX document needs one (else the read is 404 no-results). */
export function hasReleasedValue (answer: Answer): boolean {
  return answer.cells.some((cell) => cell.count !== null)
}

/** An ISO 8601 period: the first day of the first month and the length (P1M, P3M, P1Y or P<n>M). */
function adxPeriod (month: string, months: number): string {
  return `${month}-01/${months === 12 ? 'P1Y' : `P${months}M`}`
}

type Attributes = Record<string, string>

/** A data value as `name=value` words, for the comment that names a withheld one. */
const named = (attributes: Attributes) => Object.entries(attributes).map(([name, value]) => `${name.slice(2)}=${value}`).join(' ')

export function toAdx (answer: Answer): string {
  const position = new Map(answer.by.map((d, i) => [d, i] as const))
  const at = (cell: Answer['cells'][number], dim: Dimension) => {
    const i = position.get(dim)
    return i === undefined ? singleFilter(answer, dim) : cell.key[i]
  }
  if (!position.has('recordType') && singleFilter(answer, 'recordType') === undefined) {
    throw new Error('an ADX answer is read by record type (adxQuery)')
  }
  const groups = new Map<string, { attributes: Attributes, dataValue: Attributes[], withheld: string[] }>()
  for (const cell of answer.cells) {
    const area = at(cell, 'subnationalArea')
    const orgUnit = area !== undefined && area !== ABSENT ? area : at(cell, 'country') ?? answer.region
    const label = position.has('period') ? cell.key[position.get('period')!] : singleFilter(answer, 'period')
    const period = label === undefined
      ? adxPeriod(answer.from, spanMonths(answer))
      : adxPeriod(periodStart(label).month, periodStart(label).months)
    const key = `${orgUnit} ${period}`
    let group = groups.get(key)
    if (!group) groups.set(key, group = { attributes: { '@_orgUnit': orgUnit, '@_period': period, '@_dataSet': ADX_DATA_SET }, dataValue: [], withheld: [] })

    const recordType = at(cell, 'recordType')!
    const value: Attributes = { '@_dataElement': recordType }
    for (const dim of Object.keys(SDMX_NAME) as Dimension[]) {
      if (dim === 'period' || dim === 'country' || dim === 'subnationalArea' || dim === 'recordType') continue
      const code = at(cell, dim)
      if (code !== undefined && code !== ABSENT) value[`@_${dim}`] = code
    }
    if (cell.count === null) group.withheld.push(named(value))
    else group.dataValue.push({ ...value, '@_value': String(cell.count) })
  }
  const notReleased = `not released (count below k = ${answer.k})`
  const released = [...groups.values()].filter((g) => g.dataValue.length > 0)
  const leftOut = [...groups.values()].filter((g) => g.dataValue.length === 0)
  const adx: Record<string, unknown> = {
    '@_xmlns': ADX_NAMESPACE,
    '@_exported': answer.lastUpdated ?? `${answer.from}-01T00:00:00.000Z`,
    // ADX lets a message carry attributes of its own: how the counts were protected.
    '@_disclosure': answer.disclosure.method,
    ...(answer.disclosure.ptable ? { '@_ptable': answer.disclosure.ptable } : {}),
    '@_k': String(answer.k),
    group: released.map((g) => ({
      ...g.attributes,
      ...(g.withheld.length > 0 ? { '#comment': g.withheld.map((w) => ` ${notReleased}: ${w} `) } : {}),
      dataValue: g.dataValue
    })),
    ...(leftOut.length > 0
      ? { '#comment': leftOut.flatMap((g) => g.withheld.map((w) => ` ${notReleased}: ${named(g.attributes)} ${w} `)) }
      : {})
  }
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, adx }) as string
}
