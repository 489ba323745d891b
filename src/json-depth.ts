// A depth cap for JSON bodies, checked on the raw text before it is parsed: JSON.parse of a
// body nested a million levels deep costs hundreds of MB and a fraction of a second per request.
import { problem } from './problem.js'

/** No body the API accepts nests deeper than this (a submission is 3, a partner with its keys 4). */
export const MAX_JSON_DEPTH = 8

/** Throws a 400 problem when arrays and objects in `text` nest deeper than `max`. One pass, no allocation. */
export function assertJsonDepth (text: string, max: number = MAX_JSON_DEPTH): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: the next character is escaped
      else if (c === 34) inString = false
    } else if (c === 34) {
      inString = true
    } else if (c === 123 || c === 91) {
      if (++depth > max) throw problem('badRequest', `the JSON body nests deeper than ${max} levels`)
    } else if (c === 125 || c === 93) {
      depth--
    }
  }
}
