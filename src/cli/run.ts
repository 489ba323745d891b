// The `mhx` commands: parse the command line, call the service, print, return the exit code.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AGGREGATE_FORMATS, aggregateQueryParams, fetchAggregates, fetchAggregatesAs, formatAggregates, rebuildAggregates, verifyAggregates } from './aggregates.js'
import { ApiError, createClient, describeApiError, type Credentials, type HubClient } from './client.js'
import { CliError, list, parseCommand, positiveInteger, UsageError, type CliIo } from './io.js'
import { defaultKid, generatePartnerKey, hasPrivateMembers, KEYGEN_ALGS, readPrivateKey, signClientAssertion, writePrivateJwk, type KeygenAlg } from './keys.js'
import { MAX_BATCH, PushAborted, printPushSummary, pushFile, resumeCommand } from './push.js'
import { checkReceipt, describeCheck, readJwks, readReceipts } from './receipt.js'
import { accessLogCommand, consentsCommand, periodsCommand, STEWARDSHIP_USAGES } from './stewardship.js'
import { subscriptionsCommand, SUBSCRIPTIONS_USAGE } from './subscriptions.js'
import { bulletinCommand, BULLETIN_USAGE } from './bulletin.js'
import { DENOMINATORS_USAGE, denominatorsCommand, indicatorsCommand, INDICATORS_USAGE } from './indicators.js'
import { formatTable } from './table.js'

export const DEFAULT_ADMIN_KEY = '.mhx/admin.private.jwk'

/** Where the service wrote the admin's private key: MHX_DATA_DIR/admin.private.jwk, else ./.mhx/admin.private.jwk. */
export function defaultAdminKey (io: CliIo): string {
  return io.config.dataDir ? join(io.config.dataDir, 'admin.private.jwk') : DEFAULT_ADMIN_KEY
}

/** This package's version, from the package.json above this file (src/ or dist/). */
export function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
}

const CONNECTION = { url: { type: 'string' } } as const
const CREDENTIALS = { ...CONNECTION, partner: { type: 'string' }, key: { type: 'string' } } as const

export const USAGE = `usage: mhx <command> [options]

commands:
  keygen [--alg ES256|EdDSA|RS256] [--kid KID] [--out FILE]      make a partner key pair
  token --partner ID --key FILE [--scope S]                      print an access token
  push FILE [--schema S --version V] [--batch N] [--dry-run]    submit a CSV (, or ;) / NDJSON / JSON / XLSX / ADX / DHIS2 file
  submissions list | get ID | retract ID                         your submissions (reporters)
  verify-receipt FILE --jwks JWKS_FILE                           check receipts offline
  jwks                                                           print the hub's public keys
  aggregates --region R --from YYYY-MM --to YYYY-MM [--by a,b]   read aggregates (--csv|--sdmx|--fhir|--adx|--json)
  aggregates verify | rebuild                                    (admin) check / rebuild the cells
  keys rotate [--use token|receipt]                              (admin) rotate a hub signing key
  admin partners create|list|get|suspend|activate|grants …       (admin) manage partners
  admin regions create|list …                                    (admin) manage regions
  consents list|grant|refuse …                                   (steward) decide who reads your country
  periods list|publish …                                         months: status, publish (steward)
  access-log [--from D] [--to D]                                 (steward) who read your country
  subscriptions add|list|deliveries|delete …                     webhooks when months are published
  bulletin --region R --quarter 2026-Q3 [--lang ru] --out F.pdf   a quarterly bulletin, printed through Chromium
  indicators list | show ID | values ID --region R --from --to   rates and proportions (docs/indicators.md)
  denominators list | set C YEAR POP --value N … | set --csv F   population figures (admin, steward)

common options: --url URL (or MHX_URL, default http://localhost:3000),
  --partner ID --key FILE (or MHX_PARTNER, MHX_KEY_FILE; admin commands default
  to --partner admin --key $MHX_DATA_DIR/admin.private.jwk, else ${DEFAULT_ADMIN_KEY})
run "mhx <command> --help" for a command's options; "mhx --version" for the version.`

