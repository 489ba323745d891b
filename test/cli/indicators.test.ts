// mhx indicators and mhx denominators against the service on a real port.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK } from 'jose'
import t from 'tap'
import { buildTestHub } from '../helpers.js'
import { CENTRAL_ASIA, insertCells } from '../release/fixtures.js'
import { cliRunner, listeningHub, workDir } from './harness.js'

const hub = await buildTestHub(t)
const dir = workDir(t)
const { url, adminKeyFile } = await listeningHub(t, hub, dir)
const mhx = cliRunner(url, dir)
await insertCells(hub.database, CENTRAL_ASIA.map((country, i) => ({ country, period: '2026-02', count: 40 + i, recordType: 'case_notification', conditionGroup: 'tb' })))

async function keyFile (name: string, partner: Awaited<ReturnType<typeof hub.partner>>): Promise<string> {
  const file = join(dir, `${name}.private.jwk`)
  writeFileSync(file, JSON.stringify({ ...(await exportJWK(partner.privateKey)), kid: partner.kid, alg: partner.alg }), { mode: 0o600 })
  return file
}
const reader = ['--partner', 'iom', '--key', await keyFile('iom', await hub.partner({ id: 'iom', roles: ['reader'], grants: [{ region: 'central-asia' }, ...CENTRAL_ASIA.map((c) => ({ region: c }))] }))]
const steward = ['--partner', 'kgz-moh', '--key', await keyFile('kgz', await hub.partner({ id: 'kgz-moh', roles: ['steward'], country: 'KGZ' }))]

t.test('indicators list and show need no credentials', async (t) => {
  const listed = await mhx('indicators', 'list')
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /tb-notification-rate\s+rate\s+3\.3\.2/)
  const shown = await mhx('indicators', 'show', 'tb-treatment-success')
  t.equal(shown.code, 0, shown.stderr)
  t.match(shown.stdout, /numerator: +recordType=case_notification conditionGroup=tb tbOutcome=cured,treatment_completed/)
  t.match(shown.stdout, /Эффективность лечения туберкулёза/)
  const unknown = await mhx('indicators', 'show', 'tb-nothing')
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /unknown indicator/)
})

t.test('denominators set (the admin by default; a steward its own country; a CSV) and list', async (t) => {
  const one = await mhx('denominators', 'set', 'KAZ', '2025', 'migrant_stock', '--value', '3700000', '--source', 'UN DESA International Migrant Stock 2024', '--vintage', '2024', '--key', adminKeyFile)
  t.equal(one.code, 0, one.stderr)
  t.match(one.stdout, 'KAZ 2025 migrant_stock = 3700000 (revision 1)')
  writeFileSync(join(dir, 'figures.csv'), 'country;year;population;value;source;vintage\nKGZ;2025;migrant_stock;200000;national register;2025\nKGZ;2025;migrant_workers;50000;national register;2025\n')
  const csv = await mhx('denominators', 'set', '--csv', 'figures.csv', ...steward)
  t.equal(csv.code, 0, csv.stderr)
  t.equal(csv.stdout.trim().split('\n').length, 2)
  writeFileSync(join(dir, 'other.csv'), 'country,year,population,value,source,vintage\nKGZ,2024,migrant_stock,190000,register,2024\nUZB,2025,migrant_stock,1000000,register,2025\n')
  const other = await mhx('denominators', 'set', '--csv', 'other.csv', ...steward)
  t.equal(other.code, 1, 'another country\'s figure is refused')
  t.match(other.stderr, /row 3 \(UZB 2025 migrant_stock\): stopped here; 1 of 2 set before it/)
  t.match(other.stderr, /its own country/)
  const bad = await mhx('denominators', 'set', 'KAZ', '2025', 'migrant_stock', '--value=-3', '--source', 'x', '--vintage', '1', '--key', adminKeyFile)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /\/value/)
  const listed = await mhx('denominators', 'list', '--country', 'KGZ')
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /KGZ\s+2024\s+migrant_stock\s+190000/)
  t.match(listed.stdout, /KGZ\s+2025\s+migrant_workers\s+50000/)
})

t.test('indicators values: a table, CSV and FHIR', async (t) => {
  const table = await mhx('indicators', 'values', 'tb-notification-rate', '--region', 'central-asia', '--from', '2026-02', '--to', '2026-02', '--by', 'country', ...reader)
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /KAZ\s+\d+\.\d\d\s+\d+\.\d\d–\d+\.\d\d\s+\d+\s+3700000\s+released/)
  t.match(table.stdout, /TJK\s+-\s+-\s+\d+\s+-\s+no-denominator/)
  t.match(table.stdout, /interval poisson-score\+perturbation/)
  t.match(table.stdout, /denominator KAZ migrant_stock 2025 \(for 2026\)/)
  const csv = await mhx('indicators', 'values', 'tb-notification-rate', '--region', 'KAZ', '--from', '2026-02', '--to', '2026-02', '--csv', ...reader)
  t.match(csv.stdout, /^indicator,numerator,denominator,value/)
  const fhir = await mhx('indicators', 'values', 'tb-notification-rate', '--region', 'KAZ', '--from', '2026-02', '--to', '2026-02', '--fhir', ...reader)
  t.equal(JSON.parse(fhir.stdout).resourceType, 'MeasureReport')
  const refused = await mhx('indicators', 'values', 'tb-notification-rate', '--region', 'central-asia', '--from', '2026-02', '--to', '2026-02', '--by', 'ageBand', ...reader)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /by/)
})
