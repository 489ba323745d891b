// A PostgreSQL server of a test's own (initdb into a temporary directory, a free port), so that it
// can be stopped and started under load without touching the machine's shared server. Run as the
// `postgres` OS user when the test runs as root (PostgreSQL refuses to run as root).
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '../helpers.js'

const run = promisify(execFile)

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string
  port: number
  start (): Promise<void>
  /** `fast`: active sessions are terminated, as by an operator's restart; `immediate`: as by a crash. */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** Stops the server and removes its directory. */
  remove (): Promise<void>
}

/** The newest PostgreSQL's bin directory on this machine (Debian keeps them under /usr/lib/postgresql/<major>/bin). */
export function postgresBin (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const majors = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return majors.length > 0 ? join(root, majors[0], 'bin') : undefined
}

export async function privatePostgres (bin: string): Promise<PrivatePostgres> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'mhx-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  // as root, the server's files and commands are the postgres user's
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout), Number(gid))
  }
  const argv = (command: string, args: string[]): [string, string[]] => asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
    : [join(bin, command), args]
  const as = (command: string, args: string[]) => run(...argv(command, args))
  await as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions', '-E', 'UTF8'])
  // durability is not what these tests are about: no fsync, a small server, the socket in its directory
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 -c shared_buffers=32MB`
  const self: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start () {
      await as('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
    },
    async stop (mode = 'fast') {
      await as('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'])
    },
    async remove () {
      await self.stop('immediate').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  }
  // not left running if the test process dies (a timeout)
  process.once('exit', () => {
    try {
      execFileSync(...argv('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' })
    } catch {}
  })
  await self.start()
  return self
}
