// RFC 9457 problem details: every error the API answers (but the token endpoint's RFC 6749 ones).
import type { ErrorObject } from 'ajv'
import { Type, type Static, type TSchema } from 'typebox'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export const FieldError = Type.Object({
  index: Type.Optional(Type.Integer({ description: '0-based index of the record, for record faults' })),
  line: Type.Optional(Type.Integer({ description: '1-based line of a CSV or NDJSON body' })),
  path: Type.String({ description: 'JSON pointer (or parameter name) of the faulty value' }),
  message: Type.String()
})
export type FieldError = Static<typeof FieldError>

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(FieldError)),
  errorsOmitted: Type.Optional(Type.Integer())
}, { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details' })
export type Problem = Static<typeof Problem>

/**
 * Stable problem types, one per kind of failure (not per HTTP status: a client tells a missing grant
 * from a missing consent by `type` alone), relative to the service's URL (answers make them
 * absolute; each is explained at its URI).
 */
export const PROBLEM_TYPES = {
  badRequest: '/problems/malformed-request',
  validation: '/problems/validation',
  unauthorized: '/problems/unauthenticated',
  forbidden: '/problems/scope-missing',
  notOwner: '/problems/not-owner',
  grantMissing: '/problems/grant-missing',
  consentMissing: '/problems/consent-missing',
  originFilterRequired: '/problems/origin-filter-required',
  notFound: '/problems/not-found',
  noResults: '/problems/no-results',
  conflict: '/problems/conflict',
  grantSetExposesCountry: '/problems/grant-set-exposes-country',
  tooLarge: '/problems/body-too-large',
  unsupportedMediaType: '/problems/unsupported-media-type',
  notAcceptable: '/problems/not-acceptable',
  timeout: '/problems/request-timeout',
  uriTooLong: '/problems/uri-too-long',
  headersTooLarge: '/problems/headers-too-large',
  tooManyRequests: '/problems/rate-limited',
  queryBudgetExhausted: '/problems/query-budget-exhausted',
  indicatorUnknown: '/problems/indicator-unknown',
  populationUnknown: '/problems/population-unknown',
  denominatorInvalid: '/problems/denominator-invalid',
  yearInFuture: '/problems/year-in-future',
  notCountrySteward: '/problems/not-country-steward',
  unavailable: '/problems/unavailable',
  internal: '/problems/internal'
} as const
export type ProblemKind = keyof typeof PROBLEM_TYPES

const TITLES: Record<ProblemKind, string> = {
  badRequest: 'Malformed request',
  validation: 'Invalid content',
  unauthorized: 'Not authenticated',
  forbidden: 'Scope missing',
  notOwner: 'Not the owner',
  grantMissing: 'Grant missing',
  consentMissing: 'Consent missing',
  originFilterRequired: 'Origin filter required',
  notFound: 'Not found',
  noResults: 'No results',
  conflict: 'Conflict',
  grantSetExposesCountry: 'Grant set exposes a country',
  tooLarge: 'Body too large',
  unsupportedMediaType: 'Unsupported media type',
  notAcceptable: 'Not acceptable',
  timeout: 'Request timeout',
  uriTooLong: 'URI too long',
  headersTooLarge: 'Headers too large',
  tooManyRequests: 'Rate limited',
  queryBudgetExhausted: 'Query budget exhausted',
  indicatorUnknown: 'Unknown indicator',
  populationUnknown: 'Unknown population',
  denominatorInvalid: 'Invalid figure',
  yearInFuture: 'Year in the future',
  notCountrySteward: 'Not this country\'s steward',
  unavailable: 'Unavailable',
  internal: 'Internal error'
}

const STATUS: Record<ProblemKind, number> = {
  badRequest: 400,
  validation: 422,
  unauthorized: 401,
  forbidden: 403,
  notOwner: 403,
  grantMissing: 403,
  consentMissing: 403,
  originFilterRequired: 403,
  notFound: 404,
  noResults: 404,
  conflict: 409,
  grantSetExposesCountry: 409,
  tooLarge: 413,
  unsupportedMediaType: 415,
  notAcceptable: 406,
  timeout: 408,
  uriTooLong: 414,
  headersTooLarge: 431,
  tooManyRequests: 429,
  queryBudgetExhausted: 429,
  indicatorUnknown: 404,
  populationUnknown: 404,
  denominatorInvalid: 422,
  yearInFuture: 422,
  notCountrySteward: 403,
  unavailable: 503,
  internal: 500
}

/** The kind an HTTP status stands for when nothing more is known (errors raised by Fastify or Node). */
const KIND_OF_STATUS: Record<number, ProblemKind> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'notFound', 406: 'notAcceptable', 408: 'timeout',
  409: 'conflict', 413: 'tooLarge', 414: 'uriTooLong', 415: 'unsupportedMediaType', 422: 'validation', 429: 'tooManyRequests',
  431: 'headersTooLarge', 500: 'internal', 503: 'unavailable'
}

