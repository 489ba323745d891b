// Applies the committed migrations at start, the same files on PostgreSQL and PGlite.
import { fileURLToPath } from 'node:url'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import { sql } from 'drizzle-orm'
import { MARGIN_COLUMNS, marginsOfCells, marginsTriggerFunction } from '../model/cells.js'
import { inTransaction, rows, type Database, type Queryable } from './connect.js'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

// Any constant both replicas agree on: serializes concurrent starts on one database.
const MIGRATION_LOCK_ID = 7_220_431_001

export async function migrate (database: Database, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder })
    await followFields(database)
    return
  }
  const client = await database.pool!.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID])
    try {
      await migratePg(drizzlePg(client), { migrationsFolder })
      await followFields(database)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID])
    }
  } finally {
    client.release()
  }
}

/**
 * What the field definitions make beside the generated migrations: the margins' trigger function
 * (its dimension list), and the margins of a dimension added since they were filled (a new column's
 * existing cells hold its default), so adding a field stays one edit plus a generated migration.
 */
async function followFields (database: Database): Promise<void> {
  await inTransaction(database, async (tx) => {
    await tx.execute(sql.raw(marginsTriggerFunction()))
    if (await marginsMissADimension(tx)) {
      await tx.execute(sql`DELETE FROM cell_margins`)
      await tx.execute(sql`INSERT INTO cell_margins (dimension, country, period, value, count, key_sum) ${marginsOfCells()}`)
    }
  })
}

// One index probe per dimension (the margins' key starts with it).
async function marginsMissADimension (q: Queryable): Promise<boolean> {
  const [found] = await rows<{ missing: boolean }>(q, sql`SELECT EXISTS (SELECT 1 FROM cells) AND NOT (${sql.join(
    MARGIN_COLUMNS.map((c) => sql`EXISTS (SELECT 1 FROM cell_margins WHERE dimension = ${c})`), sql` AND `)}) AS missing`)
  return found?.missing === true
}
