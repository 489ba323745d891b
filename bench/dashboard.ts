// The dashboard on the demo data: `npx tsx bench/dashboard.ts` builds the page, starts `npm start`'s entry on a
// new PGlite data dir, runs `npm run demo` against it, then drives Debian's chromium (headless) as IOM's regional
// office: the first load's compressed size, and the time from "Sign in" to the reader view drawn (map, chart,
// table, coverage, about) — cold (first reads) and warm — and from "Show" to a new query drawn.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { buildDashboard } from '../web/build.js'
import { startServer } from './support.js'
import { freePort } from '../test/helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const say = (line: string) => console.log(line)

const build = await buildDashboard()
say(`build: ${build.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB (${(f.brotli / 1024).toFixed(1)} KiB brotli)`).join(', ')}`)
const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-dashboard-'))
const port = await freePort()
const server = await startServer({ MHX_DATA_DIR: dataDir }, port)
let browser: Browser | undefined
try {
  await new Promise<void>((resolve, reject) => {
    const demo = spawn(process.execPath, ['--import', 'tsx', 'src/release/demo.ts'], {
      env: { PATH: process.env.PATH, MHX_DATA_DIR: dataDir, MHX_URL: server.url, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit']
    })
    demo.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`demo exited ${code}`)))
  })
  const jwk = readFileSync(join(dataDir, 'demo', 'iom-roca.private.jwk'), 'utf8')
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })

  async function run () {
    const page = await (await browser!.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    const sizes: number[] = []
    page.on('requestfinished', (request) => { void request.sizes().then((s) => sizes.push(s.responseBodySize)) })
    await page.goto(`${server.url}/app/`)
    await page.waitForLoadState('networkidle')
    const firstLoad = sizes.reduce((a, b) => a + b, 0)
    await page.getByLabel('Partner id').fill('iom-roca')
    await page.getByLabel('Private key (JWK)', { exact: true }).fill(jwk)
    const started = performance.now()
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForFunction(() => document.body.dataset.ready === 'reader', undefined, { timeout: 60_000 })
    const signIn = performance.now() - started
    await page.locator('#q-from').fill('2026-01')
    await page.locator('#q-to').fill('2026-06')
    await page.locator('#q-dim').selectOption('ageBand')
    const loads = await page.evaluate(() => Number(document.body.dataset.readerLoads))
    const shown = performance.now()
    await page.getByRole('button', { name: 'Show' }).click()
    await page.waitForFunction((n) => Number(document.body.dataset.readerLoads) > n, loads, { timeout: 60_000 })
    const query = performance.now() - shown
    const marks = await page.locator('#section-chart g.mhx-points > *').count()
    const shapes = await page.locator('#section-map g[class^="mhx-country"] path').count()
    await page.context().close()
    return { firstLoad, signIn, query, marks, shapes }
  }

  const runs = []
  for (let i = 0; i < 6; i++) runs.push(await run())
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const warm = runs.slice(1)
  say(`first load of /app/: ${(runs[0].firstLoad / 1024).toFixed(1)} KiB transferred (brotli)`)
  say(`"Sign in" → reader view drawn (12 months, by country and by sex): cold ${runs[0].signIn.toFixed(0)} ms, warm median ${median(warm.map((r) => r.signIn)).toFixed(0)} ms (max ${Math.max(...warm.map((r) => r.signIn)).toFixed(0)} ms)`)
  say(`"Show" → Jan–Jun 2026 by age band drawn: cold ${runs[0].query.toFixed(0)} ms, warm median ${median(warm.map((r) => r.query)).toFixed(0)} ms`)
  say(`drawn: ${runs[0].shapes} country shapes, ${runs[0].marks} chart points`)
} finally {
  await browser?.close()
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
