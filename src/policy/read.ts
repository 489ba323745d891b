// Who may read what, at which k, exactly or protected, from which release. Every route that
// releases a number or says what exists (aggregates, SDMX data, indicators, periods, the regions
// listing, the dashboard through them) asks decideRead and does what the verdict says; nothing
// else decides (docs/architecture.md, "Who may read what").
import type { Grant } from '../auth/directory.js'
import { SCOPE } from '../auth/scopes.js'
import type { Consent, Release, StewardshipState } from '../stewardship/book.js'
import { consentKey } from '../stewardship/book.js'
import { problem, type HttpProblem } from '../problem.js'

export type ConsentMode = 'required' | 'grants'

/** Who reads: the partner as it is now, with the scopes of this request's token. */
export interface PolicyReader {
  partnerId: string
  /** The token's scopes (a token may carry fewer than the partner's roles give). */
  scopes: ReadonlySet<string>
  roles: readonly string[]
  /** The partner's country: it reads it exactly, without grant or consent (a ministry knows its own records). */
  country: string | null
  grants: readonly Grant[]
}

/** A unit of geography: a country (a region of one) or a named region. */
export interface PolicyUnit { code: string, members: readonly string[] }

/**
 * What a read touches, as the query parser saw it: `counts` releases numbers (aggregates,
 * indicators, SDMX data), `periods` only says which country-months are reported and published.
 */
export interface ReadQuery {
  purpose: 'counts' | 'periods'
  unit: PolicyUnit
  /** The countries whose records it counts. */
  counted: readonly string[]
  /** The countries it can single out (by=country or subnationalArea, country or area filters). */
  singledOut: readonly string[]
  /** Its countryOfOrigin filter, if any (the values selected). */
  origin?: readonly string[]
  /** Whether it shows or filters a sensitive dimension (x-mhx-sensitive). */
  sensitive: boolean
}

export interface PolicyState {
  /** Stewards and consents (the stewardship book). */
  stewardship: Pick<StewardshipState, 'stewards' | 'consents'>
  consent: ConsentMode
  hubK: number
  sensitiveK: number
  /** Today, UTC, YYYY-MM-DD: a consent holds through its `until` day. */
  today: string
}

export type Protection = 'cellkey' | 'none'

export interface ReadPermit {
  ok: true
  /** The countries counted, sorted. */
  countries: string[]
  /** The k below which a released count is withheld (1 for an exact read). */
  k: number
  /** How counts leave: exact only when every country counted is the reader's own. */
  protection: Protection
  /** Per country counted: its protection and the release it is read from. */
  byCountry: Record<string, { protection: Protection, release: Release }>
  /** The countries read as their stewards last published them. */
  published: string[]
  /** The grants the read uses (none for an operator's or a steward's read of its own country). */
  units: string[]
}

export type ReadRefusal = { ok: false, detail: string } & (
  | { kind: 'forbidden', scope: string }
  | { kind: 'grantMissing', unit: string, missingGrants: string[] }
  | { kind: 'consentMissing', unit: string, missingConsents: string[] }
  | { kind: 'originFilterRequired', unit: string, countryOfOrigin: string }
)

export type ReadVerdict = ReadPermit | ReadRefusal

/** Whether this consent lets its reader read today. */
export function consentHolds (consent: Consent | undefined, today: string): consent is Consent {
  return consent !== undefined && consent.state === 'granted' && (consent.until === null || consent.until >= today)
}

