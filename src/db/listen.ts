// LISTEN on a dedicated connection, for process caches that other processes invalidate by NOTIFY.
import type { PoolClient } from 'pg'
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
  const pool = database.pool!
  let closed = false
  let client: PoolClient | undefined
  let retry: NodeJS.Timeout | undefined

  async function connect (): Promise<void> {
    let connection: PoolClient | undefined
    try {
      connection = await pool.connect()
      // Stopped while connecting: nobody would ever release this one.
      if (closed) { connection.release(true); return }
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
  function lost (connection: PoolClient): void {
    if (connection !== client) return
    client = undefined
    state.listening = false
    heard()
    connection.release(true)
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
    // A listening connection is not handed back to the pool: it is closed.
    connection?.release(true)
  }
}
