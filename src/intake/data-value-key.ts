// A data value's key and recordId. Its recordId is the UUIDv5 (RFC 9562) of its reporter and its
// stored values joined by tabs, in the namespace below, so that a live duplicate hits the unique
// index on (partner, recordId) as a record's does. Stored data values depend on it: never change it.
import { hash } from 'node:crypto'

const DATA_VALUE_NAMESPACE = '6f1c5d2e-8a4b-4c3d-9e2f-1a2b3c4d5e6f'
const NAMESPACE_BYTES = Buffer.from(DATA_VALUE_NAMESPACE.replace(/-/g, ''), 'hex')

/**
 * A data value's key: the SHA-1 (hex) its recordId is made of. A key stays this digest until it
 * is written: formatting a UUID per data value (and hashing that cons string in a Map) cost as
 * much as the SHA-1 itself.
 */
export function dataValueKey (reporter: string, values: readonly string[]): string {
  // the namespace and reporter lead every name of a submission: written once, not per data value
  if (reporter !== prefixReporter) {
    prefixReporter = undefined
    prefixLength = writeName(NAMESPACE_BYTES, `${reporter}\t`)
    prefixReporter = reporter
  }
  const dimensions = values.join('\t')
  if (prefixLength + 3 * dimensions.length > nameInput.length) {
    prefixReporter = undefined
    return sha1Of(NAMESPACE_BYTES, `${reporter}\t${dimensions}`)
  }
  return hash('sha1', nameInput.subarray(0, prefixLength + nameInput.write(dimensions, prefixLength, 'utf8')), 'hex')
}

let prefixReporter: string | undefined
let prefixLength = 0

/** The recordId of a data value's key (a UUID with hyphens, as PostgreSQL prints it). */
export function recordIdOfKey (key: string): string {
  return `${key.slice(0, 8)}-${key.slice(8, 12)}-5${key.slice(13, 16)}-${VARIANT_DIGIT[key[16]]}${key.slice(17, 20)}-${key.slice(20, 32)}`
}

/** The recordId of a key as it goes into COPY text: its first 32 hex digits, which markRecordId then makes a UUIDv5. */
export function recordIdDigits (key: string): string {
  return key.slice(0, 32)
}

/**
 * Sets version 5 and the RFC 4122 variant in the 32 hex digits of recordIdDigits written at `at`:
 * a UUID without hyphens, which PostgreSQL reads as it reads one with them.
 */
export function markRecordId (bytes: Buffer, at: number): void {
  bytes[at + 12] = 0x35
  bytes[at + 16] = VARIANT_BYTE[bytes[at + 16]]
}

/**
 * RFC 9562 UUIDv5 of `name` in `namespace` (default: the data values'). The `uuid` package gave the
 * same ids at a quarter of the speed (it re-parses the namespace and encodes UTF-8 by hand per call).
 */
export function uuidV5 (name: string, namespace: Buffer = NAMESPACE_BYTES): string {
  return recordIdOfKey(sha1Of(namespace, name))
}

// the hash input written into one reused buffer: a buffer per call cost a fifth of the id
function sha1Of (namespace: Buffer, name: string): string {
  prefixReporter = undefined
  // written first: writing may replace nameInput
  const length = writeName(namespace, name)
  return hash('sha1', nameInput.subarray(0, length), 'hex')
}

/** Writes namespace and name into nameInput (grown as needed); the length written. */
function writeName (namespace: Buffer, name: string): number {
  // a UTF-16 code unit is at most 3 bytes of UTF-8
  if (16 + 3 * name.length > nameInput.length) nameInput = Buffer.allocUnsafe(2 * (16 + 3 * name.length))
  namespace.copy(nameInput, 0, 0, 16)
  return 16 + nameInput.write(name, 16, 'utf8')
}

let nameInput = Buffer.allocUnsafe(1024)

// the RFC 4122 variant (10xx) as byte 8's first hex digit, by that digit (as a character and as a byte)
const VARIANT_DIGIT: Record<string, string> = {}
const VARIANT_BYTE = new Uint8Array(128)
for (let d = 0; d < 16; d++) {
  const digit = d.toString(16)
  VARIANT_DIGIT[digit] = ((d & 0x3) | 0x8).toString(16)
  VARIANT_BYTE[digit.charCodeAt(0)] = VARIANT_DIGIT[digit].charCodeAt(0)
}