const USAGES: Record<string, string> = {
  keygen: 'usage: mhx keygen [--alg ES256|EdDSA|RS256] [--kid KID] [--out FILE]',
  token: 'usage: mhx token --partner ID --key FILE [--url URL] [--scope SCOPE] [--assertion-only]\n  (--assertion-only prints a client assertion for the token endpoint instead of a token)',
  push: 'usage: mhx push FILE [--schema NAME --version V] [--format csv|ndjson|json|xlsx|adx|dhis2] [--batch N] [--dry-run] [--no-progress] --partner ID --key FILE [--url URL]',
  'verify-receipt': 'usage: mhx verify-receipt FILE --jwks JWKS_FILE',
  jwks: 'usage: mhx jwks [--url URL]',
  submissions: 'usage: mhx submissions list [--limit N] [--json]\n       mhx submissions get ID\n       mhx submissions retract ID\n  (--partner ID --key FILE: the reporter; an admin may get and retract any)',
  aggregates: 'usage: mhx aggregates --region R --from YYYY-MM --to YYYY-MM [--by dim,…] [--period-type month|quarter|year] [--filter dim=value]… [--csv|--sdmx|--fhir|--adx|--json] --partner ID --key FILE\n       mhx aggregates verify|rebuild [--partner admin --key FILE]\n  (--csv, --sdmx, --fhir, --adx print the service\'s CSV, SDMX-CSV 2.0, FHIR MeasureReport or ADX as sent)',
  keys: 'usage: mhx keys rotate [--use token|receipt] [--partner admin --key FILE]',
  admin: `usage: mhx admin partners create --id ID --name NAME --roles reporter,reader,steward[,admin] [--country ISO3] --jwks PUBLIC_JWK_FILE
       mhx admin partners list [--limit N]
       mhx admin partners get|suspend|activate ID
       mhx admin partners keys ID --jwks PUBLIC_JWK_FILE
       mhx admin partners grants ID [--set REGION[:K],…]
       mhx admin regions create --code CODE --name NAME --members ISO3,…
       mhx admin regions list
  (admin credentials: --partner admin --key FILE, default ${DEFAULT_ADMIN_KEY})`,
  ...STEWARDSHIP_USAGES,
  subscriptions: SUBSCRIPTIONS_USAGE,
  bulletin: BULLETIN_USAGE,
  indicators: INDICATORS_USAGE,
  denominators: DENOMINATORS_USAGE
}

type Parsed = { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] }

/** Runs one command line; never exits the process. 0 ok, 1 failure, 2 usage. */
export async function runCli (argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      io.stdout.write(`mhx ${packageVersion()}\n`)
      return 0
    }
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE + '\n')
      return command === undefined ? 2 : 0
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write((USAGES[command] ?? USAGE) + '\n')
      return 0
    }
    switch (command) {
      case 'keygen': return await keygen(rest, io)
      case 'token': return await token(rest, io)
      case 'push': return await push(rest, io)
      case 'submissions': return await submissions(rest, io)
      case 'verify-receipt': return await verifyReceiptCommand(rest, io)
      case 'jwks': return await jwks(rest, io)
      case 'aggregates': return await aggregates(rest, io)
      case 'keys': return await keys(rest, io)
      case 'admin': return await admin(rest, io)
      case 'consents': return await consentsCommand(rest, io, clientFor)
      case 'periods': return await periodsCommand(rest, io, clientFor)
      case 'access-log': return await accessLogCommand(rest, io, clientFor)
      case 'subscriptions': return await subscriptionsCommand(rest, io, clientFor)
      case 'bulletin': return await bulletinCommand(rest, io, { clientFor, credentialsOf })
      case 'indicators': return await indicatorsCommand(rest, io, clientFor, urlOf)
      case 'denominators': return await denominatorsCommand(rest, io, clientFor, urlOf)
      default: throw new UsageError(`unknown command "${command}"`, USAGE)
    }
  } catch (err) {
    return report(err, io)
  }
}

function report (err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr.write(`mhx: ${err.message}\n${err.usage ?? USAGE}\n`)
    return 2
  }
  if (err instanceof ApiError) {
    io.stderr.write(describeApiError(err).map((l) => `mhx: ${l}`).join('\n').replace(/\nmhx: {2}/g, '\n  ') + '\n')
    return 1
  }
  if (err instanceof CliError) {
    io.stderr.write(`mhx: ${err.message}\n`)
    return err.exitCode
  }
  io.stderr.write(`mhx: ${(err as Error)?.stack ?? String(err)}\n`)
  return 1
}

