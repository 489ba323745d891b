// One answer, five representations (one module each): JSON, CSV, SDMX-CSV 2.0, FHIR R4 MeasureReport and ADX.
import type { Answer } from './answer.js'
import { toAdx } from './adx.js'
import { toCsv } from './csv.js'
import { toMeasureReport } from './fhir.js'
import { toJson } from './json.js'
import type { Language, Names } from './names.js'
import { toSdmxCsv } from './sdmx.js'

export type { Answer, AnswerCell, Disclosure } from './answer.js'
export { LANGUAGES, loadNames, type Language, type Names } from './names.js'

export const FORMATS = {
  json: 'application/json',
  csv: 'text/csv',
  sdmx: 'application/vnd.sdmx.data+csv',
  fhir: 'application/fhir+json',
  adx: 'application/adx+xml'
} as const
export type Format = keyof typeof FORMATS

/** The Content-Type of each representation. */
export const CONTENT_TYPE: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  sdmx: 'application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8',
  fhir: 'application/fhir+json; fhirVersion=4.0; charset=utf-8',
  adx: 'application/adx+xml; charset=utf-8'
}

/**
 * The representation an Accept header asks for (highest q first, then header order);
 * undefined when none is acceptable (406). No header means JSON.
 */
export function negotiate (accept: string | undefined): Format | undefined {
  if (accept === undefined || accept.trim() === '') return 'json'
  for (const r of mediaRanges(accept)) {
    if (r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') return 'json'
    if (r.type === 'text/csv' || r.type === 'text/*') return 'csv'
    if (r.type === FORMATS.sdmx && isSdmx2(r)) return 'sdmx'
    // application/json+fhir is the media type of FHIR releases before R4, still sent by some clients.
    if ((r.type === FORMATS.fhir || r.type === 'application/json+fhir') && (r.fhirVersion === undefined || r.fhirVersion.startsWith('4.0'))) return 'fhir'
    if (r.type === FORMATS.adx) return 'adx'
  }
  return undefined
}

export interface MediaRange { type: string, version?: string, fhirVersion?: string, q: number }

/** The media ranges of an Accept header that accept something (q > 0), highest q first, then in header order. */
export function mediaRanges (accept: string): MediaRange[] {
  return accept.split(',').map((part, index) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const p = Object.fromEntries(params.map((kv) => { const [k, v = ''] = kv.split('='); return [k.trim(), v.trim().replace(/^"|"$/g, '')] }))
    const q = p.q === undefined ? 1 : Number(p.q)
    return { type, version: p.version, fhirVersion: p.fhirversion, q: Number.isFinite(q) ? q : 0, index }
  }).filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.index - b.index)
}

/** SDMX 2.0 media types name version 2.0.0 (or 2.0, 2), or none. */
export const isSdmx2 = (r: MediaRange) => r.version === undefined || r.version === '2.0.0' || r.version === '2.0' || r.version === '2'

export interface RenderOptions {
  /** Names of codes (labels) and of dimensions. */
  names: Names
  /** The service's public URL: FHIR canonical URLs and code systems live under it. */
  publicUrl: string
  /** With ?labels=: names beside codes (JSON, CSV; FHIR displays). */
  labels?: Language
}

/** The answer as `format`. */
export function render (answer: Answer, format: Format, options: RenderOptions): string {
  switch (format) {
    case 'csv': return toCsv(answer, options.names, options.labels)
    case 'sdmx': return toSdmxCsv(answer)
    case 'fhir': return JSON.stringify(toMeasureReport(answer, options.publicUrl, options.names, options.labels))
    case 'adx': return toAdx(answer)
    default: return toJson(answer, options.names, options.labels)
  }
}
