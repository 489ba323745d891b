// The shared record schemas and reference catalogs under schemas/, loaded once,
// and the pure validation of a batch of records against them (no DB, no HTTP).
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { dataValueRecordId } from './data-value-key.js'
import { ABSENT, compareVersions, fieldNamed, RECORD_FIELDS, valueBefore, type FieldDefinition } from '../model/fields.js'

export type SchemaKind = 'record-schema' | 'catalog'

export interface SchemaListing {
  name: string
  version: string
  kind: SchemaKind
  /** path relative to the schemas folder, e.g. `migrant-health-event/1.0.0.json` */
  path: string
}

/** One problem with one record; `path` is a JSON pointer relative to the record (`/sex`, `` for the record itself). */
export interface RecordFault {
  index: number
  path: string
  message: string
}

/**
 * A valid record (or aggregate data value) as stored: `values` in the order of STORED_FIELDS, every
 * field present (an absent optional one is `_Z`), the reporting country from the token.
 */
export interface CanonicalRecord {
  /**
   * a record's own recordId, lower-cased (UUIDs compare case-insensitively); `''` for a data value,
   * whose recordId derives from its reporter and values (recordIdOf)
   */
  recordId: string
  /** 1 for a record, the count of a data value */
  count: number
  values: string[]
}

/** The columns of `records` a canonical record's values fill, in order (every field with a column but recordId). */
export const STORED_FIELDS: readonly FieldDefinition[] = RECORD_FIELDS.filter((f) => f.name !== 'recordId')

/** The value of field `name` in a canonical record (`_Z` when absent). */
export function valueOf (record: CanonicalRecord, name: string): string {
  const at = STORED_FIELDS.findIndex((f) => f.name === name)
  if (at < 0) throw new Error(`no stored field ${name}`)
  return record.values[at]
}

export interface ValidationResult {
  /** at most `maxErrors` faults, in record order */
  faults: RecordFault[]
  /** faults found beyond `maxErrors` */
  faultsOmitted: number
  /** canonical records in input order; empty unless the whole batch is valid, so nothing partial can be stored */
  records: CanonicalRecord[]
}

export interface ValidationContext {
  /** alpha-3 country of the submitting partner (from its token) */
  reportingCountry: string
  maxErrors?: number
}

export interface SubnationalArea {
  code: string
  country: string
  name: string
  validFrom: string | null
  validTo: string | null
  successors?: string[]
}

export interface SchemaRegistry {
  list(): SchemaListing[]
  /** the file's JSON as shipped (frozen), for GET /v1/schemas/{name}/{version} */
  document(name: string, version: string): unknown | undefined
  /** whether a record schema (not a catalog) exists */
  has(name: string, version: string): boolean
  /** whether a record schema is an aggregate one (data values with counts) */
  isAggregate(name: string, version: string): boolean
  /** field names of a record schema (of a data value for an aggregate schema), in schema order */
  fields(name: string, version: string): string[] | undefined
  validate(name: string, version: string, records: unknown[], ctx: ValidationContext): ValidationResult
  /** condition group of an ICD-10 code (null without a code), from the newest condition-groups catalog or `version` */
  conditionGroup(icd10: string | undefined | null, version?: string): string | null
  /** every condition group of the newest condition-groups catalog (or `version`), `other` included */
  conditionGroupNames(version?: string): string[]
  /** whether an alpha-3 code is in the newest countries catalog */
  isCountry(alpha3: string): boolean
  /** a sub-national area of the newest subnational-areas catalog (any validity), e.g. to find its country */
  subnationalArea(code: string): SubnationalArea | undefined
}

const DEFAULT_MAX_ERRORS = 100
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/
// keys that could reach an object's prototype when a record is copied or merged downstream
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype']
const CLOSED_RECORD_HINT = 'records are closed: no free text or identifiers'

// ajv-formats is CommonJS: under NodeNext its default import is the module object
const addFormats = addFormatsModule.default

interface JsonObject {
  [key: string]: unknown
}

