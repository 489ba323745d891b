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

/** Stable problem types, one per kind of error, relative to the service's URL. */
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
