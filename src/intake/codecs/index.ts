// Submission bodies and what a decoder makes of them. The content-type parser hashes the bytes
// as sent (gzip undone) and puts one SubmissionBody on the request; the route hands it to the
// decoder of its format (json, ndjson, csv, adx, dhis2), each `decode(body) → {items, locate}`.
// Decoders are pure: no database, no HTTP; what they need (a schema's fields, a mapping) arrives
// as an argument.
import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import { listedErrors, problem, type FieldError } from '../../problem.js'
import { AGGREGATE_SCHEMA } from '../../model/fields.js'
import type { SubmissionMediaType } from '../body.js'

/** A submission's body: its bytes (gzip undone), their SHA-256 (hex) and the media type it was sent as. */
export class SubmissionBody {
  readonly sha256: string
  constructor (readonly bytes: Buffer, readonly mediaType: SubmissionMediaType) {
    this.sha256 = createHash('sha256').update(bytes).digest('hex')
  }
}

/** The place in the document a fault of item `index` at field pointer `path` (`/sex`, ``) names. */
export type Locate = (index: number, path: string) => string

/** What a decoder makes of a body: the items (records or data values) and where each came from. */
export interface Decoded {
  items: unknown[]
  locate: Locate
  /** the 1-based line of each item, in formats with lines (NDJSON, CSV, ADX) */
  lines?: number[]
  /** DHIS2: the document's index of each item (zeros and deleted values are left out) */
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

// the newest: it takes what the others take, and conditionGroup, as another hub's ADX answer holds it
export const AGGREGATE_VERSION = '1.1.0'
/** The schema ADX and DHIS2 bodies are read as unless ?schema=&version= say otherwise. */
export const AGGREGATE_DEFAULT = { schema: AGGREGATE_SCHEMA, version: AGGREGATE_VERSION }

/** A 400 (the document cannot be read) or 422 (it says something mhx refuses) listing every fault. */
export function refuse (status: 'badRequest' | 'validation', errors: FieldError[], what: string): never {
  throw problem(status, `${errors.length} fault${errors.length === 1 ? '' : 's'} in the ${what}; nothing was stored`, listedErrors(errors))
}

/** The body as text: UTF-8 only (a byte-order mark is dropped); other bytes are a 400 naming the line. */
export function textOf (body: { bytes: Buffer }): string {
  const { bytes } = body
  if (!isUtf8(bytes)) {
    const lossy = new TextDecoder('utf-8').decode(bytes)
    const line = lossy.slice(0, Math.max(lossy.indexOf('\ufffd'), 0)).split('\n').length
    throw problem('badRequest', `the body is not valid UTF-8 (line ${line})`, { errors: [{ line, path: '', message: 'not valid UTF-8' }] })
  }
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
  return bytes.toString('utf8', bom ? 3 : 0)
}
