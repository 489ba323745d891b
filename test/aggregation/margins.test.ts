// The pre-rolled margins (cell_margins): kept equal to the cells by the triggers through add,
// subtract, correction and rebuild; a tampered margin is found by verify and repaired by rebuild;
// and a roll-up through the margins releases exactly what summing the cells releases.
// @embedded: the margins' triggers come from the migrations, applied to PGlite as to PostgreSQL
import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import t from 'tap'
import { rebuildCells, verifyCells } from '../../src/aggregation/cells.js'
import { columnList, MARGIN_COLUMNS, marginsOfCells } from '../../src/model/cells.js'
import { processSubmission } from '../../src/aggregation/processor.js'
import { rows } from '../../src/db/connect.js'
import { rollUp, type Protection } from '../../src/release/rollup.js'
import type { Dimension } from '../../src/release/dimensions.js'
import { buildPtable } from '../../src/release/ptable.js'
import type { AggregateQuery, PeriodType } from '../../src/release/query.js'
import { testDatabase } from '../helpers.js'
import { insertPartner, insertSubmission, randomRecord, retractSubmission, rng } from './fixtures.js'

const database = await testDatabase(t)
const { db } = database
const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB']
for (const c of COUNTRIES) await insertPartner(db, `moh-${c.toLowerCase()}`, c)
const random = rng(2026)

/** Margin rows that differ from the cells' sums (both directions), and how many margin rows there are. */
async function marginState () {
  const [row] = await rows<{ wrong: string, stored: string }>(db, sql`
    WITH expected AS (${marginsOfCells()})
    SELECT (SELECT count(*) FROM expected e FULL JOIN cell_margins m
        ON m.dimension = e.dimension AND m.country = e.country AND m.period = e.period AND m.value = e.value
      WHERE e.count IS DISTINCT FROM m.count OR e.key_sum IS DISTINCT FROM m.key_sum) AS wrong,
      (SELECT count(*) FROM cell_margins) AS stored`)
  return { wrong: Number(row.wrong), stored: Number(row.stored) }
}

async function push (country: string, n: number) {
  const records = Array.from({ length: n }, () => randomRecord(random, country))
  return insertSubmission(db, `moh-${country.toLowerCase()}`, country, records)
}

t.test('margins follow the cells through add, subtract, correction and rebuild', async (t) => {
  const pushed = []
  for (let i = 0; i < 40; i++) {
    const s = await push(COUNTRIES[i % COUNTRIES.length], 1 + Math.floor(random() * 30))
    await processSubmission(database, s.id)
    pushed.push(s)
  }
  let state = await marginState()
  t.equal(state.wrong, 0, 'after adds')
  t.ok(state.stored > 0)

  // A retraction of a whole country-month's only submission must leave no zero margin behind.
  const lone = await insertSubmission(db, 'moh-kaz', 'KAZ', [{ ...randomRecord(random, 'KAZ'), period: '2025-07' }])
  await processSubmission(database, lone.id)
  t.equal((await rows(db, sql`SELECT 1 FROM cell_margins WHERE period = '2025-07'`)).length, MARGIN_COLUMNS.length + 1, 'one margin per dimension, and the total')
  for (const s of [lone, pushed[3], pushed[10]]) {
    await retractSubmission(db, s.id)
    await processSubmission(database, s.id)
  }
  state = await marginState()
  t.equal(state.wrong, 0, 'after subtractions')
  t.equal((await rows(db, sql`SELECT 1 FROM cell_margins WHERE period = '2025-07'`)).length, 0, 'zero margins are not kept')
  t.equal((await rows(db, sql`SELECT 1 FROM cell_margins WHERE count <= 0`)).length, 0)

  // A correction: the replaced submission's subtraction and the correction's addition in one transaction.
  const old = pushed[5]
  const correction = await push('KGZ', 12)
  await db.execute(sql`UPDATE submissions SET replaces = ${old.id} WHERE id = ${correction.id}`)
  await db.execute(sql`UPDATE submissions SET replaced_by = ${correction.id} WHERE id = ${old.id}`)
  await retractSubmission(db, old.id)
  t.match(await processSubmission(database, correction.id), { kind: 'applied' })
  state = await marginState()
  t.equal(state.wrong, 0, 'after a correction')

  await rebuildCells(database)
  t.equal((await marginState()).wrong, 0, 'after rebuild')
  const verify = await verifyCells(db)
  t.ok(verify.ok)
  t.equal(verify.marginDifferences, 0)
})

