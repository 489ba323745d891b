// The mhx CLI end to end against the service on a real port: keygen → register → token → call,
// push with batching and idempotent re-runs, receipts checked offline, aggregates, admin.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { idempotencyKey } from '../../src/cli/push.js'
import { buildTestHub, freePort } from '../helpers.js'
import { cliRunner, csvOf, listeningHub, ndjsonOf, record, workDir } from './harness.js'

const hub = await buildTestHub(t)
const dir = workDir(t)
const { url, adminKeyFile } = await listeningHub(t, hub, dir)
const mhx = cliRunner(url, dir)
const admin = ['--key', adminKeyFile]
hub.queue.process(async (job) => { await processSubmission(hub.database, job.submissionId) })

// One reporter made through the CLI, shared by the tests below.
const reporterKey = join(dir, 'kaz.private.jwk')
const reporterPublic = join(dir, 'kaz.public.jwk')
const reporter = ['--partner', 'kaz-moh', '--key', reporterKey]

async function submissionsOf (partner: string[]): Promise<Array<{ id: string, recordCount: number }>> {
  const token = (await mhx('token', ...partner)).stdout.trim()
  const res = await fetch(`${url}/v1/submissions?limit=1000`, { headers: { authorization: `Bearer ${token}` } })
  return (await res.json() as { items: Array<{ id: string, recordCount: number }> }).items
}

t.test('keygen → admin partners create → token → a call with the token', async (t) => {
  const made = await mhx('keygen', '--alg', 'EdDSA', '--kid', 'kaz-2026', '--out', 'kaz.private.jwk')
  t.equal(made.code, 0, made.stderr)
  t.equal(statSync(reporterKey).mode & 0o777, 0o600, 'the private key is readable by its owner only')
  const publicJwk = JSON.parse(made.stdout)
  t.match(publicJwk, { kty: 'OKP', crv: 'Ed25519', kid: 'kaz-2026', alg: 'EdDSA' })
  t.notOk('d' in publicJwk, 'what is printed is the public key')
  t.equal(JSON.parse(readFileSync(reporterKey, 'utf8')).kid, 'kaz-2026')
  writeFileSync(reporterPublic, made.stdout)

  const again = await mhx('keygen', '--out', 'kaz.private.jwk')
  t.equal(again.code, 1, 'a key file is never overwritten')
  t.match(again.stderr, /already exists/)

  const wrongFile = await mhx('admin', 'partners', 'create', ...admin, '--id', 'kaz-moh', '--roles', 'reporter', '--jwks', 'kaz.private.jwk')
  t.equal(wrongFile.code, 1, 'a private key is refused before it leaves the machine')
  t.match(wrongFile.stderr, /holds a private key/)

  const created = await mhx('admin', 'partners', 'create', ...admin, '--id', 'kaz-moh', '--name', 'Ministry of Health of Kazakhstan', '--roles', 'reporter', '--country', 'KAZ', '--jwks', 'kaz.public.jwk')
  t.equal(created.code, 0, created.stderr)
  t.match(JSON.parse(created.stdout), { id: 'kaz-moh', roles: ['reporter'], country: 'KAZ', status: 'active' })

  const token = await mhx('token', ...reporter)
  t.equal(token.code, 0, token.stderr)
  const claims = decodeJwt(token.stdout.trim())
  t.equal(claims.sub, 'kaz-moh')
  t.equal(claims.scope, 'submissions:write')
  t.equal(claims.country, 'KAZ')
  const res = await fetch(`${url}/v1/submissions`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } })
  t.equal(res.status, 200, 'the printed token works')

  const assertion = await mhx('token', ...reporter, '--assertion-only')
  t.equal(assertion.code, 0, assertion.stderr)
  t.match(decodeJwt(assertion.stdout.trim()), { iss: 'kaz-moh', sub: 'kaz-moh', aud: `${hub.config.publicUrl}/v1/oauth/token` }, 'aud is the token endpoint the hub names, not the URL reached')

  const list = await mhx('admin', 'partners', 'list', ...admin)
  t.equal(list.code, 0, list.stderr)
  t.match(list.stdout, /^id\s+name\s+roles\s+country\s+status\s+keys\n/)
  t.match(list.stdout, /kaz-moh\s+Ministry of Health of Kazakhstan\s+reporter\s+KAZ\s+active\s+kaz-2026/)
})

