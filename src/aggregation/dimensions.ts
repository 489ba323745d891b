// The columns that identify a cell: period × reporting country × every record dimension.
// Records carry the same columns (absent optional values as '_Z'), so cells are a GROUP BY of records.
import { sql, type SQL } from 'drizzle-orm'
import { DIMENSION_FIELDS } from '../intake/fields.js'

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

/**
 * The margins the cells add up to, as a SELECT of (dimension, country, period, value, count, key_sum):
 * each cell counted once per dimension's value and once in its month × country total. The triggers
 * of migration 0009 keep cell_margins equal to this.
 */
export function marginsOfCells (): SQL {
  const pairs = [`('${MARGIN_TOTAL}', '${MARGIN_TOTAL}')`, ...MARGIN_COLUMNS.map((c) => `('${c}', c.${c})`)].join(', ')
  return sql.raw(`SELECT m.dimension, c.country, c.period, m.value, sum(c.count) AS count, sum(c.key_sum) % ${KEY_MODULUS} AS key_sum
    FROM cells c CROSS JOIN LATERAL (VALUES ${pairs}) AS m (dimension, value)
    GROUP BY 1, 2, 3, 4 HAVING sum(c.count) <> 0`)
}