t.test('the migration fills the margins of the cells stored before it', async (t) => {
  const statements = readFileSync(new URL('../../migrations/0009_cell_margins.sql', import.meta.url), 'utf8').split('--> statement-breakpoint')
  const fill = statements.at(-1)!
  t.match(fill, /INSERT INTO cell_margins/)
  await db.execute(sql`DELETE FROM cell_margins`)
  t.ok((await marginState()).wrong > 0)
  await db.execute(sql.raw(fill))
  t.equal((await marginState()).wrong, 0)
})

t.test('verify finds a tampered, a missing and an extra margin; rebuild repairs them', async (t) => {
  await db.execute(sql`UPDATE cell_margins SET count = count + 1 WHERE (dimension, country, period, value) = (SELECT dimension, country, period, value FROM cell_margins WHERE dimension = 'sex' LIMIT 1)`)
  let verify = await verifyCells(db)
  t.notOk(verify.ok, 'a wrong count')
  t.equal(verify.marginDifferences, 1)
  t.equal(verify.differences.length, 0, 'the cells themselves are right')
  await db.execute(sql`UPDATE cell_margins SET key_sum = (key_sum + 1) % 4294967296 WHERE (dimension, country, period, value) = (SELECT dimension, country, period, value FROM cell_margins WHERE dimension = '_T' LIMIT 1)`)
  await db.execute(sql`DELETE FROM cell_margins WHERE (dimension, country, period, value) = (SELECT dimension, country, period, value FROM cell_margins WHERE dimension = 'age_band' LIMIT 1)`)
  await db.execute(sql`INSERT INTO cell_margins VALUES ('sex', 'TKM', '2026-01', 'female', 4, 17)`)
  verify = await verifyCells(db)
  t.equal(verify.marginDifferences, 4, 'a wrong key sum, a missing and an extra row too')
  await rebuildCells(database)
  verify = await verifyCells(db)
  t.ok(verify.ok)
  t.equal(verify.marginDifferences, 0)
})

const DIMS: Dimension[] = ['sex', 'ageBand', 'conditionGroup', 'countryOfOrigin', 'migrationStatus', 'outcome', 'subnationalArea']
const VALUES: Partial<Record<Dimension, string[]>> = {
  period: ['2026-01', '2026-02', '2026-03', '2026-Q1', '2026'],
  country: COUNTRIES,
  sex: ['female', 'male', 'other'],
  ageBand: ['20-24', '25-29', '30-34'],
  conditionGroup: ['tb', 'hiv', '_Z', 'maternal'],
  countryOfOrigin: ['UZB', 'TJK', 'unknown'],
  migrationStatus: ['labour_migrant', 'student'],
  outcome: ['_Z', 'treated'],
  subnationalArea: ['_Z', 'KA-1', 'KG-1']
}

t.test('a roll-up through the margins releases what summing the cells releases, for every query shape', async (t) => {
  // KGZ is also "published": its published cells differ from its working cells.
  await db.execute(sql`INSERT INTO published_cells (${columnList()}, count, key_sum) SELECT ${columnList()}, count + 1, (key_sum + 7) % 4294967296 FROM cells WHERE country = 'KGZ'`)
  const ptable = buildPtable()
  const shape = fc.record({
    periodType: fc.constantFrom<PeriodType>('month', 'quarter', 'year'),
    byTime: fc.subarray<Dimension>(['period', 'country']),
    // mostly at most one other dimension (the margins' shapes), sometimes two (the cells')
    others: fc.subarray(DIMS, { maxLength: 2 }),
    filtered: fc.subarray<Dimension>(['country', 'period', ...DIMS], { maxLength: 2 }),
    picks: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    protection: fc.constantFrom<Protection>('cellkey', 'none'),
    published: fc.constantFrom<string[]>([], ['KGZ']),
    countries: fc.subarray(COUNTRIES, { minLength: 1 })
  })
  let viaMargins = 0
  await fc.assert(fc.asyncProperty(shape, async (s) => {
    const filters: AggregateQuery['filters'] = {}
    s.filtered.forEach((dim, i) => {
      const values = VALUES[dim]!.filter((v) => dim !== 'period' || v.length === 7)
      const n = 1 + (s.picks[i] % 2)
      filters[dim] = [...new Set(Array.from({ length: n }, (_, j) => values[(s.picks[i + 2 + j] ?? j) % values.length]))].sort()
    })
    if (filters.period) filters.period = filters.period.map((p) => s.periodType === 'month' ? p : s.periodType === 'quarter' ? '2026-Q1' : '2026')
    const query: AggregateQuery = { region: 'test', from: '2026-01', to: '2026-03', periodType: s.periodType, by: [...s.byTime, ...s.others], filters }
    const fixed = new Set([...query.by, ...Object.keys(filters)].filter((d) => d !== 'period' && d !== 'country'))
    if (fixed.size <= 1) viaMargins++
    const margins = await rollUp(db, query, s.countries, s.protection, ptable, s.published)
    const cells = await rollUp(db, query, s.countries, s.protection, ptable, s.published, { margins: false })
    t.same(margins, cells, JSON.stringify({ query, countries: s.countries, protection: s.protection, published: s.published }))
    return true
  }), { numRuns: 300, seed: 12 })
  t.ok(viaMargins > 100, `${viaMargins} of 300 shapes went through the margins`)
})

