// A depth cap for JSON bodies, checked on the raw bytes before they are decoded and parsed:
// JSON.parse of a body nested a million levels deep costs hundreds of MB and a fraction of a second
// per request. Bytes, not text: every structural character is ASCII and no byte of a multi-byte
// UTF-8 sequence is. Whether the body is JSON at all is the parser's to say.
import { problem } from './problem.js'

/** No body the API accepts nests deeper than this (a submission is 3, a partner with its keys 4). */
export const MAX_JSON_DEPTH = 8

/** Throws a 400 problem when arrays and objects in `body` nest deeper than `max`. One pass over the bytes. */
export function assertJsonDepth (body: Uint8Array, max: number = MAX_JSON_DEPTH): void {
  let depth = 0
  const length = body.length
  for (let i = 0; i < length; i++) {
    const c = body[i]
    if (c === 34) {
      // a string, to its closing quote (a backslash escapes the next character)
      for (i++; i < length && body[i] !== 34; i++) if (body[i] === 92) i++
    } else if (c === 123 || c === 91) {
      if (++depth > max) throw problem('badRequest', `the JSON body nests deeper than ${max} levels`)
    } else if (c === 125 || c === 93) {
      depth--
    }
  }
}
