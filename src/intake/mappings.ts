// A reporter's DHIS2 mapping (PUT/GET /v1/mappings/dhis2): its DHIS2 ids → mhx dimensions, stored per reporter.
import { eq } from 'drizzle-orm'
import { Type, type Static } from 'typebox'
import { appendAudit } from '../audit/log.js'
import { inTransaction, type Database, type Queryable } from '../db/connect.js'
import { dhis2Mappings } from '../db/schema.js'
import type { Dhis2Mapping } from './codecs/dhis2.js'
import { FIELDS, type FieldDefinition } from '../model/fields.js'

/** Dimensions a DHIS2 id may set: every data value field (conditionGroup included) but the period, the place (orgUnits) and the count. */
export const MAPPABLE_FIELDS: readonly string[] = (FIELDS as readonly FieldDefinition[])
  .filter((f) => !f.recordOnly && (f.type !== 'derived' || f.aggregateSince !== undefined) && !['period', 'reportingCountry', 'subnationalArea'].includes(f.name))
  .map((f) => f.name)

const Uid = '^[A-Za-z0-9_.-]{1,64}$'
// values are checked by the record schema at intake; here only their shape and the dimension names
const Value = Type.String({ pattern: '^[A-Za-z0-9_+.-]{1,32}$' })
const Dimensions = Type.Record(Type.String({ pattern: Uid }),
  Type.Object(Object.fromEntries(MAPPABLE_FIELDS.map((field) => [field, Type.Optional(Value)])), { additionalProperties: false }),
  { maxProperties: 10000 })

export const Dhis2MappingBody = Type.Object({
  dataElements: Dimensions,
  categoryOptionCombos: Dimensions,
  attributeOptionCombos: Type.Optional(Dimensions),
  categories: Type.Optional(Type.Record(Type.String({ pattern: Uid }), Dimensions, {
    maxProperties: 1000,
    description: 'DHIS2 ADX (?format=dhis2 with application/adx+xml): category code → option code → dimensions, for the category attributes of a dataValue or group'
  })),
  orgUnits: Type.Record(Type.String({ pattern: Uid }), Type.String({ pattern: '^([A-Z]{3}|[A-Z]{2}-[0-9A-Z]{1,3})$', description: 'a country (alpha-3) or first-level sub-national code' }), { maxProperties: 10000 })
}, {
  additionalProperties: false,
  description: 'DHIS2 id or code (as your export uses them) → {dimension: value}; the dimensions of a data value are the union of the mappings of its dataElement, categoryOptionCombo, attributeOptionCombo and (ADX) category options; orgUnits give the country or sub-national area'
})
export type Dhis2MappingBody = Static<typeof Dhis2MappingBody>

export async function getDhis2Mapping (q: Queryable, partnerId: string): Promise<Dhis2Mapping | undefined> {
  const [row] = await q.select({ mapping: dhis2Mappings.mapping }).from(dhis2Mappings).where(eq(dhis2Mappings.partnerId, partnerId)).limit(1)
  return row?.mapping as Dhis2Mapping | undefined
}

/** Replaces the reporter's mapping. An id mapped to no dimension is allowed: DHIS2's default combos (HllvX50cXC0) set nothing. */
export async function putDhis2Mapping (database: Database, partnerId: string, mapping: Dhis2MappingBody, at: Date): Promise<void> {
  await inTransaction(database, async (tx) => {
    await tx.insert(dhis2Mappings).values({ partnerId, mapping, updatedAt: at })
      .onConflictDoUpdate({ target: dhis2Mappings.partnerId, set: { mapping, updatedAt: at } })
    const ids = (table: keyof Dhis2MappingBody) => Object.keys(mapping[table] ?? {}).length
    await appendAudit(tx, {
      partnerId, action: 'mapping.put', subject: 'dhis2',
      detail: { dataElements: ids('dataElements'), categoryOptionCombos: ids('categoryOptionCombos'), attributeOptionCombos: ids('attributeOptionCombos'), categories: ids('categories'), orgUnits: ids('orgUnits') }
    }, at)
  })
}
