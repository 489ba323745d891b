// docs/examples/mhx_client.py (docs/integrators.md), a client nobody here wrote in TypeScript, from key to
// token to push to read. Skipped where no python3 has requests and PyJWT (.ci/run installs them from Debian).
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { exportJWK } from 'jose'
import t from 'tap'
import { processSubmission } from '../../src/aggregation/processor.js'
import { buildTestHub, freePort, type TestPartner } from '../helpers.js'
import { workDir } from '../cli/harness.js'
import { record } from '../intake/intake-fixtures.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('../../docs/examples/mhx_client.py', import.meta.url))

/** The first python3 with the modules the example needs (pyenv shims may hide Debian's). */
async function pythonWithModules (): Promise<string | undefined> {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      await run(candidate, ['-c', 'import requests, jwt, cryptography'])
      return candidate
    } catch {}
  }
  return undefined
}

const python = await pythonWithModules()
if (!python) {
  t.comment('skipped: python3 with requests, PyJWT and cryptography is not installed (apt-get install python3-requests python3-jwt python3-cryptography)')
} else {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const hub = await buildTestHub(t, { config: { publicUrl: url } })
  await hub.app.listen({ port, host: '127.0.0.1' })
  hub.queue.process(async (job) => { await processSubmission(hub.database, job.submissionId) })
  const dir = workDir(t)

  async function keyFile (partner: TestPartner): Promise<string> {
    const file = join(dir, `${partner.id}.private.jwk`)
    writeFileSync(file, JSON.stringify({ ...(await exportJWK(partner.privateKey)), kid: partner.kid, alg: partner.alg }), { mode: 0o600 })
    return file
  }
  const client = async (partner: TestPartner, ...args: string[]) =>
    (await run(python, [SCRIPT, '--url', url, '--partner', partner.id, '--key', await keyFile(partner), ...args])).stdout

  t.test('key → token → push → read, in Python', async (t) => {
    const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
    const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })

    const token = (await client(reporter, 'token')).trim()
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
    t.equal((await me.json() as { partner: string }).partner, reporter.id, 'the token speaks for the partner')

    const file = join(dir, 'records.json')
    writeFileSync(file, JSON.stringify({
      schema: 'migrant-health-event', version: '1.0.0',
      records: [...Array.from({ length: 7 }, () => record({ sex: 'female' })), ...Array.from({ length: 2 }, () => record({ sex: 'male' }))]
    }))
    const pushed = JSON.parse(await client(reporter, 'push', file, '--idempotency-key', 'py-1'))
    t.match(pushed, { status: 'accepted', recordCount: 9 })
    t.equal(pushed.receipt.split('.').length, 3)
    await hub.queue.drain()

    const answer = JSON.parse(await client(reader, 'read', 'region=KAZ', 'from=2026-03', 'to=2026-03', 'by=sex'))
    const female = answer.cells.find((c: { sex: string }) => c.sex === 'female')
    const male = answer.cells.find((c: { sex: string }) => c.sex === 'male')
    t.match(male, { count: null, suppressed: 'primary' }, 'a small cell arrives protected')
    t.ok(female.count === 7 || (female.count === null && female.suppressed === 'secondary'), `the other cell is shown or protected from subtraction: ${JSON.stringify(female)}`)

    await t.rejects(client(reader, 'read', 'region=KAZ', 'from=2026-03', 'to=2026-03', 'periodType=week'), /400 .*periodType/, 'a problem is printed with its detail')
  })
}
