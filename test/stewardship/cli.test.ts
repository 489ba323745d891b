// mhx consents | periods | access-log against the service on a real port.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK } from 'jose'
import t from 'tap'
import { appendAudit } from '../../src/audit/log.js'
import { insertCells } from '../release/fixtures.js'
import { buildTestHub } from '../helpers.js'
import { cliRunner, listeningHub, workDir } from '../cli/harness.js'

const hub = await buildTestHub(t, { config: { consent: 'required' } })
const dir = workDir(t)
const { url } = await listeningHub(t, hub, dir)
const mhx = cliRunner(url, dir)
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'KAZ' }] })
const keyFile = join(dir, 'kaz.private.jwk')
writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(kaz.privateKey)), kid: kaz.kid, alg: kaz.alg }), { mode: 0o600 })
const steward = ['--partner', 'kaz-moh', '--key', keyFile]
await insertCells(hub.database, [{ country: 'KAZ', count: 12 }])

t.test('consents list, grant, refuse', async (t) => {
  const listed = await mhx('consents', 'list', ...steward)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /who-euro\s+pending/)
  const low = await mhx('consents', 'grant', 'who-euro', '--k', '2', ...steward)
  t.equal(low.code, 1)
  t.match(low.stderr, /k may only be stricter/)
  const granted = await mhx('consents', 'grant', 'who-euro', '--k', '10', '--release', 'live', ...steward)
  t.equal(granted.code, 0, granted.stderr)
  t.match(JSON.parse(granted.stdout), { reader: 'who-euro', state: 'granted', k: 10, release: 'live' })
  const refused = await mhx('consents', 'refuse', 'who-euro', ...steward)
  t.match(JSON.parse(refused.stdout), { state: 'refused' })
  t.equal((await mhx('consents', 'frobnicate', ...steward)).code, 2)
})

t.test('periods publish and list; access-log', async (t) => {
  const published = await mhx('periods', 'publish', 'KAZ', '2026-01', ...steward)
  t.equal(published.code, 0, published.stderr)
  t.match(JSON.parse(published.stdout), { country: 'KAZ', period: '2026-01', revision: 1, records: 12 })
  const other = await mhx('periods', 'publish', 'KGZ', '2026-01', ...steward)
  t.equal(other.code, 1)
  t.match(other.stderr, /not of KGZ/)
  const listed = await mhx('periods', 'list', '--region', 'KAZ', '--from', '2026-01', '--to', '2026-02', ...steward)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /2026-01\s+published\s+1/)
  t.match(listed.stdout, /2026-02\s+not_reported/)

  await appendAudit(hub.database.db, { partnerId: 'who-euro', action: 'aggregates.read', subject: 'KAZ', detail: { query: { region: 'KAZ', from: '2026-01', to: '2026-01' }, countries: ['KAZ'], cells: 1, k: 10 } })
  const log = await mhx('access-log', '--json', ...steward)
  t.equal(log.code, 0, log.stderr)
  t.match(JSON.parse(log.stdout), [{ reader: 'who-euro', action: 'aggregates.read', k: 10 }])
})
