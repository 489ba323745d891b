// A depth cap for JSON bodies, checked on the raw bytes before they are decoded and parsed:
// JSON.parse of a body nested a million levels deep costs hundreds of MB and a fraction of a second
// per request. Bytes, not text: every structural character is ASCII and no byte of a multi-byte
// UTF-8 sequence is, and a byte loop costs half of a loop over the decoded string. The same pass
// finds where a large body may be cut into pieces (JsonCuts), for the parser that reads it a piece
// at a time (intake/body.ts).
import { problem } from './problem.js'

/** No body the API accepts nests deeper than this (a submission is 3, a partner with its keys 4). */
export const MAX_JSON_DEPTH = 8

/** Throws a 400 problem when arrays and objects in `body` nest deeper than `max`. One pass over the bytes. */
export function assertJsonDepth (body: Uint8Array, max: number = MAX_JSON_DEPTH): void {
  scanJsonBody(body, max, Infinity)
}

/** The largest array member of a body's top-level object, and the commas between its elements where it may be cut. */
export interface JsonCuts {
  /** where the array's `[` and `]` are */
  open: number
  close: number
  /** commas between its elements, about `pieceBytes` apart (none when it is no larger) */
  cuts: number[]
  /** the member's name as written, quotes included: [nameFrom, nameTo) */
  nameFrom: number
  nameTo: number
}

/**
 * The depth check of assertJsonDepth, and where the body may be cut: undefined unless the body is
 * an object whose strings at its own level hold no escape (a name is then one way of writing it)
 * with an array member larger than `pieceBytes`. The cuts are found by the bytes alone: whether
 * the body is JSON at all is the parser's to say.
 */
export function scanJsonBody (body: Uint8Array, max: number, pieceBytes: number): JsonCuts | undefined {
  let depth = 0
  // the first bracket of the body; the last string of the top-level object (the name of the
  // member that follows it) and whether any of its strings held an escape
  let top = 0
  let nameFrom = -1
  let nameTo = -1
  let escaped = false
  // the array member being read, where its current piece starts and its last comma so far
  let array: JsonCuts | undefined
  let largest: JsonCuts | undefined
  let pieceFrom = 0
  let lastComma = -1
  const length = body.length
  for (let i = 0; i < length; i++) {
    const c = body[i]
    if (c === 34) {
      // a string, to its closing quote: a loop of its own, where most of the bytes are
      const from = i
      for (i++; i < length; i++) {
        const s = body[i]
        if (s === 34) break
        if (s === 92) { // backslash: the next character is escaped
          i++
          escaped ||= depth === 1
        }
      }
      if (depth === 1) {
        nameFrom = from
        nameTo = i + 1
      }
    } else if (c === 123 || c === 91) {
      if (++depth > max) throw problem('badRequest', `the JSON body nests deeper than ${max} levels`)
      if (depth === 1 && top === 0) top = c
      else if (depth === 2 && c === 91) {
        array = { open: i, close: -1, cuts: [], nameFrom, nameTo }
        pieceFrom = i
        lastComma = -1
      }
    } else if (c === 125 || c === 93) {
      if (depth === 2 && array !== undefined) {
        if (i - pieceFrom > pieceBytes && lastComma > pieceFrom) array.cuts.push(lastComma)
        array.close = i
        if (largest === undefined || i - array.open > largest.close - largest.open) largest = array
        array = undefined
      }
      depth--
    } else if (c === 44 && depth === 2 && array !== undefined) {
      // a piece ends at the last comma before it would grow past pieceBytes
      if (i - pieceFrom > pieceBytes && lastComma > pieceFrom) {
        array.cuts.push(lastComma)
        pieceFrom = lastComma
      }
      lastComma = i
    }
  }
  return top === 123 && !escaped && largest !== undefined && largest.cuts.length > 0 ? largest : undefined
}
