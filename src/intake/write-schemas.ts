// npm run schemas: writes the published record schemas under schemas/ from the field definitions
// (model/fields.ts), the catalogs and the cross-field rules; npm run schemas:check fails on drift.
// migrant-health-event 1.0.0 is published and frozen: only its annotations are written.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  aggregateFieldsOf, AGGREGATE_SCHEMA, compareVersions, FIELDS, fieldsOf, RECORD_SCHEMA, UUID_V4_SINCE, type FieldDefinition
} from '../model/fields.js'
import { defaultSchemasDir } from './registry.js'

/** The generated schemas: each with the migrant-health-event version whose fields it holds. */
export const GENERATED = [
  { name: RECORD_SCHEMA, version: '1.1.0', fieldsVersion: '1.1.0', rules: 'cross-field-rules/1.0.0' },
  { name: AGGREGATE_SCHEMA, version: '1.0.0', fieldsVersion: '1.1.0', rules: 'cross-field-rules/1.0.0' },
  { name: AGGREGATE_SCHEMA, version: '1.1.0', fieldsVersion: '1.1.0', rules: 'cross-field-rules/1.1.0' }
] as const

/** Published before the field definitions: its validation is frozen, its annotations follow them. */
const FROZEN = [{ name: RECORD_SCHEMA, version: '1.0.0' }] as const

export const MAX_COUNT = 1_000_000
const BASE = 'https://mhx.example/schemas'
const ANY_UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID_V4 = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$'

type Json = Record<string, unknown>

interface Catalogs {
  countries: string[]
  areas: string[]
  conditionGroups: string[]
  icd10Categories: string[]
  rules: Json[]
}

function readJson (dir: string, file: string): Json {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json
}

function catalogs (dir: string, rules: string): Catalogs {
  const countries = (readJson(dir, 'countries/1.0.0.json').countries as Array<{ alpha3: string }>).map((c) => c.alpha3)
  const areas = (readJson(dir, 'subnational-areas/1.0.0.json').areas as Array<{ code: string }>).map((a) => a.code)
  const conditionGroups = (readJson(dir, 'condition-groups/1.0.0.json').groups as Array<{ group: string }>).map((g) => g.group)
  const icd10Categories = readJson(dir, 'icd10-categories/1.0.0.json').categories as string[]
  return { countries, areas, conditionGroups, icd10Categories, rules: readJson(dir, `${rules}.json`).rules as Json[] }
}

/** `0-46-9` for digits 0…4 and 6…9: consecutive runs as ranges, for a character class. */
function digitClass (digits: number[]): string {
  const runs: string[] = []
  for (let i = 0; i < digits.length; i++) {
    let j = i
    while (j + 1 < digits.length && digits[j + 1] === digits[j] + 1) j++
    runs.push(j === i ? String(digits[i]) : j === i + 1 ? `${digits[i]}${digits[j]}` : `${digits[i]}-${digits[j]}`)
    i = j
  }
  return runs.join('')
}

/**
 * A condition of WHO's ICD-10 (icd10-categories catalog): one of the categories, or a subcategory
 * of one (a dot and a digit, and WHO's optional fifth character). The categories as a trie by
 * letter and tens digit (`A(?:0[0-9]|1[5-9]|…)`): a pattern a standard validator runs as it is.
 */
export function icd10Pattern (categories: readonly string[]): string {
  const byLetter = new Map<string, Map<string, number[]>>()
  for (const category of [...categories].sort()) {
    if (!/^[A-Z][0-9]{2}$/.test(category)) throw new Error(`icd10-categories: ${category} is not a three-character category`)
    const tens = byLetter.get(category[0]) ?? new Map<string, number[]>()
    byLetter.set(category[0], tens)
    tens.set(category[1], [...(tens.get(category[1]) ?? []), Number(category[2])])
  }
  const letters = [...byLetter].map(([letter, tens]) =>
    `${letter}(?:${[...tens].map(([ten, units]) => units.length === 1 ? `${ten}${units[0]}` : `${ten}[${digitClass(units)}]`).join('|')})`)
  return `^(?:${letters.join('|')})(?:\\.[0-9][0-9]?)?$`
}

function annotations (field: FieldDefinition): Json {
  return {
    'x-mhx-label': field.label,
    ...(field.sensitive ? { 'x-mhx-sensitive': true } : {})
  }
}

function propertyOf (field: FieldDefinition, version: string, c: Catalogs): Json {
  const described = { description: field.description, type: 'string' }
  switch (field.type) {
    case 'uuid':
      return compareVersions(version, UUID_V4_SINCE) >= 0
        ? { ...described, description: 'a random (version 4) UUID chosen by the reporter, unique per reporter; never a national ID', pattern: UUID_V4, maxLength: 36 }
        : { ...described, pattern: ANY_UUID, maxLength: 36 }
    case 'month': return { ...described, pattern: '^\\d{4}-(0[1-9]|1[0-2])$', maxLength: 7 }
    case 'country': return { ...described, enum: c.countries }
    case 'countryOrUnknown': return { ...described, enum: [...c.countries, 'unknown'] }
    case 'subnationalArea': return { ...described, enum: c.areas }
    case 'icd10': return { ...described, pattern: icd10Pattern(c.icd10Categories), maxLength: 6 }
    case 'codes': return { ...described, enum: field.codes }
    case 'derived':
      // only a data value may give a derived field (aggregateFieldsOf), as a code of its catalog
      if (field.name === 'conditionGroup') return { ...described, enum: c.conditionGroups }
      throw new Error(`${field.name} is derived, not a schema property`)
  }
}

