// Tables of the exchange. `drizzle-kit generate` turns changes here into migrations/.
import { sql } from 'drizzle-orm'
import {
  bigint, bigserial, boolean, char, date, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid
} from 'drizzle-orm/pg-core'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { DIMENSION_FIELDS, hasAbsentDefault, valueBefore, type DimensionName } from '../model/fields.js'

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()

/** A partner of the exchange: a ministry, a regional office, WHO, an NGO, or the hub operator. */
export const partners = pgTable('partners', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  roles: text('roles').array().notNull(),
  country: char('country', { length: 3 }),
  status: text('status').notNull().default('active'),
  // Registered public keys (a JWKS) used to check the partner's client assertions.
  jwks: jsonb('jwks').notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  // The last suspension, key change, role change or grant narrowing: tokens issued before it are refused.
  changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' })
})

/** A right to read the aggregates of one geographic unit (country or region code), optionally with a stricter k. */
export const grants = pgTable('grants', {
  partnerId: text('partner_id').notNull().references(() => partners.id),
  region: text('region').notNull(),
  k: integer('k'),
  // An origin grant: only the unit's data about nationals of this country (every query filters on it).
  countryOfOrigin: char('country_of_origin', { length: 3 }),
  createdAt: createdAt()
}, (t) => [primaryKey({ columns: [t.partnerId, t.region] })])

/** Named groups of countries. Every ISO country is also a region of one, without a row here. */
export const regions = pgTable('regions', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  members: text('members').array().notNull(),
  createdAt: createdAt()
})

