// Validators of the standards' own schemas (test/standards/README.md names each file's source): a pass
// means the standard's owner would accept the document, not that it matches our reading of it.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

const require = createRequire(import.meta.url)
const STANDARDS = join(import.meta.dirname, '../../standards')
const json = (path: string) => JSON.parse(readFileSync(join(STANDARDS, path), 'utf8')) as Record<string, unknown>
const faults = (validate: ValidateFunction) => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).slice(0, 10)

/** HL7's FHIR R4 JSON Schema (draft-06): the faults of a resource, none when it is valid. */
export function fhirValidator () {
  const { id, ...schema } = json('fhir/fhir.schema.json') as { id: string } & Record<string, unknown>
  // Ajv 8 reads a draft-06 schema's identity from $id only; its discriminator is not Ajv's (strict off: oneOf decides).
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false })
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'))
  const whole = ajv.compile({ $id: id, ...schema })
  /** The faults of a resource: against its own definition (readable errors), then against the whole schema. */
  return (resource: Record<string, unknown>) => {
    const own = typeof resource.resourceType === 'string' ? ajv.getSchema(`${id}#/definitions/${resource.resourceType}`) : undefined
    for (const validate of [own, whole]) {
      if (validate && !(validate(resource) as boolean)) return faults(validate)
    }
    return []
  }
}

/** An SDMX-JSON message schema (structure-2.0.0, data-2.1.0): the faults of a message, none when it is valid. */
export function sdmxJsonValidator (file: 'structure-2.0.0' | 'data-2.1.0') {
  const { id, $schema: _, ...schema } = json(`sdmx-json/${file}.schema.json`) as { id?: string, $schema?: string } & Record<string, unknown>
  // Their patterns escape `-` as JSON Schema's ECMA 262 allows without the u flag: Ajv compiles them without it.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false })
  addFormats.default(ajv)
  const validate = ajv.compile({ ...(id ? { $id: id } : {}), ...schema })
  return (message: unknown) => (validate(message) as boolean) ? [] : faults(validate)
}

/** Whether xmllint (Debian's libxml2-utils) is installed: tests skip ADX validation without it, but never in CI (.ci/run installs it). */
export const XMLLINT = spawnSync('xmllint', ['--version']).status === 0
if (!XMLLINT && process.env.CI) throw new Error('xmllint is missing: apt-get install libxml2-utils (.ci/run does)')

/** IHE's adx_loose.xsd through xmllint: '' when the document validates, else xmllint's complaint. */
export function adxFaults (xml: string): string {
  const run = spawnSync('xmllint', ['--noout', '--schema', join(STANDARDS, 'adx/adx_loose.xsd'), '-'], { input: xml, encoding: 'utf8' })
  return run.status === 0 ? '' : run.stderr
}
