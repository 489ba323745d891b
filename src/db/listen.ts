// LISTEN on a dedicated connection, for process caches that other processes invalidate by NOTIFY.
import pg from 'pg'
import type { Database } from './connect.js'

/** Whether notifications are being heard now: a cache must not keep what it cannot hear change. */
export interface Listening { listening: boolean }

/**
 * Calls `heard(payload)` for each notification on `channel`; on any trouble calls `heard()` (forget
 * everything: a change may have gone unheard) and listens again. Resolves to a stop function.
 */
export async function listen (database: Database, channel: string, heard: (payload?: string) => void, state: Listening): Promise<() => Promise<void>> {
  if (database.kind === 'pglite') {
    const client = database.pglite as { listen (channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> }
    const unlisten = await client.listen(channel, (payload) => heard(payload))
    state.listening = true
    return async () => {
      state.listening = false
      await unlisten().catch(() => {})
    }
  }
  // A connection of its own, outside the pool: every process cache listens, and a small pool
  // (MHX_DB_POOL_MAX) held by listeners would leave requests waiting for a connection forever.
  const options = database.pool!.options
  let closed = false
  let client: pg.Client | undefined
  let retry: NodeJS.Timeout | undefined

  async function connect (): Promise<void> {
    let connection: pg.Client | undefined
    try {
      connection = new pg.Client(options)
      connection.on('error', () => {})
      await connection.connect()
      // Stopped while connecting: nobody would ever close this one.
      if (closed) { void connection.end().catch(() => {}); return }
      client = connection
      const mine = connection
      connection.on('notification', (message) => heard(message.payload))
      connection.on('error', () => lost(mine))
      await connection.query(`LISTEN ${channel}`)
      // Whatever changed while nobody listened is forgotten.
      heard()
      state.listening = true
    } catch {
      if (connection) lost(connection)
      else retryLater()
    }
  }
  // Acts once per connection: an error after close, or a second error, finds it already gone.
  const gone = new WeakSet<pg.Client>()
  function lost (connection: pg.Client): void {
    if (gone.has(connection) || (client !== undefined && connection !== client)) return
    gone.add(connection)
    client = undefined
    state.listening = false
    heard()
    void connection.end().catch(() => {})
    retryLater()
  }
  function retryLater (): void {
    if (!closed) retry = setTimeout(() => { void connect() }, 1_000)
  }
  await connect()
  return async () => {
    closed = true
    state.listening = false
    clearTimeout(retry)
    const connection = client
    client = undefined
    if (connection) gone.add(connection)
    await connection?.end().catch(() => {})
  }
}
