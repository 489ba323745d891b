// The service seen from the CLI: HTTP with a partner's access token, problem+json turned into ApiError.
import { CliError, type CliIo } from './io.js'
import { readPrivateKey, signClientAssertion, type PartnerKey } from './keys.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const REQUEST_TIMEOUT_MS = 120_000
// Ask for a new token this long before the current one expires.
const TOKEN_MARGIN_S = 30

export interface FieldError { index?: number, line?: number, path?: string, message?: string }

export interface ProblemBody {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: FieldError[]
  errorsOmitted?: number
  [key: string]: unknown
}

/** An answer other than 2xx: the problem+json body when there is one. */
export class ApiError extends Error {
  constructor (readonly status: number, readonly problem: ProblemBody, readonly method: string, readonly path: string) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`)
    this.name = 'ApiError'
  }
}

export interface Credentials { partner: string, keyFile: string, scope?: string }

export interface HubResponse<T = unknown> { status: number, headers: Headers, body: T }

export interface RequestOptions {
  query?: Record<string, string | string[] | undefined>
  json?: unknown
  body?: string | Uint8Array
  contentType?: string
  headers?: Record<string, string>
  accept?: string
  /** Answer the text instead of parsing JSON. */
  text?: boolean
}

export interface HubClient {
  readonly url: string
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<HubResponse<T>>
  /** A valid access token (a new one when the last is about to expire). */
  token (): Promise<string>
  /** The token endpoint as the hub names it: the `aud` of a client assertion. */
  tokenAudience (): Promise<string>
}

export function createClient (io: Pick<CliIo, 'fetch'>, url: string, credentials?: Credentials): HubClient {
  const base = url.replace(/\/+$/, '')
  let key: PartnerKey | undefined
  let current: { token: string, expiresAt: number } | undefined
  let audience: string | undefined

  async function send (method: string, path: string, options: RequestOptions, bearer?: string): Promise<Response> {
    const target = new URL(base + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue
      for (const v of Array.isArray(value) ? value : [value]) target.searchParams.append(name, v)
    }
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...options.headers }
    let body: string | Uint8Array | undefined = options.body
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers['content-type'] = 'application/json'
    } else if (body !== undefined && options.contentType) {
      headers['content-type'] = options.contentType
    }
    if (bearer) headers.authorization = `Bearer ${bearer}`
    try {
      return await io.fetch(target, { method, headers, body: body as BodyInit | undefined, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      const why = cause?.code ?? cause?.message ?? (err as Error).message
      throw new CliError(`cannot reach ${base} (${why}): is the service running? (set --url or MHX_URL)`)
    }
  }

  async function tokenAudience (): Promise<string> {
    // The assertion's aud is the hub's token endpoint as the hub names it (its public URL), which
    // may differ from the URL this CLI reaches it by (a proxy, a container port).
    if (audience) return audience
    const res = await send('GET', '/.well-known/oauth-authorization-server', {})
    const metadata = await res.json().catch(() => undefined) as { token_endpoint?: unknown } | undefined
    if (!res.ok || typeof metadata?.token_endpoint !== 'string') {
      throw notAHub(base, `GET /.well-known/oauth-authorization-server answered ${res.status} ${res.headers.get('content-type') ?? ''}`.trim())
    }
    audience = metadata.token_endpoint
    return audience
  }

  async function token (): Promise<string> {
    if (!credentials) throw new CliError('this command needs credentials: --partner ID --key FILE')
    const nowS = Date.now() / 1000
    if (current && current.expiresAt - TOKEN_MARGIN_S > nowS) return current.token
    key ??= await readPrivateKey(credentials.keyFile)
    const assertion = await signClientAssertion(credentials.partner, key, await tokenAudience())
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })
    if (credentials.scope) form.set('scope', credentials.scope)
    const res = await send('POST', '/v1/oauth/token', { body: form.toString(), contentType: 'application/x-www-form-urlencoded' })
    const answer = await res.json().catch(() => ({})) as { access_token?: string, expires_in?: number, error?: string, error_description?: string }
    if (!res.ok || typeof answer.access_token !== 'string') {
      throw new CliError(`token refused for partner "${credentials.partner}": ${answer.error ?? `HTTP ${res.status}`}${answer.error_description ? `: ${answer.error_description}` : ''}`)
    }
    current = { token: answer.access_token, expiresAt: nowS + (answer.expires_in ?? 60) }
    return current.token
  }

  async function request<T> (method: string, path: string, options: RequestOptions = {}): Promise<HubResponse<T>> {
    let res = await send(method, path, options, credentials ? await token() : undefined)
    if (res.status === 401 && credentials) {
      // The token may have been issued under a key since rotated, or simply expired: once more.
      current = undefined
      res = await send(method, path, options, await token())
    }
    const text = await res.text()
    const type = res.headers.get('content-type') ?? ''
    // mhx answers JSON, and every error as problem+json: anything else is some other server at that URL.
    if (!res.ok && !/json/.test(type) && res.status !== 502 && res.status !== 503 && res.status !== 504) {
      throw notAHub(base, `${method} ${path} answered ${res.status} ${type}`.trim())
    }
    if (!res.ok) throw new ApiError(res.status, problemOf(res, text), method, path)
    if (options.text) return { status: res.status, headers: res.headers, body: text as T }
    if (text !== '' && !/json/.test(type)) throw notAHub(base, `${method} ${path} answered ${type || 'no content type'} where JSON was expected`)
    let body: unknown = text
    if (text !== '') body = JSON.parse(text)
    return { status: res.status, headers: res.headers, body: body as T }
  }

  return { url: base, request, token, tokenAudience }
}

function notAHub (base: string, why: string): CliError {
  return new CliError(`${base} is not an mhx hub (${why}): check --url or MHX_URL`)
}

function problemOf (res: Response, text: string): ProblemBody {
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null) return parsed as ProblemBody
  } catch {
    // not JSON: a proxy's error page, say
  }
  return { status: res.status, title: res.statusText, detail: text.slice(0, 500) || res.statusText }
}

/** The problem as lines a person reads: status, detail, then each field error. */
export function describeApiError (err: ApiError, lineOf?: (e: FieldError) => string | undefined): string[] {
  const p = err.problem
  const lines = [`${err.method} ${err.path}: ${err.status} ${p.title ?? ''}${p.detail ? `: ${p.detail}` : ''}`.replace(/ +:/, ':')]
  for (const e of p.errors ?? []) {
    const where = lineOf?.(e) ?? (e.line !== undefined ? `line ${e.line}` : e.index !== undefined ? `record ${e.index}` : undefined)
    lines.push(`  ${where ? `${where}: ` : ''}${e.path ?? ''} ${e.message ?? ''}`.trimEnd())
  }
  if (p.errorsOmitted) lines.push(`  … and ${p.errorsOmitted} more`)
  return lines
}
