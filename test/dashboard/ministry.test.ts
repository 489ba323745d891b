// The ministry's screens and the quarterly bulletin in a real browser (playwright-core driving Debian's chromium):
// a steward sees readers by name, actions and queries in words and its webhook subscriptions; it previews a month
// (released counts beside exact ones, as the API answers them) and publishes it, and a subscriber's receiver gets
// a signed period.published it verifies; a reporter's DHIS2 mapping saved through the form is what the API returns;
// the bulletin opens from a deep link after sign-in, in Russian, says when a quarter has no data; `mhx bulletin`
// prints it to a PDF whose text (pdftotext) holds the quarter, the headings and the sources. axe-core on each view.
// @server-only: the ministry's screens in a browser; the delivery queue only carries the webhook it shows
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import pino from 'pino'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import type { Browser, Page } from 'playwright-core'
import { createInProcessDeliveryQueue } from '../../src/notifications/queue.js'
import { startNotifications } from '../../src/notifications/runtime.js'
import { buildDashboard } from '../../web/build.js'
import { cliRunner, workDir } from '../cli/harness.js'
import { waitFor } from '../helpers.js'
import { CHROMIUM, type DashboardHub, FROM, seriousViolations, startDashboardHub, TO } from './fixture.js'

const hasPdftotext = (() => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('the ministry\'s screens and the bulletin in a browser', { skip: existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM} (apt-get install -y chromium; CI installs it)` }, async (t) => {
  await buildDashboard()
  const { chromium } = await import('playwright-core')
  const env: DashboardHub = await startDashboardHub(t, { config: { webhookAllowHosts: ['127.0.0.1'] } })
  if (!env.stewardship) throw new Error('this build has no stewardship routes')
  const { hub } = env
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  t.teardown(() => browser.close())
  const kaz = env.reporters.KAZ
  const as = async (partner: typeof kaz) => ({ authorization: `Bearer ${await env.bearer(partner)}` })

  // A subscriber's receiver on 127.0.0.1 (allowed by MHX_WEBHOOK_ALLOW_HOSTS), and the hub delivering in this process.
  const received: Array<{ path: string, headers: IncomingHttpHeaders, body: string }> = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }); res.statusCode = 204; res.end() })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => receiver.close(resolve)))
  const rx = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`
  const notifications = await startNotifications({
    config: hub.config, database: hub.database, queue: createInProcessDeliveryQueue({ attempts: 3, backoffMs: 100 }),
    unseal: (sealed, aad) => hub.keys.unseal(sealed, aad), logger: pino({ level: 'silent' }), timeoutMs: 2_000
  })
  t.teardown(() => notifications.close())
  const subscribe = async (partner: typeof kaz, path: string) => {
    const res = await hub.app.inject({ method: 'POST', url: '/v1/subscriptions', headers: await as(partner), payload: { url: `${rx}${path}`, events: ['period.published', 'period.revised'] } })
    if (res.statusCode !== 201) throw new Error(`subscribe: ${res.statusCode} ${res.body}`)
    return res.json() as { id: string, secret: string }
  }
  const iomSubscription = await subscribe(env.iom, '/iom')
  await subscribe(kaz, '/kaz-moh')

  // Reads of Kazakhstan's data for the access log: one answered, one by region.
  for (const query of [`region=central-asia&from=${FROM}&to=${TO}&by=sex&countryOfOrigin=UZB`, `region=KAZ&from=${FROM}&to=${TO}&by=period`]) {
    const res = await hub.app.inject({ url: `/v1/aggregates?${query}`, headers: await as(env.iom) })
    if (res.statusCode !== 200) throw new Error(`read: ${res.statusCode} ${res.body}`)
  }

  async function newPage (): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' })
    const page = await context.newPage()
    page.on('pageerror', (err) => t.fail(`page error: ${err.message}`))
    return page
  }
  async function signIn (page: Page, partner: typeof kaz, path = '/app/') {
    await page.goto(`${env.baseUrl}${path}`)
    await page.locator('#partner').fill(partner.id)
    await page.locator('#keytext').fill(JSON.stringify(await env.privateJwk(partner)))
    await page.locator('form.signin button[type="submit"]').click()
    await page.waitForFunction(() => document.body.dataset.ready !== undefined, undefined, { timeout: 20_000 })
  }
  async function axe (page: Page, what: string) {
    t.same(await seriousViolations(page), [], `axe-core: no serious or critical violations (${what})`)
  }

  t.test('a steward: names, words, subscriptions; previews a month and publishes it; a subscriber verifies the webhook', async (t) => {
    const page = await newPage()
    await signIn(page, kaz)
    if (await page.getByRole('button', { name: 'Steward' }).count()) await page.getByRole('button', { name: 'Steward' }).click()
    const consent = page.locator(`#section-consents tr[data-reader="${env.iom.id}"] th`)
    await consent.waitFor()
    t.match(await consent.innerText(), `Partner ${env.iom.id}`, 'a reader by its registered name')

    const access = page.locator('#section-access table.access tbody')
    await access.waitFor()
    const log = await access.innerText()
    t.match(log, `Partner ${env.iom.id} (${env.iom.id})`, 'the access log names the reader')
    t.match(log, /\bread\b/, 'the action in words')
    t.notMatch(log, 'aggregates.read', 'not the audit action\'s code')
    t.match(log, new RegExp(`(central-asia|Central Asia) · ${FROM} to ${TO} · by sex · country of origin[^:]*: Uzbekistan`, 'i'), 'a query in words')
    t.notMatch(log, /[{}"]/, 'no raw JSON')

    const subscriptions = await page.locator('#section-subscriptions').innerText()
    t.match(subscriptions, `${rx}/kaz-moh`, 'the steward\'s webhook subscription is listed')
    t.match(subscriptions, 'month published, month revised', 'its events in words')

    // Preview: the released counts beside the exact ones, as the API answers them.
    // June: the one month Kazakhstan has not published yet (the fixture publishes the others).
    await page.locator('#publish-month').fill('2026-06')
    await page.locator('#preview-by').selectOption('sex')
    t.equal(await page.locator('#publish-confirm').count(), 0, 'no publishing before a preview')
    await page.getByRole('button', { name: 'Preview' }).click()
    const rows = page.locator('#section-publish table.preview-cells tbody tr')
    await rows.first().waitFor()
    const api = (await hub.app.inject({ url: '/v1/periods/KAZ/2026-06/preview?by=sex', headers: await as(kaz) })).json()
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')))
    t.same(shown.map((r) => [r[1], r[2]]), api.cells.map((c: { exact: number, released: number | null }) => [String(c.exact), c.released === null ? 'withheld (below k)' : String(c.released)]),
      'each row: the exact count and what readers will get, as the API previews them')
    t.same(shown.map((r) => r[0].toLowerCase()), ['female', 'male'], 'by sex, in words')
    await axe(page, 'steward view with a preview')

    await page.locator('#publish-confirm').click()
    await t.resolves(page.getByRole('status').filter({ hasText: 'revision 1' }).first().waitFor(), 'published: revision 1')

    await waitFor(async () => received.some((r) => r.path === '/iom'), 15_000)
    const delivery = received.find((r) => r.path === '/iom')!
    const payload = new Webhook(iomSubscription.secret).verify(delivery.body, {
      'webhook-id': String(delivery.headers['webhook-id']), 'webhook-timestamp': String(delivery.headers['webhook-timestamp']), 'webhook-signature': String(delivery.headers['webhook-signature'])
    }) as { type: string, data: { country: string, period: string, revision: number } }
    t.match(payload, { type: 'period.published', data: { country: 'KAZ', period: '2026-06', revision: 1 } }, 'the subscriber verifies a signed period.published')
    t.throws(() => new Webhook(iomSubscription.secret).verify(delivery.body.replace('2026-06', '2026-05'), {
      'webhook-id': String(delivery.headers['webhook-id']), 'webhook-timestamp': String(delivery.headers['webhook-timestamp']), 'webhook-signature': String(delivery.headers['webhook-signature'])
    }), 'and a changed body does not verify')

    // Russian: actions and headings translated.
    await page.getByRole('button', { name: 'Русский' }).click()
    t.match(await page.locator('#section-access').innerText(), 'чтение', 'the action in Russian')
    t.match(await page.locator('#section-subscriptions').innerText(), 'месяц опубликован')
    await axe(page, 'steward view, Russian')
    await page.context().close()
  })

  t.test('a reporter\'s DHIS2 mapping saved through the form is the one the API returns', async (t) => {
    const page = await newPage()
    await signIn(page, kaz)
    if (await page.getByRole('button', { name: 'Steward' }).count()) await page.getByRole('button', { name: 'Steward' }).click()
    await page.locator('#section-mapping form').waitFor()
    t.match(await page.locator('#section-mapping').innerText(), 'You have no mapping yet')
    const addRow = async (table: string, id: string, dim: string, value: string) => {
      await page.locator('#map-add').click()
      const n = await page.locator('#section-mapping select[id^="map-table-"]').count()
      await page.locator(`#map-table-${n}`).selectOption(table)
      await page.locator(`#map-id-${n}`).fill(id)
      await page.locator(`#map-dim-${n}`).selectOption(dim)
      if (value) await page.locator(`#map-value-${n}`).fill(value)
    }
    await addRow('dataElements', 'deTbNotif01', 'recordType', 'case_notification')
    await addRow('dataElements', 'deTbNotif01', 'conditionGroup', 'tb')
    await addRow('categoryOptionCombos', 'cocFemale01', 'sex', 'female')
    await addRow('categoryOptionCombos', 'HllvX50cXC0', '', '')
    await page.locator('#map-add-ou').click()
    await page.locator('#map-ou-1').fill('ouAlmaty001')
    await page.locator('#map-area-1').fill('KZ-75')
    await axe(page, 'the DHIS2 mapping form')
    await page.getByRole('button', { name: 'Save the mapping' }).click()
    await t.resolves(page.getByRole('status').filter({ hasText: 'Mapping saved: 4 ids' }).waitFor(), 'saved, in words')
    const saved = await hub.app.inject({ url: '/v1/mappings/dhis2', headers: await as(kaz) })
    t.equal(saved.statusCode, 200)
    t.same(saved.json(), {
      dataElements: { deTbNotif01: { recordType: 'case_notification', conditionGroup: 'tb' } },
      categoryOptionCombos: { cocFemale01: { sex: 'female' }, HllvX50cXC0: {} },
      orgUnits: { ouAlmaty001: 'KZ-75' }
    }, 'GET /v1/mappings/dhis2 returns the mapping as entered')

    // A bad value is refused by the hub, in words, and nothing changes.
    await page.locator('#map-area-1').fill('Almaty')
    await page.getByRole('button', { name: 'Save the mapping' }).click()
    await t.resolves(page.getByRole('alert').filter({ hasText: 'orgUnits' }).waitFor(), 'the refused field is named')
    t.same((await hub.app.inject({ url: '/v1/mappings/dhis2', headers: await as(kaz) })).json().orgUnits, { ouAlmaty001: 'KZ-75' }, 'nothing stored')
    await page.context().close()
  })

  t.test('the bulletin: a deep link signs in first, then the quarter in Russian; a quarter without data says so', async (t) => {
    const page = await newPage()
    await page.goto(`${env.baseUrl}/app/bulletin?region=central-asia&quarter=2026Q1&lang=ru`)
    await t.resolves(page.locator('form.signin').waitFor(), 'the sign-in form first')
    t.equal(await page.evaluate(() => document.documentElement.lang), 'ru', 'in the language asked for')
    await page.locator('#partner').fill(env.iom.id)
    await page.locator('#keytext').fill(JSON.stringify(await env.privateJwk(env.iom)))
    await page.locator('form.signin button[type="submit"]').click()
    await page.waitForFunction(() => document.body.dataset.ready === 'bulletin', undefined, { timeout: 20_000 })
    const text = await page.locator('.bulletin').innerText()
    for (const heading of ['Здоровье мигрантов: квартальный бюллетень', 'I квартал 2026 г.', 'Записи по странам', 'Охват', 'Об этих числах', 'Знаменатели: источники']) {
      t.match(text, heading, `"${heading}"`)
    }
    t.match(text, 'Казахстан', 'country names in Russian')
    t.notMatch(text, /\b(KAZ|UZB|TJK|not_reported|case_notification)\b/, 'no raw code')
    t.notMatch(text, 'Нет данных по региону', 'a quarter with data is not called empty')
    const total = (await hub.app.inject({ url: '/v1/aggregates?region=central-asia&from=2026-01&to=2026-03', headers: await as(env.iom) })).json()
    t.match(await page.locator('#bulletin-counts tr.total').innerText(), total.cells[0].count.toLocaleString('ru-RU'), 'the region\'s total as the API releases it')
    await axe(page, 'bulletin, Russian')

    await page.locator('#b-quarter').selectOption('2026-Q3')
    await page.getByRole('button', { name: 'Показать' }).click()
    await page.waitForFunction(() => document.body.dataset.bulletin === 'central-asia|2026-Q3|ru')
    t.match(await page.locator('.bulletin-nodata').innerText(), 'Нет данных по региону «Центральная Азия» за III квартал 2026 г.', 'a quarter without data says so')
    t.match(await page.locator('#bulletin-coverage').innerText(), 'отчёт не представлен', 'and its coverage shows the months not reported')
    await page.context().close()
  })

  t.test('mhx bulletin prints the bulletin to a PDF through Chromium', { skip: hasPdftotext ? false : 'no pdftotext (apt-get install poppler-utils)' }, async (t) => {
    const dir = workDir(t)
    const keyFile = join(dir, 'iom.private.jwk')
    writeFileSync(keyFile, JSON.stringify(await env.privateJwk(env.iom)))
    const run = cliRunner(env.baseUrl, dir)
    const out = join(dir, 'bulletin.pdf')
    // Indicators, where this build has them: every member's steward sets its migrant stock, so rates have denominators.
    const catalog = await hub.app.inject({ url: '/v1/indicators' })
    const indicators = catalog.statusCode === 200 ? catalog.json().items as Array<{ id: string, name: { ru: string } }> : []
    if (indicators.length > 0) {
      for (const [country, steward] of Object.entries(env.reporters)) {
        const res = await hub.app.inject({
          method: 'PUT', url: `/v1/denominators/${country}/2025/migrant_stock`, headers: await as(steward),
          payload: { value: 1_000_000, source: `Test migrant stock ${country}`, vintage: '2024' }
        })
        if (res.statusCode !== 200) throw new Error(`denominator ${country}: ${res.statusCode} ${res.body}`)
      }
    }
    const result = await run('bulletin', '--region', 'central-asia', '--quarter', '2026-Q1', '--lang', 'ru', '--out', out, '--partner', env.iom.id, '--key', keyFile, '--chromium', CHROMIUM)
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, 'written to')
    t.equal(readFileSync(out).subarray(0, 5).toString(), '%PDF-', 'a PDF')
    const text = execFileSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' })
    for (const words of ['квартальный бюллетень', 'I квартал 2026 г.', 'Записи по странам', 'Охват', 'Знаменатели: источники', 'Казахстан']) {
      t.match(text, words, `the PDF holds "${words}"`)
    }
    // Read in the PDF's reading order, a table cell's wrapped lines stay together.
    const plain = execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ')
    for (const indicator of indicators) t.match(plain, indicator.name.ru, `the PDF names the indicator ${indicator.id} in Russian`)
    // Every member's figure is a source, whether or not this quarter's rate could be released.
    if (indicators.length > 0) for (const country of Object.keys(env.reporters)) t.match(plain, `Test migrant stock ${country}`, `the PDF names the source of ${country}'s denominator`)
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [out], { encoding: 'utf8' }))?.[1])
    const size = /Page size:\s+([\d.]+) x ([\d.]+)/.exec(execFileSync('pdfinfo', [out], { encoding: 'utf8' }))
    t.ok(pages >= 1, `${pages} pages`)
    t.ok(size && Math.abs(Number(size[1]) - 595.28) < 2 && Math.abs(Number(size[2]) - 841.89) < 2, `A4 pages (${size?.[1]} x ${size?.[2]} pt)`)

    const missing = await run('bulletin', '--region', 'central-asia', '--quarter', '2026-Q1', '--out', out, '--partner', env.iom.id, '--key', keyFile, '--chromium', join(dir, 'no-such-chromium'))
    t.equal(missing.code, 1, 'no Chromium: a failure')
    t.match(missing.stderr, 'no Chromium at', 'said in words, naming the path')
    const stewardKey = join(dir, 'kaz.private.jwk')
    writeFileSync(stewardKey, JSON.stringify(await env.privateJwk(kaz)))
    const notReader = await run('bulletin', '--region', 'KAZ', '--quarter', '2026-Q1', '--out', join(dir, 'none.pdf'), '--partner', kaz.id, '--key', stewardKey, '--chromium', CHROMIUM)
    t.equal(notReader.code, 1, 'a partner that reads no aggregates: a failure')
    t.match(notReader.stderr, 'a bulletin needs the reader role')
    t.notOk(existsSync(join(dir, 'none.pdf')), 'and no PDF')
    const ngoKey = join(dir, 'ngo.private.jwk')
    writeFileSync(ngoKey, JSON.stringify(await env.privateJwk(env.ngo)))
    const notGranted = await run('bulletin', '--region', 'KAZ', '--quarter', '2026-Q1', '--out', join(dir, 'none.pdf'), '--partner', env.ngo.id, '--key', ngoKey, '--chromium', CHROMIUM)
    t.equal(notGranted.code, 1, 'a region the partner may not read: a failure')
    t.match(notGranted.stderr, 'no bulletin for KAZ: You have no grant for', 'said as the dashboard says it')
    const badQuarter = await run('bulletin', '--region', 'central-asia', '--quarter', '2026-13', '--out', out, '--partner', env.iom.id, '--key', keyFile)
    t.equal(badQuarter.code, 2, 'a wrong quarter is a usage error')
    t.match(badQuarter.stderr, '--quarter must be a quarter like 2026-Q3')
  })
})