function urlOf (values: Parsed['values'], io: CliIo): string {
  const given = values.url as string | undefined
  if (given === undefined) return io.config.url
  try {
    const parsed = new URL(given)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http')
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got "${given}"`)
  }
  return given.replace(/\/+$/, '')
}

function credentialsOf (values: Parsed['values'], io: CliIo, usage: string, asAdmin = false): Credentials {
  const partner = (values.partner as string | undefined) ?? (asAdmin ? 'admin' : io.config.partner)
  const keyFile = (values.key as string | undefined) ?? (asAdmin ? defaultAdminKey(io) : io.config.keyFile)
  if (!partner) throw new UsageError('--partner is required (or set MHX_PARTNER)', usage)
  if (!keyFile) throw new UsageError('--key is required (or set MHX_KEY_FILE)', usage)
  return { partner, keyFile: resolve(io.cwd, keyFile), scope: values.scope as string | undefined }
}

function clientFor (values: Parsed['values'], io: CliIo, usage: string, asAdmin = false): HubClient {
  return createClient(io, urlOf(values, io), credentialsOf(values, io, usage, asAdmin))
}

function printJson (io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

async function keygen (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.keygen
  const { values } = parseCommand(args, { alg: { type: 'string', default: 'ES256' }, kid: { type: 'string' }, out: { type: 'string' } }, usage)
  const alg = values.alg as KeygenAlg
  if (!KEYGEN_ALGS.includes(alg)) throw new UsageError(`--alg must be one of ${KEYGEN_ALGS.join(', ')}`, usage)
  const kid = values.kid ?? defaultKid(alg)
  if (!/^[\w.-]{1,128}$/.test(kid)) throw new UsageError('--kid may hold letters, digits, "_", "." and "-" (at most 128)', usage)
  const out = resolve(io.cwd, values.out ?? `${kid}.private.jwk`)
  const { privateJwk, publicJwk } = await generatePartnerKey(alg, kid)
  writePrivateJwk(out, privateJwk)
  io.stderr.write(`private key written to ${out} (mode 0600): keep it secret.\nthe public key to register (mhx admin partners create … --jwks FILE):\n`)
  printJson(io, publicJwk)
  return 0
}

async function token (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.token
  const { values } = parseCommand(args, { ...CREDENTIALS, scope: { type: 'string' }, 'assertion-only': { type: 'boolean' } }, usage)
  const client = clientFor(values, io, usage)
  if (values['assertion-only']) {
    // For use with other OAuth clients: a client assertion for this hub's token endpoint.
    const credentials = credentialsOf(values, io, usage)
    io.stdout.write(await signClientAssertion(credentials.partner, await readPrivateKey(credentials.keyFile), await client.tokenAudience()) + '\n')
    return 0
  }
  io.stdout.write(await client.token() + '\n')
  return 0
}

async function push (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.push
  const { values, positionals } = parseCommand(args, {
    ...CREDENTIALS,
    schema: { type: 'string' },
    version: { type: 'string' },
    format: { type: 'string' },
    batch: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'no-progress': { type: 'boolean', default: false }
  }, usage, { min: 1, max: 1 })
  const batchSize = positiveInteger(values.batch, 'batch', MAX_BATCH, MAX_BATCH, usage)
  const client = clientFor(values, io, usage)
  try {
    const summary = await pushFile(client, {
      file: resolve(io.cwd, positionals[0]),
      schema: values.schema,
      version: values.version,
      format: values.format,
      batchSize,
      dryRun: values['dry-run'] === true,
      progress: values['no-progress'] !== true
    }, io.stderr)
    printPushSummary(summary, io.stdout, io.stderr)
    return summary.batches.every((b) => b.ok) ? 0 : 1
  } catch (err) {
    if (!(err instanceof PushAborted)) throw err
    // What got in stays in (each batch is its own submission); the same command resumes: batches
    // already accepted are answered again from their Idempotency-Key, never stored twice.
    io.stderr.write(`mhx: push aborted after ${err.summary.batches.length} ${err.summary.batches.length === 1 ? 'batch' : 'batches'}: ${err.cause.message}\n`)
    printPushSummary(err.summary, io.stdout, io.stderr)
    io.stderr.write(`resume with: ${resumeCommand(['push', positionals[0], ...args.filter((a) => a !== positionals[0])])}\n`)
    return 1
  }
}

interface SubmissionOut { id: string, status: string, schema: string, version: string, country: string, recordCount: number, createdAt: string, receipt?: string }

async function submissions (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.submissions
  const [verb, ...rest] = args
  switch (verb) {
    case 'list': {
      const { values } = parseCommand(rest, { ...CREDENTIALS, limit: { type: 'string' }, json: { type: 'boolean' } }, usage)
      const limit = positiveInteger(values.limit, 'limit', 100, 1000, usage)
      const client = clientFor(values, io, usage)
      const page = (await client.request<{ items: SubmissionOut[], nextCursor: string | null }>('GET', '/v1/submissions', { query: { limit: String(limit) } })).body
      if (values.json) printJson(io, page.items)
      else {
        io.stdout.write(formatTable(['id', 'status', 'schema', 'records', 'created'],
          page.items.map((s) => [s.id, s.status, `${s.schema} ${s.version}`, String(s.recordCount), s.createdAt]), [false, false, false, true, false]))
        if (page.nextCursor) io.stdout.write(`(the newest ${page.items.length}; more with --limit up to 1000)\n`)
      }
      return 0
    }
    case 'get':
    case 'retract': {
      const { values, positionals } = parseCommand(rest, { ...CREDENTIALS }, usage, { min: 1, max: 1 })
      const client = clientFor(values, io, usage)
      const path = `/v1/submissions/${encodeURIComponent(positionals[0])}`
      printJson(io, (await client.request(verb === 'get' ? 'GET' : 'DELETE', path)).body)
      return 0
    }
    default:
      throw new UsageError(verb ? `unknown submissions command "${verb}"` : 'missing submissions command', usage)
  }
}

async function verifyReceiptCommand (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES['verify-receipt']
  const { values, positionals } = parseCommand(args, { jwks: { type: 'string' }, json: { type: 'boolean' } }, usage, { min: 1, max: 1 })
  if (!values.jwks) throw new UsageError('--jwks is required (save the hub keys: mhx jwks > hub.jwks.json)', usage)
  const keySet = readJwks(resolve(io.cwd, values.jwks))
  const checks = []
  for (const entry of readReceipts(resolve(io.cwd, positionals[0]))) checks.push(await checkReceipt(entry, keySet))
  if (values.json) printJson(io, checks)
  else for (const check of checks) io.stdout.write(describeCheck(check).join('\n') + '\n')
  const bad = checks.filter((c) => !c.ok).length
  if (bad > 0) io.stderr.write(`mhx: ${bad} of ${checks.length} receipts did not verify\n`)
  return bad > 0 ? 1 : 0
}

async function jwks (args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, { ...CONNECTION }, USAGES.jwks)
  const client = createClient(io, urlOf(values, io))
  printJson(io, (await client.request('GET', '/.well-known/jwks.json')).body)
  return 0
}

async function aggregates (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.aggregates
  if (args[0] === 'verify' || args[0] === 'rebuild') {
    const { values } = parseCommand(args.slice(1), { ...CREDENTIALS }, usage)
    const client = clientFor(values, io, usage, true)
    if (args[0] === 'rebuild') {
      printJson(io, await rebuildAggregates(client))
      return 0
    }
    const answer = await verifyAggregates(client)
    printJson(io, answer)
    if (!answer.ok) io.stderr.write(`mhx: the aggregate cells differ from the records (${answer.differences?.length ?? '?'} differences): mhx aggregates rebuild\n`)
    return answer.ok ? 0 : 1
  }
  const { values } = parseCommand(args, {
    ...CREDENTIALS,
    region: { type: 'string' },
    by: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'period-type': { type: 'string' },
    filter: { type: 'string', multiple: true },
    csv: { type: 'boolean' },
    sdmx: { type: 'boolean' },
    fhir: { type: 'boolean' },
    adx: { type: 'boolean' },
    json: { type: 'boolean' }
  }, usage)
  for (const required of ['region', 'from', 'to'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`, usage)
  }
  const formats = (['csv', 'sdmx', 'fhir', 'adx', 'json'] as const).filter((f) => values[f])
  if (formats.length > 1) throw new UsageError(`--${formats.join(' and --')} exclude each other`, usage)
  const params = aggregateQueryParams({
    region: values.region!, from: values.from!, to: values.to!, by: list(values.by), periodType: values['period-type'], filters: values.filter ?? []
  }, usage)
  const client = clientFor(values, io, usage)
  const as = formats[0] === 'json' ? undefined : formats[0]
  if (as) {
    const text = await fetchAggregatesAs(client, params, AGGREGATE_FORMATS[as])
    io.stdout.write(text.endsWith('\n') ? text : text + '\n')
    return 0
  }
  const answer = await fetchAggregates(client, params)
  if (values.json) printJson(io, answer)
  else io.stdout.write(formatAggregates(answer))
  return 0
}

