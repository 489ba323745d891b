// The quarterly bulletin (/app/bulletin?region=&quarter=&lang=): one region and quarter on A4 pages, for a
// minister or a report — the indicators, the map, the months, coverage, how the numbers are protected and
// where the denominators come from. Every number comes through the reader's own grants, as on the reader
// view; a quarter without data says so. `mhx bulletin` prints this page through Chromium.
import './bulletin.css'
import type { Session } from './api.js'
import { indicatorMap, regionMap, timeSeries, type Cell } from './charts.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { countryName, formatCount, formatPeriod, language, regionLabel, t, valueLabel } from './i18n.js'
import { tm } from './i18n-ministry.js'
import { addMonths, currentMonth, monthsBetween } from './months.js'
import { seriesPoints, type SeriesPoint } from './periods.js'
import type { Answer, Region } from './reader.js'
import { statusLabel } from './reader.js'

type Loaded<T> = { ok: true, value: T } | { ok: false, error: unknown } | null

interface Indicator { id: string, kind: string, name: Record<string, string>, unit: Record<string, string>, multiplier: number, denominator?: { population?: string } }
interface Denominator { country: string, population: string, year: number, value: number, source: string, vintage: string }
interface IndicatorCell { [dim: string]: string | number | null | unknown, numerator: number | null, denominator: number | null, value: number | null, lower: number | null, upper: number | null, status: string, reference?: { value: number, year: number, source: string } | null }
interface IndicatorAnswer { cells: IndicatorCell[], denominators?: Denominator[] }
interface PeriodItem { country: string, period: string, status: string, revision: number | null, onTime: boolean | null }
interface Disclosure { ptable?: string, D?: number, k?: number }

/** A quarter as the API labels it (2026-Q3), from 2026Q3, 2026-Q3 or 2026-q3; undefined when it is none. */
export function parseQuarter (raw: string | null | undefined): string | undefined {
  const m = /^(\d{4})-?[Qq]([1-4])$/.exec(raw?.trim() ?? '')
  return m ? `${m[1]}-Q${m[2]}` : undefined
}

/** The last quarter that has ended. */
export function lastQuarter (now = new Date()): string {
  const month = addMonths(currentMonth(now), -3)
  return `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1}`
}

/** First and last month of a quarter label (2026-Q3 → 2026-07, 2026-09). */
export function quarterMonths (quarter: string): [string, string] {
  const year = quarter.slice(0, 4)
  const q = Number(quarter.slice(-1))
  return [`${year}-${String(q * 3 - 2).padStart(2, '0')}`, `${year}-${String(q * 3).padStart(2, '0')}`]
}

/** A quarter as the language writes it: Q3 2026, III квартал 2026 г. (its numerals are the language file's). */
function quarterName (quarter: string): string {
  const q = Number(quarter.slice(-1))
  return tm('bulletinQuarter', { q: tm('bulletinQuarterNumbers').split(',')[q - 1] ?? q, year: quarter.slice(0, 4) })
}

async function attempt<T> (work: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    return { ok: false, error }
  }
}

function formatValue (n: number): string {
  return n.toLocaleString(language() === 'ru' ? 'ru-RU' : 'en-GB', { maximumFractionDigits: n >= 100 ? 0 : 1 })
}

export interface BulletinParams { region: string | null, quarter: string | null }

export class BulletinView {
  region: string
  quarter: string
  private byCountry: Loaded<Answer> = null
  private total: Loaded<Answer> = null
  private series: Loaded<Answer> = null
  private types: Loaded<Answer> = null
  private coverage: Loaded<{ items: PeriodItem[] }> = null
  private disclosure: Disclosure | null = null
  private indicators: Loaded<Array<{ indicator: Indicator, answer: Loaded<IndicatorAnswer> }>> = null
  /** The populations' names (public, GET /v1/populations), for the sources. */
  private populations = new Map<string, Record<string, string>>()
  /** The headline rate by country, for the map (shaded by the rate, never by counts). */
  private rateMap: { indicator: Indicator, answer: Loaded<IndicatorAnswer> } | null = null
  /** The public figures a rate of this quarter would divide by (GET /v1/denominators), withheld values or not. */
  private figures: Denominator[] = []
  /** True until the first load has drawn everything (the ready marks wait for it). */
  private loading = true
  readonly root = h('div', { class: 'bulletin' })

