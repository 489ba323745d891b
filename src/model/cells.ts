// The columns that identify a cell: period × reporting country × every record dimension.
// Records carry the same columns (absent optional values as '_Z'), so cells are a GROUP BY of records.
import { sql, type SQL } from 'drizzle-orm'
import { DIMENSION_FIELDS } from './fields.js'

/** Column names in the order of the cells primary key (cells_pkey), from the field definitions. */
export const CELL_COLUMNS: readonly string[] = DIMENSION_FIELDS.map((f) => f.column as string)
export type CellColumn = string

/** camelCase name of a column, as answers show it. */
export function dimensionName (column: CellColumn): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

/** `a, b, c` or, with a table alias, `t.a, t.b, t.c`. */
export function columnList (alias?: string): SQL {
  return sql.raw(CELL_COLUMNS.map((c) => alias ? `${alias}.${c}` : c).join(', '))
}

/** `l.a = r.a AND …` over every cell column. */
export function columnsEqual (left: string, right: string): SQL {
  return sql.raw(CELL_COLUMNS.map((c) => `${left}.${c} = ${right}.${c}`).join(' AND '))
}

/** Record keys and cell key sums are integers mod 2^32 (cell-key method); a cell's key is keySum / 2^32. */
export const KEY_MODULUS = 4294967296

/** The `dimension` and `value` of a margin row holding a month × country total (SDMX "total"). */
export const MARGIN_TOTAL = '_T'

/** The dimensions the margins (cell_margins) sum cells by, one at a time: every one but period and country. */
export const MARGIN_COLUMNS: readonly string[] = CELL_COLUMNS.filter((c) => c !== 'period' && c !== 'country')

/** `('_T', '_T'), ('sex', c.sex), …`: a cell `c` as one (dimension, value) row per margin it counts in. */
function marginPairs (): string {
  return [`('${MARGIN_TOTAL}', '${MARGIN_TOTAL}')`, ...MARGIN_COLUMNS.map((col) => `('${col}', c.${col})`)].join(', ')
}

/**
 * The trigger function that keeps cell_margins equal to marginsOfCells() as cells change (the
 * triggers themselves are in migration 0009). It is made from the field definitions and written
 * into a migration by `npm run db:generate` when they change (db/write-migrations.ts, checked by
 * `npm run migrations:check`), so a dimension added to the fields is a margin without a hand edit.
 * Statement-level with transition tables: one margin upsert per statement, not per cell.
 */
export function marginsTriggerFunction (): string {
  return `CREATE OR REPLACE FUNCTION cell_margins_follow() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  changed text;
  dims text[];
  countries text[];
  periods text[];
  vals text[];
BEGIN
  -- Signed changes: rows a statement added count +, rows it removed count − (an UPDATE both).
  changed := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT *, count AS d_count, key_sum AS d_key FROM new_cells'
    WHEN 'DELETE' THEN 'SELECT *, -count AS d_count, -key_sum AS d_key FROM old_cells'
    ELSE 'SELECT *, count AS d_count, key_sum AS d_key FROM new_cells UNION ALL SELECT *, -count, -key_sum FROM old_cells'
  END;
  -- Key sums stay in [0, 2^32) as in cells. ORDER BY the key: concurrent writers lock margins in one order.
  EXECUTE format($f$
    WITH changed AS (%s),
    deltas AS (
      SELECT m.dimension, c.country, c.period, m.value, sum(c.d_count) AS count, sum(c.d_key) AS key_sum
      FROM changed c CROSS JOIN LATERAL (VALUES ${marginPairs()}) AS m (dimension, value)
      GROUP BY 1, 2, 3, 4
      HAVING sum(c.d_count) <> 0 OR sum(c.d_key) %% ${KEY_MODULUS} <> 0
    ),
    upserted AS (
      INSERT INTO cell_margins (dimension, country, period, value, count, key_sum)
      SELECT dimension, country, period, value, count, (key_sum %% ${KEY_MODULUS} + ${KEY_MODULUS}) %% ${KEY_MODULUS}
      FROM deltas ORDER BY 1, 2, 3, 4
      ON CONFLICT ON CONSTRAINT cell_margins_pkey DO UPDATE SET count = cell_margins.count + EXCLUDED.count,
        key_sum = (cell_margins.key_sum + EXCLUDED.key_sum) %% ${KEY_MODULUS}
      RETURNING dimension, country, period, value, count
    )
    SELECT array_agg(dimension), array_agg(country), array_agg(period), array_agg(value) FROM upserted WHERE count = 0
  $f$, changed) INTO dims, countries, periods, vals;
  -- Zero margins are not kept, like zero cells.
  IF dims IS NOT NULL THEN
    DELETE FROM cell_margins m
    USING unnest(dims, countries, periods, vals) AS z (dimension, country, period, value)
    WHERE m.dimension = z.dimension AND m.country = z.country AND m.period = z.period AND m.value = z.value AND m.count = 0;
  END IF;
  RETURN NULL;
END
$fn$`
}

/**
 * The margins the cells add up to, as a SELECT of (dimension, country, period, value, count, key_sum):
 * each cell counted once per dimension's value and once in its month × country total. The triggers
 * of migration 0009 keep cell_margins equal to this.
 */
export function marginsOfCells (): SQL {
  return sql.raw(marginsOfCellsText())
}

/** marginsOfCells() as text, for a migration. */
export function marginsOfCellsText (): string {
  return `SELECT m.dimension, c.country, c.period, m.value, sum(c.count) AS count, sum(c.key_sum) % ${KEY_MODULUS} AS key_sum
    FROM cells c CROSS JOIN LATERAL (VALUES ${marginPairs()}) AS m (dimension, value)
    GROUP BY 1, 2, 3, 4 HAVING sum(c.count) <> 0`
}
