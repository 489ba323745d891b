// Holds every file under schemas/ to the anonymization rules (README: no free text, no exact dates, …): a new
// schema version is covered without touching this test.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { defaultSchemasDir } from '../../src/intake/registry.js'

const schemasDir = defaultSchemasDir()

// free-form formats would let text or exact dates in; uuid is a fixed shape
const ALLOWED_FORMATS = new Set(['uuid'])
// property names that suggest identity, contact, exact dates or legal status
const FORBIDDEN_NAME = /name|passport|national.?id|\biin\b|^iin|ssn|snils|address|street|phone|email|birth|^dob|dob$|^date|date$|legal|visa|permit.?(no|number|id)|document|citizen.?id|photo|signature/i
const MAX_CODE_LENGTH = 64

interface SchemaFile {
  relative: string
  document: Record<string, unknown>
}

function jsonFilesUnder (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()
}

function readAll (): SchemaFile[] {
  return jsonFilesUnder(schemasDir).map((file) => ({
    relative: path.relative(schemasDir, file).split(path.sep).join('/'),
    document: JSON.parse(readFileSync(file, 'utf8'))
  }))
}

/** Every subschema with its JSON pointer, following every keyword that holds schemas. */
function* subschemas (schema: unknown, pointer = ''): Generator<[string, Record<string, unknown>]> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return
  const node = schema as Record<string, unknown>
  yield [pointer, node]
  for (const keyword of ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']) {
    const map = node[keyword]
    if (map && typeof map === 'object') {
      for (const [name, child] of Object.entries(map)) yield* subschemas(child, `${pointer}/${keyword}/${name}`)
    }
  }
  for (const keyword of ['items', 'additionalItems', 'contains', 'not', 'if', 'then', 'else', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'additionalProperties']) {
    if (node[keyword] && typeof node[keyword] === 'object') yield* subschemas(node[keyword], `${pointer}/${keyword}`)
  }
  for (const keyword of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) {
    const list = node[keyword]
    if (!Array.isArray(list)) continue
    for (const [i, child] of list.entries()) {
      // a cross-field rule in allOf can only narrow what the object's own properties allow: checked by ruleProblems
      if (keyword === 'allOf' && isRule(child)) continue
      yield* subschemas(child, `${pointer}/${keyword}/${i}`)
    }
  }
}

const RULE_KEYWORDS = new Set(['x-mhx-rule', 'if', 'then', 'dependentRequired'])

function isRule (schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && 'x-mhx-rule' in schema
}

/** A rule is only if/then (no else) or dependentRequired: it narrows, it never admits a field or value. */
function ruleProblems (document: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const [pointer, node] of subschemas(document)) {
    if (!Array.isArray(node.allOf)) continue
    for (const [i, rule] of node.allOf.entries()) {
      if (!isRule(rule)) continue
      for (const key of Object.keys(rule as object)) if (!RULE_KEYWORDS.has(key)) problems.push(`${pointer}/allOf/${i}: ${key} in a rule`)
    }
  }
  return problems
}

function typesOf (node: Record<string, unknown>): string[] {
  const type = node.type
  if (Array.isArray(type)) return type.map(String)
  return typeof type === 'string' ? [type] : []
}

function anonymizationProblems (document: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const [pointer, node] of subschemas(document)) {
    const at = pointer || '(root)'
    const types = typesOf(node)
    if (types.includes('object') || 'properties' in node) {
      if (node.additionalProperties !== false) problems.push(`${at}: object without additionalProperties: false`)
      if ('patternProperties' in node) problems.push(`${at}: patternProperties open the object`)
    }
    // a local $ref points into $defs, which are checked themselves
    if (types.length === 0 && !('enum' in node) && !('const' in node) && !(typeof node.$ref === 'string' && node.$ref.startsWith('#/$defs/')) && pointer !== '') {
      problems.push(`${at}: schema without a type, enum or const accepts anything`)
    }
    if (types.includes('string')) {
      const closed = Array.isArray(node.enum) || 'const' in node
      const coded = typeof node.pattern === 'string' && typeof node.maxLength === 'number'
      if (!closed && !coded) problems.push(`${at}: string without enum/const or pattern + maxLength (free text)`)
      if (typeof node.pattern === 'string' && !(node.pattern.startsWith('^') && node.pattern.endsWith('$'))) {
        problems.push(`${at}: pattern not anchored with ^…$`)
      }
      if (typeof node.maxLength === 'number' && node.maxLength > MAX_CODE_LENGTH) problems.push(`${at}: maxLength over ${MAX_CODE_LENGTH}`)
    }
    if ('format' in node && !ALLOWED_FORMATS.has(String(node.format))) problems.push(`${at}: format ${String(node.format)} is not allowed`)
    const properties = node.properties
    if (properties && typeof properties === 'object') {
      for (const name of Object.keys(properties)) {
        if (FORBIDDEN_NAME.test(name)) problems.push(`${at}: property "${name}" suggests identity or legal status`)
      }
    }
  }
  return problems
}

const files = readAll()
const recordSchemas = files.filter((file) => '$schema' in file.document)
const catalogs = files.filter((file) => !('$schema' in file.document))

t.test('schemas/ holds record schemas and catalogs', async (t) => {
  t.ok(recordSchemas.some((file) => file.relative === 'migrant-health-event/1.0.0.json'))
  for (const name of ['countries', 'subnational-areas', 'condition-groups']) {
    t.ok(catalogs.some((file) => file.relative.startsWith(name + '/')), `${name} catalog present`)
  }
})

for (const file of recordSchemas) {
  t.test(`${file.relative} follows the anonymization rules`, async (t) => {
    t.same(anonymizationProblems(file.document), [])
    t.same(ruleProblems(file.document), [])
    t.equal(file.document.$schema, 'https://json-schema.org/draft/2020-12/schema')
    const [name, version] = file.relative.replace(/\.json$/, '').split('/')
    t.match(String(file.document.$id), new RegExp(`/${name}/${version.replace(/\./g, '\\.')}$`), '$id names the file')
  })
}

for (const file of catalogs) {
  t.test(`${file.relative} documents itself`, async (t) => {
    const [name, version] = file.relative.replace(/\.json$/, '').split('/')
    t.equal(file.document.name, name)
    t.equal(file.document.version, version)
    t.type(file.document.description, 'string')
  })
}

t.test('the rules catch what they are meant to catch', async (t) => {
  const open = { $schema: 'x', type: 'object', properties: { note: { type: 'string' } } }
  t.match(anonymizationProblems(open).join('\n'), /additionalProperties/)
  t.match(anonymizationProblems(open).join('\n'), /free text/)
  const dated = { type: 'object', additionalProperties: false, properties: { seen: { type: 'string', format: 'date' } } }
  t.match(anonymizationProblems(dated).join('\n'), /format date/)
  const named = {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(
      ['name', 'passportNumber', 'nationalId', 'address', 'phone', 'birthDate', 'dateOfBirth', 'legalStatus', 'visaType'].map((n) => [
        n,
        { type: 'string', enum: ['x'] }
      ])
    )
  }
  t.equal(anonymizationProblems(named).length, 9, 'every identity or legal-status name is refused')
  const nested = {
    type: 'object',
    additionalProperties: false,
    properties: { inner: { type: 'object', properties: { x: { type: 'string', pattern: '^a$', maxLength: 1 } } } }
  }
  t.match(anonymizationProblems(nested).join('\n'), /\/properties\/inner: object without additionalProperties/)
  t.same(anonymizationProblems({ type: 'object', additionalProperties: false, properties: { migrationStatus: { type: 'string', enum: ['a'] } } }), [])
})