  constructor (private readonly session: Session, private readonly regions: Region[], params: BulletinParams) {
    const readable = regions.filter((r) => r.readable)
    const asked = readable.find((r) => r.code === params.region)
    this.region = asked?.code ?? params.region ?? (readable.find((r) => r.kind === 'region') ?? readable[0])?.code ?? ''
    this.quarter = parseQuarter(params.quarter) ?? lastQuarter()
  }

  private unit (): Region | undefined {
    return this.regions.find((r) => r.code === this.region)
  }

  private regionName (): string {
    const unit = this.unit()
    return unit?.kind === 'country' || /^[A-Z]{3}$/.test(this.region) ? countryName(this.region) : regionLabel(this.region, unit?.name ?? this.region)
  }

  /** Loads every part at once; resolves when all are drawn. */
  async load (): Promise<void> {
    this.byCountry = this.total = this.series = this.types = this.coverage = this.indicators = this.rateMap = null
    this.loading = true
    this.draw()
    if (!this.region) {
      this.loading = false
      this.draw()
      return
    }
    const [from, to] = quarterMonths(this.quarter)
    const q = (extra: Record<string, string>) => new URLSearchParams({ region: this.region, ...extra }).toString()
    const unit = this.unit()
    await Promise.all([
      attempt(() => this.session.json<Answer>(`/v1/aggregates?${q({ from, to })}`)).then((r) => { this.total = r }),
      unit?.byCountry === false
        ? Promise.resolve()
        : attempt(() => this.session.json<Answer>(`/v1/aggregates?${q({ from, to, by: 'country' })}`)).then((r) => { this.byCountry = r }),
      attempt(() => this.session.json<Answer>(`/v1/aggregates?${q({ from: addMonths(to, -11), to, by: 'period' })}`)).then((r) => { this.series = r }),
      attempt(() => this.session.json<Answer>(`/v1/aggregates?${q({ from, to, by: 'recordType' })}`)).then((r) => { this.types = r }),
      attempt(() => this.session.json<{ items: PeriodItem[] }>(`/v1/periods?${q({ from, to })}`)).then((r) => { this.coverage = r }),
      fetch('/v1/disclosure', { headers: { accept: 'application/json' } }).then(async (res) => { if (res.ok) this.disclosure = await res.json() as Disclosure }, () => {}),
      this.loadIndicators(from, to)
    ])
    this.loading = false
    this.draw()
  }

  private async loadIndicators (from: string, to: string): Promise<void> {
    // The catalog is public; a hub without indicators (404) simply has no such section.
    this.indicators = await attempt(async () => {
      const res = await fetch('/v1/indicators', { headers: { accept: 'application/json' } })
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
      const { items } = await res.json() as { items: Indicator[] }
      const populations = await fetch('/v1/populations', { headers: { accept: 'application/json' } }).then(async (r) => r.ok ? (await r.json() as { items: Array<{ id: string, label: Record<string, string> }> }).items : [], () => [])
      this.populations = new Map(populations.map((p) => [p.id, p.label]))
      this.figures = await this.figuresFor(items, Number(to.slice(0, 4)))
      const params = new URLSearchParams({ region: this.region, from, to, periodType: 'quarter' }).toString()
      // The map: the first rate (TB notification rate first) with a released value in some country; else counts.
      const rates = [...items.filter((i) => i.id === 'tb-notification-rate'), ...items.filter((i) => i.kind === 'rate' && i.id !== 'tb-notification-rate')]
      if (this.unit()?.byCountry !== false) {
        const mapped = await Promise.all(rates.map(async (indicator) => ({
          indicator,
          answer: await attempt(() => this.session.json<IndicatorAnswer>(`/v1/indicators/${encodeURIComponent(indicator.id)}/values?${params}&by=country`))
        })))
        this.rateMap = mapped.find((m) => m.answer?.ok && m.answer.value.cells.some((c) => c.status === 'released')) ?? null
      }
      return Promise.all(items.map(async (indicator) => ({
        indicator,
        answer: await attempt(() => this.session.json<IndicatorAnswer>(`/v1/indicators/${encodeURIComponent(indicator.id)}/values?${params}`))
      })))
    })
  }

