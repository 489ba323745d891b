// A private redis-server per test file (stopped, restarted and flushed at will without touching
// the machine's shared Redis).
import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { rows } from '../../src/db/connect.js'
import { baseConfig, freePort, testDatabase, waitFor } from '../helpers.js'

export interface PrivateRedis {
  url: string
  start (): Promise<void>
  stop (): Promise<void>
  flushall (): Promise<void>
}

export async function privateRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const self: PrivateRedis = {
    url,
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' })
      const started = child
      // Not left behind if the test process dies (a timeout): exit hooks run on process.exit.
      process.once('exit', () => { started.kill('SIGKILL') })
      await waitFor(async () => {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
        probe.on('error', () => {})
        try {
          await probe.connect()
          return await probe.ping() === 'PONG'
        } catch {
          return false
        } finally {
          probe.disconnect()
        }
      }, 10_000)
    },
    async stop () {
      const running = child
      child = undefined
      if (!running || running.exitCode !== null) return
      const exited = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGKILL')
      await exited
    },
    async flushall () {
      const client = new Redis(url)
      await client.flushall()
      client.disconnect()
    }
  }
  await self.start()
  return self
}

/**
 * What a test of separate service processes needs: a private redis-server, a PostgreSQL database of
 * its own (and its URL for the children), and a data directory; all removed in teardown.
 */
export async function processWorld (t: { teardown (fn: () => unknown): void }, name: string) {
  const redis = await privateRedis()
  t.teardown(() => redis.stop())
  const database = await testDatabase(t, 'postgres')
  const [{ current }] = await rows<{ current: string }>(database.db, sql`SELECT current_database() AS current`)
  const url = new URL(baseConfig.databaseUrl as string)
  url.pathname = `/${current}`
  const dataDir = mkdtempSync(join(tmpdir(), `mhx-${name}-`))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return { redis, database, db: database.db, databaseUrl: url.toString(), dataDir }
}
