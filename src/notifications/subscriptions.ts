// Subscriptions as their partner sees them: made (the secret shown once), listed, read, deleted, and
// the log of their deliveries. A partner sees only its own: another's is "not found", as if absent.
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { findRegion } from '../admin/regions.js'
import { appendAudit } from '../audit/log.js'
import { inTransaction, rows, type Database, type Queryable } from '../db/connect.js'
import { decodeCursor, encodeCursor, type Page } from '../paging.js'
import { problem, type FieldError } from '../problem.js'
import { checkDestination, DestinationRefused, type Resolve } from './address.js'
import type { EventType } from './events.js'
import { newSecret } from './signature.js'

/** A partner's live subscriptions at most: each publication fans out to every one. */
export const MAX_SUBSCRIPTIONS = 20

export interface Subscription {
  id: string
  url: string
  events: EventType[]
  regions: string[] | null
  createdAt: string
}

export interface NewSubscription { url: string, events: EventType[], regions?: string[] }

export interface Sealer { seal (plain: string, aad: string): string }

/** The additional data a subscription's sealed secret is bound to: it opens for this row only. */
export const secretAad = (id: string) => `subscription:${id}`

interface SubscriptionRow { id: string, url: string, events: string[], regions: string[] | null, created_at: string | Date }

const view = (row: SubscriptionRow): Subscription => ({
  id: row.id, url: row.url, events: row.events as EventType[], regions: row.regions, createdAt: new Date(row.created_at).toISOString()
})

export interface CreateDeps {
  database: Database
  sealer: Sealer
  allowHosts: readonly string[]
  resolve: Resolve
  now: Date
}

/**
 * Makes a subscription after checking its URL (scheme, and every address its host resolves to)
 * and its regions; nothing is stored when any check fails. Returns it with its secret, the one
 * time the secret leaves the hub.
 */
export async function createSubscription (deps: CreateDeps, partnerId: string, input: NewSubscription): Promise<Subscription & { secret: string }> {
  const { db } = deps.database
  const faults: FieldError[] = []
  try {
    await checkDestination(input.url, deps.allowHosts, deps.resolve)
  } catch (err) {
    if (!(err instanceof DestinationRefused)) throw err
    faults.push({ path: '/url', message: err.message })
  }
  const regions = input.regions === undefined ? null : [...new Set(input.regions)]
  for (const [i, code] of (regions ?? []).entries()) {
    if (!await findRegion(db, code)) faults.push({ path: `/regions/${i}`, message: `unknown region or country "${code}"` })
  }
  if (faults.length > 0) throw problem('validation', faults.map((f) => `${f.path.slice(1)}: ${f.message}`).join('; '), { errors: faults })

  const id = randomUUID()
  const secret = newSecret()
  const events = [...new Set(input.events)]
  const row = await inTransaction(deps.database, async (tx) => {
    // One at a time per partner, so the limit holds under concurrent requests.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`mhx:subscriptions:${partnerId}`}))`)
    const [{ n }] = await rows<{ n: string | number }>(tx, sql`SELECT count(*) AS n FROM subscriptions WHERE partner_id = ${partnerId} AND deleted_at IS NULL`)
    if (Number(n) >= MAX_SUBSCRIPTIONS) throw problem('conflict', `a partner has at most ${MAX_SUBSCRIPTIONS} subscriptions: delete one first`)
    const [made] = await rows<SubscriptionRow>(tx, sql`
      INSERT INTO subscriptions (id, partner_id, url, events, regions, secret_sealed, created_at)
      VALUES (${id}, ${partnerId}, ${input.url}, ${textArray(events)}, ${regions === null ? null : textArray(regions)}, ${deps.sealer.seal(secret, secretAad(id))}, ${deps.now})
      RETURNING id, url, events, regions, created_at`)
    await appendAudit(tx, { partnerId, action: 'subscription.create', subject: id, detail: { url: input.url, events, regions } }, deps.now)
    return made
  })
  return { ...view(row), secret }
}

