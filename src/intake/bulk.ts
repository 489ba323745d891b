// The fast bulk path: every record of a submission in one INSERT … SELECT FROM unnest(…), one array
// parameter per column, so a batch of any size stays far below PostgreSQL's 65,535 parameters.
// The same statement runs on PostgreSQL and PGlite.
import { sql } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'
import type { CanonicalRecord } from './registry.js'

/** SDMX "not applicable": how an absent optional dimension is stored, never NULL. */
export const ABSENT = '_Z'

export interface RecordOwner { submissionId: string, partnerId: string, country: string }

/** Inserts the records of one submission (live) in a single statement. */
export async function insertRecords (q: Queryable, owner: RecordOwner, records: readonly CanonicalRecord[]): Promise<void> {
  if (records.length === 0) return
  const n = records.length
  const recordId = new Array<string>(n)
  const period = new Array<string>(n)
  const subnationalArea = new Array<string>(n)
  const countryOfOrigin = new Array<string>(n)
  const migrationStatus = new Array<string>(n)
  const migrationStage = new Array<string>(n)
  const sex = new Array<string>(n)
  const ageBand = new Array<string>(n)
  const encounter = new Array<string>(n)
  const condition = new Array<string>(n)
  const conditionGroup = new Array<string>(n)
  const screeningContext = new Array<string>(n)
  const screeningConsequence = new Array<string>(n)
  const insurance = new Array<string>(n)
  const outcome = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const r = records[i]
    recordId[i] = r.recordId
    period[i] = r.period
    subnationalArea[i] = r.subnationalArea ?? ABSENT
    countryOfOrigin[i] = r.countryOfOrigin
    migrationStatus[i] = r.migrationStatus
    migrationStage[i] = r.migrationStage
    sex[i] = r.sex
    ageBand[i] = r.ageBand
    encounter[i] = r.encounter
    condition[i] = r.condition ?? ABSENT
    conditionGroup[i] = r.conditionGroup ?? ABSENT
    screeningContext[i] = r.screeningContext ?? ABSENT
    screeningConsequence[i] = r.screeningConsequence ?? ABSENT
    insurance[i] = r.insurance
    outcome[i] = r.outcome ?? ABSENT
  }
  const text = (values: string[]) => sql`${sql.param(values)}::text[]`
  await q.execute(sql`
    INSERT INTO records (submission_id, partner_id, record_id, live, period, country, subnational_area,
      country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition,
      condition_group, screening_context, screening_consequence, insurance, outcome)
    SELECT ${owner.submissionId}::uuid, ${owner.partnerId}, r.record_id, true, r.period, ${owner.country},
      r.subnational_area, r.country_of_origin, r.migration_status, r.migration_stage, r.sex, r.age_band,
      r.encounter, r.condition, r.condition_group, r.screening_context, r.screening_consequence,
      r.insurance, r.outcome
    FROM unnest(${sql.param(recordId)}::uuid[], ${text(period)}, ${text(subnationalArea)}, ${text(countryOfOrigin)},
      ${text(migrationStatus)}, ${text(migrationStage)}, ${text(sex)}, ${text(ageBand)}, ${text(encounter)},
      ${text(condition)}, ${text(conditionGroup)}, ${text(screeningContext)}, ${text(screeningConsequence)},
      ${text(insurance)}, ${text(outcome)})
      AS r(record_id, period, subnational_area, country_of_origin, migration_status, migration_stage, sex,
        age_band, encounter, condition, condition_group, screening_context, screening_consequence,
        insurance, outcome)`)
}