t.test('push a CSV in batches; a re-run replays, never duplicates', async (t) => {
  const file = join(dir, 'kaz-2026-h1.csv')
  const records = Array.from({ length: 25 }, (_, i) => record({ subnationalArea: '' }, i))
  writeFileSync(file, csvOf(records))
  const first = await mhx('push', 'kaz-2026-h1.csv', '--batch', '10', ...reporter)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /submitted 25 of 25 records in 3 of 3 batches/)
  const receipts = JSON.parse(readFileSync(`${file}.receipts.json`, 'utf8'))
  t.equal(receipts.submissions.length, 3)
  t.same(receipts.submissions.map((s: { firstLine: number, lastLine: number, records: number }) => [s.firstLine, s.lastLine, s.records]), [[2, 11, 10], [12, 21, 10], [22, 26, 5]])
  t.ok(receipts.submissions.every((s: { receipt: string, id: string }) => s.receipt.split('.').length === 3 && s.id), 'every batch has its receipt')
  t.equal(receipts.submissions[0].idempotencyKey, idempotencyKey(receipts.sha256, 'migrant-health-event', '1.0.0', 10, 1))

  const rerun = await mhx('push', 'kaz-2026-h1.csv', '--batch', '10', ...reporter)
  t.equal(rerun.code, 0, rerun.stderr)
  t.match(rerun.stdout, /3 already submitted before: replayed, not duplicated/)
  const again = JSON.parse(readFileSync(`${file}.receipts.json`, 'utf8'))
  t.same(again.submissions.map((s: { id: string }) => s.id), receipts.submissions.map((s: { id: string }) => s.id), 'the same submissions answer')
  const stored = await submissionsOf(reporter)
  t.equal(stored.filter((s) => receipts.submissions.some((r: { id: string }) => r.id === s.id)).length, 3)
  t.equal(stored.reduce((n, s) => n + s.recordCount, 0), 25, 'no record stored twice')
})

t.test('push: a large batch goes gzip-compressed; its receipt covers the NDJSON sent', async (t) => {
  const file = join(dir, 'large.ndjson')
  writeFileSync(file, ndjsonOf(Array.from({ length: 600 }, (_, i) => record({ condition: 'A15' }, i))))
  const encodings: string[] = []
  const watching: typeof fetch = async (input, init) => {
    if (String(input).includes('/v1/submissions')) encodings.push(new Headers(init?.headers).get('content-encoding') ?? 'identity')
    return fetch(input, init)
  }
  const pushed = await cliRunner(url, dir, watching)('push', 'large.ndjson', '--batch', '500', ...reporter)
  t.equal(pushed.code, 0, pushed.stderr)
  t.same(encodings, ['gzip', 'identity'], 'the 500-record batch is compressed, the 100-record one is not')
  const receipts = JSON.parse(readFileSync(`${file}.receipts.json`, 'utf8'))
  const claims = decodeJwt(receipts.submissions[0].receipt)
  t.equal(claims.bodySha256, receipts.submissions[0].bodySha256, 'the hub hashed the NDJSON as sent, gzip undone')
  t.equal(claims.recordCount, 500)
})

t.test('push NDJSON: faults are reported at the lines of the file; good batches still go in', async (t) => {
  const file = join(dir, 'faulty.ndjson')
  const lines: string[] = []
  for (let i = 0; i < 22; i++) lines.push(JSON.stringify(record({}, i)))
  lines[3] = JSON.stringify(record({ sex: 'F' }, 3)) // file line 4, batch 1
  lines.splice(12, 0, '') // a blank line: file lines shift by one from here
  lines[17] = JSON.stringify({ ...record({}, 17), nationalId: 'X' }) // file line 18, batch 3
  writeFileSync(file, lines.join('\n') + '\n')
  const before = (await submissionsOf(reporter)).length
  const pushed = await mhx('push', 'faulty.ndjson', '--batch', '8', ...reporter)
  t.equal(pushed.code, 1, 'a failed batch fails the command')
  t.match(pushed.stderr, /batch 1 \(lines 1–8\) failed \(422\)/)
  t.match(pushed.stderr, /\n {2}line 4: sex must be one of female/)
  t.match(pushed.stderr, /batch 2 \(lines 9–17\) failed \(422\)|batch 3 \(lines 18–23\) failed \(422\)/)
  t.match(pushed.stderr, /\n {2}line 18: \/nationalId: unknown field "nationalId"/)
  t.match(pushed.stdout, /submitted 8 of 22 records in 1 of 3 batches; 2 failed/)
  t.equal((await submissionsOf(reporter)).length, before + 1, 'only the good batch was stored')
  const receipts = JSON.parse(readFileSync(`${file}.receipts.json`, 'utf8'))
  t.equal(receipts.submissions.length, 1)
  t.equal(receipts.failed.length, 2)
})

