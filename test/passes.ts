// Which test files the embedded pass (PGlite + in-process queues) runs: those tagged `// @embedded:`.
// Every file that touches the database driver or a queue must say which pass it belongs to, so a new
// one cannot be left out of the embedded pass by forgetting a tag (docs/testing.md, "Two passes").
// `npx tsx test/passes.ts embedded` prints the embedded pass's files, or names the untagged ones and fails.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What ties a test to the driver or a queue: connecting, migrating, LISTEN, the bulk writer, the queues and their runtimes, Redis. */
export const DRIVER_OR_QUEUE = new RegExp([
  String.raw`src/db/(?:migrate|listen|batch)\.js`,
  String.raw`\bconnect(?:Pglite|Postgres)\b`,
  String.raw`\bdatabaseFault\b`,
  String.raw`\btestDatabase\(`,
  String.raw`src/service\.js`,
  String.raw`src/aggregation/(?:queue|in-process-queue|bullmq-queue|outbox|worker-runtime)\.js`,
  String.raw`src/notifications/(?:queue|runtime)\.js`,
  String.raw`from '(?:ioredis|bullmq)'`,
  String.raw`/redis\.js'`,
  String.raw`private-postgres\.js'`
].join('|'), 'g')

export type Tag = 'embedded' | 'server-only'

export interface TestFile {
  file: string
  /** `// @embedded: why` (both passes) or `// @server-only: why` (the PostgreSQL + Redis pass alone). */
  tags: Tag[]
  /** What in the file ties it to the driver or a queue (empty: nothing, no tag needed). */
  touches: string[]
}

export function classify (file: string, source: string): TestFile {
  const tags = [...source.matchAll(/^\/\/ @(embedded|server-only):[ \t]*\S/gm)].map((m) => m[1] as Tag)
  const touches = [...new Set([...source.matchAll(DRIVER_OR_QUEUE)].map((m) => m[0]))]
  return { file, tags, touches }
}

/** A file that touches the driver or a queue without exactly one tag, or with two. */
export function untagged (files: TestFile[]): TestFile[] {
  return files.filter((f) => f.tags.length > 1 || (f.touches.length > 0 && f.tags.length === 0))
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export function testFiles (root = ROOT): TestFile[] {
  return readdirSync(join(root, 'test'), { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => {
      const path = join(root, 'test', name)
      return classify(relative(root, path), readFileSync(path, 'utf8'))
    })
}

export function embeddedPass (files: TestFile[]): string[] {
  return files.filter((f) => f.tags.includes('embedded')).map((f) => f.file)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === 'embedded') {
  const files = testFiles()
  const bad = untagged(files)
  if (bad.length > 0) {
    for (const f of bad) {
      process.stderr.write(f.tags.length > 1
        ? `${f.file}: tagged both @embedded and @server-only\n`
        : `${f.file}: touches the driver or a queue (${f.touches.join(', ')}) but has no '// @embedded: why' or '// @server-only: why'\n`)
    }
    process.exit(1)
  }
  process.stdout.write(embeddedPass(files).join('\n') + '\n')
}
