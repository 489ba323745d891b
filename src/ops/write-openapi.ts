// npm run openapi: writes openapi/openapi.json from the route schemas.
// npm run openapi:check: fails when the committed document has drifted from the routes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { buildApp } from '../app.js'
import type { AppDeps } from '../deps.js'
import { loadConfig } from '../config.js'
import { loadSchemaRegistry } from '../intake/registry.js'

export const OPENAPI_FILE = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))

/** The document as the routes declare it; no database or queue is touched to build it. */
export async function openapiDocument (): Promise<string> {
  // A fixed configuration, so the document does not depend on the machine that writes it.
  const config = loadConfig({})
  // Routes may keep references to deps while registering, but must not call them.
  const unused: unknown = new Proxy(function unusedDependency () {}, {
    get: (_, name) => name === 'then' ? undefined : unused,
    apply: () => { throw new Error('openapi generation must not call the database, queue or keys') }
  })
  const deps = { config, database: unused, queue: unused, keys: unused, directory: unused, schemas: await loadSchemaRegistry(), logger: pino({ level: 'silent' }) } as unknown as AppDeps
  const app = await buildApp(deps)
  await app.ready()
  const document = JSON.stringify(app.swagger(), null, 2) + '\n'
  await app.close()
  return document
}

async function main (): Promise<void> {
  const document = await openapiDocument()
  if (process.argv.includes('--check')) {
    let committed = ''
    try {
      committed = readFileSync(OPENAPI_FILE, 'utf8')
    } catch {}
    if (committed !== document) {
      process.stderr.write('openapi/openapi.json is out of date with the route schemas: run `npm run openapi` and commit it\n')
      process.exit(1)
    }
    process.stdout.write('openapi/openapi.json matches the routes\n')
    return
  }
  mkdirSync(dirname(OPENAPI_FILE), { recursive: true })
  writeFileSync(OPENAPI_FILE, document)
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
