// mhx subscriptions: a partner's webhooks (docs/notifications.md): add one (its secret printed
// once), list them, read one's delivery log, delete one.
import type { HubClient } from './client.js'
import { parseCommand, positiveInteger, UsageError, type CliIo } from './io.js'
import { formatTable } from './table.js'

type Values = Record<string, string | boolean | string[] | undefined>
type ClientFor = (values: Values, io: CliIo, usage: string) => HubClient

const CREDENTIALS = { url: { type: 'string' }, partner: { type: 'string' }, key: { type: 'string' } } as const

export const SUBSCRIPTIONS_USAGE = `usage: mhx subscriptions add URL [--events period.published,period.revised] [--regions R,…]
       mhx subscriptions list [--json]
       mhx subscriptions deliveries ID [--limit N] [--json]
       mhx subscriptions delete ID
  (a reader or steward: --partner ID --key FILE; add prints the signing secret, shown this once)`

const print = (io: CliIo, value: unknown) => io.stdout.write(JSON.stringify(value, null, 2) + '\n')
const list = (raw: string | boolean | string[] | undefined) => typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined

interface Subscription { id: string, url: string, events: string[], regions: string[] | null, createdAt: string }
interface Delivery { id: string, event: { type: string, country: string, period: string, revision: number }, state: string, attempts: Array<{ at: string, status: number | null, error: string | null }> }

export async function subscriptionsCommand (args: string[], io: CliIo, clientFor: ClientFor): Promise<number> {
  const usage = SUBSCRIPTIONS_USAGE
  const [verb, ...rest] = args
  if (verb === 'add') {
    const { values, positionals } = parseCommand(rest, { ...CREDENTIALS, events: { type: 'string' }, regions: { type: 'string' } }, usage, { min: 1, max: 1 })
    const regions = list(values.regions)
    const body = { url: positionals[0], events: list(values.events) ?? ['period.published', 'period.revised'], ...(regions ? { regions } : {}) }
    const made = (await clientFor(values, io, usage).request<Subscription & { secret: string }>('POST', '/v1/subscriptions', { json: body })).body
    print(io, made)
    io.stderr.write('keep the secret: it verifies every delivery and is not shown again\n')
    return 0
  }
  if (verb === 'list') {
    const { values } = parseCommand(rest, { ...CREDENTIALS, json: { type: 'boolean' } }, usage)
    const { items } = (await clientFor(values, io, usage).request<{ items: Subscription[] }>('GET', '/v1/subscriptions')).body
    if (values.json) print(io, items)
    else io.stdout.write(formatTable(['id', 'url', 'events', 'regions', 'created'], items.map((s) => [s.id, s.url, s.events.join(','), s.regions?.join(',') ?? 'all readable', s.createdAt])))
    return 0
  }
  if (verb === 'deliveries') {
    const { values, positionals } = parseCommand(rest, { ...CREDENTIALS, limit: { type: 'string' }, json: { type: 'boolean' } }, usage, { min: 1, max: 1 })
    const limit = positiveInteger(values.limit, 'limit', 100, 1000, usage)
    const { items } = (await clientFor(values, io, usage).request<{ items: Delivery[] }>('GET', `/v1/subscriptions/${encodeURIComponent(positionals[0])}/deliveries`, { query: { limit: String(limit) } })).body
    if (values.json) print(io, items)
    else {
      io.stdout.write(formatTable(['event', 'country', 'period', 'rev', 'state', 'tries', 'last try', 'last result'], items.map((d) => {
        const last = d.attempts.at(-1)
        return [d.event.type, d.event.country, d.event.period, String(d.event.revision), d.state, String(d.attempts.length), last?.at ?? '-', last ? last.error ?? String(last.status) : '-']
      })))
    }
    return 0
  }
  if (verb === 'delete') {
    const { values, positionals } = parseCommand(rest, CREDENTIALS, usage, { min: 1, max: 1 })
    await clientFor(values, io, usage).request('DELETE', `/v1/subscriptions/${encodeURIComponent(positionals[0])}`)
    io.stdout.write(`deleted ${positionals[0]}\n`)
    return 0
  }
  throw new UsageError(verb ? `unknown subscriptions command "${verb}"` : 'missing subscriptions command', usage)
}
