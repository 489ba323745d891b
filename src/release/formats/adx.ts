// ADX (IHE QRPH, urn:ihe:qrph:adx:2015) in the shape ADX intake takes, so one hub's answer is another's import:
// a group per orgUnit (country, or sub-national area) and period (YYYY-MM-01/P1M for a month); a dataValue per
// cell with dataElement = the record type (contact when the answer does not tell it: 1.0.0 records count
// contacts), the other dimensions as attributes named as in the record schema (conditionGroup as the
// answer has it, which migrant-health-aggregate 1.1.0 takes; absent values left out), and value = the count.
// A protected cell keeps its dataValue without a value and with an annotation: mhx's intake skips it rather
// than reading a zero.
import { XMLBuilder } from 'fast-xml-parser'
import { ADX_NAMESPACE } from '../../intake/adx.js'
import { ABSENT, SDMX_NAME, type Dimension } from '../dimensions.js'
import { periodStart, singleFilter, spanMonths, type Answer } from './answer.js'

/** The record type of a cell whose answer does not hold one (not by recordType, or 1.0.0 records: contacts). */
export const ADX_DATA_ELEMENT = 'contact'
export const ADX_DATA_SET = 'MIGRANT_HEALTH'

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true })

/** An ISO 8601 period: the first day of the first month and the length (P1M, P3M, P1Y or P<n>M). */
function adxPeriod (month: string, months: number): string {
  return `${month}-01/${months === 12 ? 'P1Y' : `P${months}M`}`
}

type Attributes = Record<string, string>

export function toAdx (answer: Answer): string {
  const position = new Map(answer.by.map((d, i) => [d, i] as const))
  const at = (cell: Answer['cells'][number], dim: Dimension) => {
    const i = position.get(dim)
    return i === undefined ? singleFilter(answer, dim) : cell.key[i]
  }
  const groups = new Map<string, { attributes: Attributes, dataValue: Array<Record<string, unknown>> }>()
  for (const cell of answer.cells) {
    const area = at(cell, 'subnationalArea')
    const orgUnit = area !== undefined && area !== ABSENT ? area : at(cell, 'country') ?? answer.region
    const label = position.has('period') ? cell.key[position.get('period')!] : singleFilter(answer, 'period')
    const period = label === undefined
      ? adxPeriod(answer.from, spanMonths(answer))
      : adxPeriod(periodStart(label).month, periodStart(label).months)
    const key = `${orgUnit} ${period}`
    let group = groups.get(key)
    if (!group) groups.set(key, group = { attributes: { '@_orgUnit': orgUnit, '@_period': period, '@_dataSet': ADX_DATA_SET }, dataValue: [] })

    const recordType = at(cell, 'recordType')
    const value: Record<string, unknown> = { '@_dataElement': recordType !== undefined && recordType !== ABSENT ? recordType : ADX_DATA_ELEMENT }
    for (const dim of Object.keys(SDMX_NAME) as Dimension[]) {
      if (dim === 'period' || dim === 'country' || dim === 'subnationalArea' || dim === 'recordType') continue
      const code = at(cell, dim)
      if (code !== undefined && code !== ABSENT) value[`@_${dim}`] = code
    }
    if (cell.count === null) value.annotation = `not released: count below k (${answer.k})`
    else value['@_value'] = String(cell.count)
    group.dataValue.push(value)
  }
  const adx: Record<string, unknown> = {
    '@_xmlns': ADX_NAMESPACE,
    '@_exported': answer.lastUpdated ?? `${answer.from}-01T00:00:00.000Z`,
    // ADX lets a message carry attributes of its own: how the counts were protected.
    '@_disclosure': answer.disclosure.method,
    ...(answer.disclosure.ptable ? { '@_ptable': answer.disclosure.ptable } : {}),
    '@_k': String(answer.k),
    group: [...groups.values()].map((g) => ({ ...g.attributes, dataValue: g.dataValue }))
  }
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, adx }) as string
}
