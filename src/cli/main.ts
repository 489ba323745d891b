// `mhx`: the command-line client of a running mhx service (see docs/cli.md).
import { loadCliConfig } from '../config.js'
import { runCli } from './run.js'

let code: number
try {
  code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, config: loadCliConfig(), cwd: process.cwd(), fetch: globalThis.fetch })
} catch (err) {
  process.stderr.write(`mhx: ${(err as Error).message}\n`)
  code = 2
}
process.exitCode = code
