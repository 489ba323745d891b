// What the benchmarks share: a database of their own, and the service in a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import pg from 'pg'

export interface BenchDatabase { name: string, url: string, drop (): Promise<void> }

/** A new, empty database next to `adminUrl`'s, dropped by `drop()`. */
export async function freshDatabase (adminUrl: string, prefix = 'mhx_bench'): Promise<BenchDatabase> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    async drop () {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
}

export interface BenchServer { url: string, child: ChildProcess, readyMs: number, stop (): Promise<void> }

/** `npm start`'s entry on 127.0.0.1:port, resolved once /health/ready answers 200. */
export async function startServer (env: Record<string, string>, port: number): Promise<BenchServer> {
  const started = performance.now()
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=scratch/prof": profile the server under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  for (;;) {
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { url, child, readyMs: performance.now() - started, stop }
    } catch {}
    if (child.exitCode !== null) throw new Error('server exited before it was ready')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** CPU seconds (user + system) used so far by the processes whose command name is `comm`, or by `pid`. */
export function cpuSeconds (select: { comm: string } | { pid: number }): number {
  const pids = 'pid' in select ? [String(select.pid)] : readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      if ('comm' in select && comm !== select.comm) continue
      const fields = stat.slice(close + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks / 100
}