interface PropertySchema {
  type?: string
  enum?: unknown[]
  const?: unknown
  pattern?: string
  description?: string
}

interface RuleAnnotation {
  id: string
  path: string
  message: string
}

interface RecordSchemaEntry {
  document: JsonObject
  validateFn: ValidateFunction
  fields: string[]
  /** data values with a count (migrant-health-aggregate), not records */
  aggregate: boolean
  /** where each stored value comes from, in STORED_FIELDS order */
  sources: ValueSource[]
  /**
   * the stored values before the record's own are set: `_Z`, or for a field the schema predates
   * what its records mean by lacking it (valueBefore: a 1.0.0 record is a contact)
   */
  initial: string[]
  /** the stored slot of each field the record gives itself (sources of kind `field`) */
  slotOf: Map<string, number>
  /** the cross-field rule of each allOf entry of the record (or data value) schema */
  rules: Array<RuleAnnotation | undefined>
}

/** the record's own field, the token's country, the condition group of the condition, or absent */
type ValueSource = { kind: 'field', name: string } | { kind: 'country' } | { kind: 'conditionGroup', given: boolean } | { kind: 'absent' }

/** The recordId a canonical record is stored under: its own, or that of a data value of `reporter`. */
export function recordIdOf (record: CanonicalRecord, reporter: string): string {
  return record.recordId === '' ? dataValueRecordId(reporter, record.values) : record.recordId
}

/**
 * Data values of one submission with the same dimensions as an earlier one (they would count
 * twice), as faults, from their recordIds (recordIdOf). Not part of validate: storing finds them
 * for nothing (the unique index on recordIds), and this runs when it did, or for a dry run.
 */
export function duplicateDataValues (recordIds: readonly string[]): RecordFault[] {
  const first = new Map<string, number>()
  const faults: RecordFault[] = []
  recordIds.forEach((recordId, index) => {
    const seen = first.get(recordId)
    if (seen === undefined) first.set(recordId, index)
    else faults.push({ index, path: '', message: `data value has the same dimensions as data value ${seen}: add their counts into one` })
  })
  return faults
}

interface ConditionRange {
  group: string
  from: string
  to: string
}

interface ConditionGroupCatalog {
  ranges: ConditionRange[]
  groups: string[]
  fallback: string
  /** a batch repeats a few codes many times: remember the answers, within a bound */
  cache: Map<string, string>
}

const CONDITION_CACHE_LIMIT = 20000

interface LoadedFile {
  listing: SchemaListing
  document: JsonObject
}

/** Loads and compiles every JSON file under `dir` (default: `<package root>/schemas`). Throws on any malformed file. */
export async function loadSchemaRegistry (dir: string = defaultSchemasDir()): Promise<SchemaRegistry> {
  const files = await readSchemaFiles(dir)
  const ajv = createAjv()
  const recordSchemas = new Map<string, RecordSchemaEntry>()
  const catalogs = new Map<string, Map<string, JsonObject>>()
  for (const file of files) {
    const { name, version, kind } = file.listing
    if (kind === 'record-schema') recordSchemas.set(key(name, version), compileRecordSchema(ajv, file))
    else catalogVersions(catalogs, name).set(version, file.document)
  }
  for (const file of files) deepFreeze(file.document)
  return buildRegistry(files, recordSchemas, catalogs)
}

/** `<package root>/schemas`, found by walking up to package.json so it works from src/ (tsx) and from dist/. */
export function defaultSchemasDir (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('schema registry: no package.json above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
  return path.join(dir, 'schemas')
}

function createAjv (): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // a cross-field rule's `if: {required: [field]}` names a field its object defines, not its own subschema
    strictRequired: false,
    // every pattern is ASCII; non-unicode regular expressions run about twice as fast in V8
    unicodeRegExp: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    // parentSchema on errors lets messages say what the field expects without a second copy of the schema
    verbose: true
  })
  addFormats(ajv)
  // annotations of the published schemas (intake/write-schemas.ts): no effect on validation
  ajv.addKeyword({ keyword: 'x-mhx-label', schemaType: 'object' })
  ajv.addKeyword({ keyword: 'x-mhx-sensitive', schemaType: 'boolean' })
  ajv.addKeyword({ keyword: 'x-mhx-rule', schemaType: 'object' })
  // a catalog's codes as a set (withCodeSets): the same values as the schema's enum
  ajv.addKeyword({
    keyword: CODE_SET,
    schemaType: 'array',
    compile (codes: string[]) {
      const set = new Set(codes)
      return (data: unknown) => typeof data === 'string' && set.has(data)
    }
  })
  return ajv
}