/** An error that the central handler answers as problem+json, message kept. */
export class HttpProblem extends Error {
  readonly status: number
  readonly extra: Record<string, unknown>
  constructor (readonly kind: ProblemKind, detail: string, extra: Record<string, unknown> = {}) {
    super(detail)
    this.status = STATUS[kind]
    this.extra = extra
  }

  toProblem (): Problem {
    return { type: PROBLEM_TYPES[this.kind], title: TITLES[this.kind], status: this.status, detail: this.message, ...this.extra }
  }
}

export function problem (kind: ProblemKind, detail: string, extra: Record<string, unknown> = {}): HttpProblem {
  return new HttpProblem(kind, detail, extra)
}

/** At most this many faults are listed in a problem; the rest are counted in errorsOmitted. */
export const MAX_LISTED_ERRORS = 100

/** A problem's `errors`: the first MAX_LISTED_ERRORS, and how many more (beyond `counted`, faults already left out) in `errorsOmitted`. */
export function listedErrors (errors: FieldError[], counted = 0): { errors: FieldError[], errorsOmitted?: number } {
  const omitted = counted + Math.max(0, errors.length - MAX_LISTED_ERRORS)
  return { errors: errors.slice(0, MAX_LISTED_ERRORS), ...(omitted > 0 ? { errorsOmitted: omitted } : {}) }
}

export function kindForStatus (status: number): ProblemKind {
  return KIND_OF_STATUS[status] ?? (status >= 500 ? 'internal' : 'badRequest')
}

export function problemFor (status: number, detail: string, extra: Record<string, unknown> = {}): Problem {
  const kind = kindForStatus(status)
  return { type: PROBLEM_TYPES[kind], title: TITLES[kind], status, detail, ...extra }
}

/** Route response schemas for these error statuses: all problem+json (for validation and OpenAPI). */
export function problemResponses (...codes: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(codes.map((code) => [code, Problem]))
}

