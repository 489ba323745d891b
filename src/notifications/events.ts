// The notifications' outbox: an event is written in the transaction that caused it (a publication),
// with one pending delivery per subscription that asked for its type and region, so a committed
// publication is never without its events and a rolled-back one never has any. Every process that
// delivers hears of it at commit (NOTIFY); a sweep finds what was not heard.
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { Queryable } from '../db/connect.js'

export const EVENT_TYPES = ['period.published', 'period.revised'] as const
export type EventType = typeof EVENT_TYPES[number]

/** NOTIFY channel: deliveries were added; a delivering process enqueues them. */
export const WEBHOOK_CHANNEL = 'mhx_webhook_events'

/** What a period event says: which country-month, its revision and when; never a count. */
export interface PeriodEventData {
  country: string
  period: string
  revision: number
  publishedAt: string
}

/**
 * Records `period.published` (a first revision) or `period.revised` (a later one) in `tx`, with a
 * delivery for each live subscription that wants it: its events hold the type, and its regions
 * (none: every region) hold the country, as itself or as a member. Whether the partner may hear
 * of it is decided at delivery time. Returns the event id.
 */
export async function recordPeriodEvent (tx: Queryable, data: PeriodEventData, now: Date): Promise<string> {
  const type: EventType = data.revision === 1 ? 'period.published' : 'period.revised'
  const id = randomUUID()
  await tx.execute(sql`
    INSERT INTO webhook_events (id, type, country, period, data, created_at)
    VALUES (${id}, ${type}, ${data.country}, ${data.period}, ${JSON.stringify(data)}::jsonb, ${now})`)
  await tx.execute(sql`
    INSERT INTO webhook_deliveries (id, event_id, subscription_id, state, created_at, updated_at)
    SELECT gen_random_uuid(), ${id}, s.id, 'pending', ${now}, ${now}
    FROM subscriptions s
    WHERE s.deleted_at IS NULL AND ${type} = ANY(s.events)
      AND (s.regions IS NULL OR ${data.country} = ANY(s.regions)
        OR EXISTS (SELECT 1 FROM regions r WHERE r.code = ANY(s.regions) AND ${data.country} = ANY(r.members)))`)
  await tx.execute(sql`SELECT pg_notify(${WEBHOOK_CHANNEL}, ${id})`)
  return id
}