t.test('push: a line that is not JSON fails its batch without sending it', async (t) => {
  const file = join(dir, 'broken.ndjson')
  writeFileSync(file, ndjsonOf([record({}, 1), record({}, 2)]) + '{"recordId": \n')
  const pushed = await mhx('push', 'broken.ndjson', '--dry-run', ...reporter)
  t.equal(pushed.code, 1)
  t.match(pushed.stderr, /line 3: not valid JSON/)
})

t.test('push --dry-run validates and stores nothing; JSON documents work too', async (t) => {
  const file = join(dir, 'doc.json')
  writeFileSync(file, JSON.stringify({ schema: 'migrant-health-event', version: '1.0.0', records: [record({}, 1), record({ ageBand: '81+' }, 2)] }))
  const before = (await submissionsOf(reporter)).length
  const bad = await mhx('push', 'doc.json', '--dry-run', ...reporter)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /record 2: ageBand must be one of/, 'a JSON file names the record (no lines to name)')
  writeFileSync(file, JSON.stringify([record({}, 1), record({}, 2)]))
  const good = await mhx('push', 'doc.json', '--dry-run', ...reporter)
  t.equal(good.code, 0, good.stderr)
  t.match(good.stdout, /validated 2 of 2 records/)
  t.notOk(existsSync(`${file}.receipts.json`), 'a dry run writes no receipts')
  t.equal((await submissionsOf(reporter)).length, before, 'nothing stored')
  const conflicting = await mhx('push', 'doc.json', '--schema', 'other', ...reporter)
  t.equal(conflicting.code, 1)
  t.match(conflicting.stderr, /404|unknown|no schema/i)
})

