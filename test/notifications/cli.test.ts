// mhx subscriptions against the service on a real port: add (secret printed once), list,
// deliveries, delete; a refused URL is exit 1 with the hub's reason.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK } from 'jose'
import t from 'tap'
import { buildTestHub } from '../helpers.js'
import { cliRunner, listeningHub, workDir } from '../cli/harness.js'

const hub = await buildTestHub(t, { config: { consent: 'required', webhookAllowHosts: ['127.0.0.1'] } })
const dir = workDir(t)
const { url } = await listeningHub(t, hub, dir)
const mhx = cliRunner(url, dir)
const reader = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const keyFile = join(dir, 'who.private.jwk')
writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(reader.privateKey)), kid: reader.kid, alg: reader.alg }), { mode: 0o600 })
const as = ['--partner', 'who-euro', '--key', keyFile]

t.test('add, list, deliveries, delete', async (t) => {
  const added = await mhx('subscriptions', 'add', 'http://127.0.0.1:9/hook', '--regions', 'KAZ,central-asia', ...as)
  t.equal(added.code, 0, added.stderr)
  const made = JSON.parse(added.stdout)
  t.match(made, { url: 'http://127.0.0.1:9/hook', events: ['period.published', 'period.revised'], regions: ['KAZ', 'central-asia'], secret: /^whsec_/ })
  t.match(added.stderr, /not shown again/)
  const listed = await mhx('subscriptions', 'list', ...as)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, new RegExp(`${made.id}\\s+http://127\\.0\\.0\\.1:9/hook\\s+period\\.published,period\\.revised\\s+KAZ,central-asia`))
  t.notMatch(listed.stdout, /whsec_/, 'the secret is not listed')
  const log = await mhx('subscriptions', 'deliveries', made.id, '--json', ...as)
  t.equal(log.code, 0, log.stderr)
  t.same(JSON.parse(log.stdout), [])
  const deleted = await mhx('subscriptions', 'delete', made.id, ...as)
  t.equal(deleted.code, 0, deleted.stderr)
  t.same(JSON.parse((await mhx('subscriptions', 'list', '--json', ...as)).stdout), [])
  const again = await mhx('subscriptions', 'delete', made.id, ...as)
  t.equal(again.code, 1)
  t.match(again.stderr, /404|no subscription/)
})

t.test('a refused URL and a bad command', async (t) => {
  const refused = await mhx('subscriptions', 'add', 'https://169.254.169.254/latest', ...as)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /169\.254\.169\.254 is a link-local address/)
  t.equal((await mhx('subscriptions', 'frobnicate', ...as)).code, 2)
  t.equal((await mhx('subscriptions', 'add', ...as)).code, 2, 'URL missing')
})