function ruleSchemas (c: Catalogs, names: Set<string>): Json[] {
  return c.rules.map((rule) => {
    const { id, path: at, message, ...schema } = rule
    for (const name of JSON.stringify(schema).match(/"([a-zA-Z]+)"/g) ?? []) {
      const field = name.slice(1, -1)
      if (FIELDS.some((f) => f.name === field) && !names.has(field)) throw new Error(`rule ${String(id)} names ${field}, not a field of this version`)
    }
    return { 'x-mhx-rule': { id, path: at, message }, ...schema }
  })
}

/** The object schema of one record (or data value) of a version's fields. */
function objectSchema (fields: FieldDefinition[], version: string, c: Catalogs, extra: Json = {}, extraRequired: string[] = []): Json {
  const properties: Json = {}
  for (const field of fields) properties[field.name] = { ...propertyOf(field, version, c), ...annotations(field) }
  Object.assign(properties, extra)
  return {
    type: 'object',
    additionalProperties: false,
    required: [...fields.filter((f) => f.required).map((f) => f.name), ...extraRequired],
    properties,
    allOf: ruleSchemas(c, new Set(fields.map((f) => f.name)))
  }
}

const ANONYMIZATION = 'Every field is an enum, a code or a coarse value: no free text, no exact date, no place finer than the first sub-national level, no age finer than a 5-year band. Legal or documentation status is deliberately not collected.'
const CONTEXT_RULES = 'Beyond this schema the service checks only what depends on the caller or the period: reportingCountry must be the country of the access token, and subnationalArea must belong to it and be valid for the period (subnational-areas catalog).'
const RULES = 'Cross-field rules (allOf, each marked x-mhx-rule with its message) are generated from the cross-field-rules catalog. Annotations: x-mhx-label (English and Russian names), x-mhx-sensitive (a dimension that may single out a person in small groups).'

export function generatedSchema (name: string, version: string, dir = defaultSchemasDir()): Json {
  const spec = GENERATED.find((g) => g.name === name && g.version === version)
  if (!spec) throw new Error(`${name} ${version} is not generated`)
  const c = catalogs(dir, spec.rules)
  if (name === RECORD_SCHEMA) {
    return {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `${BASE}/${name}/${version}`,
      title: `${name} ${version}`,
      description: `One anonymized health-service contact or case notification of a migrant, reported by the country where it happened. ${ANONYMIZATION} ${CONTEXT_RULES} ${RULES} Generated from the field definitions (npm run schemas).`,
      ...objectSchema(fieldsOf(spec.fieldsVersion), version, c)
    }
  }
  const fields = aggregateFieldsOf(version, spec.fieldsVersion)
  const count = { description: `the number of contacts or cases with these dimensions in the period, 1 to ${MAX_COUNT}`, type: 'integer', minimum: 1, maximum: MAX_COUNT }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${BASE}/${name}/${version}`,
    title: `${name} ${version}`,
    description: `Counts of anonymized health-service contacts or case notifications of migrants, for ministries that hold counts, not rows. Each data value holds the fields of ${RECORD_SCHEMA} ${spec.fieldsVersion} but recordId, and a count; its dimensions are its key (one already live for the reporter is a 409). ${ANONYMIZATION} ${CONTEXT_RULES} ${RULES} Generated from the field definitions (npm run schemas).`,
    type: 'object',
    additionalProperties: false,
    required: ['schema', 'version', 'dataValues'],
    properties: {
      schema: { const: name },
      version: { const: version },
      dataValues: { type: 'array', minItems: 1, items: { $ref: '#/$defs/dataValue' } }
    },
    $defs: { dataValue: objectSchema(fields, version, c, { count }, ['count']) }
  }
}

/** A frozen schema with its annotations (labels, sensitivity) set from the field definitions. */
function annotatedSchema (name: string, version: string, dir: string): Json {
  const document = readJson(dir, `${name}/${version}.json`)
  const properties = document.properties as Record<string, Json>
  for (const [fieldName, property] of Object.entries(properties)) {
    const field = FIELDS.find((f) => f.name === fieldName) as FieldDefinition | undefined
    if (!field) throw new Error(`${name} ${version}: field ${fieldName} has no definition in model/fields.ts`)
    for (const key of Object.keys(property)) if (key.startsWith('x-mhx-')) delete property[key]
    Object.assign(property, annotations(field))
  }
  return document
}

/** Every schema file this script owns, path → text. */
export function schemaFiles (dir = defaultSchemasDir()): Map<string, string> {
  const files = new Map<string, string>()
  for (const { name, version } of FROZEN) files.set(`${name}/${version}.json`, JSON.stringify(annotatedSchema(name, version, dir), null, 2) + '\n')
  for (const { name, version } of GENERATED) files.set(`${name}/${version}.json`, JSON.stringify(generatedSchema(name, version, dir), null, 2) + '\n')
  return files
}

function main (): void {
  const dir = defaultSchemasDir()
  const check = process.argv.includes('--check')
  let drifted = 0
  for (const [file, text] of schemaFiles(dir)) {
    const target = path.join(dir, file)
    let committed = ''
    try {
      committed = readFileSync(target, 'utf8')
    } catch {}
    if (committed === text) continue
    if (check) {
      process.stderr.write(`schemas/${file} is out of date with model/fields.ts: run \`npm run schemas\` and commit it\n`)
      drifted++
    } else {
      writeFileSync(target, text)
      process.stdout.write(`wrote schemas/${file}\n`)
    }
  }
  if (drifted > 0) process.exit(1)
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main()
