// Verify and rebuild the cells from the stored records. The invariant: every cell's count equals the
// number of records of applied submissions (their effect is in the cells) with the cell's dimensions.
import { sql } from 'drizzle-orm'
import { affectedRows, inTransaction, rows, type Database, type Queryable } from '../db/connect.js'
import { announceCellChange } from './versions.js'
import { CELL_COLUMNS, columnList, columnsEqual, dimensionName, KEY_MODULUS, marginsOfCells } from '../model/cells.js'

export type CellKey = Record<string, string>
/** A cell whose count or key sum differs from its records (`keySumDiffers` when the key sum does). */
export interface CellDifference { cell: CellKey, expected: number, actual: number, keySumDiffers?: boolean }
export interface VerifyResult {
  ok: boolean
  /** At most `limit` differences, in key order. */
  differences: CellDifference[]
  differencesOmitted: number
  /** Cells stored and the sum of their counts. */
  cells: number
  records: number
  /** Margin rows (cell_margins) that differ from the cells they sum: wrong, missing or extra. */
  marginDifferences: number
}

const APPLIED_RECORDS = sql`records r JOIN submissions s ON s.id = r.submission_id AND s.applied`
// What a cell must hold, from its records: the count and the key sum (cell-key method).
const EXPECTED_CELL = sql.raw(`sum(r.count) AS count, sum(r.record_key) % ${KEY_MODULUS} AS key_sum`)

/** Compares every cell with the records, and the margins with the cells: each comparison one statement (one snapshot). */
export async function verifyCells (q: Queryable, limit = 100): Promise<VerifyResult> {
  const keys = sql.raw(CELL_COLUMNS.map((c) => `coalesce(e.${c}, c.${c}) AS ${c}`).join(', '))
  const diff = await rows<Record<string, string> & { expected: string, actual: string, expected_key_sum: string, actual_key_sum: string, total: string }>(q, sql`
    WITH expected AS (
      SELECT ${columnList('r')}, ${EXPECTED_CELL} FROM ${APPLIED_RECORDS} GROUP BY ${columnList('r')}
    )
    SELECT ${keys}, coalesce(e.count, 0) AS expected, coalesce(c.count, 0) AS actual,
      coalesce(e.key_sum, 0) AS expected_key_sum, coalesce(c.key_sum, 0) AS actual_key_sum, count(*) OVER () AS total
    FROM expected e FULL JOIN cells c ON ${columnsEqual('e', 'c')}
    WHERE e.count IS DISTINCT FROM c.count OR e.key_sum IS DISTINCT FROM c.key_sum
    ORDER BY ${sql.raw(CELL_COLUMNS.map((c) => `coalesce(e.${c}, c.${c})`).join(', '))}
    LIMIT ${limit}`)
  const [totals] = await rows<{ cells: string, records: string | null }>(q, sql`SELECT count(*) AS cells, sum(count) AS records FROM cells`)
  const [margins] = await rows<{ n: string }>(q, sql`
    WITH expected AS (${marginsOfCells()})
    SELECT count(*) AS n FROM expected e FULL JOIN cell_margins m
      ON m.dimension = e.dimension AND m.country = e.country AND m.period = e.period AND m.value = e.value
    WHERE e.count IS DISTINCT FROM m.count OR e.key_sum IS DISTINCT FROM m.key_sum`)
  const marginDifferences = Number(margins?.n ?? 0)
  const differences = diff.map((row) => ({
    cell: Object.fromEntries(CELL_COLUMNS.map((c) => [dimensionName(c), row[c].trim()])),
    expected: Number(row.expected),
    actual: Number(row.actual),
    ...(row.expected_key_sum !== row.actual_key_sum ? { keySumDiffers: true } : {})
  }))
  const total = diff.length > 0 ? Number(diff[0].total) : 0
  return {
    ok: total === 0 && marginDifferences === 0,
    differences,
    differencesOmitted: total - differences.length,
    cells: Number(totals?.cells ?? 0),
    records: Number(totals?.records ?? 0),
    marginDifferences
  }
}