/** A text[] parameter that both drivers bind the same way. */
const textArray = (values: readonly string[]) => sql`ARRAY[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::text[]`

export async function listSubscriptions (q: Queryable, partnerId: string): Promise<Subscription[]> {
  const found = await rows<SubscriptionRow>(q, sql`
    SELECT id, url, events, regions, created_at FROM subscriptions
    WHERE partner_id = ${partnerId} AND deleted_at IS NULL ORDER BY created_at, id`)
  return found.map(view)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The partner's own live subscription, or 404 (another partner's is as absent as a missing one). */
export async function getSubscription (q: Queryable, partnerId: string, id: string): Promise<Subscription> {
  const [found] = UUID.test(id)
    ? await rows<SubscriptionRow>(q, sql`
      SELECT id, url, events, regions, created_at FROM subscriptions
      WHERE id = ${id} AND partner_id = ${partnerId} AND deleted_at IS NULL`)
    : []
  if (!found) throw problem('notFound', `no subscription ${id}`)
  return view(found)
}

/** Ends a subscription: nothing more is sent to it, deliveries not yet made included. */
export async function deleteSubscription (database: Database, partnerId: string, id: string, now: Date): Promise<void> {
  await inTransaction(database, async (tx) => {
    await getSubscription(tx, partnerId, id)
    await tx.execute(sql`UPDATE subscriptions SET deleted_at = ${now} WHERE id = ${id}`)
    await tx.execute(sql`UPDATE webhook_deliveries SET state = 'cancelled', updated_at = ${now} WHERE subscription_id = ${id} AND state = 'pending'`)
    await appendAudit(tx, { partnerId, action: 'subscription.delete', subject: id, detail: {} }, now)
  })
}

export interface Attempt { at: string, status: number | null, error: string | null, ms: number }

export interface DeliveryView {
  id: string
  event: { id: string, type: EventType, country: string, period: string, revision: number }
  state: 'pending' | 'delivered' | 'failed' | 'withheld'
  attempts: Attempt[]
  createdAt: string
}

/**
 * The delivery log of one of the partner's subscriptions, newest first. Only deliveries tried at
 * least once are shown: one the partner was not allowed to hear of at delivery time is never listed,
 * so the log tells nothing the webhook itself would not have.
 */
export async function listDeliveries (q: Queryable, partnerId: string, id: string, limit: number, cursor?: string): Promise<Page<DeliveryView>> {
  await getSubscription(q, partnerId, id)
  const after = cursor === undefined ? undefined : decodeCursor<[string, string]>(cursor)
  if (after !== undefined && (!Array.isArray(after) || typeof after[0] !== 'string' || !UUID.test(String(after[1])))) {
    throw problem('badRequest', 'cursor is not one this service handed out', { errors: [{ path: 'cursor', message: 'invalid cursor' }] })
  }
  const found = await rows<{ id: string, event_id: string, type: string, country: string, period: string, data: { revision: number }, state: string, attempts: Attempt[], created_at: string | Date }>(q, sql`
    SELECT d.id, d.event_id, e.type, e.country, e.period, e.data, d.state, d.attempts, d.created_at
    FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
    WHERE d.subscription_id = ${id} AND jsonb_array_length(d.attempts) > 0
      ${after ? sql`AND (d.created_at, d.id) < (${new Date(after[0])}, ${after[1]})` : sql``}
    ORDER BY d.created_at DESC, d.id DESC LIMIT ${limit + 1}`)
  const items = found.slice(0, limit).map((r) => ({
    id: r.id,
    event: { id: r.event_id, type: r.type as EventType, country: r.country, period: r.period, revision: r.data.revision },
    state: r.state as DeliveryView['state'],
    attempts: r.attempts,
    createdAt: new Date(r.created_at).toISOString()
  }))
  const last = items.at(-1)
  return { items, nextCursor: found.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null }
}
