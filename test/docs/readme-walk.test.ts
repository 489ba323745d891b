// The README's five-minute walk, as written: the `sh` blocks of its "Five minutes" section, in order,
// run by bash in a fresh folder against a service started there on the defaults (an empty
// environment: consent required, rate limits and the query budget on; PGlite in ./.mhx, as
// `npm start` makes it). One change: the service listens on a free port, so the walk's
// http://localhost:3000 is read as that port (MHX_URL tells the CLI the same).
// @embedded: the walk is a newcomer's first start: PGlite in ./.mhx and in-process queues
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pino from 'pino'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startService } from '../../src/service.js'
import { freePort } from '../helpers.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The `sh` blocks of the README section whose heading starts with `heading`, in order. */
export function walkBlocks (readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`)
  if (start < 0) throw new Error(`no section "${heading}" in the README`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1])
}

// A dozen `npx mhx` starts take a minute or two on a busy machine: past the suite's 120 s per file.
t.setTimeout(300_000)

t.test('the walk runs as written on a fresh start with the defaults', { timeout: 300_000 }, async (t) => {
  const blocks = walkBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'Five minutes')
  t.ok(blocks.length >= 3, `${blocks.length} blocks in the walk`)

  const dir = mkdtempSync(join(tmpdir(), 'mhx-walk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // `npx mhx` in a clone finds the package's own bin; in this folder, through node_modules/.bin as npm links it
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true })
  symlinkSync(join(ROOT, 'bin', 'mhx.js'), join(dir, 'node_modules', '.bin', 'mhx'))

  const port = await freePort()
  const url = `http://localhost:${port}`
  const config = loadConfig({ PORT: String(port), MHX_DATA_DIR: join(dir, '.mhx') })
  t.equal(config.consent, 'required', 'the defaults: consent required')
  t.ok(config.rateApi > 0 && config.rateToken > 0 && config.queryBudget > 0, 'the defaults: rate limits and budget on')
  const service = await startService(config, pino({ level: 'silent' }))
  t.teardown(() => service.close())

  const env: NodeJS.ProcessEnv = { ...process.env, MHX_URL: url }
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'MHX_DATA_DIR', 'MHX_PARTNER', 'MHX_KEY_FILE']) delete env[name]

  const outputs: string[] = []
  for (const [i, block] of blocks.entries()) {
    const script = block.replaceAll('http://localhost:3000', url)
    try {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env, maxBuffer: 16 << 20 })
      outputs.push(stdout)
      t.pass(`block ${i + 1} runs: ${block.split('\n')[0]}`)
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string, stderr?: string }
      t.fail(`block ${i + 1} fails: ${block.split('\n')[0]}`, { stdout, stderr })
      break
    }
  }

  const all = outputs.join('\n')
  t.match(all, /"status":"accepted","recordCount":1/, 'the push is accepted')
  t.match(all, /counts perturbed[\s\S]*male\s+<5/, 'the reader sees the count of one withheld')
  t.match(all, /exact counts \(your own country\)[\s\S]*male\s+1\n/, 'the ministry reads its own country exactly')
  t.match(all, /iom-ca\s+aggregates\.read/, 'the access log holds the reader\'s read')
  t.notMatch(all, /aggregates\.denied/, 'no read was refused along the way')
})
