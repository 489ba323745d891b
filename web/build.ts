// Builds the dashboard (web/src → web/dist) with esbuild: one hashed script, one hashed stylesheet, index.html,
// and .br/.gz siblings that @fastify/static serves as they are. Run by `npm start` (prestart) and by its test;
// a build takes well under a second, so nothing built is committed.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import type { Plugin } from 'esbuild'

const WEB = dirname(fileURLToPath(import.meta.url))
export const DASHBOARD_OUT = join(WEB, 'dist')
/** One JSON file per language (web/src/i18n/<code>.json): the page offers every file found here. */
export const LANGUAGE_DIR = join(WEB, 'src', 'i18n')

/** The language files, by code. */
export function languageFiles (): Record<string, unknown> {
  return Object.fromEntries(readdirSync(LANGUAGE_DIR).filter((f) => f.endsWith('.json')).sort()
    .map((f) => [basename(f, '.json'), JSON.parse(readFileSync(join(LANGUAGE_DIR, f), 'utf8'))]))
}

// `import LANGUAGES from 'mhx:languages'`: every language file, so adding one needs no code.
const languagesModule: Plugin = {
  name: 'mhx-languages',
  setup (b) {
    b.onResolve({ filter: /^mhx:languages$/ }, () => ({ path: 'languages', namespace: 'mhx-languages' }))
    b.onLoad({ filter: /.*/, namespace: 'mhx-languages' }, () => ({
      contents: `export default ${JSON.stringify(languageFiles())}`, loader: 'js', watchDirs: [LANGUAGE_DIR]
    }))
  }
}

export interface DashboardBuild {
  dir: string
  /** Bytes of each file of the first load: raw and brotli-compressed. */
  files: Array<{ name: string, bytes: number, brotli: number }>
}

export async function buildDashboard (outDir: string = DASHBOARD_OUT): Promise<DashboardBuild> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [join(WEB, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    entryNames: '[name]-[hash]',
    outdir: outDir,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [languagesModule]
  })
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const emitted: Array<{ name: string, contents: Uint8Array }> = result.outputFiles.map((f) => ({ name: basename(f.path), contents: f.contents }))
  const script = emitted.find((f) => f.name.endsWith('.js'))?.name
  const style = emitted.find((f) => f.name.endsWith('.css'))?.name
  if (!script || !style) throw new Error('dashboard build: expected one .js and one .css output')
  const version = createHash('sha256').update(emitted.map((f) => f.name).join()).digest('hex').slice(0, 12)
  const html = readFileSync(join(WEB, 'index.html'), 'utf8')
    .replace('%STYLE%', style).replace('%SCRIPT%', script).replace('%VERSION%', version)
  emitted.push({ name: 'index.html', contents: Buffer.from(html) })
  const files: DashboardBuild['files'] = []
  for (const { name, contents } of emitted) {
    const brotli = brotliCompressSync(contents, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })
    writeFileSync(join(outDir, name), contents)
    writeFileSync(join(outDir, `${name}.br`), brotli)
    writeFileSync(join(outDir, `${name}.gz`), gzipSync(contents, { level: 9 }))
    files.push({ name, bytes: contents.byteLength, brotli: brotli.byteLength })
  }
  return { dir: outDir, files }
}

// `tsx web/build.ts`: build, or keep an existing build where the build tools are not installed (npm ci --omit=dev).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { files } = await buildDashboard()
    const total = files.reduce((sum, f) => sum + f.brotli, 0)
    console.log(`dashboard built into web/dist (${(total / 1024).toFixed(1)} KiB brotli)`)
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
    if (missing && existsSync(join(DASHBOARD_OUT, 'index.html'))) {
      console.log('dashboard: build tools not installed, serving the existing web/dist')
    } else {
      console.error(`dashboard build failed: ${(err as Error).message}`)
      process.exit(1)
    }
  }
}
