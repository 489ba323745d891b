// RFC 9457 problem details: every error the API answers (but the token endpoint's RFC 6749 ones).
import { Type, type Static } from 'typebox'

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

/** Stable problem types, one per kind of error, relative to the service's URL (answers make them absolute). */
export const PROBLEM_TYPES = {
  badRequest: '/problems/bad-request',
  validation: '/problems/validation',
  unauthorized: '/problems/unauthorized',
  forbidden: '/problems/forbidden',
  notFound: '/problems/not-found',
  conflict: '/problems/conflict',
  tooLarge: '/problems/payload-too-large',
  unsupportedMediaType: '/problems/unsupported-media-type',
  notAcceptable: '/problems/not-acceptable',
  timeout: '/problems/request-timeout',
  uriTooLong: '/problems/uri-too-long',
  headersTooLarge: '/problems/headers-too-large',
  tooManyRequests: '/problems/too-many-requests',
  unavailable: '/problems/service-unavailable',
  internal: '/problems/internal'
} as const
export type ProblemKind = keyof typeof PROBLEM_TYPES

const TITLES: Record<ProblemKind, string> = {
  badRequest: 'Bad Request',
  validation: 'Unprocessable Content',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  notFound: 'Not Found',
  conflict: 'Conflict',
  tooLarge: 'Content Too Large',
  unsupportedMediaType: 'Unsupported Media Type',
  notAcceptable: 'Not Acceptable',
  timeout: 'Request Timeout',
  uriTooLong: 'URI Too Long',
  headersTooLarge: 'Request Header Fields Too Large',
  tooManyRequests: 'Too Many Requests',
  unavailable: 'Service Unavailable',
  internal: 'Internal Server Error'
}

const STATUS: Record<ProblemKind, number> = {
  badRequest: 400,
  validation: 422,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  tooLarge: 413,
  unsupportedMediaType: 415,
  notAcceptable: 406,
  timeout: 408,
  uriTooLong: 414,
  headersTooLarge: 431,
  tooManyRequests: 429,
  unavailable: 503,
  internal: 500
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
  const found = (Object.keys(STATUS) as ProblemKind[]).find((kind) => STATUS[kind] === status)
  if (found) return found
  return status >= 500 ? 'internal' : 'badRequest'
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
  badRequest: 'A query parameter, path parameter or the request itself is malformed; errors[].path names the parameter.',
  validation: 'The body does not satisfy the schema (or a record its record schema); every fault is listed in errors[], with the record index or line.',
  unauthorized: 'No bearer token, or one that is expired, revoked or not signed by this hub. Get a new one from POST /v1/oauth/token.',
  forbidden: 'The token lacks the scope this route needs, or the partner has no grant for what was asked.',
  notFound: 'No such route or resource.',
  conflict: 'The request conflicts with the current state (an id already taken, a request with this Idempotency-Key still running, a submission already retracted).',
  tooLarge: 'The body is larger than this route accepts; detail names the limit. Split the submission.',
  unsupportedMediaType: 'The Content-Type is not one this route accepts; detail lists them.',
  notAcceptable: 'None of the media types in Accept can be produced; detail lists those that can.',
  timeout: 'The request did not arrive in time.',
  uriTooLong: 'The request target is too long.',
  headersTooLarge: 'The request headers are too large.',
  tooManyRequests: 'Too many requests: wait the number of seconds in Retry-After.',
  unavailable: 'The hub cannot answer now (its database, queue or audit log is unavailable, or it is shutting down): retry after the seconds in Retry-After.',
  internal: 'The hub failed; quote the instance (the request id) when reporting it.'
}

/** The explanation of each problem type, by the last segment of its URI (`/problems/<slug>`). */
export const PROBLEM_PAGES: Record<string, { title: string, status: number, description: string }> = Object.fromEntries(
  (Object.keys(PROBLEM_TYPES) as ProblemKind[]).map((kind) => [PROBLEM_TYPES[kind].split('/').pop(), { title: TITLES[kind], status: STATUS[kind], description: DESCRIPTIONS[kind] }]))