t.test('verify-receipt: offline against a saved JWKS; a tampered receipt is refused', async (t) => {
  const saved = await mhx('jwks')
  t.equal(saved.code, 0, saved.stderr)
  writeFileSync(join(dir, 'hub.jwks.json'), saved.stdout)
  const checked = await mhx('verify-receipt', 'kaz-2026-h1.csv.receipts.json', '--jwks', 'hub.jwks.json')
  t.equal(checked.code, 0, checked.stderr)
  t.equal(checked.stdout.match(/: valid \(kid receipt-/g)?.length, 3, 'all three receipts verify')
  t.match(checked.stdout, /sub: kaz-moh/)
  t.match(checked.stdout, /recordCount: 10/)

  const receipts = JSON.parse(readFileSync(join(dir, 'kaz-2026-h1.csv.receipts.json'), 'utf8'))
  const [header, payload, signature] = receipts.submissions[0].receipt.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  writeFileSync(join(dir, 'one.jws'), receipts.submissions[0].receipt + '\n')
  const one = await mhx('verify-receipt', 'one.jws', '--jwks', 'hub.jwks.json')
  t.equal(one.code, 0, one.stderr)

  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, recordCount: 1000 })).toString('base64url')}.${signature}`
  writeFileSync(join(dir, 'forged.jws'), forged)
  const refused = await mhx('verify-receipt', 'forged.jws', '--jwks', 'hub.jwks.json')
  t.equal(refused.code, 1)
  t.match(refused.stdout, /INVALID: signature does not verify/)

  // Each receipt is genuine, but swapped they no longer match what the push recorded.
  const swapped = { ...receipts, submissions: receipts.submissions.map((s: { receipt: string }, i: number) => ({ ...s, receipt: receipts.submissions[(i + 1) % 3].receipt })) }
  writeFileSync(join(dir, 'swapped.receipts.json'), JSON.stringify(swapped))
  const mismatched = await mhx('verify-receipt', 'swapped.receipts.json', '--jwks', 'hub.jwks.json')
  t.equal(mismatched.code, 1)
  t.match(mismatched.stdout, /INVALID: signed, but not for what was sent: submissionId is /)
  t.match(mismatched.stderr, /3 of 3 receipts did not verify/)

  writeFileSync(join(dir, 'other.jwks.json'), JSON.stringify({ keys: [] }))
  const unknownKey = await mhx('verify-receipt', 'one.jws', '--jwks', 'other.jwks.json')
  t.equal(unknownKey.code, 1)
  t.match(unknownKey.stdout, /INVALID: no key/)

  const noJwks = await mhx('verify-receipt', 'one.jws')
  t.equal(noJwks.code, 2, 'a usage error')
})

t.test('keys rotate: old receipts keep verifying against the new JWKS', async (t) => {
  const rotated = await mhx('keys', 'rotate', '--use', 'receipt', ...admin)
  t.equal(rotated.code, 0, rotated.stderr)
  const answer = JSON.parse(rotated.stdout)
  t.equal(answer.use, 'receipt')
  t.equal(answer.retired.length, 1)
  writeFileSync(join(dir, 'hub2.jwks.json'), (await mhx('jwks')).stdout)
  const checked = await mhx('verify-receipt', 'kaz-2026-h1.csv.receipts.json', '--jwks', 'hub2.jwks.json')
  t.equal(checked.code, 0, checked.stderr)
  const bad = await mhx('keys', 'rotate', '--use', 'everything', ...admin)
  t.equal(bad.code, 2)
})

t.test('aggregates: a table with withheld cells marked, CSV, verify and rebuild', async (t) => {
  // One delivery: released as at most 1 + D = 4, always below k = 5.
  writeFileSync(join(dir, 'deliveries.ndjson'), ndjsonOf([1].map((i) => record({ encounter: 'delivery', sex: 'female' }, i))))
  t.equal((await mhx('push', 'deliveries.ndjson', ...reporter)).code, 0)
  await hub.queue.drain()
  const readerKey = join(dir, 'iom.private.jwk')
  const made = await mhx('keygen', '--out', readerKey, '--kid', 'iom-1')
  writeFileSync(join(dir, 'iom.public.jwk'), made.stdout)
  t.equal((await mhx('admin', 'partners', 'create', ...admin, '--id', 'iom-ca', '--roles', 'reader', '--jwks', 'iom.public.jwk')).code, 0)
  const granted = await mhx('admin', 'partners', 'grants', 'iom-ca', '--set', 'central-asia,KAZ', ...admin)
  t.equal(granted.code, 0, granted.stderr)
  t.same(JSON.parse(granted.stdout).grants.map((g: { region: string }) => g.region).sort(), ['KAZ', 'central-asia'])
  const reader = ['--partner', 'iom-ca', '--key', readerKey]

  const table = await mhx('aggregates', '--region', 'KAZ', '--by', 'sex', '--from', '2026-01', '--to', '2026-06', ...reader)
  t.equal(table.code, 0, table.stderr)
  // 25 + 600 + 8 + 1 accepted records over 4 sexes: every cell is at least 5, the table is plain.
  const lines = table.stdout.trim().split('\n')
  t.match(lines[0], /^KAZ 2026-01\.\.2026-06, k=5, 4 cells/)
  t.match(lines[1], /^sex\s+count$/)
  t.match(lines[0], /counts perturbed \(cell-key method/)
  t.match(lines.at(-1), /^coverage: KAZ open \(reported, not published\): 2026-01, /, 'unpublished months are named under the table')
  const counts = lines.slice(3).filter((l) => !l.startsWith('coverage:')).map((l) => Number(l.trim().split(/\s+/)[1]))
  // Each cell is at most six month atoms, each within ±3 of its truth.
  t.ok(Math.abs(counts.reduce((a, b) => a + b, 0) - 634) <= 4 * 6 * 3, 'near the 634 accepted records')

  const small = await mhx('aggregates', '--region', 'KAZ', '--by', 'encounter', '--from', '2026-01', '--to', '2026-06', ...reader)
  t.equal(small.code, 0, small.stderr)
  t.match(small.stdout, /2 cells \(1 withheld: <5 below k\)/)
  t.match(small.stdout, /\ndelivery\s+<5\n/, 'a count below k is shown as <k')
  t.match(small.stdout, /\nprimary_care\s+\d+\n/, 'its sibling is released: no complementary suppression')
  t.notMatch(small.stdout, /\bnull\b/)

  const filtered = await mhx('aggregates', '--region', 'KAZ', '--by', 'sex,ageBand', '--from', '2026-01', '--to', '2026-06', '--filter', 'sex=female,male', ...reader)
  t.equal(filtered.code, 0, filtered.stderr)
  t.match(filtered.stdout, /\nfemale\s+0-4\s+\d+\n/)
  t.notMatch(filtered.stdout, /\bother\b|\bunknown\b/, 'the filter applies')

  const csv = await mhx('aggregates', '--region', 'KAZ', '--by', 'sex', '--from', '2026-01', '--to', '2026-06', '--csv', ...reader)
  t.equal(csv.code, 0, csv.stderr)
  t.match(csv.stdout.split('\n')[0], /sex/)

  const byCountry = await mhx('aggregates', '--region', 'central-asia', '--by', 'country', '--from', '2026-01', '--to', '2026-06', ...reader)
  t.equal(byCountry.code, 1, 'no grant on every country shown')
  t.match(byCountry.stderr, /403/)

  const twice = await mhx('aggregates', '--region', 'KAZ', '--from', '2026-01', '--to', '2026-06', '--filter', 'sex=female', '--filter', 'sex=male', ...reader)
  t.equal(twice.code, 2)

  const verified = await mhx('aggregates', 'verify', ...admin)
  t.equal(verified.code, 0, verified.stderr)
  t.equal(JSON.parse(verified.stdout).ok, true)
  const rebuilt = await mhx('aggregates', 'rebuild', ...admin)
  t.equal(rebuilt.code, 0, rebuilt.stderr)
})

t.test('admin: suspend refuses the next token, activate restores; regions', async (t) => {
  t.equal((await mhx('admin', 'partners', 'suspend', 'kaz-moh', ...admin)).code, 0)
  const refused = await mhx('token', ...reporter)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /token refused for partner "kaz-moh": invalid_client: client authentication failed/, 'one description for every client-authentication failure')
  const activated = await mhx('admin', 'partners', 'activate', 'kaz-moh', ...admin)
  t.equal(JSON.parse(activated.stdout).status, 'active')
  t.equal((await mhx('token', ...reporter)).code, 0)

  const region = await mhx('admin', 'regions', 'create', '--code', 'caspian-test', '--name', 'Caspian (test)', '--members', 'KAZ,TKM,RUS', ...admin)
  t.equal(region.code, 0, region.stderr)
  t.same(JSON.parse(region.stdout).members, ['KAZ', 'RUS', 'TKM'])
  const regions = await mhx('admin', 'regions', 'list', ...admin)
  t.match(regions.stdout, /caspian-test\s+Caspian \(test\)\s+KAZ,RUS,TKM/)
  const dup = await mhx('admin', 'regions', 'create', '--code', 'caspian-test', '--name', 'again', '--members', 'KAZ', ...admin)
  t.equal(dup.code, 1)
  t.match(dup.stderr, /409/)
})

t.test('errors: usage is exit 2, problems are printed readably, an unreachable service is one line', async (t) => {
  const none = await mhx()
  t.equal(none.code, 2)
  const unknown = await mhx('frobnicate')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command "frobnicate"\nusage: mhx/)
  const badFlag = await mhx('push', 'x.csv', '--bogus')
  t.equal(badFlag.code, 2)
  t.match(badFlag.stderr, /Unknown option '--bogus'\nusage: mhx push/)
  const badBatch = await mhx('push', 'x.csv', '--batch', '20000', ...reporter)
  t.equal(badBatch.code, 2)

  const forbidden = await mhx('aggregates', '--region', 'KAZ', '--from', '2026-01', '--to', '2026-06', ...reporter)
  t.equal(forbidden.code, 1)
  t.match(forbidden.stderr, /^mhx: GET \/v1\/aggregates: 403 Scope missing: /)

  const badQuery = await mhx('aggregates', '--region', 'KAZ', '--by', 'shoeSize', '--from', '2026-01', '--to', '2026-06', '--partner', 'iom-ca', '--key', join(dir, 'iom.private.jwk'))
  t.equal(badQuery.code, 1)
  t.match(badQuery.stderr, /400 Malformed request: .*shoeSize/)

  const port = await freePort()
  const away = await cliRunner(`http://127.0.0.1:${port}`, dir)('token', ...reporter)
  t.equal(away.code, 1)
  t.match(away.stderr, /^mhx: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the service running\?/)

  const noKey = await mhx('token', '--partner', 'kaz-moh', '--key', 'missing.jwk')
  t.equal(noKey.code, 1)
  t.match(noKey.stderr, /key file .*missing\.jwk does not exist/)
})

