// The CLI's contract beyond the basics: --version, submissions list|get|retract, file faults told once,
// an aborted push that says how to resume, MHX_DATA_DIR for the admin key, a URL that is not a hub,
// and aggregates in the service's other formats.
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { exportJWK } from 'jose'
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { packageVersion } from '../../src/cli/run.js'
import { buildTestHub, freePort } from '../helpers.js'
import { cliRunner, csvOf, CSV_FIELDS, listeningHub, record, workDir } from './harness.js'

const hub = await buildTestHub(t)
const dir = workDir(t)
const { url, adminKeyFile } = await listeningHub(t, hub, dir)
const mhx = cliRunner(url, dir)
hub.queue.process(async (job) => { await processSubmission(hub.database, job.submissionId) })

const reporterKey = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
const keyFile = join(dir, 'reporter.private.jwk')
writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(reporterKey.privateKey)), kid: reporterKey.kid, alg: reporterKey.alg }), { mode: 0o600 })
const reporter = ['--partner', reporterKey.id, '--key', keyFile]

t.test('--version prints the package version', async (t) => {
  const res = await mhx('--version')
  t.equal(res.code, 0)
  t.equal(res.stdout, `mhx ${packageVersion()}\n`)
  t.match(packageVersion(), /^\d+\.\d+\.\d+/)
})

t.test('submissions list, get, retract', async (t) => {
  writeFileSync(join(dir, 'few.csv'), csvOf(Array.from({ length: 3 }, (_, i) => record({}, i))))
  t.equal((await mhx('push', 'few.csv', ...reporter)).code, 0)
  const listed = await mhx('submissions', 'list', '--json', ...reporter)
  t.equal(listed.code, 0, listed.stderr)
  const [newest] = JSON.parse(listed.stdout) as Array<{ id: string, recordCount: number }>
  t.equal(newest.recordCount, 3)
  const table = await mhx('submissions', 'list', ...reporter)
  t.match(table.stdout, new RegExp(`${newest.id}\\s+\\S+\\s+migrant-health-event 1.0.0\\s+3`))

  const got = await mhx('submissions', 'get', newest.id, ...reporter)
  t.equal(got.code, 0, got.stderr)
  t.equal(JSON.parse(got.stdout).id, newest.id)
  const retracted = await mhx('submissions', 'retract', newest.id, ...reporter)
  t.equal(retracted.code, 0, retracted.stderr)
  t.same(JSON.parse(retracted.stdout), { id: newest.id, status: 'retracting' })
  const twice = await mhx('submissions', 'retract', newest.id, ...reporter)
  t.equal(twice.code, 1)
  t.match(twice.stderr, /409/)
  t.equal((await mhx('submissions', 'frobnicate', ...reporter)).code, 2)
})

t.test('file faults are told once per file, before anything is sent', async (t) => {
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['empty.csv', '', /is empty/],
    ['blank.ndjson', '\n\n', /holds no records/],
    ['header-only.csv', CSV_FIELDS.join(',') + '\n', /holds no records/],
    ['semicolons.csv', [CSV_FIELDS.join(';'), CSV_FIELDS.map(() => 'x').join(';')].join('\n') + '\n', /separated by ";".*comma-separated/],
    ['tabs.csv', [CSV_FIELDS.join('\t'), CSV_FIELDS.map(() => 'x').join('\t')].join('\n') + '\n', /separated by tabs/],
    ['utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csvOf([record()]), 'utf16le')]), /UTF-16/],
    ['unknown-columns.csv', 'recordId,period,gender,nationality\n1,2026-01,f,UZB\n2,2026-01,m,TJK\n', /columns that migrant-health-event 1.0.0 does not know: "gender", "nationality"/]
  ]
  for (const [name, content, expected] of cases) {
    writeFileSync(join(dir, name), content)
    const res = await mhx('push', name, ...reporter)
    t.equal(res.code, 1, `${name}: ${res.stderr}`)
    t.match(res.stderr, expected, name)
    t.equal(res.stderr.trim().split('\n').length, 1, `${name}: one line`)
  }
  // A BOM in UTF-8 is fine: the header is read without it.
  writeFileSync(join(dir, 'bom.csv'), '\uFEFF' + csvOf([record()]))
  const bom = await mhx('push', 'bom.csv', ...reporter)
  t.equal(bom.code, 0, bom.stderr)
})