export interface RebuildOptions {
  /**
   * The newest catalog's ICD-10 → condition group mapping; when given, records.condition_group is
   * re-mapped first (in the same transaction), so cells follow a catalog change.
   */
  conditionGroupOf?: (icd10: string) => string | null
}

export interface RebuildResult {
  cells: number
  records: number
  /** Cells whose count changed, appeared or disappeared. */
  changed: number
  /** Records whose condition group was re-mapped. */
  remapped: number
}

/**
 * Recomputes every cell from the stored records in one transaction. Writers to cells (processors)
 * wait for it; readers never do: they see the old cells until the commit, then the new ones.
 */
export async function rebuildCells (database: Database, options: RebuildOptions = {}): Promise<RebuildResult> {
  return inTransaction(database, async (tx) => {
    // EXCLUSIVE blocks INSERT/UPDATE/DELETE on cells but not SELECT. A processor that committed before
    // this lock is in the records below as applied; one that waits applies its delta after us.
    await tx.execute(sql`LOCK TABLE cells IN EXCLUSIVE MODE`)
    const remapped = options.conditionGroupOf ? await remapConditionGroups(tx, options.conditionGroupOf) : 0
    await tx.execute(sql`
      CREATE TEMP TABLE fresh_cells ON COMMIT DROP AS
      SELECT ${columnList('r')}, ${EXPECTED_CELL} FROM ${APPLIED_RECORDS} GROUP BY ${columnList('r')}`)
    const removed = await tx.execute(sql`
      DELETE FROM cells c WHERE NOT EXISTS (SELECT 1 FROM fresh_cells f WHERE ${columnsEqual('f', 'c')})`)
    // Unchanged cells keep their updated_at: readers' lastUpdated moves only where counts moved.
    const upserted = await tx.execute(sql`
      INSERT INTO cells (${columnList()}, count, key_sum, updated_at)
      SELECT ${columnList()}, count, key_sum, now() FROM fresh_cells ORDER BY ${columnList()}
      ON CONFLICT ON CONSTRAINT cells_pkey DO UPDATE SET count = EXCLUDED.count, key_sum = EXCLUDED.key_sum, updated_at = now()
      WHERE cells.count <> EXCLUDED.count OR cells.key_sum <> EXCLUDED.key_sum`)
    // The triggers on cells moved the margins with the cells; recomputing them repairs any other damage.
    await tx.execute(sql`DELETE FROM cell_margins`)
    await tx.execute(sql`INSERT INTO cell_margins (dimension, country, period, value, count, key_sum) ${marginsOfCells()}`)
    await announceCellChange(tx)
    const [totals] = await rows<{ cells: string, records: string | null }>(tx, sql`SELECT count(*) AS cells, sum(count) AS records FROM fresh_cells`)
    return {
      cells: Number(totals?.cells ?? 0),
      records: Number(totals?.records ?? 0),
      changed: affectedRows(removed) + affectedRows(upserted),
      remapped
    }
  })
}

/**
 * Re-maps every record's condition group with `conditionGroupOf` (the newest catalog). Records
 * without a condition ('_Z') keep '_Z'. Call inside the rebuild's transaction only: re-mapping
 * records whose effect is in the cells without recomputing the cells breaks the invariant.
 */
export async function remapConditionGroups (tx: Queryable, conditionGroupOf: (icd10: string) => string | null): Promise<number> {
  const codes = await rows<{ condition: string }>(tx, sql`SELECT DISTINCT condition FROM records WHERE condition <> '_Z'`)
  if (codes.length === 0) return 0
  const conditions = codes.map((c) => c.condition)
  const groups = conditions.map((c) => conditionGroupOf(c) ?? '_Z')
  const result = await tx.execute(sql`
    UPDATE records r SET condition_group = m.condition_group
    FROM (SELECT unnest(${sql.param(conditions)}::text[]) AS condition, unnest(${sql.param(groups)}::text[]) AS condition_group) m
    WHERE r.condition = m.condition AND r.condition_group <> m.condition_group`)
  return affectedRows(result)
}