t.test('push reads XLSX (first sheet), semicolon CSV, ADX and DHIS2 dataValueSets; a header fault is told once', async (t) => {
  const ExcelJS = (await import('exceljs')).default
  const fields = ['recordId', 'period', 'countryOfOrigin', 'migrationStatus', 'migrationStage', 'sex', 'ageBand', 'encounter', 'insurance']
  const rows = Array.from({ length: 4 }, (_, i) => record({}, 100 + i))
  const workbook = new ExcelJS.Workbook()
  const sheet = workbook.addWorksheet('records')
  sheet.addRow(fields)
  for (const r of rows) sheet.addRow(fields.map((f) => String(r[f])))
  workbook.addWorksheet('notes').addRow(['ignored: only the first sheet is read'])
  await workbook.xlsx.writeFile(join(dir, 'kaz.xlsx'))
  const xlsx = await mhx('push', 'kaz.xlsx', ...reporter)
  t.equal(xlsx.code, 0, xlsx.stderr)
  t.match(xlsx.stdout, /submitted 4 of 4 records/)

  const semicolon = [fields.join(';'), ...Array.from({ length: 3 }, (_, i) => record({}, 200 + i)).map((r) => fields.map((f) => String(r[f])).join(';'))].join('\r\n') + '\r\n'
  writeFileSync(join(dir, 'kaz-ru.csv'), semicolon)
  const csv = await mhx('push', 'kaz-ru.csv', ...reporter)
  t.equal(csv.code, 0, csv.stderr)
  t.match(csv.stdout, /submitted 3 of 3 records/)

  writeFileSync(join(dir, 'bad-header.csv'), ['recordId;sex;passportNumber', ...Array.from({ length: 50 }, (_, i) => `r${i};male;N${i}`)].join('\n'))
  const bad = await mhx('push', 'bad-header.csv', ...reporter)
  t.equal(bad.code, 1)
  t.equal(bad.stderr.match(/passportNumber/g)?.length, 1, 'the unknown column is told once, not per row')
  t.match(bad.stderr, /line 1: unknown column "passportNumber" in the header/)

  const adx = await mhx('push', join(process.cwd(), 'docs/examples/aggregate.adx.xml'), '--dry-run', ...reporter)
  t.equal(adx.code, 0, adx.stderr)
  t.match(adx.stdout, /validated 2 of 2 records/)

  const token = (await mhx('token', ...reporter)).stdout.trim()
  const put = await fetch(`${url}/v1/mappings/dhis2`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: readFileSync('docs/examples/dhis2-mapping.json') })
  t.equal(put.status, 204)
  // pushed from the work folder: its receipts file is written beside it
  writeFileSync(join(dir, 'dhis2-datavalueset.json'), readFileSync('docs/examples/dhis2-datavalueset.json'))
  const dhis2 = await mhx('push', 'dhis2-datavalueset.json', '--format', 'dhis2', ...reporter)
  t.equal(dhis2.code, 0, dhis2.stderr)
  t.match(dhis2.stdout, /submitted 2 of 2 records/)

  // DHIS2's ADX export, read through the mapping the hub holds: the same two data values, checked
  // (they are live now: a real push would be a 409), and a code the mapping lacks named with its line
  const dhis2Adx = await mhx('push', join(process.cwd(), 'docs/examples/dhis2.adx.xml'), '--format', 'dhis2', '--dry-run', ...reporter)
  t.equal(dhis2Adx.code, 0, dhis2Adx.stderr)
  t.match(dhis2Adx.stdout, /validated 2 of 2 records/)
  writeFileSync(join(dir, 'dhis2-unmapped.xml'), readFileSync('docs/examples/dhis2.adx.xml', 'utf8').replace('MHX_AGE="Y25_29"', 'MHX_AGE="Y99_104"'))
  const unmapped = await mhx('push', 'dhis2-unmapped.xml', '--format', 'dhis2', ...reporter)
  t.equal(unmapped.code, 1)
  t.match(unmapped.stderr, /line 12: \/adx\/group\[2\]\/dataValue\[1\]\/@MHX_AGE: unmapped option "Y99_104"/)
})