const DESCRIPTIONS: Record<ProblemKind, string> = {
  badRequest: 'A query parameter, path parameter or the request itself is malformed (a body that is not JSON, say); errors[].path names the parameter.',
  validation: 'The body does not satisfy the schema (or a record its record schema); every fault is listed in errors[], with the record index or line.',
  unauthorized: 'No bearer token, or one that is expired, revoked, issued before the partner last changed (suspension, keys, roles, narrower grants), or not signed by this hub. Get a new one from POST /v1/oauth/token.',
  forbidden: 'The token lacks the scope this route needs (the route\'s security requirement names it).',
  notOwner: 'The resource belongs to another partner or country: a steward acts on its own country only, a reporter on its own submissions.',
  grantMissing: 'The partner has no grant on a unit the query uses: the region asked for, or a country it singles out (by=country, by=subnationalArea, a country or sub-national filter). missingGrants names them.',
  consentMissing: 'A country the query counts has not consented to this reader (its steward decides; see GET /v1/consents). missingConsents names them; never a partial answer.',
  originFilterRequired: 'The grant on a unit covers the nationals of one country only: add exactly that countryOfOrigin filter. originRequired names the unit and the country.',
  notFound: 'No such route or resource.',
  noResults: 'The query is allowed but no value can be released (nothing counted, or every value withheld); a format that cannot say "nothing" (ADX, SDMX data) answers this instead of an empty document.',
  conflict: 'The request conflicts with the current state (an id already taken, a record already live, a request with this Idempotency-Key still running, a submission already retracted).',
  grantSetExposesCountry: 'The change would let a partner compute a country it may not read from what it may read (its grants, origin grants and the countries it reads exactly), by adding and subtracting totals. Nothing was changed; partners and countries name who and what would be exposed.',
  tooLarge: 'The body is larger than this route accepts; detail names the limit. Split the submission (mhx push does).',
  unsupportedMediaType: 'The Content-Type is not one this route accepts; detail lists them.',
  notAcceptable: 'None of the media types in Accept can be produced; detail lists those that can.',
  timeout: 'The request did not arrive in time.',
  uriTooLong: 'The request target is too long.',
  headersTooLarge: 'The request headers are too large.',
  tooManyRequests: 'Too many requests from this partner (or address) this minute: wait the seconds in Retry-After.',
  queryBudgetExhausted: 'The partner has asked its daily number of distinct queries (MHX_QUERY_BUDGET); queries already answered stay free. New ones can be asked after the seconds in Retry-After (00:00 UTC).',
  indicatorUnknown: 'No indicator has this id in the catalog (GET /v1/indicators lists them); errors[].path names the parameter.',
  populationUnknown: 'No population has this id in the catalog (schemas/populations/, listed at GET /v1/populations); nothing was stored.',
  denominatorInvalid: 'A denominator or reference value is not a figure: a denominator is a positive integer, a reference value a number ≥ 0, with its source (and a denominator its vintage); errors[] names each field; nothing was stored.',
  yearInFuture: 'A denominator or reference value is set for a year after the current one (UTC): figures are for years that have begun; nothing was stored.',
  notCountrySteward: 'A steward sets its own country\'s denominators and reference values only (the admin sets any country\'s); errors[] names the country; nothing was stored.',
  unavailable: 'The hub cannot answer now (its database, queue or audit log is unavailable, or it is shutting down): retry after the seconds in Retry-After.',
  internal: 'The hub failed; quote the instance (the request id) when reporting it.'
}

/** The explanation of each problem type, by the last segment of its URI (`/problems/<slug>`). */
export const PROBLEM_PAGES: Record<string, { title: string, status: number, description: string }> = Object.fromEntries(
  (Object.keys(PROBLEM_TYPES) as ProblemKind[]).map((kind) => [PROBLEM_TYPES[kind].split('/').pop(), { title: TITLES[kind], status: STATUS[kind], description: DESCRIPTIONS[kind] }]))

const Strings = (description: string) => Type.Array(Type.String(), { description })

