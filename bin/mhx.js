#!/usr/bin/env node
// `mhx`: from a clone (npx mhx …) the TypeScript sources run through tsx; in the image (compiled
// .js where the .ts were) or after npm run build (dist/), the compiled code runs as it is.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const candidates = ['../src/cli/main.ts', '../src/cli/main.js', '../dist/src/cli/main.js']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
const entry = candidates.find((file) => existsSync(file))
if (!entry) {
  process.stderr.write('mhx: cannot find src/cli/main.ts or a build of it (run npm install, or npm run build)\n')
  process.exit(1)
}
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api')
  register()
}
await import(pathToFileURL(entry).href)
