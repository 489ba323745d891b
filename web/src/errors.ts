// Every failure as one sentence a reader can act on: never a blank screen or a stack trace.
import { ApiError } from './api.js'
import { KeyProblem } from './auth.js'
import { countryName, t } from './i18n.js'

function list (codes: unknown): string {
  return Array.isArray(codes) ? codes.map((c) => `${countryName(String(c))} (${String(c)})`).join(', ') : ''
}

export function describe (err: unknown): string {
  if (err instanceof KeyProblem) {
    if (err.reason === 'notPrivate') return t('errKeyNotPrivate')
    if (err.reason === 'needsKidAlg') return t('errKeyNeedsKidAlg')
    return t('errBadKeyText', { why: err.message })
  }
  if (err instanceof ApiError) {
    if (err.phase === 'network') return t('errNetwork')
    if (err.phase === 'token') {
      if (err.status === 429) return t('errTooMany', { s: err.retryAfter ?? 60 })
      return t('errSignIn', { why: String(err.body.error_description ?? err.body.error ?? err.status) })
    }
    if (err.status === 401) return t('errExpired')
    if (err.status === 403 && Array.isArray(err.body.missingConsents)) return t('errMissingConsents', { list: list(err.body.missingConsents) })
    if (err.status === 403 && Array.isArray(err.body.missingGrants)) return t('errMissingGrants', { list: list(err.body.missingGrants) })
    if (err.status === 403) return t('errForbidden', { why: err.message })
    if (err.status === 404) return t('notAvailable')
    if (err.status === 429) return t('errTooMany', { s: err.retryAfter ?? 60 })
    if (err.status >= 500) return t('errServer', { status: err.status })
    return t('errOther', { why: err.message })
  }
  return t('errUnexpected', { why: err instanceof Error ? err.message : String(err) })
}

export function isNotFound (err: unknown): boolean {
  return err instanceof ApiError && err.status === 404
}
