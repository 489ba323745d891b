// One answer, three representations: JSON, CSV and SDMX-CSV 2.0 — the same cells in the same order.
import { ABSENT, SDMX_NAME } from './dimensions.js'
import type { AggregateQuery } from './query.js'

/** `primary`: the released count is below k and withheld. */
export type ProtectionMark = 'primary' | null
export interface AnswerCell { key: string[], count: number | null, suppressed: ProtectionMark }

/** The query as answered, with its k, how it was protected, data version time and cells. */
export interface Answer extends AggregateQuery {
  k: number
  disclosure: { method: 'cellkey' | 'none', ptable: string | null }
  lastUpdated: string | null
  /** The country-months of the query that are not published: "not reported" is never read as 0. */
  coverage: Array<{ country: string, period: string, status: 'not_reported' | 'open' }>
  cells: AnswerCell[]
}

export type JsonCell = Record<string, string | number | null>

export function jsonCells (answer: Answer): JsonCell[] {
  return answer.cells.map((cell) => {
    const out: JsonCell = {}
    answer.by.forEach((dim, i) => { out[dim] = cell.key[i] === ABSENT ? null : cell.key[i] })
    out.count = cell.count
    out.suppressed = cell.suppressed
    return out
  })
}

export const FORMATS = {
  json: 'application/json',
  csv: 'text/csv',
  sdmx: 'application/vnd.sdmx.data+csv'
} as const
export type Format = keyof typeof FORMATS

/** The Content-Type of each representation. */
export const CONTENT_TYPE: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  sdmx: 'application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8'
}

/**
 * The representation an Accept header asks for (highest q first, then header order);
 * undefined when none is acceptable (406). No header means JSON.
 */
export function negotiate (accept: string | undefined): Format | undefined {
  if (accept === undefined || accept.trim() === '') return 'json'
  const ranges = accept.split(',').map((part, index) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const p = Object.fromEntries(params.map((kv) => { const [k, v = ''] = kv.split('='); return [k.trim(), v.trim().replace(/^"|"$/g, '')] }))
    const q = p.q === undefined ? 1 : Number(p.q)
    return { type, version: p.version, q: Number.isFinite(q) ? q : 0, index }
  }).filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.index - b.index)
  for (const r of ranges) {
    if (r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') return 'json'
    if (r.type === 'text/csv' || r.type === 'text/*') return 'csv'
    if (r.type === FORMATS.sdmx && (r.version === undefined || r.version === '2.0.0' || r.version === '2.0' || r.version === '2')) return 'sdmx'
  }
  return undefined
}

function field (value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

function lines (rows: string[][]): string {
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n'
}

/** CSV: the `by` columns (absent values empty), then count (empty when suppressed) and suppressed. */
export function toCsv (answer: Answer): string {
  const rows = [[...answer.by, 'count', 'suppressed']]
  for (const cell of answer.cells) {
    rows.push([...cell.key.map((v) => (v === ABSENT ? '' : v)), cell.count === null ? '' : String(cell.count), cell.suppressed ?? ''])
  }
  return lines(rows)
}

export const SDMX_STRUCTURE_ID = 'MHX:MIGRANT_HEALTH(1.0.0)'
const CONF_STATUS: Record<string, string> = { primary: 'A' }

/**
 * SDMX-CSV 2.0: STRUCTURE, STRUCTURE_ID, ACTION, the dimensions (REF_AREA first with the
 * answer's region when `by` has no country), OBS_VALUE and CONF_STATUS (A primary, D secondary, F free).
 */
export function toSdmxCsv (answer: Answer): string {
  const withArea = !answer.by.includes('country')
  const header = ['STRUCTURE', 'STRUCTURE_ID', 'ACTION', ...(withArea ? ['REF_AREA'] : []), ...answer.by.map((d) => SDMX_NAME[d]), 'OBS_VALUE', 'CONF_STATUS']
  const rows = [header]
  for (const cell of answer.cells) {
    rows.push(['dataflow', SDMX_STRUCTURE_ID, 'I', ...(withArea ? [answer.region] : []), ...cell.key,
      cell.count === null ? '' : String(cell.count), cell.suppressed ? CONF_STATUS[cell.suppressed] : 'F'])
  }
  return lines(rows)
}

/** The answer as `format`: JSON (the `by` values as named fields, absent values null), CSV or SDMX-CSV. */
export function render (answer: Answer, format: Format): string {
  if (format === 'csv') return toCsv(answer)
  if (format === 'sdmx') return toSdmxCsv(answer)
  return JSON.stringify({ ...answer, cells: jsonCells(answer) })
}
