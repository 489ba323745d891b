// mhx consents | periods | access-log: a ministry's stewardship of its country's data.
import type { HubClient } from './client.js'
import { parseCommand, positiveInteger, UsageError, type CliIo } from './io.js'
import { formatTable } from './table.js'

type Values = Record<string, string | boolean | string[] | undefined>
type ClientFor = (values: Values, io: CliIo, usage: string) => HubClient

const CREDENTIALS = { url: { type: 'string' }, partner: { type: 'string' }, key: { type: 'string' } } as const

export const STEWARDSHIP_USAGES: Record<string, string> = {
  consents: `usage: mhx consents list [--json]
       mhx consents grant READER [--k K] [--release published|live] [--until YYYY-MM-DD]
       mhx consents refuse READER
  (as your country's steward: --partner ID --key FILE)`,
  periods: `usage: mhx periods list --region R --from YYYY-MM --to YYYY-MM [--json]
       mhx periods publish COUNTRY YYYY-MM`,
  'access-log': 'usage: mhx access-log [--from DATE] [--to DATE] [--limit N] [--json]   (steward: who read your country)'
}

const print = (io: CliIo, value: unknown) => io.stdout.write(JSON.stringify(value, null, 2) + '\n')
const orDash = (v: unknown) => v === null || v === undefined ? '-' : String(v)

interface ConsentItem { reader: string, state: string, k: number | null, release: string | null, until: string | null, decidedAt: string | null }

export async function consentsCommand (args: string[], io: CliIo, clientFor: ClientFor): Promise<number> {
  const usage = STEWARDSHIP_USAGES.consents
  const [verb, ...rest] = args
  if (verb === 'list') {
    const { values } = parseCommand(rest, { ...CREDENTIALS, json: { type: 'boolean' } }, usage)
    const { items } = (await clientFor(values, io, usage).request<{ items: ConsentItem[] }>('GET', '/v1/consents')).body
    if (values.json) print(io, items)
    else io.stdout.write(formatTable(['reader', 'state', 'k', 'release', 'until', 'decided'], items.map((c) => [c.reader, c.state, orDash(c.k), orDash(c.release), orDash(c.until), orDash(c.decidedAt)])))
    return 0
  }
  if (verb === 'grant' || verb === 'refuse') {
    const { values, positionals } = parseCommand(rest, { ...CREDENTIALS, k: { type: 'string' }, release: { type: 'string' }, until: { type: 'string' } }, usage, { min: 1, max: 1 })
    const body: Record<string, unknown> = { decision: verb }
    if (values.k !== undefined) body.k = positiveInteger(values.k, 'k', 0, 1000, usage)
    if (values.release !== undefined) body.release = values.release
    if (values.until !== undefined) body.until = values.until
    print(io, (await clientFor(values, io, usage).request('PUT', `/v1/consents/${encodeURIComponent(positionals[0])}`, { json: body })).body)
    return 0
  }
  throw new UsageError(verb ? `unknown consents command "${verb}"` : 'missing consents command', usage)
}

interface PeriodView { country: string, period: string, status: string, revision: number | null, publishedAt: string | null, onTime: boolean | null, changedSince: boolean | null }

export async function periodsCommand (args: string[], io: CliIo, clientFor: ClientFor): Promise<number> {
  const usage = STEWARDSHIP_USAGES.periods
  const [verb, ...rest] = args
  if (verb === 'list') {
    const { values } = parseCommand(rest, { ...CREDENTIALS, region: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } }, usage)
    for (const required of ['region', 'from', 'to'] as const) {
      if (!values[required]) throw new UsageError(`--${required} is required`, usage)
    }
    const { items } = (await clientFor(values, io, usage).request<{ items: PeriodView[] }>('GET', '/v1/periods', { query: { region: values.region, from: values.from, to: values.to } })).body
    if (values.json) print(io, items)
    else {
      io.stdout.write(formatTable(['country', 'period', 'status', 'revision', 'published', 'on time', 'changed since'],
        items.map((p) => [p.country, p.period, p.status, orDash(p.revision), orDash(p.publishedAt), orDash(p.onTime), orDash(p.changedSince)])))
    }
    return 0
  }
  if (verb === 'publish') {
    const { values, positionals } = parseCommand(rest, CREDENTIALS, usage, { min: 2, max: 2 })
    const [country, period] = positionals
    print(io, (await clientFor(values, io, usage).request('POST', `/v1/periods/${encodeURIComponent(country)}/${encodeURIComponent(period)}/publish`)).body)
    return 0
  }
  throw new UsageError(verb ? `unknown periods command "${verb}"` : 'missing periods command', usage)
}

interface AccessItem { at: string, reader: string | null, action: string, query: Record<string, string>, cells: number | null, k: number | null, seq: number, hash: string }

export async function accessLogCommand (args: string[], io: CliIo, clientFor: ClientFor): Promise<number> {
  const usage = STEWARDSHIP_USAGES['access-log']
  const { values } = parseCommand(args, { ...CREDENTIALS, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, usage)
  const limit = positiveInteger(values.limit, 'limit', 1000, 1000, usage)
  const client = clientFor(values, io, usage)
  const items: AccessItem[] = []
  let cursor: string | undefined
  do {
    const page = (await client.request<{ items: AccessItem[], nextCursor: string | null }>('GET', '/v1/access-log', { query: { from: values.from, to: values.to, limit: String(Math.min(limit - items.length, 1000)), cursor } })).body
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor && items.length < limit)
  if (values.json) print(io, items)
  else {
    io.stdout.write(formatTable(['at', 'reader', 'action', 'query', 'cells', 'k', 'seq'],
      items.map((i) => [i.at, orDash(i.reader), i.action, new URLSearchParams(i.query ?? {}).toString(), orDash(i.cells), orDash(i.k), String(i.seq)])))
  }
  return 0
}
