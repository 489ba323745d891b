// The one definition of every record field. The published JSON Schemas (intake/write-schemas.ts), the
// database columns (db/schema.ts), the COPY column list (intake/bulk.ts), the cell key
// (model/cells.ts), the query dimensions (release/dimensions.ts) and the CSV header
// derive from this list: adding a field is one entry here, `npm run schemas` and `npm run db:generate` (docs/fields.md).

/** How a field's values are checked; the code lists of `country*` and `subnationalArea` come from the catalogs. */
export type FieldType =
  | 'uuid' // any UUID (1.0.0), or a random version-4 UUID from `uuidV4Since`
  | 'month' // YYYY-MM
  | 'country' // ISO 3166-1 alpha-3 of the countries catalog
  | 'countryOrUnknown' // the same, or "unknown"
  | 'subnationalArea' // ISO 3166-2 first-level code of the subnational-areas catalog
  | 'icd10' // a category of WHO's ICD-10 (icd10-categories catalog) or a subcategory of one; its condition group is a dimension of its own
  | 'codes' // one of `codes`
  | 'derived' // not sent: computed from another field (the condition group)

export interface FieldDefinition {
  /** camelCase, as records and answers name it */
  readonly name: string
  readonly type: FieldType
  readonly codes?: readonly string[]
  /** reads as the expected value: validation messages say "<field> must be <description>" (code fields) */
  readonly description: string
  readonly label: { readonly en: string, readonly ru: string }
  /** the schema version of migrant-health-event that introduced the field */
  readonly since: string
  /** required in the versions that have it (else optional: absent is stored as `_Z`) */
  readonly required: boolean
  /**
   * What a record of a version before `since` means by lacking the field, stored instead of `_Z`
   * (1.0.0 records are all contacts); also what rows stored before the field existed get.
   */
  readonly before?: string
  /** column in `records` (and in `cells` when a dimension); undefined: not stored (reportingCountry is `country`) */
  readonly column?: string
  /** a cell dimension: the name a query uses (`by=`, filters) */
  readonly dimension?: string
  /** SDMX concept id (dimension only) */
  readonly sdmx?: string
  /** may single out a person in small groups: annotated `x-mhx-sensitive` in the schema */
  readonly sensitive?: boolean
  /** not a field of a data value of the aggregate schema */
  readonly recordOnly?: boolean
  /** `derived`: the field it is computed from */
  readonly from?: string
  /**
   * `derived`: from this version of migrant-health-aggregate a data value may give it itself (a
   * code of its catalog) instead of the field it is derived from, as another hub's answer holds it
   */
  readonly aggregateSince?: string
}

const AGE_BANDS = ['0-4', '5-9', '10-14', '15-19', '20-24', '25-29', '30-34', '35-39', '40-44', '45-49', '50-54',
  '55-59', '60-64', '65-69', '70-74', '75-79', '80+', 'unknown'] as const