  /** Per member country and population the catalog divides by: the latest figure at or before `year`. */
  private async figuresFor (indicators: Indicator[], year: number): Promise<Denominator[]> {
    const wanted = new Set(indicators.map((i) => i.denominator?.population).filter((p): p is string => Boolean(p)))
    const members = new Set(this.unit()?.members ?? [this.region])
    const res = await fetch('/v1/denominators', { headers: { accept: 'application/json' } }).catch(() => null)
    if (!res?.ok) return []
    const latest = new Map<string, Denominator>()
    for (const d of (await res.json() as { items: Denominator[] }).items) {
      if (!members.has(d.country) || !wanted.has(d.population) || d.year > year) continue
      const key = `${d.country}|${d.population}`
      if ((latest.get(key)?.year ?? -Infinity) < d.year) latest.set(key, d)
    }
    return [...latest.values()]
  }

  draw (): void {
    const [from, to] = quarterMonths(this.quarter)
    const quarter = quarterName(this.quarter)
    const region = this.regionName()
    replace(this.root,
      this.form(),
      h('header', { class: 'bulletin-head' },
        h('h1', {}, tm('bulletinTitle')),
        h('p', { class: 'bulletin-subtitle' }, tm('bulletinSubtitle', { region, quarter })),
        h('p', { class: 'muted' }, tm('bulletinMade', { date: new Date().toLocaleDateString(language() === 'ru' ? 'ru-RU' : 'en-GB'), partner: this.session.partnerId }))),
      !this.region
        ? h('p', { class: 'problem' }, tm('bulletinNoRegion'))
        : nodes(
            this.noData() && h('p', { class: 'bulletin-nodata', role: 'status' }, tm('bulletinNoData', { region, quarter })),
            this.indicatorSection(),
            this.section('counts', tm('bulletinCountsTitle'), this.drawCounts()),
            this.rateMap?.answer?.ok
              ? this.section('map', tm('bulletinRateMapTitle', { name: this.rateMap.indicator.name[language()] ?? this.rateMap.indicator.name.en }), this.drawRateMap())
              : this.section('map', tm('bulletinMapTitle'), this.drawMap()),
            this.section('series', tm('bulletinSeriesTitle'), this.drawSeries()),
            this.section('types', tm('bulletinTypesTitle'), this.drawTypes()),
            this.section('coverage', tm('bulletinCoverageTitle'), this.drawCoverage(from, to)),
            this.section('disclosure', tm('bulletinDisclosureTitle'), this.drawDisclosure()),
            this.section('sources', tm('bulletinSourcesTitle'), this.drawSources())))
    if (this.loading) return
    document.body.dataset.bulletin = `${this.region}|${this.quarter}|${language()}`
    // What `mhx bulletin` reports instead of printing: the region's own numbers could not be read.
    if (this.total && !this.total.ok) document.body.dataset.bulletinError = describe(this.total.error)
    else delete document.body.dataset.bulletinError
  }

  /** A quarter with no records in any country of the region (known once the total has loaded). */
  private noData (): boolean {
    return Boolean(this.total?.ok && this.total.value.cells.length === 0)
  }

