// Cells written straight into the table (the read path only touches `cells`), with known counts.
import { cells } from '../../src/db/schema.js'
import type { Database } from '../../src/db/connect.js'

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

export async function insertCells (database: Database, list: CellInput[]): Promise<void> {
  if (list.length === 0) return
  await database.db.insert(cells).values(list.map((c) => ({ ...CELL_DEFAULTS, ...c })))
}

export const CENTRAL_ASIA = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB']
