// Runs `mhx` command lines in-process against a service on a real port, capturing output.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK } from 'jose'
import { runCli } from '../../src/cli/run.js'
import type { CliIo } from '../../src/cli/io.js'
import type { TestHub } from '../helpers.js'

export interface RunResult { code: number, stdout: string, stderr: string }

export type Run = (...argv: string[]) => Promise<RunResult>

export function cliRunner (url: string, cwd: string, fetchImpl: typeof fetch = globalThis.fetch, config: Partial<CliIo['config']> = {}): Run {
  return async (...argv) => {
    let stdout = ''
    let stderr = ''
    const io: CliIo = {
      stdout: { write: (s: string) => { stdout += s } },
      stderr: { write: (s: string) => { stderr += s } },
      config: { url, partner: undefined, keyFile: undefined, dataDir: undefined, ...config },
      cwd,
      fetch: fetchImpl
    }
    const code = await runCli(argv, io)
    return { code, stdout, stderr }
  }
}

export function workDir (t: { teardown (fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mhx-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The hub listening on 127.0.0.1 (a real port: the CLI speaks HTTP), and the admin's key as a file. */
export async function listeningHub (t: { teardown (fn: () => unknown): void }, hub: TestHub, dir: string): Promise<{ url: string, adminKeyFile: string }> {
  const address = await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const adminKeyFile = join(dir, 'admin.private.jwk')
  writeFileSync(adminKeyFile, JSON.stringify({ ...(await exportJWK(hub.admin.privateKey)), kid: hub.admin.kid, alg: hub.admin.alg }), { mode: 0o600 })
  return { url: address.replace('localhost', '127.0.0.1'), adminKeyFile }
}

const SEXES = ['female', 'male', 'other', 'unknown']
const AGES = ['0-4', '20-24', '25-29', '30-34', '80+']

/** A valid migrant-health-event 1.0.0 record. */
export function record (overrides: Record<string, string> = {}, i = 0): Record<string, string> {
  return {
    recordId: randomUUID(),
    period: `2026-0${1 + (i % 6)}`,
    countryOfOrigin: 'TJK',
    migrationStatus: 'labour_migrant',
    migrationStage: 'destination',
    sex: SEXES[i % SEXES.length],
    ageBand: AGES[i % AGES.length],
    encounter: 'primary_care',
    insurance: 'none',
    ...overrides
  }
}

export const CSV_FIELDS = ['recordId', 'period', 'countryOfOrigin', 'migrationStatus', 'migrationStage', 'sex', 'ageBand', 'encounter', 'insurance', 'condition']

export function csvOf (records: Array<Record<string, string>>): string {
  return [CSV_FIELDS.join(','), ...records.map((r) => CSV_FIELDS.map((f) => r[f] ?? '').join(','))].join('\n') + '\n'
}

export function ndjsonOf (records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n'
}