export const FIELDS = [
  {
    name: 'recordId', type: 'uuid', since: '1.0.0', required: true, column: 'record_id', recordOnly: true,
    description: 'a UUID (8-4-4-4-12 hex digits) chosen by the reporter, unique per reporter; never a national ID',
    label: { en: 'Record id', ru: 'Идентификатор записи' }
  },
  {
    name: 'period', type: 'month', since: '1.0.0', required: true, column: 'period', dimension: 'period', sdmx: 'TIME_PERIOD',
    description: 'a month YYYY-MM, e.g. 2026-03 (the month of the contact; no day)',
    label: { en: 'Period', ru: 'Период' }
  },
  {
    name: 'reportingCountry', type: 'country', since: '1.0.0', required: false, column: 'country', dimension: 'country', sdmx: 'REF_AREA',
    description: 'the ISO 3166-1 alpha-3 code of the reporting country (optional: taken from the access token, must match it if given)',
    label: { en: 'Reporting country', ru: 'Страна, представившая данные' }
  },
  {
    name: 'subnationalArea', type: 'subnationalArea', since: '1.0.0', required: false, column: 'subnational_area', dimension: 'subnationalArea', sdmx: 'SUBNATIONAL_AREA',
    description: 'an ISO 3166-2 first-level code of the reporting country valid for the record\'s period, e.g. KZ-75 (see the subnational-areas catalog)',
    label: { en: 'Sub-national area', ru: 'Регион' }
  },
  {
    name: 'countryOfOrigin', type: 'countryOrUnknown', since: '1.0.0', required: true, column: 'country_of_origin', dimension: 'countryOfOrigin', sdmx: 'COUNTRY_OF_ORIGIN',
    description: 'an ISO 3166-1 alpha-3 country code (citizenship or origin), e.g. UZB, or "unknown"',
    label: { en: 'Country of origin', ru: 'Страна происхождения' }
  },
  {
    name: 'migrationStatus', type: 'codes', since: '1.0.0', required: true, column: 'migration_status', dimension: 'migrationStatus', sdmx: 'MIGRATION_STATUS',
    codes: ['labour_migrant', 'family_member', 'student', 'refugee_or_asylum_seeker', 'returnee', 'stateless', 'other', 'unknown'],
    description: 'Migration status; never legal or documentation status',
    label: { en: 'Migration status', ru: 'Миграционный статус' }
  },
  {
    name: 'migrationStage', type: 'codes', since: '1.0.0', required: true, column: 'migration_stage', dimension: 'migrationStage', sdmx: 'MIGRATION_STAGE',
    codes: ['pre_departure', 'transit', 'destination', 'return'],
    description: 'Stage of the migration cycle at the time of the contact',
    label: { en: 'Migration stage', ru: 'Этап миграции' }
  },
  {
    name: 'sex', type: 'codes', since: '1.0.0', required: true, column: 'sex', dimension: 'sex', sdmx: 'SEX',
    codes: ['female', 'male', 'other', 'unknown'],
    description: 'Sex',
    label: { en: 'Sex', ru: 'Пол' }
  },
  {
    name: 'ageBand', type: 'codes', since: '1.0.0', required: true, column: 'age_band', dimension: 'ageBand', sdmx: 'AGE_BAND',
    codes: AGE_BANDS,
    description: 'Age in 5-year bands',
    label: { en: 'Age band', ru: 'Возрастная группа' }
  },
  {
    name: 'encounter', type: 'codes', since: '1.0.0', required: true, column: 'encounter', dimension: 'encounter', sdmx: 'ENCOUNTER',
    codes: ['primary_care', 'emergency_care', 'inpatient', 'antenatal_care', 'delivery', 'postnatal_care', 'immunization',
      'mental_health_psychosocial', 'occupational_injury', 'screening', 'other'],
    description: 'Kind of health-service contact',
    label: { en: 'Encounter', ru: 'Вид обращения' }
  },
  {
    name: 'condition', type: 'icd10', since: '1.0.0', required: false, column: 'condition',
    description: 'a category of WHO\'s ICD-10 (2019 edition) such as A15, B20 or O80, or a subcategory of one such as O80.1 (a dot and a digit, and WHO\'s optional fifth character): see the icd10-categories catalog (optional; mapped to a condition group by the condition-groups catalog)',
    label: { en: 'Condition (ICD-10)', ru: 'Заболевание (МКБ-10)' }
  },
  {
    name: 'conditionGroup', type: 'derived', from: 'condition', aggregateSince: '1.1.0', since: '1.0.0', required: false, column: 'condition_group', dimension: 'conditionGroup', sdmx: 'CONDITION_GROUP',
    description: 'the condition group of the ICD-10 code (condition-groups catalog); a data value (migrant-health-aggregate from 1.1.0) may give the group itself instead of condition, as another hub answers by it',
    label: { en: 'Condition group', ru: 'Группа заболеваний' }
  },
  {
    name: 'screeningContext', type: 'codes', since: '1.0.0', required: false, column: 'screening_context', dimension: 'screeningContext', sdmx: 'SCREENING_CONTEXT', sensitive: true,
    codes: ['pre_departure', 'arrival', 'work_permit', 'voluntary'],
    description: 'Context of a screening (optional), to monitor compulsory screening (WHA 61.17)',
    label: { en: 'Screening context', ru: 'Контекст скрининга' }
  },
  {
    name: 'screeningConsequence', type: 'codes', since: '1.0.0', required: false, column: 'screening_consequence', dimension: 'screeningConsequence', sdmx: 'SCREENING_CONSEQUENCE', sensitive: true,
    codes: ['none', 'referral', 'permit_denied', 'removal'],
    description: 'Consequence of a screening (optional), to monitor HIV/TB-related travel restrictions',
    label: { en: 'Screening consequence', ru: 'Последствие скрининга' }
  },
  {
    name: 'insurance', type: 'codes', since: '1.0.0', required: true, column: 'insurance', dimension: 'insurance', sdmx: 'INSURANCE',
    codes: ['public', 'private', 'none', 'unknown'],
    description: 'Health coverage',
    label: { en: 'Health coverage', ru: 'Медицинское страхование' }
  },
  {
    name: 'outcome', type: 'codes', since: '1.0.0', required: false, column: 'outcome', dimension: 'outcome', sdmx: 'OUTCOME',
    codes: ['treated', 'referred', 'denied_care', 'died', 'unknown'],
    description: 'Outcome of the contact (optional)',
    label: { en: 'Outcome', ru: 'Исход' }
  },
  {
    name: 'recordType', type: 'codes', since: '1.1.0', before: 'contact', required: true, column: 'record_type', dimension: 'recordType', sdmx: 'RECORD_TYPE',
    codes: ['contact', 'case_notification'],
    description: 'What the record counts: a health-service contact or a case notification (counts are of one or the other, never both unmarked)',
    label: { en: 'Record type', ru: 'Тип записи' }
  },
  {
    name: 'returnedFrom', type: 'country', since: '1.1.0', required: false, column: 'returned_from', dimension: 'returnedFrom', sdmx: 'RETURNED_FROM',
    description: 'the ISO 3166-1 alpha-3 code of the country a returning migrant came back from (optional; only with migrationStage return)',
    label: { en: 'Returned from', ru: 'Вернулся из страны' }
  },
  {
    name: 'tbOutcome', type: 'codes', since: '1.1.0', required: false, column: 'tb_outcome', dimension: 'tbOutcome', sdmx: 'TB_OUTCOME',
    codes: ['cured', 'treatment_completed', 'treatment_failed', 'died', 'lost_to_follow_up', 'not_evaluated'],
    description: 'WHO TB treatment outcome of the cohort (optional; only on a TB case notification)',
    label: { en: 'TB treatment outcome', ru: 'Исход лечения туберкулёза' }
  },
  {
    name: 'serviceCoverage', type: 'codes', since: '1.1.0', required: false, column: 'service_coverage', dimension: 'serviceCoverage', sdmx: 'SERVICE_COVERAGE',
    codes: ['covered', 'partially_covered', 'not_covered', 'unknown'],
    description: 'Whether this service was covered (optional): the gap that insurance cannot show',
    label: { en: 'Service coverage', ru: 'Покрытие услуги' }
  }
] as const satisfies readonly FieldDefinition[]

