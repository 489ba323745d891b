// Receipts: a compact JWS the hub signs over what it accepted, so a ministry can prove what it
// sent and when. Signed with the hub's receipt key (ES256, its own kid in /.well-known/jwks.json).
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose'
import type { HubKeys } from '../auth/hub-keys.js'

/** The JWS `typ` of a receipt: distinct from access tokens (`at+jwt`), so neither passes for the other. */
export const RECEIPT_TYPE = 'mhx-receipt+jwt'

/** What a receipt says. `bodySha256` is the hex SHA-256 of the body as sent, after any gzip is undone. */
export interface ReceiptClaims {
  /** the hub (MHX_PUBLIC_URL) */
  iss: string
  /** the reporting partner */
  sub: string
  /** seconds since the epoch at acceptance */
  iat: number
  submissionId: string
  country: string
  schema: string
  schemaVersion: string
  recordCount: number
  bodySha256: string
}

export async function signReceipt (keys: HubKeys, claims: ReceiptClaims): Promise<string> {
  const { kid, alg, key } = await keys.signingKey('receipt')
  const { iss, sub, iat, ...rest } = claims
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg, kid, typ: RECEIPT_TYPE })
    .setIssuer(iss)
    .setSubject(sub)
    .setIssuedAt(iat)
    .sign(key)
}

/** Checks a receipt against a JWKS (the hub's `/.well-known/jwks.json`); throws when it does not verify. */
export async function verifyReceipt (receipt: string, jwks: JSONWebKeySet, issuer?: string): Promise<ReceiptClaims> {
  const { payload } = await jwtVerify(receipt, createLocalJWKSet(jwks), {
    typ: RECEIPT_TYPE,
    algorithms: ['ES256'],
    ...(issuer ? { issuer } : {}),
    requiredClaims: ['iss', 'sub', 'iat']
  })
  for (const claim of ['submissionId', 'schema', 'schemaVersion', 'bodySha256', 'country'] as const) {
    if (typeof payload[claim] !== 'string') throw new Error(`receipt claim ${claim} is missing`)
  }
  if (!Number.isInteger(payload.recordCount)) throw new Error('receipt claim recordCount is missing')
  return payload as unknown as ReceiptClaims
}