/** The one read decision. Pure: the same reader, query and state always give the same verdict. */
export function decideRead (reader: PolicyReader, query: ReadQuery, state: PolicyState): ReadVerdict {
  const countries = [...new Set(query.counted)].sort()
  const own = (c: string) => reader.country !== null && c === reader.country
  const allOwn = countries.length > 0 && countries.every(own)

  if (query.purpose === 'periods') {
    if (reader.scopes.has(SCOPE.admin)) return permit(countries, 1, 'none', [], [])
    if (allOwn && query.unit.members.every(own) && (reader.scopes.has(SCOPE.steward) || reader.scopes.has(SCOPE.aggregatesRead))) {
      return permit(countries, 1, 'none', [], [])
    }
  } else if (allOwn && reader.scopes.has(SCOPE.steward)) {
    // A steward reads its own country's working data exactly, without a grant or a consent.
    return permit(countries, 1, 'none', [], [])
  }
  if (!reader.scopes.has(SCOPE.aggregatesRead)) {
    return { ok: false, kind: 'forbidden', scope: SCOPE.aggregatesRead, detail: reader.scopes.has(SCOPE.steward)
      ? `a steward reads only its own country (${reader.country ?? 'none'}) without the scope ${SCOPE.aggregatesRead}`
      : `this read needs the scope ${SCOPE.aggregatesRead}` }
  }

  // The partner's own country needs no grant, whatever grant it may also hold on it: it is read
  // exactly anyway (and the grant-set rule counts it as a granted unit, so no combination with it
  // exposes a neighbour).
  const byUnit = new Map(reader.grants.map((g) => [g.region, g]))
  const units = [...new Set([query.unit.code, ...query.singledOut])].filter((u) => !own(u))
  const missing = units.filter((u) => !byUnit.has(u))
  if (missing.length > 0) {
    const unit = query.unit.code
    return { ok: false, kind: 'grantMissing', unit, missingGrants: missing, detail: missing[0] === unit && !own(unit)
      ? `not allowed to read ${unit}: no grant on ${unit}`
      : `not allowed to read ${unit}: this query singles out countries, and there is no grant on ${missing.join(', ')}` }
  }
  // An origin grant reads the unit's data about one origin's nationals only (which months are
  // reported and published is not about nationals: periods need the grant, not the filter).
  for (const unit of query.purpose === 'counts' ? units : []) {
    const origin = byUnit.get(unit)?.countryOfOrigin
    if (!origin) continue
    if (query.origin === undefined || query.origin.length !== 1 || query.origin[0] !== origin) {
      return { ok: false, kind: 'originFilterRequired', unit, countryOfOrigin: origin,
        detail: `the grant on ${unit} covers nationals of ${origin} only: add countryOfOrigin=${origin}, and no other origin` }
    }
  }

  let k = Math.max(state.hubK, ...units.map((u) => byUnit.get(u)?.k ?? state.hubK), query.sensitive ? state.sensitiveK : state.hubK)
  const release: Record<string, Release> = {}
  const missingConsents: string[] = []
  for (const country of countries) {
    // A country's own partners (its ministry) read it live without asking it; MHX_CONSENT=grants
    // keeps the first wave's rule (grants alone, live).
    if (own(country) || state.consent === 'grants') {
      release[country] = 'live'
      continue
    }
    // A country without a steward can consent to nobody: only its own partners read it.
    const consent = state.stewardship.stewards.has(country) ? state.stewardship.consents.get(consentKey(country, reader.partnerId)) : undefined
    if (!consentHolds(consent, state.today)) {
      missingConsents.push(country)
      continue
    }
    release[country] = consent.release
    if (consent.k !== null) k = Math.max(k, consent.k)
  }
  if (missingConsents.length > 0) {
    const unit = query.unit.code
    return { ok: false, kind: 'consentMissing', unit, missingConsents, detail: `not allowed to read ${unit}: no consent of ${missingConsents.join(', ')} (their stewards decide)` }
  }
  if (allOwn) return permit(countries, 1, 'none', units, [])
  const published = countries.filter((c) => release[c] === 'published')
  return permit(countries, k, 'cellkey', units, published)
}

function permit (countries: string[], k: number, protection: Protection, units: string[], published: string[]): ReadPermit {
  const byCountry: ReadPermit['byCountry'] = {}
  for (const c of countries) byCountry[c] = { protection, release: published.includes(c) ? 'published' : 'live' }
  return { ok: true, countries, k, protection, byCountry, published, units }
}

/** The problem+json a refusal is answered with: its kind names the failure, its members say what is missing. */
export function refusalProblem (refusal: ReadRefusal): HttpProblem {
  switch (refusal.kind) {
    case 'forbidden': return problem('forbidden', refusal.detail, { requiredScope: refusal.scope })
    case 'grantMissing': return problem('grantMissing', refusal.detail, { missingGrants: refusal.missingGrants })
    case 'consentMissing': return problem('consentMissing', refusal.detail, { missingConsents: refusal.missingConsents })
    case 'originFilterRequired': return problem('originFilterRequired', refusal.detail, {
      originRequired: { unit: refusal.unit, countryOfOrigin: refusal.countryOfOrigin },
      errors: [{ path: 'countryOfOrigin', message: `must be exactly ${refusal.countryOfOrigin}` }]
    })
  }
}