const CODE_SET = 'x-mhx-code-set'
const LONG_ENUM = 30

/**
 * The schema as compiled: each enum of more than LONG_ENUM strings (countries, sub-national areas)
 * checked through a Set instead of Ajv's enum, which compares the value with every code in turn:
 * at ~250 countries and ~200 areas that was most of a data value's validation. The same values
 * are accepted and refused, and the fault's message is still the schema's description; the
 * published document is not changed (this works on a copy).
 */
function withCodeSets (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withCodeSets)
  if (!isJsonObject(schema)) return schema
  const copy: JsonObject = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'enum' && Array.isArray(value) && value.length > LONG_ENUM && value.every((v) => typeof v === 'string') && typeof schema.description === 'string') copy[CODE_SET] = value
    else copy[key] = withCodeSets(value)
  }
  return copy
}

async function readSchemaFiles (dir: string): Promise<LoadedFile[]> {
  const paths = await listJsonFiles(dir)
  const files = await Promise.all(paths.map((file) => readSchemaFile(dir, file)))
  return files.sort((a, b) => a.listing.name.localeCompare(b.listing.name) || compareVersions(a.listing.version, b.listing.version))
}

async function listJsonFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => path.join(entry.parentPath, entry.name))
}

async function readSchemaFile (dir: string, file: string): Promise<LoadedFile> {
  const relative = path.relative(dir, file).split(path.sep).join('/')
  const match = /^([a-z0-9-]+)\/(\d+\.\d+\.\d+)\.json$/.exec(relative)
  if (!match) throw new Error(`schema registry: ${relative} is not laid out as <name>/<major.minor.patch>.json`)
  const [, name, version] = match
  let document: unknown
  try {
    document = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new Error(`schema registry: ${relative} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
  if (!isJsonObject(document)) throw new Error(`schema registry: ${relative} is not a JSON object`)
  const kind: SchemaKind = '$schema' in document ? 'record-schema' : 'catalog'
  checkFileIdentity(relative, document, kind, name, version)
  return { listing: { name, version, kind, path: relative }, document }
}

// a file's own name and version must agree with where it lives, or the API would serve one under another's name
function checkFileIdentity (relative: string, document: JsonObject, kind: SchemaKind, name: string, version: string): void {
  if (kind === 'record-schema') {
    const id = document.$id
    if (typeof id !== 'string' || !id.endsWith(`/${name}/${version}`)) {
      throw new Error(`schema registry: ${relative} must have an $id ending in /${name}/${version}`)
    }
    return
  }
  if (document.name !== name || document.version !== version || typeof document.description !== 'string') {
    throw new Error(`schema registry: catalog ${relative} must have name "${name}", version "${version}" and a description`)
  }
}

function compileRecordSchema (ajv: Ajv2020, file: LoadedFile): RecordSchemaEntry {
  const { document, listing } = file
  if (document.type !== 'object' || !isJsonObject(document.properties)) {
    throw new Error(`schema registry: record schema ${listing.path} must be an object schema with properties`)
  }
  // an aggregate schema's data values are validated one by one, like records
  const aggregate = isJsonObject(document.properties.dataValues)
  const item = aggregate ? (document.$defs as JsonObject | undefined)?.dataValue : document
  if (!isJsonObject(item) || !isJsonObject(item.properties)) {
    throw new Error(`schema registry: aggregate schema ${listing.path} needs $defs.dataValue with properties`)
  }
  const fields = Object.keys(item.properties)
  // a field without a definition would be dropped on the way to the database: refuse the schema instead
  for (const field of fields) {
    const known = fieldNamed(field)
    const derivedNotSent = known?.type === 'derived' && !(aggregate && known.aggregateSince !== undefined)
    if ((!known || derivedNotSent || (aggregate && known.recordOnly)) && !(aggregate && field === 'count')) {
      throw new Error(`schema registry: ${listing.path} has field ${field}, which model/fields.ts does not define for it`)
    }
  }
  const sources: ValueSource[] = STORED_FIELDS.map((f) => {
    if (f.name === 'reportingCountry') return { kind: 'country' }
    if (f.type === 'derived') {
      return fields.includes(f.from as string) || fields.includes(f.name) ? { kind: 'conditionGroup', given: fields.includes(f.name) } : { kind: 'absent' }
    }
    return fields.includes(f.name) ? { kind: 'field', name: f.name } : { kind: 'absent' }
  })
  const initial = STORED_FIELDS.map((f, i) => sources[i].kind === 'absent' ? valueBefore(f) : ABSENT)
  const rules = (Array.isArray(item.allOf) ? item.allOf : []).map((entry) =>
    isJsonObject(entry) && isJsonObject(entry['x-mhx-rule']) ? entry['x-mhx-rule'] as unknown as RuleAnnotation : undefined)
  try {
    const slotOf = new Map(sources.flatMap((source, slot) => source.kind === 'field' ? [[source.name, slot] as const] : []))
    return { document, validateFn: ajv.compile(withCodeSets(aggregate ? { ...item, $id: `${String(document.$id)}/dataValue` } : document) as JsonObject), fields, aggregate, sources, initial, slotOf, rules }
  } catch (error) {
    throw new Error(`schema registry: record schema ${listing.path} does not compile: ${(error as Error).message}`, { cause: error })
  }
}

function catalogVersions (catalogs: Map<string, Map<string, JsonObject>>, name: string): Map<string, JsonObject> {
  let versions = catalogs.get(name)
  if (!versions) {
    versions = new Map()
    catalogs.set(name, versions)
  }
  return versions
}

function buildRegistry (
  files: LoadedFile[],
  recordSchemas: Map<string, RecordSchemaEntry>,
  catalogs: Map<string, Map<string, JsonObject>>
): SchemaRegistry {
  const documents = new Map(files.map((file) => [key(file.listing.name, file.listing.version), file.document]))
  const countries = readCountries(newestCatalog(catalogs, 'countries'))
  const areas = readSubnationalAreas(newestCatalog(catalogs, 'subnational-areas'), countries)
  const conditionCatalogs = new Map(
    [...catalogVersions(catalogs, 'condition-groups')].map(([version, doc]) => [version, readConditionGroups(doc, version)])
  )
  const newestConditionVersion = newestVersion([...conditionCatalogs.keys()])
  if (!newestConditionVersion) throw new Error('schema registry: no condition-groups catalog')

  function conditionCatalog (version: string = newestConditionVersion as string): ConditionGroupCatalog {
    const catalog = conditionCatalogs.get(version)
    if (!catalog) throw new Error(`schema registry: no condition-groups catalog version ${version}`)
    return catalog
  }

  const reference: ReferenceData = {
    countries: countries.alpha2ByAlpha3,
    areas,
    conditionGroupOf: (code) => conditionGroupOf(conditionCatalog(), code)
  }

  return {
    list: () => files.map((file) => ({ ...file.listing })),
    document: (name, version) => documents.get(key(name, version)),
    has: (name, version) => recordSchemas.has(key(name, version)),
    isAggregate: (name, version) => recordSchemas.get(key(name, version))?.aggregate === true,
    fields: (name, version) => recordSchemas.get(key(name, version))?.fields.slice(),
    validate (name, version, records, ctx) {
      const schema = recordSchemas.get(key(name, version))
      if (!schema) throw new Error(`schema registry: no record schema ${name} ${version}`)
      return validateRecords(schema, reference, records, ctx)
    },
    conditionGroup: (icd10, version) => conditionGroupOf(conditionCatalog(version), icd10),
    conditionGroupNames: (version) => conditionCatalog(version).groups.slice(),
    isCountry: (alpha3) => countries.alpha2ByAlpha3.has(alpha3),
    subnationalArea (code) {
      const area = areas.get(code)
      return area ? { ...area, successors: area.successors?.slice() } : undefined
    }
  }
}

// ---- catalogs ----

function newestCatalog (catalogs: Map<string, Map<string, JsonObject>>, name: string): JsonObject {
  const versions = catalogs.get(name)
  const newest = versions && newestVersion([...versions.keys()])
  if (!versions || !newest) throw new Error(`schema registry: no ${name} catalog`)
  return versions.get(newest) as JsonObject
}

function readCountries (doc: JsonObject): { alpha2ByAlpha3: Map<string, string> } {
  const list = doc.countries
  if (!Array.isArray(list)) throw new Error('schema registry: countries catalog needs a countries array')
  const alpha2ByAlpha3 = new Map<string, string>()
  for (const entry of list) {
    if (!isJsonObject(entry) || !isCode(entry.alpha3, /^[A-Z]{3}$/) || !isCode(entry.alpha2, /^[A-Z]{2}$/)) {
      throw new Error(`schema registry: bad countries entry ${JSON.stringify(entry)}`)
    }
    alpha2ByAlpha3.set(entry.alpha3, entry.alpha2)
  }
  return { alpha2ByAlpha3 }
}

function readSubnationalAreas (doc: JsonObject, countries: { alpha2ByAlpha3: Map<string, string> }): Map<string, SubnationalArea> {
  const list = doc.areas
  if (!Array.isArray(list)) throw new Error('schema registry: subnational-areas catalog needs an areas array')
  const areas = new Map<string, SubnationalArea>()
  for (const entry of list) {
    const area = readSubnationalArea(entry)
    const alpha2 = countries.alpha2ByAlpha3.get(area.country)
    if (!alpha2 || !area.code.startsWith(alpha2 + '-')) {
      throw new Error(`schema registry: subnational area ${area.code} does not belong to country ${area.country}`)
    }
    if (areas.has(area.code)) throw new Error(`schema registry: subnational area ${area.code} listed twice`)
    areas.set(area.code, area)
  }
  return areas
}

function readSubnationalArea (entry: unknown): SubnationalArea {
  const month = /^\d{4}-(0[1-9]|1[0-2])$/
  const ok
    = isJsonObject(entry)
      && isCode(entry.code, /^[A-Z]{2}-[0-9A-Z]{1,3}$/)
      && isCode(entry.country, /^[A-Z]{3}$/)
      && typeof entry.name === 'string'
      && (entry.validFrom === null || isCode(entry.validFrom, month))
      && (entry.validTo === null || isCode(entry.validTo, month))
  if (!ok) throw new Error(`schema registry: bad subnational area ${JSON.stringify(entry)}`)
  const area = entry as unknown as SubnationalArea
  return {
    code: area.code,
    country: area.country,
    name: area.name,
    validFrom: area.validFrom,
    validTo: area.validTo,
    ...(Array.isArray(area.successors) ? { successors: area.successors.map(String) } : {})
  }
}

function readConditionGroups (doc: JsonObject, version: string): ConditionGroupCatalog {
  const fallback = doc.default
  if (typeof fallback !== 'string' || !Array.isArray(doc.groups)) {
    throw new Error(`schema registry: condition-groups ${version} needs a default group and a groups array`)
  }
  const ranges: ConditionRange[] = []
  const groups: string[] = []
  for (const entry of doc.groups) {
    if (!isJsonObject(entry) || typeof entry.group !== 'string' || !Array.isArray(entry.ranges)) {
      throw new Error(`schema registry: bad condition group ${JSON.stringify(entry)}`)
    }
    groups.push(entry.group)
    for (const range of entry.ranges) ranges.push(readConditionRange(entry.group, range))
  }
  if (!groups.includes(fallback)) throw new Error(`schema registry: condition-groups ${version} does not list its default ${fallback}`)
  return { ranges, groups, fallback, cache: new Map() }
}

function readConditionRange (group: string, range: unknown): ConditionRange {
  const bound = /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,2})?$/
  if (!isJsonObject(range) || !isCode(range.from, bound) || !isCode(range.to, bound) || range.from > range.to) {
    throw new Error(`schema registry: bad ICD-10 range in group ${group}: ${JSON.stringify(range)}`)
  }
  return { group, from: range.from, to: range.to }
}

// a bound of three characters covers its whole category (A19 covers A19.9): compare the code cut to the bound's length
function conditionGroupOf (catalog: ConditionGroupCatalog, code: string | undefined | null): string | null {
  if (code === undefined || code === null || code === '') return null
  const known = catalog.cache.get(code)
  if (known !== undefined) return known
  const group = catalog.ranges.find((range) => code >= range.from && code.slice(0, range.to.length) <= range.to)?.group ?? catalog.fallback
  if (catalog.cache.size < CONDITION_CACHE_LIMIT) catalog.cache.set(code, group)
  return group
}

// ---- validation ----

interface ReferenceData {
  countries: Map<string, string>
  areas: Map<string, SubnationalArea>
  conditionGroupOf: (code: string | undefined) => string | null
}

/** Collects faults, capped at maxErrors, and builds canonical records when the batch is clean. */
class FaultList {
  readonly faults: RecordFault[] = []
  omitted = 0
  constructor (private readonly max: number) {}
  add (fault: RecordFault): void {
    if (this.faults.length < this.max) this.faults.push(fault)
    else this.omitted++
  }

  get empty (): boolean {
    return this.faults.length === 0 && this.omitted === 0
  }
}

function validateRecords (schema: RecordSchemaEntry, reference: ReferenceData, records: unknown[], ctx: ValidationContext): ValidationResult {
  const faultList = new FaultList(Math.max(0, ctx.maxErrors ?? DEFAULT_MAX_ERRORS))
  const firstIndexOfRecordId = new Map<string, number>()
  for (let index = 0; index < records.length; index++) {
    for (const fault of recordFaults(schema, reference, records[index], index, ctx, firstIndexOfRecordId)) faultList.add(fault)
  }
  if (!faultList.empty) return { faults: faultList.faults, faultsOmitted: faultList.omitted, records: [] }
  return { faults: [], faultsOmitted: 0, records: records.map((record) => canonicalRecord(schema, reference, record as JsonObject, ctx)) }
}

function recordFaults (
  schema: RecordSchemaEntry,
  reference: ReferenceData,
  record: unknown,
  index: number,
  ctx: ValidationContext,
  firstIndexOfRecordId: Map<string, number>
): RecordFault[] {
  const structural = structuralFault(record, index)
  if (structural) return [structural]
  const faults = schemaFaults(schema, record, index)
  const fields = record as JsonObject
  // the common case, a record the schema accepts, allocates nothing for the follow-up checks
  const faulted = faults.length === 0 ? undefined : new Set(faults.map((fault) => fault.path))
  referenceFaults(fields, index, ctx, reference, faulted, faults)
  const duplicate = duplicateRecordIdFault(fields, index, faulted, firstIndexOfRecordId)
  if (duplicate) faults.push(duplicate)
  return faults
}

/** Whether a field is present and passed the schema, so the catalog checks can look at it. */
function fieldOk (record: JsonObject, faulted: Set<string> | undefined, field: string): boolean {
  return record[field] !== undefined && (faulted === undefined || !faulted.has('/' + field))
}

// anything but a plain JSON object is refused before Ajv sees it, prototype-bending keys included
function structuralFault (record: unknown, index: number): RecordFault | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { index, path: '', message: `record must be a JSON object, not ${describeJsonType(record)}` }
  }
  const proto = Object.getPrototypeOf(record)
  if (proto !== Object.prototype && proto !== null) return { index, path: '', message: 'record must be a plain JSON object' }
  for (const forbidden of FORBIDDEN_KEYS) {
    if (Object.hasOwn(record, forbidden)) {
      return { index, path: '/' + forbidden, message: `forbidden field "${forbidden}" (${CLOSED_RECORD_HINT})` }
    }
  }
  return undefined
}

function describeJsonType (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

function schemaFaults (schema: RecordSchemaEntry, record: unknown, index: number): RecordFault[] {
  const { validateFn } = schema
  if (validateFn(record)) return []
  const faults: RecordFault[] = []
  const seen = new Set<string>()
  const rulesBroken = new Set<RuleAnnotation>()
  const ruleFaults = new Set<RecordFault>()
  for (const error of validateFn.errors ?? []) {
    // a cross-field rule is told once, with its own message, whichever of its keywords failed
    const rule = /^#\/allOf\/(\d+)\//.exec(error.schemaPath)
    if (rule) {
      const annotation = schema.rules[Number(rule[1])]
      if (annotation && !rulesBroken.has(annotation)) {
        rulesBroken.add(annotation)
        const fault = { index, path: annotation.path, message: annotation.message }
        ruleFaults.add(fault)
        faults.push(fault)
      }
      if (annotation) continue
    }
    const fault = faultFromAjvError(error, index)
    // type and enum both fire for one bad value: one message per field is enough
    if (seen.has(fault.path)) continue
    seen.add(fault.path)
    faults.push(fault)
  }
  // Nor a rule's about a field whose value the schema refused: the field's own fault says what to
  // fix (a condition outside WHO's categories, D49, also breaks the older rule on chapter ranges).
  return ruleFaults.size === 0 ? faults : faults.filter((fault) => !(ruleFaults.has(fault) && seen.has(fault.path)))
}

function faultFromAjvError (error: ErrorObject, index: number): RecordFault {
  const parent = (error.parentSchema ?? {}) as { properties?: Record<string, PropertySchema> }
  if (error.keyword === 'additionalProperties') {
    const field = String(error.params.additionalProperty)
    return { index, path: childPointer(error.instancePath, field), message: `unknown field ${quoteField(field)} (${CLOSED_RECORD_HINT})` }
  }
  if (error.keyword === 'required') {
    const field = String(error.params.missingProperty)
    const expected = expectation(parent.properties?.[field])
    return { index, path: childPointer(error.instancePath, field), message: `${field} is required: ${expected}` }
  }
  const field = lastPointerSegment(error.instancePath)
  return { index, path: error.instancePath, message: `${field} must be ${expectation(error.parentSchema as PropertySchema | undefined)}` }
}

// the schema's enum or description says what is expected, so messages never drift from the schema
function expectation (property: PropertySchema | undefined): string {
  if (!property) return 'a valid value'
  // a catalog's codes (countries, areas) are too many to list: the description names the catalog
  if (Array.isArray(property.enum) && property.enum.length > 30 && typeof property.description === 'string') return property.description
  if (Array.isArray(property.enum)) return `one of ${property.enum.join(', ')}`
  if (property.const !== undefined) return JSON.stringify(property.const)
  if (typeof property.description === 'string') return property.description
  if (typeof property.pattern === 'string') return `a string matching ${property.pattern}`
  return `of type ${property.type ?? 'unknown'}`
}

function referenceFaults (
  record: JsonObject,
  index: number,
  ctx: ValidationContext,
  reference: ReferenceData,
  faulted: Set<string> | undefined,
  faults: RecordFault[]
): void {
  if (fieldOk(record, faulted, 'reportingCountry') && record.reportingCountry !== ctx.reportingCountry) {
    faults.push({
      index,
      path: '/reportingCountry',
      message: `reportingCountry must be your own country ${ctx.reportingCountry} (the country of your token) or left out`
    })
  }
  const origin = record.countryOfOrigin
  if (fieldOk(record, faulted, 'countryOfOrigin') && origin !== 'unknown' && !reference.countries.has(origin as string)) {
    faults.push({ index, path: '/countryOfOrigin', message: `countryOfOrigin ${origin} is not an ISO 3166-1 alpha-3 country code; use a code of the countries catalog or "unknown"` })
  }
  if (fieldOk(record, faulted, 'subnationalArea')) {
    const period = fieldOk(record, faulted, 'period') ? (record.period as string) : undefined
    const message = subnationalAreaProblem(reference.areas, record.subnationalArea as string, ctx.reportingCountry, period)
    if (message) faults.push({ index, path: '/subnationalArea', message })
  }
}

function subnationalAreaProblem (
  areas: Map<string, SubnationalArea>,
  code: string,
  reportingCountry: string,
  period: string | undefined
): string | undefined {
  const area = areas.get(code)
  if (!area) return `subnationalArea ${code} is not a first-level ISO 3166-2 area of the subnational-areas catalog`
  if (area.country !== reportingCountry) {
    return `subnationalArea ${code} belongs to ${area.country}, not to the reporting country ${reportingCountry}`
  }
  if (period === undefined) return undefined
  if (area.validFrom !== null && period < area.validFrom) {
    return `subnationalArea ${code} is valid from ${area.validFrom}, not in period ${period}`
  }
  if (area.validTo !== null && period > area.validTo) {
    const now = area.successors?.length ? `; it became ${area.successors.join(' / ')}` : ''
    return `subnationalArea ${code} is valid until ${area.validTo}, not in period ${period}${now}`
  }
  return undefined
}

// UUIDs are case-insensitive: compare (and store) them lower-case
function duplicateRecordIdFault (
  record: JsonObject,
  index: number,
  faulted: Set<string> | undefined,
  firstIndexOfRecordId: Map<string, number>
): RecordFault | undefined {
  if (!fieldOk(record, faulted, 'recordId')) return undefined
  const recordId = (record.recordId as string).toLowerCase()
  const first = firstIndexOfRecordId.get(recordId)
  if (first === undefined) {
    firstIndexOfRecordId.set(recordId, index)
    return undefined
  }
  return { index, path: '/recordId', message: `recordId appears more than once in this submission (first at index ${first})` }
}

function canonicalRecord (schema: RecordSchemaEntry, reference: ReferenceData, record: JsonObject, ctx: ValidationContext): CanonicalRecord {
  const { sources, slotOf } = schema
  const values = schema.initial.slice()
  // the record's own keys, each to its slot: reading every field by name (`record[name]`) was a
  // megamorphic keyed load per field, mostly of absent ones, once records and data values of
  // different shapes had gone through it (the larger part of a data value's validation)
  for (const key in record) {
    const slot = slotOf.get(key)
    if (slot !== undefined) values[slot] = record[key] as string
  }
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]
    if (source.kind === 'country') values[i] = ctx.reportingCountry
    // a data value may give the group itself (never with a condition: a cross-field rule)
    else if (source.kind === 'conditionGroup') values[i] = (source.given ? record.conditionGroup as string | undefined : undefined) ?? reference.conditionGroupOf(record.condition as string | undefined) ?? ABSENT
  }
  if (!schema.aggregate) return { recordId: (record.recordId as string).toLowerCase(), count: 1, values }
  return { recordId: '', count: record.count as number, values }
}

// ---- small helpers ----

function key (name: string, version: string): string {
  return `${name}@${version}`
}

function newestVersion (versions: string[]): string | undefined {
  return versions.filter((version) => VERSION_PATTERN.test(version)).sort(compareVersions).at(-1)
}

function isJsonObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCode (value: unknown, pattern: RegExp): value is string {
  return typeof value === 'string' && pattern.test(value)
}

function childPointer (parent: string, field: string): string {
  return `${parent}/${field.replace(/~/g, '~0').replace(/\//g, '~1')}`
}

function lastPointerSegment (pointer: string): string {
  const segment = pointer.slice(pointer.lastIndexOf('/') + 1)
  return segment.replace(/~1/g, '/').replace(/~0/g, '~') || 'record'
}

// an unknown key is echoed to name it, but bounded: a key can be as long as the body
function quoteField (field: string): string {
  return JSON.stringify(field.length > 64 ? field.slice(0, 64) + '…' : field)
}

function deepFreeze (value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const child of Object.values(value)) deepFreeze(child)
}