export type Field = typeof FIELDS[number]
export type FieldName = Field['name']
type DimensionField = Extract<Field, { dimension: string }>
export type DimensionName = DimensionField['dimension']

/** SDMX "not applicable": how an absent optional value is stored, never NULL. */
export const ABSENT = '_Z'

/** The record schema these fields belong to and its versions, oldest first. */
export const RECORD_SCHEMA = 'migrant-health-event'
export const AGGREGATE_SCHEMA = 'migrant-health-aggregate'
/** Versions of migrant-health-event from which recordId must be a random (version 4) UUID. */
export const UUID_V4_SINCE = '1.1.0'

export function compareVersions (a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i]
  return 0
}

/** The fields a version of migrant-health-event has (derived ones excluded), in definition order. */
export function fieldsOf (version: string): FieldDefinition[] {
  return (FIELDS as readonly FieldDefinition[]).filter((f) => f.type !== 'derived' && compareVersions(f.since, version) <= 0)
}

/**
 * The fields of a data value of a version of migrant-health-aggregate whose record fields are those
 * of migrant-health-event `fieldsVersion`: those of a record but recordId, and the derived fields
 * a data value may give itself from that version (conditionGroup), in definition order.
 */
export function aggregateFieldsOf (version: string, fieldsVersion: string): FieldDefinition[] {
  return (FIELDS as readonly FieldDefinition[]).filter((f) => f.type === 'derived'
    ? f.aggregateSince !== undefined && compareVersions(f.aggregateSince, version) <= 0
    : !f.recordOnly && compareVersions(f.since, fieldsVersion) <= 0)
}

/** Columns of `records` holding a field, in definition order (record_id first). */
export const RECORD_FIELDS: readonly FieldDefinition[] = (FIELDS as readonly FieldDefinition[]).filter((f) => f.column !== undefined)

/**
 * Cell dimensions in the order of the cells primary key: country and period first (reads filter on
 * them), then every other dimension in definition order.
 */
export const DIMENSION_FIELDS: readonly FieldDefinition[] = (() => {
  const dims = (FIELDS as readonly FieldDefinition[]).filter((f) => f.dimension !== undefined)
  const first = ['country', 'period'].map((d) => dims.find((f) => f.dimension === d) as FieldDefinition)
  return [...first, ...dims.filter((f) => !first.includes(f))]
})()

/** A column added after 1.0.0 has a default: rows stored before it lack the field. */
export function hasAbsentDefault (field: FieldDefinition): boolean {
  return field.since !== '1.0.0'
}

/** What a record lacking the field because its version predates it holds: `before`, else `_Z`. */
export function valueBefore (field: FieldDefinition): string {
  return field.before ?? ABSENT
}

export function fieldNamed (name: string): FieldDefinition | undefined {
  return (FIELDS as readonly FieldDefinition[]).find((f) => f.name === name)
}
