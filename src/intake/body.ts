// Submission bodies as they arrive: the accepted media types and gzip undone as a stream under a
// size cap (a bomb is stopped after `limit` bytes, never inflated whole). What the bytes say is
// the codecs' (codecs/).
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { createGunzip } from 'node:zlib'
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