/** Client-assertion ids already used: the primary key makes replay detection atomic. */
export const usedAssertions = pgTable('used_assertions', {
  partnerId: text('partner_id').notNull(),
  jti: text('jti').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [primaryKey({ columns: [t.partnerId, t.jti] }), index('used_assertions_expires_idx').on(t.expiresAt)])

/** The hub's own signing keys; private halves encrypted under the key-encryption key. */
export const hubKeys = pgTable('hub_keys', {
  kid: text('kid').primaryKey(),
  use: text('use').notNull(), // 'token' | 'receipt'
  alg: text('alg').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  privateJwkSealed: text('private_jwk_sealed').notNull(),
  createdAt: createdAt(),
  retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date' })
})

/**
 * One push of records by a reporter. `counted` is the wanted effect on the cells,
 * `applied` the effect they hold now; the outbox is every row where they differ.
 */
export const submissions = pgTable('submissions', {
  id: uuid('id').primaryKey(),
  partnerId: text('partner_id').notNull().references(() => partners.id),
  country: char('country', { length: 3 }).notNull(),
  schemaName: text('schema_name').notNull(),
  schemaVersion: text('schema_version').notNull(),
  recordCount: integer('record_count').notNull(),
  bodySha256: text('body_sha256').notNull(),
  counted: boolean('counted').notNull().default(true),
  applied: boolean('applied').notNull().default(false),
  generation: integer('generation').notNull().default(1),
  receipt: text('receipt').notNull(),
  createdAt: createdAt(),
  changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  aggregatedAt: timestamp('aggregated_at', { withTimezone: true, mode: 'date' }),
  retractedAt: timestamp('retracted_at', { withTimezone: true, mode: 'date' }),
  // A correction: the submission this one replaces, and (on the old one) the one that replaced it.
  replaces: uuid('replaces'),
  replacedBy: uuid('replaced_by')
}, (t) => [
  index('submissions_partner_created_idx').on(t.partnerId, t.createdAt, t.id),
  index('submissions_outbox_idx').on(t.changedAt).where(sql`${t.counted} <> ${t.applied}`)
])

/** Responses kept per partner and Idempotency-Key, so a retried push is answered, not stored twice. */
export const idempotencyKeys = pgTable('idempotency_keys', {
  partnerId: text('partner_id').notNull(),
  key: text('key').notNull(),
  requestSha256: text('request_sha256').notNull(),
  state: text('state').notNull(), // 'running' | 'done'
  statusCode: integer('status_code'),
  response: jsonb('response'),
  createdAt: createdAt()
}, (t) => [primaryKey({ columns: [t.partnerId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)])

/**
 * The dimensions of a cell, which every record carries too (so cells are a GROUP BY of records),
 * from the field definitions (model/fields.ts). Absent optional values are '_Z' (SDMX "not
 * applicable"), never NULL; a dimension added later defaults to what older rows mean by lacking it
 * (valueBefore: '_Z', or e.g. 'contact'), so they get it when the column is added.
 */
const cellDimensions = () => ({
  period: char('period', { length: 7 }).notNull(),
  country: char('country', { length: 3 }).notNull(),
  ...Object.fromEntries(DIMENSION_FIELDS.filter((f) => f.dimension !== 'period' && f.dimension !== 'country').map((f) => {
    const column = text(f.column as string).notNull()
    return [f.dimension as string, hasAbsentDefault(f) ? column.default(valueBefore(f)) : column]
  })) as Record<Exclude<DimensionName, 'period' | 'country'>, ReturnType<typeof text>>
})

/** The key of a table of cells: every dimension, in the order of DIMENSION_FIELDS (country and period first). */
function cellKey (t: Record<DimensionName, PgColumn>): [PgColumn, ...PgColumn[]] {
  return DIMENSION_FIELDS.map((f) => t[f.dimension as DimensionName]) as [PgColumn, ...PgColumn[]]
}

/**
 * One anonymized record. Optional dimensions absent from the record are stored as '_Z'
 * (SDMX "not applicable"), never NULL, so they group and compare like any value.
 */
export const records = pgTable('records', {
  submissionId: uuid('submission_id').notNull().references(() => submissions.id),
  partnerId: text('partner_id').notNull(),
  recordId: uuid('record_id').notNull(),
  // False once its submission is retracted: the recordId may then be sent again.
  live: boolean('live').notNull().default(true),
  ...cellDimensions(),
  condition: text('condition').notNull(),
  // How many contacts or cases this row stands for: 1 for a record, the count of an aggregate data value.
  count: integer('count').notNull().default(1),
  // The record key of the cell-key method: uniform in [0, 2^32), drawn by a CSPRNG at intake, never shown.
  recordKey: bigint('record_key', { mode: 'number' }).notNull()
}, (t) => [
  index('records_submission_idx').on(t.submissionId),
  uniqueIndex('records_live_record_id_idx').on(t.partnerId, t.recordId).where(sql`${t.live}`)
])

/** Aggregate cells at the finest grain: one count per period × country × every dimension. */
export const cells = pgTable('cells', {
  ...cellDimensions(),
  count: bigint('count', { mode: 'number' }).notNull(),
  // Sum of the record keys of the cell's records, mod 2^32: roll-ups add it like count (cell-key method).
  keySum: bigint('key_sum', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
}, (t) => [
  primaryKey({ name: 'cells_pkey', columns: cellKey(t) }),
  // The release path reads "when did this country's data last change" per request (answer cache key, lastUpdated).
  index('cells_country_updated_idx').on(t.country, t.updatedAt)
])

/**
 * The cells pre-rolled to one dimension: per month × country, each value of each dimension other than
 * period and country (`dimension` is its column), and the month × country total (`dimension` and
 * `value` '_T'), with count and key sum (mod 2^32) as summing the cells gives them. Roll-ups that fix
 * at most one dimension besides period and country read these instead of every cell. Kept by
 * triggers on cells (migration 0009), rebuilt by the aggregates rebuild; zero rows are not kept.
 */
export const cellMargins = pgTable('cell_margins', {
  dimension: text('dimension').notNull(),
  country: char('country', { length: 3 }).notNull(),
  period: char('period', { length: 7 }).notNull(),
  value: text('value').notNull(),
  count: bigint('count', { mode: 'number' }).notNull(),
  keySum: bigint('key_sum', { mode: 'number' }).notNull()
}, (t) => [primaryKey({ name: 'cell_margins_pkey', columns: [t.dimension, t.country, t.period, t.value] })])

/**
 * The distinct queries a partner asked on one UTC day (the query budget): a query already answered
 * for the same data version is free, so its key includes the version.
 */
export const queryBudget = pgTable('query_budget', {
  partnerId: text('partner_id').notNull(),
  day: char('day', { length: 10 }).notNull(),
  queryKey: text('query_key').notNull(),
  createdAt: createdAt()
}, (t) => [primaryKey({ columns: [t.partnerId, t.day, t.queryKey] })])

/** A reporter's mapping of its DHIS2 ids to mhx dimensions (PUT /v1/mappings/dhis2), used by ?format=dhis2 intake. */
export const dhis2Mappings = pgTable('dhis2_mappings', {
  partnerId: text('partner_id').primaryKey().references(() => partners.id),
  mapping: jsonb('mapping').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
})

/** Append-only, hash-chained log of every write, admin change and aggregate read. */
export const auditLog = pgTable('audit_log', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  partnerId: text('partner_id'),
  action: text('action').notNull(),
  subject: text('subject'),
  detail: jsonb('detail').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull()
}, (t) => [
  index('audit_log_partner_idx').on(t.partnerId, t.seq),
  index('audit_log_action_idx').on(t.action, t.seq),
  // The access log of a country: reads whose detail names it among the countries counted.
  index('audit_log_countries_idx').using('gin', sql`(${t.detail} -> 'countries')`)
])

/**
 * A country's decision about one reader (stewardship). A reader whose grants reach the country and
 * who has no row here is pending. `until` is the last day (UTC) the consent holds.
 */
export const consents = pgTable('consents', {
  country: char('country', { length: 3 }).notNull(),
  readerId: text('reader_id').notNull().references(() => partners.id),
  state: text('state').notNull(), // 'granted' | 'refused'
  k: integer('k'),
  release: text('release').notNull().default('published'), // 'published' | 'live'
  until: date('until', { mode: 'string' }),
  decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }).notNull(),
  decidedBy: text('decided_by').notNull()
}, (t) => [primaryKey({ columns: [t.country, t.readerId] })])

/** Every publication of a country-month by its steward; the latest revision is what `published` readers see. */
export const publications = pgTable('publications', {
  country: char('country', { length: 3 }).notNull(),
  period: char('period', { length: 7 }).notNull(),
  revision: integer('revision').notNull(),
  publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }).notNull(),
  publishedBy: text('published_by').notNull(),
  records: bigint('records', { mode: 'number' }).notNull()
}, (t) => [primaryKey({ columns: [t.country, t.period, t.revision] })])