/** The members a kind of problem carries beyond RFC 9457's, typed (the OpenAPI document shows each kind on its own). */
const MEMBERS: Partial<Record<ProblemKind, Record<string, TSchema>>> = {
  badRequest: { errors: Type.Array(FieldError) },
  validation: { errors: Type.Array(FieldError), errorsOmitted: Type.Integer({ description: 'faults beyond the 100 listed' }) },
  forbidden: { requiredScope: Type.String({ description: 'the scope the route needs' }) },
  grantMissing: { missingGrants: Strings('the units (region or country codes) the query uses without a grant') },
  consentMissing: { missingConsents: Strings('the countries counted whose stewards have not consented to this reader') },
  originFilterRequired: {
    originRequired: Type.Object({ unit: Type.String(), countryOfOrigin: Type.String() }, { description: 'the unit held by an origin grant, and the origin every query on it must filter on' }),
    errors: Type.Array(FieldError)
  },
  conflict: {
    errors: Type.Array(FieldError),
    recordIds: Strings('record ids already live for this reporter (retract or replace their submission)'),
    recordIdsOmitted: Type.Integer()
  },
  grantSetExposesCountry: {
    partners: Strings('the partners whose grant set would expose a country'),
    countries: Strings('the countries they could compute without a grant'),
    exposures: Type.Array(Type.Object({
      partner: Type.String(),
      country: Type.String(),
      countryOfOrigin: Type.Union([Type.String(), Type.Null()], { description: 'exposed within this origin\'s nationals (an origin grant\'s view); null: all nationals' }),
      units: Strings('the granted regions whose totals combine to it')
    }))
  },
  indicatorUnknown: { errors: Type.Array(FieldError) },
  populationUnknown: { errors: Type.Array(FieldError) },
  denominatorInvalid: { errors: Type.Array(FieldError) },
  yearInFuture: { errors: Type.Array(FieldError) },
  notCountrySteward: { errors: Type.Array(FieldError) },
  queryBudgetExhausted: { budget: Type.Integer({ description: 'distinct queries per UTC day' }), retryAfter: Type.Integer({ description: 'seconds until 00:00 UTC (also the Retry-After header)' }) }
}

const pascal = (kind: string) => kind.charAt(0).toUpperCase() + kind.slice(1)

/** One schema per kind of problem: its `type` (an absolute URI ending in the kind's path) and its typed members. */
export const PROBLEM_SCHEMAS: Record<ProblemKind, TSchema> = Object.fromEntries((Object.keys(PROBLEM_TYPES) as ProblemKind[]).map((kind) => [kind, Type.Object({
  type: Type.String({ pattern: `${PROBLEM_TYPES[kind]}$`, description: `${TITLES[kind]}: <hub>${PROBLEM_TYPES[kind]}. ${DESCRIPTIONS[kind]}` }),
  // The title is fixed per kind: it tells the kinds of one status apart for a schema-driven client.
  title: Type.Literal(TITLES[kind]),
  status: Type.Literal(STATUS[kind]),
  detail: Type.String(),
  instance: Type.Optional(Type.String({ description: 'the request id' })),
  ...Object.fromEntries(Object.entries(MEMBERS[kind] ?? {}).map(([name, schema]) => [name, Type.Optional(schema)]))
}, { additionalProperties: true, $id: `Problem${pascal(kind)}`, description: `${TITLES[kind]} (${STATUS[kind]})` })])) as unknown as Record<ProblemKind, TSchema>

/** The kinds of problem an HTTP status may carry, for a response's schema. */
export function problemKindsOf (status: number): ProblemKind[] {
  return (Object.keys(STATUS) as ProblemKind[]).filter((kind) => STATUS[kind] === status)
}

/** An Ajv error as `{path, message}`, naming the field (unknown fields included). */
export function fieldError (e: ErrorObject, part: string): FieldError {
  // Query parameters are named as given (region, periodType); path parameters and headers with their part.
  const prefix = part === 'querystring' ? '' : part
  const base = part === 'body' ? e.instancePath || '/' : `${prefix}${e.instancePath ? e.instancePath.replace(/^\//, prefix ? '.' : '').replace(/\//g, '.') : ''}`
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty
    return { path: part === 'body' ? `${e.instancePath}/${extra}` : `${part === 'querystring' ? '' : part + '.'}${extra}`, message: `unknown field "${extra}"` }
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    return { path: part === 'body' ? `${e.instancePath}/${missing}` : missing, message: 'is required' }
  }
  if (e.keyword === 'enum') {
    return { path: base, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` }
  }
  const description = (e.parentSchema as { description?: unknown } | undefined)?.description
  if (e.keyword === 'pattern' && part !== 'body' && typeof description === 'string') {
    const got = String(e.data)
    return { path: base, message: `must be ${description}, got "${got.length > 80 ? `${got.slice(0, 80)}…` : got}"` }
  }
  return { path: base, message: e.message ?? 'is invalid' }
}
