// Submission bodies as they arrive: the accepted media types, gzip undone as a stream under a
// size cap (a bomb is stopped after `limit` bytes, never inflated whole), the body's UTF-8 text
// read a piece at a time (Utf8Body; JSON by parseJsonPieces), and the JSON parser that names the
// line of a syntax error.
import { isAscii, isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
import type { JsonCuts } from '../json-depth.js'
import { problem } from '../problem.js'

export const SUBMISSION_MEDIA_TYPES = ['application/json', 'application/x-ndjson', 'text/csv', 'application/adx+xml'] as const
export type SubmissionMediaType = typeof SUBMISSION_MEDIA_TYPES[number]

/** Bytes allowed per record in a body: a full JSON record is about 450; CSV and NDJSON are smaller. */
export const BYTES_PER_RECORD = 600
const ENVELOPE_BYTES = 64 * 1024

/** The largest body (after gzip) that can hold `maxRecords` records. */
export function bodyLimitFor (maxRecords: number): number {
  return maxRecords * BYTES_PER_RECORD + ENVELOPE_BYTES
}

export function tooLarge (limit: number, maxRecords: number) {
  return problem('tooLarge', `the body is larger than ${limit} bytes, the limit for ${maxRecords} records (MHX_MAX_RECORDS); split the submission (\`mhx push\` sends a file of any size in batches)`)
}

/** The media type of a request (lower-case, parameters dropped), or undefined without one. */
export function mediaTypeOf (header: string | undefined): string | undefined {
  if (!header) return undefined
  return header.split(';')[0].trim().toLowerCase() || undefined
}

export function assertSubmissionMediaType (header: string | undefined): SubmissionMediaType {
  const type = mediaTypeOf(header)
  if (type && (SUBMISSION_MEDIA_TYPES as readonly string[]).includes(type)) {
    // Only UTF-8 is read: a declared other charset would be misread, so it is refused.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header ?? '')?.[1]?.toLowerCase()
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      throw problem('unsupportedMediaType', `charset ${charset} is not supported; send UTF-8`)
    }
    return type as SubmissionMediaType
  }
  throw problem('unsupportedMediaType', `${type ? `content type ${type} is` : 'a body without a content type is'} not accepted here; send ${SUBMISSION_MEDIA_TYPES.join(', ')}`)
}

/** Counts bytes and fails once more than `limit` went through. */
class ByteLimit extends Transform {
  count = 0
  constructor (private readonly limit: number, private readonly onExceeded: () => Error) { super() }
  override _transform (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length
    if (this.count > this.limit) done(this.onExceeded())
    else done(null, chunk)
  }
}

/**
 * The body stream Fastify should read: as sent, or gunzipped when `Content-Encoding: gzip`,
 * in both cases cut off with a 413 after `limit` bytes. Other encodings are a 415 (RFC 7694).
 * The request itself is never destroyed (the client must still get its answer): it is unpiped
 * and drained, and the 413 closes the connection.
 */
export function decodedBodyStream (payload: Readable, contentEncoding: string | undefined, limit: number, maxRecords: number): Readable {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  const exceeded = () => tooLarge(limit, maxRecords)
  if (encoding !== 'identity' && encoding !== '' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw problem('unsupportedMediaType', `Content-Encoding ${encoding} is not supported; send gzip or no encoding`)
  }
  // The bytes as sent are capped in both cases: compressed data cannot reasonably exceed what it inflates to.
  const encoded = new ByteLimit(limit, exceeded)
  const stopReading = () => {
    payload.unpipe(encoded)
    payload.resume()
  }
  payload.pipe(encoded)
  payload.on('error', (err) => encoded.destroy(err))
  if (encoding === 'identity' || encoding === '') {
    encoded.on('error', stopReading)
    return withEncodedLength(encoded, () => encoded.count)
  }
  const gunzip = createGunzip()
  const out = new ByteLimit(limit, exceeded)
  encoded.pipe(gunzip).pipe(out)
  encoded.on('error', (err) => {
    stopReading()
    gunzip.destroy()
    out.destroy(err)
  })
  gunzip.on('error', (err) => {
    stopReading()
    out.destroy(problem('badRequest', `the body is not valid gzip: ${err.message}`))
  })
  out.on('error', () => {
    // Stop inflating at once: a bomb is never expanded past the limit.
    stopReading()
    encoded.unpipe(gunzip)
    gunzip.destroy()
  })
  return withEncodedLength(out, () => encoded.count)
}

// Fastify compares Content-Length with `receivedEncodedLength` when the body stream was replaced.
function withEncodedLength (stream: Readable, count: () => number): Readable {
  Object.defineProperty(stream, 'receivedEncodedLength', { get: count, enumerable: false })
  return stream
}

/** JSON.parse with a 400 that names the line and column of a syntax error. */
export function parseJsonBody (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    const message = (err as Error).message
    // V8 gives the position of some faults only: the others are found by reading the text again
    const position = /at position (\d+)/.exec(message)?.[1] ?? jsonFaultAt(text)
    // V8 quotes a slice of the input in some messages; keep only the reason.
    const reason = message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '').slice(0, 200)
    if (position === undefined) {
      const line = text.length === 0 ? 1 : undefined
      throw problem('badRequest', `the body is not valid JSON: ${reason}`, { errors: [{ ...(line ? { line } : {}), path: '', message: reason }] })
    }
    const at = Number(position)
    const before = text.slice(0, at)
    const line = before.split('\n').length
    const column = at - before.lastIndexOf('\n')
    throw problem('badRequest', `the body is not valid JSON at line ${line}, column ${column}: ${reason}`, {
      errors: [{ line, path: '', message: `line ${line}, column ${column}: ${reason}` }]
    })
  }
}

