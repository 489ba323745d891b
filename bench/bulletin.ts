// The quarterly bulletin as PDF on the demo data: `npx tsx bench/bulletin.ts` builds the page, starts `npm start`'s
// entry on a new PGlite data dir, runs `npm run demo` against it, then times `mhx bulletin` (the CLI in this
// process: a token, Chromium started, sign-in, every section drawn, the A4 PDF written) as IOM's regional office,
// for Central Asia, in English and Russian, three times each. The target: under 10 s. BENCH_QUARTER picks the
// quarter (default 2026-Q1), BENCH_PDF=DIR keeps a PDF of each language.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../src/cli/run.js'
import { buildDashboard } from '../web/build.js'
import { startServer } from './support.js'
import { freePort } from '../test/helpers.js'

const say = (line: string) => console.log(line)

await buildDashboard()
const dataDir = mkdtempSync(join(tmpdir(), 'mhx-bench-bulletin-'))
const port = await freePort()
const server = await startServer({ MHX_DATA_DIR: dataDir }, port)
try {
  await new Promise<void>((resolve, reject) => {
    const demo = spawn(process.execPath, ['--import', 'tsx', 'src/release/demo.ts'], {
      env: { PATH: process.env.PATH, MHX_DATA_DIR: dataDir, MHX_URL: server.url, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit']
    })
    demo.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`demo exited ${code}`)))
  })
  const key = join(dataDir, 'demo', 'iom-roca.private.jwk')
  const quarter = process.env.BENCH_QUARTER ?? '2026-Q1'
  const times: Record<string, number[]> = { en: [], ru: [] }
  for (let i = 0; i < 3; i++) {
    for (const lang of ['en', 'ru'] as const) {
      const out = join(dataDir, `bulletin-${lang}-${i}.pdf`)
      let stderr = ''
      const started = performance.now()
      const code = await runCli(['bulletin', '--region', 'central-asia', '--quarter', quarter, '--lang', lang, '--out', out, '--partner', 'iom-roca', '--key', key, '--url', server.url], {
        stdout: { write: () => true }, stderr: { write: (s: string) => { stderr += s } }, config: { url: server.url, partner: undefined, keyFile: undefined, dataDir }, cwd: process.cwd(), fetch: globalThis.fetch
      })
      const ms = performance.now() - started
      if (code !== 0) throw new Error(`mhx bulletin exited ${code}: ${stderr}`)
      times[lang].push(ms)
      if (i === 0) say(`${lang}: ${(statSync(out).size / 1024).toFixed(0)} KiB PDF`)
      // BENCH_PDF=DIR keeps the first PDF of each language there, to look at.
      if (i === 0 && process.env.BENCH_PDF) copyFileSync(out, join(process.env.BENCH_PDF, `bulletin-${lang}.pdf`))
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  for (const lang of ['en', 'ru']) {
    say(`mhx bulletin central-asia ${quarter} --lang ${lang}: first ${(times[lang][0] / 1000).toFixed(2)} s, median ${(median(times[lang]) / 1000).toFixed(2)} s, max ${(Math.max(...times[lang]) / 1000).toFixed(2)} s (target < 10 s)`)
  }
} finally {
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