t.test('an aborted push ends with a summary and the command that resumes it', async (t) => {
  writeFileSync(join(dir, 'big.csv'), csvOf(Array.from({ length: 30 }, (_, i) => record({}, i))))
  let submissions = 0
  // The network to the hub breaks after the first batch.
  const flaky: typeof fetch = async (input, init) => {
    if (String(input).includes('/v1/submissions') && init?.method === 'POST' && ++submissions > 1) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })
    return fetch(input, init)
  }
  const broken = cliRunner(url, dir, flaky)
  const res = await broken('push', 'big.csv', '--batch', '10', '--no-progress', ...reporter)
  t.equal(res.code, 1)
  t.match(res.stderr, /push aborted after 1 batch: cannot reach .*ECONNRESET/)
  t.match(res.stdout, /submitted 10 of 10 records in 1 of 1 batch/)
  t.match(res.stdout, /receipts: .*big\.csv\.receipts\.json/)
  t.match(res.stderr, new RegExp(`resume with: mhx push big.csv --batch 10 --no-progress --partner ${reporterKey.id} --key ${keyFile.replace(/[.]/g, '\\.')}`))

  const resumed = await mhx('push', 'big.csv', '--batch', '10', '--no-progress', ...reporter)
  t.equal(resumed.code, 0, resumed.stderr)
  t.match(resumed.stdout, /submitted 30 of 30 records in 3 of 3 batches \(1 already submitted before/)
})

t.test('MHX_DATA_DIR locates the admin key for admin commands', async (t) => {
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  writeFileSync(join(dataDir, 'admin.private.jwk'), JSON.stringify({ ...(await exportJWK(hub.admin.privateKey)), kid: hub.admin.kid, alg: hub.admin.alg }), { mode: 0o600 })
  const withDataDir = cliRunner(url, join(dir, 'elsewhere-does-not-matter'), globalThis.fetch, { dataDir })
  const res = await withDataDir('admin', 'regions', 'list')
  t.equal(res.code, 0, res.stderr)
  const without = await cliRunner(url, dir)('admin', 'regions', 'list')
  t.equal(without.code, 1)
  t.match(without.stderr, /\.mhx\/admin\.private\.jwk does not exist/)
  t.ok(adminKeyFile)
})

t.test('a URL that is not an mhx hub is named as such', async (t) => {
  const port = await freePort()
  const other = createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html' }).end('<html>some other site</html>')
  })
  await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve))
  t.teardown(() => other.close())
  const elsewhere = cliRunner(`http://127.0.0.1:${port}`, dir)
  for (const argv of [['token', ...reporter], ['jwks'], ['submissions', 'list', ...reporter]]) {
    const res = await elsewhere(...argv)
    t.equal(res.code, 1, argv[0])
    t.match(res.stderr, new RegExp(`http://127.0.0.1:${port} is not an mhx hub`), `${argv[0]}: ${res.stderr}`)
  }
})

t.test('aggregates --sdmx|--fhir|--adx ask for the format with the Accept header and print it as sent', async (t) => {
  const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
  const readerKey = join(dir, 'reader.private.jwk')
  writeFileSync(readerKey, JSON.stringify({ ...(await exportJWK(reader.privateKey)), kid: reader.kid, alg: reader.alg }), { mode: 0o600 })
  const accepted: string[] = []
  const recording: typeof fetch = async (input, init) => {
    if (String(input).includes('/v1/aggregates')) accepted.push(new Headers(init?.headers).get('accept') ?? '')
    return fetch(input, init)
  }
  const read = cliRunner(url, dir, recording)
  const query = ['--region', 'KAZ', '--from', '2026-01', '--to', '2026-06', '--partner', reader.id, '--key', readerKey]
  const sdmx = await read('aggregates', ...query, '--sdmx')
  t.equal(sdmx.code, 0, sdmx.stderr)
  t.match(sdmx.stdout, /OBS_VALUE/)
  await read('aggregates', ...query, '--fhir')
  await read('aggregates', ...query, '--adx')
  t.same(accepted, ['application/vnd.sdmx.data+csv;version=2.0.0', 'application/fhir+json', 'application/adx+xml'])
  const both = await read('aggregates', ...query, '--sdmx', '--csv')
  t.equal(both.code, 2)
  t.match(both.stderr, /exclude each other/)
})