  private form (): HTMLElement {
    const readable = this.regions.filter((r) => r.readable)
    const region = h('select', { id: 'b-region', name: 'region' },
      readable.map((r) => h('option', { value: r.code, selected: r.code === this.region }, r.kind === 'country' ? countryName(r.code) : r.name)))
    const last = lastQuarter()
    const quarters: string[] = []
    for (let i = 0; i < 12; i++) {
      const month = addMonths(quarterMonths(last)[0], -3 * i)
      quarters.push(`${month.slice(0, 4)}-Q${(Number(month.slice(5, 7)) + 2) / 3}`)
    }
    if (!quarters.includes(this.quarter)) quarters.unshift(this.quarter)
    const quarter = h('select', { id: 'b-quarter', name: 'quarter' }, quarters.map((q) => h('option', { value: q, selected: q === this.quarter }, quarterName(q))))
    const form = h('form', { class: 'query no-print', 'aria-label': tm('bulletinForm') },
      h('div', { class: 'field' }, h('label', { for: 'b-region' }, tm('bulletinRegion')), region),
      h('div', { class: 'field' }, h('label', { for: 'b-quarter' }, tm('bulletinQuarterField')), quarter),
      h('button', { type: 'submit' }, tm('bulletinShow')),
      h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, tm('bulletinPrint')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.region = region.value
      this.quarter = quarter.value
      const url = new URL(location.href)
      url.searchParams.set('region', this.region)
      url.searchParams.set('quarter', this.quarter)
      url.searchParams.set('lang', language())
      history.replaceState(null, '', url)
      void this.load()
    })
    return form
  }

  private section (id: string, title: string, body: Node | Node[]): HTMLElement {
    return h('section', { id: `bulletin-${id}`, 'aria-labelledby': `hb-${id}`, class: `bulletin-section bulletin-${id}` }, h('h2', { id: `hb-${id}` }, title), body)
  }

  private pending<T> (loaded: Loaded<T>, then: (value: T) => Node | Node[]): Node | Node[] {
    if (loaded === null) return h('p', { class: 'loading' }, t('loading'))
    if (!loaded.ok) return h('p', { class: isNotFound(loaded.error) ? 'muted' : 'problem' }, describe(loaded.error))
    return then(loaded.value)
  }

  private indicatorSection (): HTMLElement | null {
    const loaded = this.indicators
    // No indicator catalog on this hub: the bulletin is made of counts alone.
    if (loaded && !loaded.ok && isNotFound(loaded.error)) return null
    if (loaded && !loaded.ok && (loaded.error as { status?: number }).status === 404) return null
    return this.section('indicators', tm('bulletinIndicatorsTitle'), this.pending(loaded, (items) => {
      if (items.length === 0) return h('p', { class: 'muted' }, tm('bulletinIndicatorsNone'))
      const lang = language()
      return h('table', { class: 'indicators' },
        h('thead', {}, h('tr', {}, [tm('bulletinIndicator'), tm('bulletinValue'), tm('bulletinInterval'), tm('bulletinNumerator'), tm('bulletinDenominator'), tm('bulletinReference')]
          .map((c, i) => h('th', { scope: 'col', class: i > 0 ? 'num' : null }, c)))),
        h('tbody', {}, items.map(({ indicator, answer }) => {
          const name = indicator.name[lang] ?? indicator.name.en ?? indicator.id
          const unit = indicator.unit?.[lang] ?? indicator.unit?.en ?? ''
          if (!answer?.ok) return h('tr', { 'data-indicator': indicator.id }, h('th', { scope: 'row' }, name), h('td', { colspan: 5, class: 'muted' }, answer ? describe(answer.error) : t('loading')))
          const cell = answer.value.cells[0]
          const status = cell?.status ?? 'withheld'
          const value = cell && cell.value !== null
            ? `${formatValue(cell.value)} ${unit}`
            : status === 'no-denominator' ? tm('bulletinIndicatorNoDenominator') : tm('bulletinIndicatorWithheld')
          return h('tr', { 'data-indicator': indicator.id, 'data-status': status },
            h('th', { scope: 'row' }, name),
            h('td', { class: 'num' }, value),
            h('td', { class: 'num' }, cell && cell.lower !== null && cell.upper !== null ? `${formatValue(cell.lower)}–${formatValue(cell.upper)}` : '—'),
            h('td', { class: 'num' }, cell?.numerator !== null && cell?.numerator !== undefined ? formatCount(cell.numerator) : t('protectedPrimary')),
            h('td', { class: 'num' }, cell?.denominator !== null && cell?.denominator !== undefined ? formatValue(cell.denominator) : '—'),
            h('td', { class: 'num' }, cell?.reference ? `${formatValue(cell.reference.value)} (${cell.reference.year})` : '—'))
        })))
    }))
  }

  private drawCounts (): Node | Node[] {
    return this.pending(this.total, (total) => {
      const region = this.regionName()
      const totalCell = total.cells[0]
      const rows: Array<[string, Cell | undefined]> = [[`${tm('bulletinTotal')}: ${region}`, totalCell]]
      if (this.byCountry?.ok) {
        const at = new Map(this.byCountry.value.cells.map((c) => [String(c.country), c]))
        for (const member of this.unit()?.members ?? []) rows.push([countryName(member), at.get(member)])
      }
      return nodes(
        h('table', { class: 'counts' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('country')), h('th', { scope: 'col', class: 'num' }, t('count')))),
          h('tbody', {}, rows.map(([name, cell], i) => h('tr', { class: i === 0 ? 'total' : null },
            h('th', { scope: 'row' }, name),
            countCell(cell))))),
        this.byCountry && !this.byCountry.ok && h('p', { class: 'muted' }, describe(this.byCountry.error)))
    })
  }

  private drawRateMap (): Node | Node[] {
    const { indicator, answer } = this.rateMap!
    if (!answer?.ok) return []
    const lang = language()
    const unit = indicator.unit[lang] ?? indicator.unit.en ?? ''
    const members = this.unit()?.members.length ? this.unit()!.members : [this.region]
    const cells = answer.value.cells.filter((c): c is IndicatorCell & { country: string } => typeof c.country === 'string')
    const at = new Map(cells.map((c) => [c.country, c]))
    const label = (code: string) => {
      const cell = at.get(code)
      const what = !cell ? t('noData') : cell.value !== null ? `${formatValue(cell.value)} ${unit}` : cell.status === 'no-denominator' ? tm('bulletinIndicatorNoDenominator') : tm('bulletinIndicatorWithheld')
      return `${countryName(code)}: ${what}`
    }
    const name = indicator.name[lang] ?? indicator.name.en
    return h('figure', { class: 'map' }, indicatorMap({ members, cells, width: 640, unit, label, ariaLabel: tm('bulletinRateMapTitle', { name }) }),
      h('figcaption', { class: 'legend-protected' }, h('span', { class: 'swatch hatch', 'aria-hidden': 'true' }), ` ${tm('bulletinIndicatorWithheld')} · `,
        h('span', { class: 'swatch empty', 'aria-hidden': 'true' }), ` ${tm('bulletinIndicatorNoDenominator')}`),
      h('ul', { class: 'map-values' }, members.map((code) => h('li', {}, label(code)))))
  }

  private drawMap (): Node | Node[] {
    if (this.unit()?.byCountry === false) return h('p', { class: 'muted' }, t('mapNoCountry'))
    return this.pending(this.byCountry, (answer) => {
      const members = this.unit()?.members.length ? this.unit()!.members : [this.region]
      return h('figure', { class: 'map' }, regionMap({ members, cells: answer.cells, width: 640 }),
        h('figcaption', { class: 'legend-protected' }, h('span', { class: 'swatch hatch', 'aria-hidden': 'true' }), ` ${t('protectedPrimary')} · `,
          h('span', { class: 'swatch empty', 'aria-hidden': 'true' }), ` ${t('noData')}`))
    })
  }

  private drawSeries (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      if (answer.cells.length === 0) return h('p', { class: 'muted' }, t('nothingToShow'))
      const periods = monthsBetween(answer.from, answer.to)
      const members = this.unit()?.members.length ? this.unit()!.members : [this.region]
      const points = seriesPoints({ dim: null, cells: answer.cells, periods, countries: members, coverage: answer.coverage ?? [] })
      const words = (p: SeriesPoint) => `${formatPeriod(p.period)}: ${p.count === null ? t('protectedPrimary') : formatCount(p.count)}`
      return h('figure', { class: 'chart' }, timeSeries({ points, groups: ['total'], periods, k: answer.k, width: 640, describe: words, ariaLabel: t('records') }))
    })
  }

  private drawTypes (): Node | Node[] {
    return this.pending(this.types, (answer) => {
      if (answer.cells.length === 0) return h('p', { class: 'muted' }, t('nothingToShow'))
      const name = (v: string | null) => valueLabel('recordType', v)
      return h('table', { class: 'types' },
        h('tbody', {}, answer.cells.map((cell) => h('tr', {}, h('th', { scope: 'row' }, name(cell.recordType as string | null)), countCell(cell)))))
    })
  }

  private drawCoverage (from: string, to: string): Node | Node[] {
    return this.pending(this.coverage, ({ items }) => {
      const periods = monthsBetween(from, to)
      const at = new Map(items.map((i) => [`${i.country}|${i.period}`, i]))
      const countries = [...new Set(items.map((i) => i.country))]
      if (countries.length === 0) return h('p', { class: 'muted' }, t('nothingToShow'))
      return h('table', { class: 'coverage' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('country')), periods.map((p) => h('th', { scope: 'col' }, p)))),
        h('tbody', {}, countries.map((c) => h('tr', {}, h('th', { scope: 'row' }, countryName(c)), periods.map((p) => {
          const item = at.get(`${c}|${p}`)
          return h('td', { class: `cov-text ${item?.status ?? 'not_reported'}` }, statusLabel(item?.status ?? 'not_reported', item?.onTime))
        })))))
    })
  }

  private drawDisclosure (): Node | Node[] {
    const answer = this.total?.ok ? this.total.value : undefined
    if (answer?.disclosure?.method === 'none') return h('p', {}, tm('bulletinDisclosureExact'))
    const d = this.disclosure ?? {}
    return h('p', {}, tm('bulletinDisclosure', { ptable: answer?.disclosure?.ptable ?? d.ptable ?? '—', D: d.D ?? '—', k: answer?.k ?? d.k ?? '—' }))
  }

  private drawSources (): Node | Node[] {
    const used = new Map<string, Denominator>(this.figures.map((d) => [`${d.country}|${d.population}|${d.year}`, d]))
    for (const { answer } of this.indicators?.ok ? this.indicators.value : []) {
      for (const d of answer?.ok ? answer.value.denominators ?? [] : []) used.set(`${d.country}|${d.population}|${d.year}`, d)
    }
    if (this.indicators === null) return h('p', { class: 'loading' }, t('loading'))
    if (used.size === 0) return h('p', { class: 'muted' }, tm('bulletinSourcesNone'))
    const rows = [...used.values()].sort((a, b) => (a.country + a.population < b.country + b.population ? -1 : 1))
    return h('table', { class: 'sources' },
      h('thead', {}, h('tr', {}, [tm('bulletinSourceCountry'), tm('bulletinSourcePopulation'), tm('bulletinSourceYear'), tm('bulletinSourceValue'), tm('bulletinSource')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((d) => h('tr', {},
        h('th', { scope: 'row' }, countryName(d.country)), h('td', {}, this.populations.get(d.population)?.[language()] ?? d.population), h('td', {}, String(d.year)),
        h('td', { class: 'num' }, formatCount(d.value)), h('td', {}, `${d.source} (${d.vintage})`)))))
  }
}

function countCell (cell: Cell | undefined): HTMLElement {
  if (!cell) return h('td', { class: 'num muted' }, t('noData'))
  if (cell.count === null) return h('td', { class: 'num protected', 'data-suppressed': 'primary' }, h('span', { 'aria-hidden': 'true' }, '▨ '), t('protectedPrimary'))
  return h('td', { class: 'num' }, formatCount(cell.count))
}
