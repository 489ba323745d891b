// Standard Webhooks (standardwebhooks.com): a delivery carries webhook-id, webhook-timestamp and
// webhook-signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the subscription's
// secret `whsec_<base64>` (the bytes after the prefix, base64-decoded). docs/notifications.md.
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'

/** A new signing secret: 32 random bytes, as Standard Webhooks writes them. */
export function newSecret (): string {
  return PREFIX + randomBytes(32).toString('base64')
}

/** The `webhook-signature` header of a message (one v1 signature). */
export function signature (secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/** The headers of one delivery; the timestamp in whole seconds since the epoch. */
export function signedHeaders (secret: string, id: string, at: Date, body: string): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature(secret, id, timestamp, body)
  }
}
