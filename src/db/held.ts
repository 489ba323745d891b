// Small tables read on every request, held whole per process and loaded again after a change
// announced by NOTIFY in any process (the stewardship book, the indicators' public figures).
import { sql } from 'drizzle-orm'
import type { Database, Queryable } from './connect.js'
import { listen, type Listening } from './listen.js'

// A safety net only: should a notification ever be missed, nothing held outlives this.
const HELD_TTL_MS = 30_000

export interface Held<T> {
  get (): Promise<T>
  /** Forget what this process holds now; other processes hear the NOTIFY. */
  invalidate (): void
  close (): Promise<void>
}

/** Tells every process that what `channel` holds changed; delivered at commit. */
export async function announceChange (q: Queryable, channel: string): Promise<void> {
  await q.execute(sql`SELECT pg_notify(${channel}, '')`)
}

export async function holdWhole<T> (database: Database, channel: string, load: (q: Queryable) => Promise<T>): Promise<Held<T>> {
  let current: { value: Promise<T>, at: number } | undefined
  const listener: Listening = { listening: false }
  const invalidate = () => { current = undefined }
  const stopListening = await listen(database, channel, invalidate, listener)
  return {
    get () {
      if (current && Date.now() - current.at < HELD_TTL_MS) return current.value
      const value = load(database.db)
      // Without a live LISTEN a change could go unheard: read through, keep nothing.
      if (!listener.listening) return value
      const entry = current = { value, at: Date.now() }
      value.catch(() => { if (current === entry) current = undefined })
      return value
    },
    invalidate,
    async close () {
      current = undefined
      await stopListening()
    }
  }
}
