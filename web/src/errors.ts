// Every failure as one sentence a reader can act on, in the page's language: the hub's problem `type` says what
// went wrong (docs: problem types), its members name the countries; the hub's English `detail` is never shown.
import { ApiError } from './api.js'
import { KeyProblem } from './auth.js'
import { countryName, dimensionName, regionLabel, t } from './i18n.js'

function list (codes: unknown): string {
  return Array.isArray(codes) ? codes.map((c) => `${countryName(String(c))} (${String(c)})`).join(', ') : ''
}

/** The last segment of a problem type URI: grant-missing, consent-missing, … */
function kindOf (err: ApiError): string {
  return typeof err.body.type === 'string' ? err.body.type.replace(/\/+$/, '').split('/').pop() ?? '' : ''
}

/** A query parameter a validation problem names, as the form labels it. */
function fieldName (path: string): string {
  const name = path.replace(/^\/?(querystring\/)?/, '').split('/')[0]
  if (name === 'from' || name === 'to' || name === 'region') return t(name)
  if (name === 'by') return t('dimension')
  return dimensionName(name)
}

function unitName (code: string): string {
  return /^[A-Z]{3}$/.test(code) ? countryName(code) : regionLabel(code, code)
}

export function describe (err: unknown): string {
  if (err instanceof KeyProblem) {
    if (err.reason === 'notPrivate') return t('errKeyNotPrivate')
    if (err.reason === 'needsKidAlg') return t('errKeyNeedsKidAlg')
    return t('errBadKeyText')
  }
  if (err instanceof ApiError) {
    if (err.phase === 'network') return t('errNetwork')
    if (err.phase === 'token') {
      if (err.status === 429) return t('errTooMany', { s: err.retryAfter ?? 60 })
      return t('errSignIn')
    }
    const origin = err.body.originRequired as { unit?: string, countryOfOrigin?: string } | undefined
    switch (kindOf(err)) {
      case 'grant-missing': return t('errMissingGrants', { list: list(err.body.missingGrants) })
      case 'consent-missing': return t('errMissingConsents', { list: list(err.body.missingConsents) })
      case 'origin-filter-required': return t('errOriginRequired', { unit: unitName(origin?.unit ?? ''), country: countryName(origin?.countryOfOrigin ?? '') })
      case 'query-budget-exhausted': return t('errBudget')
      case 'rate-limited': return t('errTooMany', { s: err.retryAfter ?? 60 })
      case 'validation':
      case 'malformed-request': {
        const errors = Array.isArray(err.body.errors) ? err.body.errors as Array<{ path?: string }> : []
        const fields = [...new Set(errors.map((e) => fieldName(String(e.path ?? ''))).filter(Boolean))]
        if (/more than \d+ cells/.test(err.message)) return t('errTooLarge')
        return t('errInvalid', { fields: fields.join(', ') || t('show') })
      }
      case 'not-found':
      case 'no-results': return t('notAvailable')
      case 'conflict': return t('errConflict')
    }
    // A hub of an earlier version answers without these types: the status and the members still tell.
    if (err.status === 401) return t('errExpired')
    if (err.status === 403 && Array.isArray(err.body.missingConsents)) return t('errMissingConsents', { list: list(err.body.missingConsents) })
    if (err.status === 403 && Array.isArray(err.body.missingGrants)) return t('errMissingGrants', { list: list(err.body.missingGrants) })
    if (err.status === 403) return t('errForbidden')
    if (err.status === 404) return t('notAvailable')
    if (err.status === 429) return t('errTooMany', { s: err.retryAfter ?? 60 })
    if (err.status >= 500) return t('errServer', { status: err.status })
    return t('errOther', { status: err.status })
  }
  return t('errUnexpected', { why: err instanceof Error ? err.message : String(err) })
}

export function isNotFound (err: unknown): boolean {
  return err instanceof ApiError && err.status === 404
}