t.test('a query of one dimension reads the margins, one of two the cells', async (t) => {
  const ptable = buildPtable()
  const query: AggregateQuery = { region: 'test', from: '2026-01', to: '2026-03', periodType: 'month', by: ['country', 'sex'], filters: {} }
  const two: AggregateQuery = { ...query, filters: { ageBand: ['20-24'] } }
  const before = await rollUp(db, query, COUNTRIES, 'none', ptable)
  const twoBefore = await rollUp(db, two, COUNTRIES, 'none', ptable)
  // Tampering (verify would report it) shows which table answered.
  await db.execute(sql`UPDATE cell_margins SET count = count + 1000 WHERE dimension = 'sex' AND period = '2026-01'`)
  await db.execute(sql`UPDATE cell_margins SET count = count + 1000 WHERE dimension = 'age_band'`)
  const after = await rollUp(db, query, COUNTRIES, 'none', ptable)
  t.same(after.map((c) => c.count), before.map((c) => c.count + 1000), 'by country,sex: the margins')
  t.same(await rollUp(db, two, COUNTRIES, 'none', ptable), twoBefore, 'by country,sex and an age band: the cells')
  await rebuildCells(database)
  t.same(await rollUp(db, query, COUNTRIES, 'none', ptable), before)
})

t.test('the trigger and the margins follow the field definitions through a generated migration, never at start', async (t) => {
  const { migrate } = await import('../../src/db/migrate.js')
  const { marginsFunctionCurrent, marginsMigrationSql } = await import('../../src/db/write-migrations.js')
  t.ok(marginsFunctionCurrent(), 'the committed migrations define the function the field definitions make')
  const newest = MARGIN_COLUMNS[MARGIN_COLUMNS.length - 1]
  // As a database whose trigger and fill were written before the newest field: its margins are gone
  // and the trigger function no longer names it.
  const older = (await rows<{ def: string }>(db, sql`SELECT pg_get_functiondef('cell_margins_follow'::regproc) AS def`))[0].def
  t.ok(older.includes(`'${newest}', c.${newest}`), 'the installed function names the newest dimension')
  await db.execute(sql.raw(older.replace(`, ('${newest}', c.${newest})`, '')))
  await db.execute(sql`DELETE FROM cell_margins WHERE dimension = ${newest}`)
  const s = await push('KGZ', 12)
  await processSubmission(database, s.id)
  t.equal((await rows(db, sql`SELECT 1 FROM cell_margins WHERE dimension = ${newest}`)).length, 0, 'the older function keeps no margins of it')
  t.ok((await marginState()).wrong > 0)
  await migrate(database)
  t.ok((await marginState()).wrong > 0, 'a start applies migrations only: it makes nothing of the fields itself')

  // What npm run db:generate writes when the fields change: the function and the refill.
  await db.transaction(async (tx) => {
    for (const statement of marginsMigrationSql().split('--> statement-breakpoint')) await tx.execute(sql.raw(statement))
  })
  t.equal((await marginState()).wrong, 0, 'the generated migration refilled the margins')
  const after = await push('TJK', 12)
  await processSubmission(database, after.id)
  t.equal((await marginState()).wrong, 0, 'and its function follows the newest dimension')
  t.ok((await verifyCells(db)).ok)
})
