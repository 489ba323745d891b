// What a CLI command receives: where to write, which service, how to reach it. Tests pass their own.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { CliConfig } from '../config.js'

export interface Output {
  write (text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface CliIo {
  stdout: Output
  stderr: Output
  config: CliConfig
  /** Relative paths resolve against it (default: the process's working directory). */
  cwd: string
  fetch: typeof fetch
}

/** A wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor (message: string, readonly usage?: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** A failure already worth one line to the user (no stack trace), exit code 1. */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'CliError'
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

/** node:util parseArgs with its errors turned into UsageError. */
export function parseCommand<O extends Options> (args: string[], options: O, usage: string, positionals: { min?: number, max?: number } = {}) {
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage)
  }
  const min = positionals.min ?? 0
  const max = positionals.max ?? 0
  if (parsed.positionals.length < min) throw new UsageError('missing argument', usage)
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, usage)
  return parsed
}

/** A comma-separated flag as a list (empty items dropped). */
export function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

export function positiveInteger (value: string | undefined, name: string, fallback: number, max: number, usage: string): number {
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${value}"`, usage)
  }
  return Number(value)
}