/** The cells of each published country-month as its latest publication counted them (replaced on publish). */
export const publishedCells = pgTable('published_cells', {
  ...cellDimensions(),
  count: bigint('count', { mode: 'number' }).notNull(),
  keySum: bigint('key_sum', { mode: 'number' }).notNull()
}, (t) => [primaryKey({ name: 'published_cells_pkey', columns: cellKey(t) })])

/** Hub-signed checkpoints of the audit chain's head, so a cut tail or a rewritten chain is visible later. */
export const auditCheckpoints = pgTable('audit_checkpoints', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  hash: text('hash').notNull(),
  at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  jws: text('jws').notNull()
})

/**
 * A partner's webhook subscription (notifications/): where to POST which events, optionally only
 * about some regions. The signing secret is sealed under the key-encryption key (MHX_KEK), as the
 * hub's private keys are; shown once, when the subscription is made.
 */
export const subscriptions = pgTable('subscriptions', {
  id: uuid('id').primaryKey(),
  partnerId: text('partner_id').notNull().references(() => partners.id),
  url: text('url').notNull(),
  events: text('events').array().notNull(),
  // null: every country the partner may read
  regions: text('regions').array(),
  secretSealed: text('secret_sealed').notNull(),
  createdAt: createdAt(),
  deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' })
}, (t) => [index('subscriptions_partner_idx').on(t.partnerId, t.createdAt)])

/**
 * The notifications' outbox: one row per event, written in the transaction that caused it (a
 * publication), with a delivery per subscription that asked for its type.
 */
export const webhookEvents = pgTable('webhook_events', {
  id: uuid('id').primaryKey(),
  type: text('type').notNull(),
  country: char('country', { length: 3 }).notNull(),
  period: char('period', { length: 7 }).notNull(),
  data: jsonb('data').notNull(),
  createdAt: createdAt()
})

/**
 * One event for one subscription: pending until delivered, failed after its last attempt, withheld
 * when the partner may not read it at delivery time (never shown), cancelled with its subscription.
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: uuid('id').primaryKey(),
  eventId: uuid('event_id').notNull().references(() => webhookEvents.id),
  subscriptionId: uuid('subscription_id').notNull().references(() => subscriptions.id),
  state: text('state').notNull().default('pending'), // 'pending' | 'delivered' | 'failed' | 'withheld' | 'cancelled'
  // Every try, in order: {at, status, error, ms}; the delivery log shows them.
  attempts: jsonb('attempts').notNull().default(sql`'[]'::jsonb`),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
}, (t) => [
  index('webhook_deliveries_subscription_idx').on(t.subscriptionId, t.createdAt),
  index('webhook_deliveries_pending_idx').on(t.updatedAt).where(sql`${t.state} = 'pending'`)
])

/**
 * Denominators of the indicators: a population's public figure for one country and one year, every
 * revision kept (the latest is the one used; the others are its history). Public statistics, not
 * protected counts.
 */
export const denominators = pgTable('denominators', {
  country: char('country', { length: 3 }).notNull(),
  year: integer('year').notNull(),
  population: text('population').notNull(),
  revision: integer('revision').notNull(),
  value: bigint('value', { mode: 'number' }).notNull(),
  source: text('source').notNull(),
  sourceUrl: text('source_url'),
  vintage: text('vintage').notNull(),
  note: text('note'),
  setBy: text('set_by').notNull(),
  setAt: timestamp('set_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [primaryKey({ columns: [t.country, t.population, t.year, t.revision] })])

/** Reference values (comparators, e.g. the national TB notification rate from WHO), every revision kept. */
export const referenceValues = pgTable('reference_values', {
  indicator: text('indicator').notNull(),
  country: char('country', { length: 3 }).notNull(),
  year: integer('year').notNull(),
  revision: integer('revision').notNull(),
  value: doublePrecision('value').notNull(),
  source: text('source').notNull(),
  sourceUrl: text('source_url'),
  note: text('note'),
  setBy: text('set_by').notNull(),
  setAt: timestamp('set_at', { withTimezone: true, mode: 'date' }).notNull()
}, (t) => [primaryKey({ columns: [t.indicator, t.country, t.year, t.revision] })])
