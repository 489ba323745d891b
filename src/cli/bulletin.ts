// mhx bulletin: the dashboard's quarterly bulletin (/app/bulletin) printed to an A4 PDF through Chromium
// (playwright-core driving the system's browser, or --chromium / MHX_CHROMIUM). The partner signs in
// the way every mhx command does (--partner, --key): the page is given the key and signs its own
// assertions, as in a person's browser; the key goes no further than the local headless browser.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Credentials, HubClient } from './client.js'
import { CliError, parseCommand, UsageError, type CliIo } from './io.js'

type Values = Record<string, string | boolean | string[] | undefined>

export interface BulletinDeps {
  clientFor (values: Values, io: CliIo, usage: string): HubClient
  credentialsOf (values: Values, io: CliIo, usage: string): Credentials
}

export const BULLETIN_USAGE = `usage: mhx bulletin --region R --quarter 2026-Q3 [--lang en|ru] --out FILE.pdf [--chromium PATH] --partner ID --key FILE [--url URL]
  (a reader: the quarterly bulletin of a region, printed on A4 through Chromium; --chromium or MHX_CHROMIUM
   names the browser, else the system's /usr/bin/chromium)`

/** Where Debian, Ubuntu and Google install a Chromium, in the order tried. */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']

/** How long the page may take from sign-in to a drawn bulletin. */
const READY_TIMEOUT_MS = 60_000

/** The Chromium to print with: the one named (which must exist), else the first installed candidate. */
export function findChromium (named: string | undefined, candidates: readonly string[] = CHROMIUM_CANDIDATES): string {
  if (named !== undefined) {
    if (!existsSync(named)) throw new CliError(`no Chromium at ${named} (from --chromium or MHX_CHROMIUM): install Chromium or give the path of its executable`)
    return named
  }
  const found = candidates.find((path) => existsSync(path))
  if (!found) {
    throw new CliError(`no Chromium found (looked for ${candidates.join(', ')}): install it (Debian, Ubuntu: apt-get install chromium) or give its path with --chromium PATH or MHX_CHROMIUM`)
  }
  return found
}

export async function bulletinCommand (args: string[], io: CliIo, deps: BulletinDeps): Promise<number> {
  const usage = BULLETIN_USAGE
  const { values } = parseCommand(args, {
    url: { type: 'string' }, partner: { type: 'string' }, key: { type: 'string' },
    region: { type: 'string' }, quarter: { type: 'string' }, lang: { type: 'string', default: 'en' }, out: { type: 'string' }, chromium: { type: 'string' }
  }, usage)
  const region = values.region
  if (!region) throw new UsageError('--region is required (a region code such as central-asia, or a country code such as KAZ)', usage)
  if (!/^([A-Z]{3}|[a-z][a-z0-9-]{1,63})$/.test(region)) throw new UsageError(`--region must be a region code (central-asia) or a country code (KAZ), got "${region}"`, usage)
  const quarterMatch = /^(\d{4})-?Q([1-4])$/.exec(values.quarter ?? '')
  if (!quarterMatch) throw new UsageError(`--quarter must be a quarter like 2026-Q3, got "${values.quarter ?? ''}"`, usage)
  const quarter = `${quarterMatch[1]}-Q${quarterMatch[2]}`
  const lang = values.lang
  if (lang !== 'en' && lang !== 'ru') throw new UsageError(`--lang must be en or ru, got "${lang}"`, usage)
  if (!values.out) throw new UsageError('--out FILE.pdf is required', usage)
  const out = resolve(io.cwd, values.out)

  const executablePath = findChromium(values.chromium ?? io.config.chromium)
  let playwright: typeof import('playwright-core')
  try {
    playwright = await import('playwright-core')
  } catch {
    throw new CliError('playwright-core is not installed (it drives Chromium): npm install playwright-core')
  }
  // Credentials first, with the CLI's own words when they are refused.
  const client = deps.clientFor(values, io, usage)
  await client.token()
  const keyText = readFileSync(deps.credentialsOf(values, io, usage).keyFile, 'utf8')
  const partner = deps.credentialsOf(values, io, usage).partner

  let browser: import('playwright-core').Browser
  try {
    browser = await playwright.chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] })
  } catch (err) {
    throw new CliError(`Chromium at ${executablePath} did not start: ${(err as Error).message.split('\n')[0]}`)
  }
  try {
    const context = await browser.newContext({ locale: lang === 'ru' ? 'ru-RU' : 'en-GB', viewport: { width: 1000, height: 1400 } })
    const page = await context.newPage()
    const target = new URL(`${client.url}/app/bulletin`)
    target.search = new URLSearchParams({ region, quarter, lang }).toString()
    const res = await page.goto(target.toString())
    if (!res || !res.ok()) throw new CliError(`${target.pathname} answered ${res?.status() ?? 'nothing'}: is the dashboard built and served by this hub?`)
    await page.locator('#partner').fill(partner)
    await page.locator('#keytext').fill(keyText)
    await page.locator('form.signin button[type="submit"]').click()
    await page.waitForFunction(() => document.body.dataset.ready !== undefined || document.querySelector('form.signin [role="alert"]') !== null, undefined, { timeout: READY_TIMEOUT_MS })
    const ready = await page.evaluate(() => ({
      view: document.body.dataset.ready, error: document.body.dataset.bulletinError, refused: document.querySelector('form.signin [role="alert"]')?.textContent
    }))
    if (ready.refused) throw new CliError(`the dashboard did not sign in partner "${partner}": ${ready.refused}`)
    if (ready.view !== 'bulletin') throw new CliError(`partner "${partner}" reads no aggregates: a bulletin needs the reader role`)
    if (ready.error) throw new CliError(`no bulletin for ${region}: ${ready.error}`)
    await page.pdf({ path: out, format: 'A4', printBackground: true, preferCSSPageSize: true })
  } finally {
    await browser.close()
  }
  io.stdout.write(`bulletin of ${region} for ${quarter} (${lang}) written to ${out}\n`)
  return 0
}
