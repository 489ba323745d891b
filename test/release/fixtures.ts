// Cells written straight into the table (the read path only touches `cells`), with known counts and
// key sums, and an oracle that computes what the cell-key method must release for them.
import { createHash } from 'node:crypto'
import { cells } from '../../src/db/schema.js'
import type { Database } from '../../src/db/connect.js'
import { KEY_MODULUS } from '../../src/model/cells.js'
import type { Dimension } from '../../src/release/dimensions.js'
import { buildPtable, perturb, type Ptable } from '../../src/release/ptable.js'

export type CellInput = Partial<typeof cells.$inferInsert> & { country: string, count: number }

export const CELL_DEFAULTS = {
  period: '2026-01',
  subnationalArea: '_Z',
  countryOfOrigin: 'UZB',
  migrationStatus: 'labour_migrant',
  migrationStage: 'destination',
  sex: 'male',
  ageBand: '25-29',
  encounter: 'primary_care',
  conditionGroup: '_Z',
  screeningContext: '_Z',
  screeningConsequence: '_Z',
  insurance: 'none',
  outcome: '_Z'
}

type FullCell = typeof CELL_DEFAULTS & { country: string, count: number, keySum: number }

/** A cell with its defaults, and a key sum fixed by its key when the test gives none (reproducible). */
export function fullCell (c: CellInput): FullCell {
  const cell = { ...CELL_DEFAULTS, ...c }
  const { count: _, keySum, ...key } = cell
  const derived = createHash('sha256').update(JSON.stringify(key)).digest().readUInt32BE(0)
  return { ...cell, keySum: keySum ?? derived } as FullCell
}

export async function insertCells (database: Database, list: CellInput[]): Promise<void> {
  if (list.length === 0) return
  await database.db.insert(cells).values(list.map(fullCell))
}

export const CENTRAL_ASIA = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB']

export interface OracleQuery {
  countries: string[]
  from: string
  to: string
  by?: Dimension[]
  periodType?: 'month' | 'quarter' | 'year'
  filters?: Partial<Record<Dimension, string[]>>
}

const PTABLE = buildPtable()

function valueOf (cell: FullCell, dim: Dimension, periodType: OracleQuery['periodType']): string {
  if (dim === 'period') {
    if (periodType === 'quarter') return `${cell.period.slice(0, 4)}-Q${Math.floor((Number(cell.period.slice(5)) + 2) / 3)}`
    if (periodType === 'year') return cell.period.slice(0, 4)
    return cell.period
  }
  // Cells name their fields as answers name dimensions.
  return String((cell as Record<string, unknown>)[dim])
}

/**
 * What the cell-key method releases for `query` over `list`, computed here without SQL: atoms are
 * one month of one country with every `by` dimension and every listed filter value fixed; each is
 * perturbed from its count and key sum; a cell is the sum of its atoms. Map key: the `by` values joined by '|'.
 */
export function expectedRelease (list: CellInput[], query: OracleQuery, ptable: Ptable = PTABLE): Map<string, { released: number, count: number }> {
  const by = query.by ?? []
  const filters = Object.entries(query.filters ?? {}) as Array<[Dimension, string[]]>
  const listed = filters.filter(([d, v]) => v.length > 1 && !by.includes(d) && d !== 'period' && d !== 'country').map(([d]) => d)
  const atoms = new Map<string, { cell: string, n: number, keySum: number }>()
  for (const c of list.map(fullCell)) {
    if (!query.countries.includes(c.country) || c.period < query.from || c.period > query.to) continue
    if (!filters.every(([d, values]) => values.includes(valueOf(c, d, query.periodType)))) continue
    const cellKey = by.map((d) => valueOf(c, d, query.periodType)).join('|')
    const atomKey = [cellKey, c.country, c.period, ...listed.map((d) => valueOf(c, d, query.periodType))].join('#')
    const atom = atoms.get(atomKey) ?? { cell: cellKey, n: 0, keySum: 0 }
    atom.n += c.count
    atom.keySum = (atom.keySum + c.keySum) % KEY_MODULUS
    atoms.set(atomKey, atom)
  }
  const out = new Map<string, { released: number, count: number }>()
  for (const atom of atoms.values()) {
    if (atom.n === 0) continue
    const cell = out.get(atom.cell) ?? { released: 0, count: 0 }
    cell.released += perturb(ptable, atom.n, atom.keySum)
    cell.count += atom.n
    out.set(atom.cell, cell)
  }
  return out
}
