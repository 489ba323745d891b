// mhx verify-receipt: a receipt checked offline against a saved JWKS, its claims shown.
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose'
import { CliError } from './io.js'

export const RECEIPT_TYPE = 'mhx-receipt+jwt'
// The hub signs with asymmetric keys only; never HMAC, never none.
const RECEIPT_ALGS = ['ES256', 'ES384', 'EdDSA']

export interface ReceiptCheck {
  /** where the receipt came from: the file, or `FILE#batch N` for a push receipts file */
  source: string
  ok: boolean
  kid?: string
  claims?: JWTPayload
  error?: string
}

export function readJwks (file: string): JSONWebKeySet {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new CliError(`cannot read the JWKS ${file}: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new CliError(`${file} is not a JWKS ({"keys": [...]}); save the hub's /.well-known/jwks.json (mhx jwks > hub.jwks.json)`)
  }
  return parsed as JSONWebKeySet
}

/**
 * The receipts in a file: a bare compact JWS, a JSON answer holding `receipt`, or the
 * `FILE.receipts.json` that mhx push writes (every submission's receipt).
 */
export interface ReceiptEntry {
  source: string
  receipt: string
  /** what mhx push sent, from a receipts file: the receipt must say the same */
  expected?: { submissionId?: string, recordCount?: number, bodySha256?: string }
}

export function readReceipts (file: string): ReceiptEntry[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`)
  }
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(text)) return [{ source: file, receipt: text }]
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new CliError(`${file} holds neither a compact JWS nor JSON`)
  }
  const doc = parsed as { receipt?: unknown, submissions?: Array<{ batch?: number, receipt?: unknown, id?: string, records?: number, bodySha256?: string }> }
  if (typeof doc.receipt === 'string') return [{ source: file, receipt: doc.receipt }]
  if (Array.isArray(doc.submissions)) {
    const found = doc.submissions
      .filter((s) => typeof s.receipt === 'string')
      .map((s, i) => ({
        source: `${file}#batch ${s.batch ?? i + 1}`,
        receipt: s.receipt as string,
        expected: { submissionId: s.id, recordCount: s.records, bodySha256: s.bodySha256 }
      }))
    if (found.length > 0) return found
  }
  throw new CliError(`${file} holds no receipt`)
}

/** A valid receipt that says something else than what was sent (per the receipts file) is refused too. */
export async function checkReceipt (entry: ReceiptEntry, jwks: JSONWebKeySet): Promise<ReceiptCheck> {
  const check = await verifyReceipt(entry.receipt, jwks, entry.source)
  if (!check.ok || !entry.expected) return check
  const claims = check.claims ?? {}
  const differing = (Object.entries(entry.expected) as Array<[string, unknown]>)
    .filter(([name, value]) => value !== undefined && claims[name] !== undefined && claims[name] !== value)
    .map(([name, value]) => `${name} is ${JSON.stringify(claims[name])}, the push recorded ${JSON.stringify(value)}`)
  return differing.length === 0 ? check : { ...check, ok: false, error: `signed, but not for what was sent: ${differing.join('; ')}` }
}

export async function verifyReceipt (receipt: string, jwks: JSONWebKeySet, source = 'receipt'): Promise<ReceiptCheck> {
  let kid: string | undefined
  try {
    kid = decodeProtectedHeader(receipt).kid
  } catch {
    return { source, ok: false, error: 'not a compact JWS' }
  }
  try {
    const { payload, protectedHeader } = await jwtVerify(receipt, createLocalJWKSet(jwks), { algorithms: RECEIPT_ALGS, typ: RECEIPT_TYPE })
    return { source, ok: true, kid: protectedHeader.kid, claims: payload }
  } catch (err) {
    const code = (err as { code?: string }).code
    const why = code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
      ? 'signature does not verify: the receipt was altered or not signed by this hub'
      : code === 'ERR_JWKS_NO_MATCHING_KEY'
        ? `no key "${kid ?? '(no kid)'}" in the JWKS: save a current /.well-known/jwks.json`
        : (err as Error).message
    return { source, ok: false, kid, error: why }
  }
}

export function describeCheck (check: ReceiptCheck): string[] {
  if (!check.ok) return [`${check.source}: INVALID: ${check.error}`]
  const lines = [`${check.source}: valid (kid ${check.kid ?? '-'})`]
  for (const [name, value] of Object.entries(check.claims ?? {})) {
    const shown = (name === 'iat' || name === 'nbf' || name === 'exp') && typeof value === 'number'
      ? `${value} (${new Date(value * 1000).toISOString()})`
      : typeof value === 'string' ? value : JSON.stringify(value)
    lines.push(`  ${name}: ${shown}`)
  }
  return lines
}