/**
 * Where JSON text `text` stops being JSON (the offset of the first character that cannot be
 * there), or undefined when it is JSON. Run only on a text JSON.parse refused, to name its line.
 */
export function jsonFaultAt (text: string): number | undefined {
  let at = 0
  const space = (): void => { while (at < text.length && ' \t\n\r'.includes(text[at])) at++ }
  const fail = (): never => { throw new JsonFault(at) }
  const literal = (word: string): void => { if (text.startsWith(word, at)) at += word.length; else fail() }
  const string = (): void => {
    at++
    for (;;) {
      if (at >= text.length) fail()
      const c = text.charCodeAt(at)
      if (c === 0x22) { at++; return }
      if (c < 0x20) fail()
      if (c === 0x5c) {
        at++
        if (text[at] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail()
          at += 5
        } else if ('"\\/bfnrt'.includes(text[at] ?? 'x')) at++
        else fail()
      } else at++
    }
  }
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 400))
    if (!match) fail()
    at += match![0].length
  }
  const value = (): void => {
    space()
    const c = text[at]
    if (c === '{') {
      at++
      space()
      if (text[at] === '}') { at++; return }
      for (;;) {
        space()
        if (text[at] !== '"') fail()
        string()
        space()
        if (text[at] !== ':') fail()
        at++
        value()
        space()
        if (text[at] === ',') { at++; continue }
        if (text[at] === '}') { at++; return }
        fail()
      }
    } else if (c === '[') {
      at++
      space()
      if (text[at] === ']') { at++; return }
      for (;;) {
        value()
        space()
        if (text[at] === ',') { at++; continue }
        if (text[at] === ']') { at++; return }
        fail()
      }
    } else if (c === '"') string()
    else if (c === 't') literal('true')
    else if (c === 'f') literal('false')
    else if (c === 'n') literal('null')
    else number()
  }
  try {
    value()
    space()
    return at < text.length ? at : undefined
  } catch (err) {
    if (err instanceof JsonFault) return Math.min(err.at, text.length)
    throw err
  }
}

class JsonFault extends Error {
  constructor (readonly at: number) { super('not JSON') }
}

/**
 * A body's bytes known to be UTF-8, read as text a piece at a time. Why pieces: a string of more
 * than 128 KiB is a V8 large object, placed on pages of its own that are mapped afresh for each
 * one and unmapped when it dies; a 1,000-record body (~300 KB) cost ~1.2 µs per record that way,
 * the page faults of copying into new pages, where a piece under that size costs ~0.03 µs.
 */
export class Utf8Body {
  /** where the text starts: after a byte-order mark, which is no part of it */
  readonly start: number
  private constructor (readonly bytes: Buffer, private readonly encoding: 'latin1' | 'utf8') {
    this.start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  }

  /** The body, or undefined when its bytes are not UTF-8. */
  static of (bytes: Buffer): Utf8Body | undefined {
    // ASCII (the common case) is its own Latin-1: a copy, no decoding
    if (isAscii(bytes)) return new Utf8Body(bytes, 'latin1')
    return isUtf8(bytes) ? new Utf8Body(bytes, 'utf8') : undefined
  }

  /** The text of bytes [from, to): both must be at a character's first byte (an ASCII byte is one). */
  text (from: number = this.start, to: number = this.bytes.length): string {
    return this.bytes.toString(this.encoding, from, to)
  }
}

/** Bytes of body text per piece: under V8's large-object size (128 KiB) with room to spare. */
export const TEXT_PIECE_BYTES = 64 * 1024

/**
 * A JSON body's value, its largest array member (a submission's records or data values) parsed a
 * piece at a time where scanJsonBody found cuts, so that no text is a V8 large object (Utf8Body).
 * The same value as JSON.parse of the whole text: each piece must hold one element or more, the
 * rest of the body must parse with the member in its place, and that member must be the one
 * JSON.parse keeps (a name given twice keeps the last). Anything else, a fault included, is parsed
 * whole, for the answer (or the 400 naming the line) the whole text gives.
 */
export function parseJsonPieces (body: Utf8Body, cuts: JsonCuts | undefined): unknown {
  return (cuts && parsedInPieces(body, cuts)) ?? parseJsonBody(body.text())
}

/** The value parsed a piece at a time, or undefined where it must be parsed whole (exported for tests). */
export function parsedInPieces (body: Utf8Body, cuts: JsonCuts): Record<string, unknown> | undefined {
  try {
    const name: unknown = JSON.parse(body.text(cuts.nameFrom, cuts.nameTo))
    if (typeof name !== 'string' || name === '__proto__') return undefined
    // a value no body can hold (it cannot guess it): the member read in pieces is the one kept
    const marker = `\u0000${randomUUID()}`
    const rest: unknown = JSON.parse(body.text(body.start, cuts.open) + JSON.stringify(marker) + body.text(cuts.close + 1))
    if (typeof rest !== 'object' || rest === null || Array.isArray(rest) || !Object.hasOwn(rest, name)) return undefined
    const object = rest as Record<string, unknown>
    if (object[name] !== marker) return undefined
    const elements: unknown[] = []
    let from = cuts.open + 1
    for (const to of [...cuts.cuts, cuts.close]) {
      const piece = JSON.parse(`[${body.text(from, to)}]`) as unknown[]
      if (piece.length === 0) return undefined
      for (const element of piece) elements.push(element)
      from = to + 1
    }
    object[name] = elements
    return object
  } catch {
    return undefined
  }
}
