// `npm run screenshots`: the reader, indicator and steward views at 1280×800 (and the reader at phone width) into docs/,
// on the same pushed data as the browser test. Until the stewardship routes exist, the steward view is drawn
// against example answers shaped as the stewardship contract says (marked in docs/dashboard.md).
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { buildDashboard } from '../../web/build.js'
import { CHROMIUM, FROM, startDashboardHub, TO } from './fixture.js'

const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url))
const teardowns: Array<() => unknown> = []
await buildDashboard()
const env = await startDashboardHub({ teardown: (fn) => teardowns.push(fn) })
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })

async function signIn (page: Page, partner: typeof env.iom) {
  await page.goto(`${env.baseUrl}/app/`)
  await page.getByLabel('Partner id').fill(partner.id)
  await page.getByLabel('Private key (JWK)', { exact: true }).fill(JSON.stringify(await env.privateJwk(partner)))
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForFunction(() => document.body.dataset.ready !== undefined)
}

async function readerAt (viewport: { width: number, height: number }, file: string, dim: string) {
  const page = await (await browser.newContext({ viewport, locale: 'en-GB' })).newPage()
  await signIn(page, env.iom)
  await page.locator('#q-from').fill(FROM)
  await page.locator('#q-to').fill(TO)
  await page.locator('#q-dim').selectOption(dim)
  const loads = await page.evaluate(() => Number(document.body.dataset.readerLoads))
  await page.getByRole('button', { name: 'Show' }).click()
  await page.waitForFunction((n) => Number(document.body.dataset.readerLoads) > n, loads)
  await page.screenshot({ path: docs(file), fullPage: viewport.width < 600 ? false : true })
  await page.context().close()
}

await readerAt({ width: 1280, height: 800 }, 'dashboard-reader.png', 'sex')
await readerAt({ width: 390, height: 844 }, 'dashboard-reader-phone.png', 'sex')

// The indicator view: TB notification rate in Central Asia (the fixture's illustrative denominators).
if (env.indicators) {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' })).newPage()
  await signIn(page, env.analyst)
  await page.getByRole('button', { name: 'Indicators' }).click()
  await page.locator('#i-indicator option[value="tb-notification-rate"]').waitFor({ state: 'attached' })
  await page.locator('#i-from').fill(FROM)
  await page.locator('#i-to').fill(TO)
  const loads = await page.evaluate(() => Number(document.body.dataset.indicatorLoads ?? '0'))
  await page.getByRole('button', { name: 'Show' }).click()
  await page.waitForFunction((n) => Number(document.body.dataset.indicatorLoads ?? '0') > n, loads)
  await page.screenshot({ path: docs('dashboard-indicators.png'), fullPage: true })
  await page.context().close()
}

const steward = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' })).newPage()
if (!env.stewardship) {
  const json = (body: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) })
  await steward.route('**/v1/me', (route) => route.fulfill(json({ partner: 'moh-kaz', roles: ['reporter', 'steward'], scopes: ['submissions:write', 'data:steward'], country: 'KAZ' })))
  await steward.route('**/v1/consents', (route) => route.fulfill(json({ items: [
    { reader: 'iom-ca', state: 'granted', k: null, release: 'published', until: '2027-06-30', decidedAt: '2026-11-20T09:12:00Z' },
    { reader: 'who-euro', state: 'pending', k: null, release: null, until: null, decidedAt: null },
    { reader: 'ngo-ca', state: 'refused', k: null, release: null, until: null, decidedAt: '2026-11-21T14:03:00Z' }
  ] })))
  await steward.route('**/v1/access-log?*', (route) => route.fulfill(json({ items: [
    { at: '2026-11-30T10:41:07Z', reader: 'iom-ca', action: 'aggregates.read', query: 'region=central-asia&from=2026-01&to=2026-06&by=country', cells: 4, k: 5, seq: 1841, hash: '…' },
    { at: '2026-11-30T10:40:55Z', reader: 'iom-ca', action: 'aggregates.read', query: 'region=central-asia&from=2026-01&to=2026-06&by=period,sex', cells: 14, k: 5, seq: 1840, hash: '…' },
    { at: '2026-11-29T16:02:13Z', reader: 'ngo-ca', action: 'aggregates.denied', query: 'region=KAZ&from=2026-01&to=2026-06', cells: null, k: null, seq: 1795, hash: '…' }
  ], nextCursor: null })))
}
await signIn(steward, env.reporters.KAZ)
await steward.locator('#section-consents table').waitFor()
await steward.screenshot({ path: docs('dashboard-steward.png'), fullPage: true })

await browser.close()
for (const fn of teardowns.reverse()) await fn()
console.log('screenshots written to docs/dashboard-reader.png, docs/dashboard-reader-phone.png, docs/dashboard-indicators.png, docs/dashboard-steward.png')
