// Lists page with `limit` and an opaque cursor: `{items, nextCursor}`.
import { Type, type TSchema } from 'typebox'
import { problem } from './problem.js'

export interface Page<T> { items: T[], nextCursor: string | null }

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'the nextCursor of the page before' }))
}

export function pageOf<T extends TSchema> (item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) })
}

export function encodeCursor (position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

export function decodeCursor<T> (cursor: string): T {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as T
  } catch {
    throw problem('badRequest', 'cursor is not one this service handed out', { errors: [{ path: 'cursor', message: 'invalid cursor' }] })
  }
}