async function keys (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.keys
  if (args[0] !== 'rotate') throw new UsageError(args[0] ? `unknown keys command "${args[0]}"` : 'missing keys command', usage)
  const { values } = parseCommand(args.slice(1), { ...CREDENTIALS, use: { type: 'string', default: 'token' } }, usage)
  if (values.use !== 'token' && values.use !== 'receipt') throw new UsageError('--use must be token or receipt', usage)
  const client = clientFor(values, io, usage, true)
  printJson(io, (await client.request('POST', '/v1/admin/keys/rotate', { json: { use: values.use } })).body)
  return 0
}

async function admin (args: string[], io: CliIo): Promise<number> {
  const usage = USAGES.admin
  const [noun, verb, ...rest] = args
  if (noun === 'partners') return adminPartners(verb, rest, io, usage)
  if (noun === 'regions') return adminRegions(verb, rest, io, usage)
  throw new UsageError(noun ? `unknown admin command "${noun}"` : 'missing admin command', usage)
}

interface PartnerOut { id: string, name: string, roles: string[], country: string | null, status: string, jwks?: { keys: Array<{ kid?: string }> } }

async function adminPartners (verb: string | undefined, args: string[], io: CliIo, usage: string): Promise<number> {
  switch (verb) {
    case 'create': {
      const { values } = parseCommand(args, { ...CREDENTIALS, id: { type: 'string' }, name: { type: 'string' }, roles: { type: 'string' }, country: { type: 'string' }, jwks: { type: 'string' } }, usage)
      for (const required of ['id', 'roles', 'jwks'] as const) {
        if (!values[required]) throw new UsageError(`--${required} is required`, usage)
      }
      const body = { id: values.id, name: values.name ?? values.id, roles: list(values.roles), country: values.country ?? null, jwks: publicJwksFile(resolve(io.cwd, values.jwks!)) }
      const client = clientFor(values, io, usage, true)
      printJson(io, (await client.request('POST', '/v1/admin/partners', { json: body })).body)
      return 0
    }
    case 'list': {
      const { values } = parseCommand(args, { ...CREDENTIALS, limit: { type: 'string' }, json: { type: 'boolean' } }, usage)
      const limit = positiveInteger(values.limit, 'limit', 100, 1000, usage)
      const client = clientFor(values, io, usage, true)
      const items: PartnerOut[] = []
      let cursor: string | undefined
      do {
        const page = (await client.request<{ items: PartnerOut[], nextCursor: string | null }>('GET', '/v1/admin/partners', { query: { limit: String(limit), cursor } })).body
        items.push(...page.items)
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      if (values.json) printJson(io, items)
      else {
        io.stdout.write(formatTable(['id', 'name', 'roles', 'country', 'status', 'keys'],
          items.map((p) => [p.id, p.name, p.roles.join(','), p.country ?? '-', p.status, (p.jwks?.keys ?? []).map((k) => k.kid).join(',')])))
      }
      return 0
    }
    case 'get':
    case 'suspend':
    case 'activate': {
      const { values, positionals } = parseCommand(args, { ...CREDENTIALS }, usage, { min: 1, max: 1 })
      const client = clientFor(values, io, usage, true)
      const path = `/v1/admin/partners/${encodeURIComponent(positionals[0])}`
      const answer = verb === 'get'
        ? await client.request('GET', path)
        : await client.request('PATCH', path, { json: { status: verb === 'suspend' ? 'suspended' : 'active' } })
      printJson(io, answer.body)
      return 0
    }
    case 'keys': {
      const { values, positionals } = parseCommand(args, { ...CREDENTIALS, jwks: { type: 'string' } }, usage, { min: 1, max: 1 })
      if (!values.jwks) throw new UsageError('--jwks is required', usage)
      const client = clientFor(values, io, usage, true)
      const jwks = publicJwksFile(resolve(io.cwd, values.jwks))
      printJson(io, (await client.request('PATCH', `/v1/admin/partners/${encodeURIComponent(positionals[0])}`, { json: { jwks } })).body)
      return 0
    }
    case 'grants': {
      const { values, positionals } = parseCommand(args, { ...CREDENTIALS, set: { type: 'string' } }, usage, { min: 1, max: 1 })
      const client = clientFor(values, io, usage, true)
      const path = `/v1/admin/partners/${encodeURIComponent(positionals[0])}/grants`
      const answer = values.set === undefined
        ? await client.request('GET', path)
        : await client.request('PUT', path, { json: { grants: parseGrants(values.set, usage) } })
      printJson(io, answer.body)
      return 0
    }
    default:
      throw new UsageError(verb ? `unknown partners command "${verb}"` : 'missing partners command', usage)
  }
}

/** `central-asia,KAZ:11` → [{region: 'central-asia'}, {region: 'KAZ', k: 11}]; an empty string clears. */
export function parseGrants (text: string, usage: string): Array<{ region: string, k?: number }> {
  return list(text).map((item) => {
    const [region, k, extra] = item.split(':')
    if (extra !== undefined || !region) throw new UsageError(`--set items are REGION or REGION:K, got "${item}"`, usage)
    if (k === undefined) return { region }
    if (!/^\d+$/.test(k)) throw new UsageError(`k in "${item}" must be a whole number`, usage)
    return { region, k: Number(k) }
  })
}

async function adminRegions (verb: string | undefined, args: string[], io: CliIo, usage: string): Promise<number> {
  if (verb === 'list') {
    const { values } = parseCommand(args, { ...CREDENTIALS, json: { type: 'boolean' } }, usage)
    const client = clientFor(values, io, usage, true)
    const { items } = (await client.request<{ items: Array<{ code: string, name: string, members: string[], kind?: string }> }>('GET', '/v1/admin/regions')).body
    if (values.json) printJson(io, items)
    else io.stdout.write(formatTable(['code', 'name', 'members'], items.map((r) => [r.code, r.name, r.members.join(',')])))
    return 0
  }
  if (verb === 'create') {
    const { values } = parseCommand(args, { ...CREDENTIALS, code: { type: 'string' }, name: { type: 'string' }, members: { type: 'string' } }, usage)
    for (const required of ['code', 'name', 'members'] as const) {
      if (!values[required]) throw new UsageError(`--${required} is required`, usage)
    }
    const client = clientFor(values, io, usage, true)
    printJson(io, (await client.request('POST', '/v1/admin/regions', { json: { code: values.code, name: values.name, members: list(values.members) } })).body)
    return 0
  }
  throw new UsageError(verb ? `unknown regions command "${verb}"` : 'missing regions command', usage)
}

/** A public JWK or JWKS file as a JWKS; a private key is refused before it leaves the machine. */
function publicJwksFile (file: string): { keys: Array<Record<string, unknown>> } {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new CliError(`cannot read ${file} as JSON: ${(err as Error).message}`)
  }
  const keys = (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)
    ? (parsed as { keys: Array<Record<string, unknown>> }).keys
    : [parsed as Record<string, unknown>])
  if (keys.some((k) => hasPrivateMembers(k))) {
    throw new CliError(`${file} holds a private key: register the public JWK (the one mhx keygen printed), never the private one`)
  }
  return { keys }
}
