// HTTP conventions every route follows: ETag / If-None-Match, compression, CORS, Retry-After, 414 and 431
// as problem+json, and the pages that problem `type` URIs point at.
import { createHash } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import compress from '@fastify/compress'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../config.js'
import { Problem, PROBLEM_CONTENT_TYPE, PROBLEM_PAGES, problem, problemFor } from '../problem.js'

/** Longer request targets are refused with 414 (Node refuses a request line + headers over 16 KiB with 431). */
export const MAX_URI_LENGTH = 8192
/** Smaller answers are sent uncompressed (the bytes saved do not pay for the work). */
export const COMPRESSION_THRESHOLD = 1024
/** Seconds a client should wait after a 503 or a 429 (unless the refusal said otherwise). */
export const RETRY_AFTER_S = { 503: 5, 429: 60 } as const

/** A problem made absolute: its `type` a URL of this hub (a page that explains it), its `instance` the request id. */
export function absoluteProblem (body: Problem, publicUrl: string, requestId: string): Problem {
  return { ...body, type: body.type.startsWith('/') ? `${publicUrl}${body.type}` : body.type, instance: requestId }
}

/** Faults the HTTP parser meets before Fastify sees a request (headers too large, malformed), as problem+json. */
export function clientErrorHandler (publicUrl: string) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    const detail = status === 431
      ? 'the request headers are larger than this hub accepts (16 KiB in all)'
      : status === 408 ? 'the request took too long to arrive' : 'the request is not valid HTTP'
    const body = JSON.stringify(absoluteProblem(problemFor(status, detail), publicUrl, 'none'))
    this.log.trace({ err }, 'client error')
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroy(err)
  }
}

/** True when an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2), or is `*`. */
export function noneMatch (header: string | undefined, etag: string): boolean {
  if (!header) return false
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag))
}

/** The weak tag of a representation: a hash of its bytes before any content coding. */
export function weakEtag (payload: string | Buffer): string {
  return `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`
}

type Coding = 'br' | 'gzip'

/**
 * An answer many reads send unchanged (a cached aggregates answer): its tag and its compressed
 * forms are made once, by its first reader in each coding, instead of on every send. Issue 13:
 * content negotiation and compression must cost the cached read path at most 10 % of its rate.
 */
export interface Representation { readonly body: string, readonly etag: string, readonly coded: Map<Coding, Buffer> }

export function representation (body: string): Representation {
  return { body, etag: weakEtag(body), coded: new Map() }
}

const codings = new Map<string, Coding | null>()

/** br, else gzip, when Accept-Encoding accepts it (q > 0, by name or `*`); null: send it as it is. */
export function preferredCoding (header: string | undefined): Coding | null {
  if (!header) return null
  let coding = codings.get(header)
  if (coding !== undefined) return coding
  const q = new Map<string, number>()
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim())
    const weight = params.find((p) => p.startsWith('q='))
    q.set(name, weight === undefined ? 1 : Number(weight.slice(2)) || 0)
  }
  const accepts = (name: string) => (q.get(name) ?? q.get('*') ?? 0) > 0
  coding = accepts('br') ? 'br' : accepts('gzip') ? 'gzip' : null
  // Clients send few distinct headers; the bound only keeps a hostile client from growing it.
  if (codings.size >= 256) codings.clear()
  codings.set(header, coding)
  return coding
}

/** Sends a cached representation: its tag (304 on a match), compressed once per coding when large enough. */
export function sendRepresentation (request: FastifyRequest, reply: FastifyReply, rep: Representation): FastifyReply {
  void reply.header('etag', rep.etag)
  const coding = Buffer.byteLength(rep.body) >= COMPRESSION_THRESHOLD ? preferredCoding(request.headers['accept-encoding']) : null
  if (coding === null || noneMatch(request.headers['if-none-match'], rep.etag)) return reply.send(rep.body)
  let coded = rep.coded.get(coding)
  if (coded === undefined) {
    coded = coding === 'br'
      ? brotliCompressSync(rep.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } }) // @fastify/compress's default
      : gzipSync(rep.body)
    rep.coded.set(coding, coded)
  }
  // A content-encoding already set makes @fastify/compress pass the bytes through.
  return reply.header('content-encoding', coding).send(coded)
}

export async function httpConventions (app: FastifyInstance, config: Config): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if ((request.raw.url ?? '').length > MAX_URI_LENGTH) throw problem('uriTooLong', `the request target is longer than ${MAX_URI_LENGTH} characters: put long filter lists in fewer, wider filters`)
  })

  // A weak tag of the bytes sent: any change of data, query, k, format or language changes it. Hashed here rather
  // than with @fastify/etag, which tags every answer (errors and POSTs included) and answers 304 to any method.
  // Registered before compression, so the tag is of the representation, whatever its transfer encoding.
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode
    if (status === 429 || status === 503) {
      if (!reply.hasHeader('retry-after')) void reply.header('retry-after', String(RETRY_AFTER_S[status]))
      return payload
    }
    if ((request.method !== 'GET' && request.method !== 'HEAD') || status !== 200) return payload
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
    const etag = reply.getHeader('etag') as string | undefined ?? weakEtag(payload)
    void reply.header('etag', etag)
    if (noneMatch(request.headers['if-none-match'], etag)) {
      void reply.code(304)
      return ''
    }
    return payload
  })

  await app.register(compress, {
    globalDecompression: false, // submissions undo gzip themselves: their receipts hash the bytes as sent
    threshold: COMPRESSION_THRESHOLD,
    customTypes: /^text\/|[/+]json(?:;|$)|[/+]xml(?:;|$)|[/+]csv(?:;|$)/
  })

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'content-encoding', 'accept', 'accept-language', 'idempotency-key', 'if-none-match', 'x-request-id'],
      exposedHeaders: ['etag', 'location', 'retry-after', 'x-request-id', 'idempotent-replayed', 'last-modified', 'content-disposition'],
      maxAge: 600,
      strictPreflight: true
    })
  }

  app.get('/problems/:kind', {
    schema: {
      tags: ['ops'], operationId: 'getProblemType', summary: 'What a problem type means (problem `type` URIs point here)',
      params: Type.Object({ kind: Type.String({ maxLength: 64 }) }),
      response: {
        200: { description: 'An HTML page, or JSON with Accept: application/json', content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: Type.Object({ type: Type.String(), title: Type.String(), status: Type.Integer(), description: Type.String() }) } } },
        404: Problem
      }
    }
  }, async (request, reply) => {
    const { kind } = request.params as { kind: string }
    const page = Object.hasOwn(PROBLEM_PAGES, kind) ? PROBLEM_PAGES[kind] : undefined
    if (!page) throw problem('notFound', `no problem type ${kind}`)
    void reply.header('cache-control', 'public, max-age=86400').header('vary', 'accept')
    const type = `${config.publicUrl}/problems/${kind}`
    if (/\bapplication\/(?:problem\+)?json\b/.test(request.headers.accept ?? '')) {
      return reply.type('application/json').send({ type, title: page.title, status: page.status, description: page.description })
    }
    return reply.type('text/html; charset=utf-8').send(problemPage(type, page))
  })
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function problemPage (type: string, page: { title: string, status: number, description: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${page.status} ${escapeHtml(page.title)} — mhx</title></head>
<body><h1>${page.status} ${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.description)}</p>
<p>Problem type <code>${escapeHtml(type)}</code>: answers of this kind are <code>application/problem+json</code> (RFC 9457); their <code>detail</code> says what went wrong, <code>errors</code> name the fields, and <code>instance</code> is the request id to quote when asking for help.</p>
</body></html>
`
}
