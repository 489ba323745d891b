// One delivery attempt: decide whether the partner may hear of the event now (decideRead, on the
// partner, its grants and the consents as they stand at this moment), then POST the signed event to
// a URL checked again on the addresses its host resolves to now, and log the try. A failed try
// throws, and the queue retries it with backoff; the last one marks the delivery failed.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { sql } from 'drizzle-orm'
import { findRegion } from '../admin/regions.js'
import { readPartnerState } from '../auth/directory.js'
import { scopesForRoles } from '../auth/scopes.js'
import type { Config } from '../config.js'
import { rows, type Queryable } from '../db/connect.js'
import { decideRead, type PolicyReader, type PolicyState } from '../policy/read.js'
import { loadStewardshipState } from '../stewardship/book.js'
import { dayOf } from '../stewardship/consents.js'
import { checkDestination, DestinationRefused, guardedLookup, type Resolve } from './address.js'
import type { Attempt } from './subscriptions.js'
import { secretAad } from './subscriptions.js'
import { signedHeaders } from './signature.js'

/** How long a receiver may take to answer one try. */
export const ATTEMPT_TIMEOUT_MS = 10_000

export interface DeliveryDeps {
  db: Queryable
  unseal (sealed: string, aad: string): string
  config: Pick<Config, 'webhookAllowHosts' | 'consent' | 'suppressionK' | 'sensitiveK'>
  resolve: Resolve
  now: () => Date
  timeoutMs?: number
}

export type Outcome = 'delivered' | 'withheld' | 'cancelled' | 'done'

/** A try that did not reach a 2xx answer: the queue retries the delivery. */
export class AttemptFailed extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AttemptFailed'
  }
}

interface Row {
  state: string
  subscription_id: string
  partner_id: string
  url: string
  regions: string[] | null
  secret_sealed: string
  deleted_at: string | Date | null
  event_id: string
  type: string
  country: string
  created_at: string | Date
  data: Record<string, unknown>
}

/**
 * Whether `partnerId` may hear of a country's month now: as GET /v1/periods would show it, for the
 * country itself or a unit holding it (the subscription's regions, or else the partner's grants).
 * A `live` and a `published` consent alike say yes; none, a refused or an expired one, no.
 */
export async function mayHear (q: Queryable, config: DeliveryDeps['config'], partnerId: string, country: string, regions: string[] | null, now: Date): Promise<boolean> {
  const partner = await readPartnerState(q, partnerId)
  if (!partner || partner.status !== 'active') return false
  const reader: PolicyReader = { partnerId, scopes: new Set(scopesForRoles(partner.roles)), roles: partner.roles, country: partner.country, grants: partner.grants }
  const stewardship = await loadStewardshipState(q)
  const state: PolicyState = { stewardship, consent: config.consent, hubK: config.suppressionK, sensitiveK: config.sensitiveK, today: dayOf(now) }
  const candidates = [...new Set([country, ...(regions ?? partner.grants.map((g) => g.region))])]
  for (const code of candidates) {
    const unit = await findRegion(q, code)
    if (!unit || !unit.members.includes(country)) continue
    const verdict = decideRead(reader, { purpose: 'periods', unit: { code, members: unit.members }, counted: unit.members, singledOut: [], sensitive: false }, state)
    if (verdict.ok) return true
  }
  return false
}

/** The body of an event as Standard Webhooks suggests: `{type, timestamp, data}`. */
export function eventBody (event: { type: string, created_at: string | Date, data: unknown }): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(event.created_at).toISOString(), data: event.data })
}

/** `webhook-id`: one per event and subscription, the same on every try (receivers de-duplicate by it). */
export const messageId = (deliveryId: string) => `msg_${deliveryId.replace(/-/g, '')}`

/**
 * Makes attempt `attempt` of a delivery; `final`: no try comes after it. Returns what happened, or
 * throws AttemptFailed (the try is logged first). A delivery no longer pending is left alone (a
 * job run twice delivers once more at most: at least once, de-duplicated by webhook-id).
 */
export async function deliver (deps: DeliveryDeps, deliveryId: string, final: boolean): Promise<Outcome> {
  const [row] = await rows<Row>(deps.db, sql`
    SELECT d.state, d.subscription_id, s.partner_id, s.url, s.regions, s.secret_sealed, s.deleted_at,
      e.id AS event_id, e.type, e.country, e.created_at, e.data
    FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN webhook_events e ON e.id = d.event_id
    WHERE d.id = ${deliveryId}`)
  if (!row || row.state !== 'pending') return 'done'
  const now = deps.now()
  if (row.deleted_at !== null) {
    await settle(deps.db, deliveryId, 'cancelled', now)
    return 'cancelled'
  }
  if (!await mayHear(deps.db, deps.config, row.partner_id, row.country, row.regions, now)) {
    await settle(deps.db, deliveryId, 'withheld', now)
    return 'withheld'
  }

  const body = eventBody(row)
  const started = Date.now()
  let status: number | null = null
  let error: string | null = null
  try {
    const destination = await checkDestination(row.url, deps.config.webhookAllowHosts, deps.resolve)
    const secret = openSecret(deps, row)
    status = await post(destination.url, { ...signedHeaders(secret, messageId(deliveryId), now, body) }, body, destination.allowed ? undefined : deps.resolve, deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS)
    if (status < 200 || status > 299) error = `answered ${status}`
  } catch (err) {
    error = err instanceof DestinationRefused ? `refused: ${err.message}` : (err as Error).message
  }
  const attempt: Attempt = { at: now.toISOString(), status, error, ms: Date.now() - started }
  const state = error === null ? 'delivered' : final ? 'failed' : 'pending'
  await deps.db.execute(sql`
    UPDATE webhook_deliveries SET attempts = attempts || ${JSON.stringify([attempt])}::jsonb, state = ${state}, updated_at = ${deps.now()}
    WHERE id = ${deliveryId} AND state = 'pending'`)
  if (error !== null) throw new AttemptFailed(error)
  return 'delivered'
}

function openSecret (deps: DeliveryDeps, row: Row): string {
  try {
    return deps.unseal(row.secret_sealed, secretAad(row.subscription_id))
  } catch {
    // the hub's fault, not the receiver's: said so in the log the partner reads
    throw new Error('the hub could not open this subscription\'s secret (its delivering process has another MHX_KEK than the API\'s)')
  }
}

async function settle (q: Queryable, deliveryId: string, state: 'withheld' | 'cancelled', now: Date): Promise<void> {
  await q.execute(sql`UPDATE webhook_deliveries SET state = ${state}, updated_at = ${now} WHERE id = ${deliveryId} AND state = 'pending'`)
}

/**
 * POSTs `body`; resolves to the status. `resolve`: a name's addresses are checked (not for an
 * allowed host). Redirects are not followed; the answer's body is not read (the socket is closed
 * at its status line), and the whole try has `timeoutMs`, however slowly a receiver trickles.
 */
function post (url: URL, headers: Record<string, string>, body: string, resolve: Resolve | undefined, timeoutMs: number): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolveStatus, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'mhx-webhooks/1' },
      ...(resolve ? { lookup: guardedLookup(resolve) as never } : {}),
      agent: false
    }, (res: IncomingMessage) => {
      clearTimeout(timer)
      resolveStatus(res.statusCode ?? 0)
      res.destroy()
    })
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.end(body)
  })
}
