// The hub's API as the page uses it: one session (partner id, its signing key, an access token in memory),
// tokens renewed before they expire and once after a 401, and errors as values the page can explain.
import { ASSERTION_TYPE, clientAssertion, type SigningKey } from './auth.js'

export class ApiError extends Error {
  constructor (
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly retryAfter: number | null,
    readonly phase: 'token' | 'request' | 'network'
  ) {
    super(String(body.detail ?? body.error_description ?? body.error ?? `HTTP ${status}`))
  }
}

export interface Me { partner: string, roles: string[], scopes: string[], country: string | null }

async function bodyOf (res: Response): Promise<Record<string, unknown>> {
  const text = await res.text()
  try {
    const parsed = JSON.parse(text) as unknown
    return parsed && typeof parsed === 'object' ? parsed as Record<string, unknown> : { detail: text }
  } catch {
    return { detail: text.slice(0, 200) }
  }
}

async function send (input: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init)
  } catch (_err) {
    throw new ApiError(0, {}, null, 'network')
  }
}

async function failure (res: Response, phase: 'token' | 'request'): Promise<ApiError> {
  const retry = Number(res.headers.get('retry-after'))
  return new ApiError(res.status, await bodyOf(res), Number.isFinite(retry) && retry > 0 ? retry : null, phase)
}

/** The hub's token endpoint, as it names itself: the assertion's audience (the page posts to its own origin). */
export async function tokenEndpoint (): Promise<string> {
  const res = await send('/.well-known/oauth-authorization-server', {})
  if (!res.ok) throw await failure(res, 'request')
  return String((await res.json() as { token_endpoint: string }).token_endpoint)
}

export class Session {
  private token: { value: string, expiresAt: number } | null = null

  constructor (readonly partnerId: string, private readonly signing: SigningKey, private readonly audience: string) {}

  /** A new access token from a freshly signed assertion. */
  async signIn (): Promise<void> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(this.partnerId, this.signing, this.audience)
    })
    const res = await send('/v1/oauth/token', { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    if (!res.ok) throw await failure(res, 'token')
    const answer = await res.json() as { access_token: string, expires_in: number }
    this.token = { value: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 }
  }

  private renewing: Promise<void> | null = null

  /** The current token, renewed 30 s before it expires; requests arriving meanwhile share one renewal. */
  private async bearer (): Promise<string> {
    if (!this.token || this.token.expiresAt - Date.now() < 30_000) {
      this.renewing ??= this.signIn().finally(() => { this.renewing = null })
      await this.renewing
    }
    return this.token!.value
  }

  /** A request with the session's token; on a 401 the token is renewed once (an expired or revoked token). */
  async fetch (path: string, init: { method?: string, accept?: string, json?: unknown } = {}): Promise<Response> {
    const attempt = async () => {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.bearer()}`, accept: init.accept ?? 'application/json' }
      if (init.json !== undefined) headers['content-type'] = 'application/json'
      return send(path, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) })
    }
    let res = await attempt()
    if (res.status === 401) {
      this.token = null
      try {
        res = await attempt()
      } catch (err) {
        // The renewal itself failed: the session is over, whatever the token endpoint said.
        if (err instanceof ApiError && err.phase === 'token') throw new ApiError(401, err.body, null, 'request')
        throw err
      }
    }
    if (!res.ok) throw await failure(res, 'request')
    return res
  }

  async json<T> (path: string, init: { method?: string, json?: unknown } = {}): Promise<T> {
    const res = await this.fetch(path, init)
    return (res.status === 204 ? {} : await res.json()) as T
  }

  /** Forgets the token (the key goes with the session object). */
  end (): void {
    this.token = null
  }
}
