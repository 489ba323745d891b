// JSON submissions: `{schema, version, records | dataValues, replaces?}` (and a DHIS2
// dataValueSet's envelope, read by the dhis2 codec). The depth is checked on the bytes before
// parsing; a syntax fault is a 400 naming its line and column; the envelope is checked against
// JsonSubmission (the OpenAPI document's SubmissionBody), strictly: an unknown member is a 422.
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import { Type, type Static } from 'typebox'
import { assertJsonDepth } from '../../json-depth.js'
import { fieldError, problem } from '../../problem.js'
import { textOf, type Decoded, type SubmissionBody } from './index.js'

export const SchemaName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'e.g. migrant-health-event' })
export const SchemaVersion = Type.String({ pattern: '^\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}$', description: 'e.g. 1.0.0' })

export const JsonSubmission = Type.Object({
  schema: Type.Optional(SchemaName),
  version: Type.Optional(SchemaVersion),
  records: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'records as a record schema (migrant-health-event) describes them' })),
  dataValues: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'data values as migrant-health-aggregate describes them, or DHIS2 data values with ?format=dhis2' })),
  // the envelope of a DHIS2 dataValueSet (?format=dhis2): defaults of its data values, or ignored
  dataSet: Type.Optional(Type.String({ maxLength: 64 })),
  completeDate: Type.Optional(Type.String({ maxLength: 32 })),
  period: Type.Optional(Type.String({ maxLength: 16 })),
  orgUnit: Type.Optional(Type.String({ maxLength: 64 })),
  attributeOptionCombo: Type.Optional(Type.String({ maxLength: 64 })),
  replaces: Type.Optional(Type.String({ format: 'uuid', description: 'a correction: the id of your submission this one replaces (it becomes replaced; both change the cells at once)' }))
}, {
  additionalProperties: false,
  description: '{schema, version, records} or {schema, version, dataValues} (migrant-health-aggregate); with ?format=dhis2 a DHIS2 dataValueSet',
  examples: [{
    schema: 'migrant-health-event',
    version: '1.0.0',
    records: [{ recordId: '0b7e6f2a-4c1d-4e8a-9a57-3f1c2d4e5f60', period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none' }]
  }]
})

export type JsonSubmission = Static<typeof JsonSubmission>

// as the app checks bodies: every fault, nothing removed, no coercion (src/app.ts)
const ajv = new Ajv({ allErrors: true, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false })
addFormats.default(ajv)
const validEnvelope = ajv.compile<JsonSubmission>(JsonSubmission)

/** The document a JSON body holds, its envelope checked (records and data values are the schema's to check). */
export function readJsonSubmission (body: SubmissionBody): JsonSubmission {
  assertJsonDepth(body.bytes)
  const document = parseJson(textOf(body))
  if (!validEnvelope(document)) {
    const errors = (validEnvelope.errors ?? []).map((e: ErrorObject) => fieldError(e, 'body'))
    throw problem('validation', `invalid body: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors })
  }
  return document
}

/**
 * A JSON submission's records or data values (`member`, the one its schema takes), each named by
 * its index: `/records/3/sex`.
 */
export function decode (document: JsonSubmission, member: 'records' | 'dataValues'): Decoded {
  return { items: document[member] ?? [], locate: (index, path) => `/${member}/${index}${path}` }
}

/** JSON.parse with a 400 that names the line and column of a syntax fault. */
export function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    const message = (err as Error).message
    // V8 gives the position of some faults only: the others are found by reading the text again
    const position = /at position (\d+)/.exec(message)?.[1] ?? jsonFaultAt(text)
    // V8 quotes a slice of the input in some messages; keep only the reason.
    const reason = message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '').slice(0, 200)
    if (position === undefined) {
      const line = text.length === 0 ? 1 : undefined
      throw problem('badRequest', `the body is not valid JSON: ${reason}`, { errors: [{ ...(line ? { line } : {}), path: '', message: reason }] })
    }
    const at = Number(position)
    const before = text.slice(0, at)
    const line = before.split('\n').length
    const column = at - before.lastIndexOf('\n')
    throw problem('badRequest', `the body is not valid JSON at line ${line}, column ${column}: ${reason}`, {
      errors: [{ line, path: '', message: `line ${line}, column ${column}: ${reason}` }]
    })
  }
}
/**
 * Where JSON text `text` stops being JSON (the offset of the first character that cannot be
 * there), or undefined when it is JSON. Run only on a text JSON.parse refused, to name its line.
 */
export function jsonFaultAt (text: string): number | undefined {
  let at = 0
  const space = (): void => { while (at < text.length && ' \t\n\r'.includes(text[at])) at++ }
  const fail = (): never => { throw new JsonFault(at) }
  const literal = (word: string): void => { if (text.startsWith(word, at)) at += word.length; else fail() }
  const string = (): void => {
    at++
    for (;;) {
      if (at >= text.length) fail()
      const c = text.charCodeAt(at)
      if (c === 0x22) { at++; return }
      if (c < 0x20) fail()
      if (c === 0x5c) {
        at++
        if (text[at] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail()
          at += 5
        } else if ('"\\/bfnrt'.includes(text[at] ?? 'x')) at++
        else fail()
      } else at++
    }
  }
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 400))
    if (!match) fail()
    at += match![0].length
  }
  const value = (): void => {
    space()
    const c = text[at]
    if (c === '{') {
      at++
      space()
      if (text[at] === '}') { at++; return }
      for (;;) {
        space()
        if (text[at] !== '"') fail()
        string()
        space()
        if (text[at] !== ':') fail()
        at++
        value()
        space()
        if (text[at] === ',') { at++; continue }
        if (text[at] === '}') { at++; return }
        fail()
      }
    } else if (c === '[') {
      at++
      space()
      if (text[at] === ']') { at++; return }
      for (;;) {
        value()
        space()
        if (text[at] === ',') { at++; continue }
        if (text[at] === ']') { at++; return }
        fail()
      }
    } else if (c === '"') string()
    else if (c === 't') literal('true')
    else if (c === 'f') literal('false')
    else if (c === 'n') literal('null')
    else number()
  }
  try {
    value()
    space()
    return at < text.length ? at : undefined
  } catch (err) {
    if (err instanceof JsonFault) return Math.min(err.at, text.length)
    throw err
  }
}

class JsonFault extends Error {
  constructor (readonly at: number) { super('not JSON') }
}
