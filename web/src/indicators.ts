// The indicator view: pick an indicator (GET /v1/indicators), a region and a period; a map shaded by the value
// (never by raw counts), the series with its 95 % intervals, and per country the value beside the same period a
// year earlier and the reference value; the denominators' sources. Each section loads and fails on its own.
import type { Session } from './api.js'
import { indicatorMap, indicatorSeries } from './charts.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { countryName, formatNumber, formatPeriod, localized, regionLabel, t } from './i18n.js'
import { addMonths, currentMonth } from './months.js'
import { PERIOD_TYPES, periodEnd, periodLabels, periodStart, seriesPoints, type CoverageItem, type PeriodType, type SeriesPoint } from './periods.js'
import type { Region } from './reader.js'

type Text = Record<string, string>

/** Something the page says instead of an answer (not a failure of the hub). */
class Notice extends Error {}

export interface Indicator {
  id: string
  kind: 'rate' | 'proportion'
  name: Text
  definition: Text
  sdg: { target: string, indicator: string | null }
  unit: Text & { code: string }
  multiplier: number
  minimumNumerator: number
}

export interface IndicatorCell {
  [dim: string]: unknown
  numerator: number | null
  denominator: number | null
  value: number | null
  lower: number | null
  upper: number | null
  status: 'released' | 'withheld' | 'no-denominator'
  reference: { value: number, year: number, source: string } | null
}

export interface IndicatorAnswer {
  indicator: { id: string, unit: Text, minimumNumerator: number }
  region: string
  from: string
  to: string
  periodType: PeriodType
  interval: { level: number, method: string }
  coverage: CoverageItem[]
  denominators: Array<{ country: string, population: string, year: number, value: number, source: string, vintage: string }>
  cells: IndicatorCell[]
}

interface Population { id: string, label: Text }

export interface IndicatorQuery { indicator: string, region: string, from: string, to: string, periodType: PeriodType }

type Loaded<T> = { ok: true, value: T } | { ok: false, error: unknown } | null
type SectionId = 'ind-map' | 'ind-series' | 'ind-summary' | 'ind-sources'

async function attempt<T> (work: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** A value in the indicator's unit: one decimal for a proportion (per 100), two below 10, else one. */
export function formatValue (v: number): string {
  return formatNumber(v, Math.abs(v) < 10 ? 2 : 1)
}

export class IndicatorView {
  query: IndicatorQuery
  private catalog: Loaded<Indicator[]> = null
  private populations: Population[] = []
  private map: Loaded<IndicatorAnswer> = null
  private series: Loaded<IndicatorAnswer> = null
  private total: Loaded<IndicatorAnswer> = null
  private earlier: Loaded<{ byCountry: IndicatorAnswer, total: IndicatorAnswer }> = null
  readonly root = h('div', { class: 'indicators' })
  private readonly bodies = new Map<SectionId, HTMLElement>()

  constructor (private readonly session: Session, private readonly regions: Region[]) {
    const to = addMonths(currentMonth(), -1)
    const readable = regions.filter((r) => r.readable)
    const region = readable.find((r) => r.kind === 'region' && r.byCountry) ?? readable.find((r) => r.kind === 'region') ?? readable[0]
    this.query = { indicator: 'tb-notification-rate', region: region?.code ?? '', from: addMonths(to, -11), to, periodType: 'month' }
  }

  private region (): Region | undefined {
    return this.regions.find((r) => r.code === this.query.region)
  }

  private indicator (): Indicator | undefined {
    return this.catalog?.ok ? this.catalog.value.find((i) => i.id === this.query.indicator) : undefined
  }

  private params (by: string, shift = 0): string {
    const q = this.query
    const params = new URLSearchParams({ region: q.region, from: addMonths(periodStart(q.from, q.periodType), shift), to: addMonths(periodEnd(q.to, q.periodType), shift) })
    if (by.includes('period') && q.periodType !== 'month') params.set('periodType', q.periodType)
    if (by) params.set('by', by)
    // An origin grant reads its nationals only (proportions: their counts on both sides).
    const origin = this.region()?.countryOfOrigin
    if (origin) params.set('countryOfOrigin', origin)
    return params.toString()
  }

  /** Reads the catalog once, then every section of the chosen indicator at once. */
  async load (): Promise<void> {
    if (!this.catalog?.ok) {
      this.catalog = null
      this.draw()
      const [catalog, populations] = await Promise.all([
        attempt(async () => (await this.session.json<{ items: Indicator[] }>('/v1/indicators')).items),
        attempt(async () => (await this.session.json<{ items: Population[] }>('/v1/populations')).items)
      ])
      this.catalog = catalog
      this.populations = populations?.ok ? populations.value : []
      // An origin grant cannot read a rate (its denominator is the whole migrant population): start on a proportion.
      const usable = catalog?.ok ? catalog.value.filter((i) => !this.region()?.countryOfOrigin || i.kind === 'proportion') : []
      if (!usable.some((i) => i.id === this.query.indicator)) this.query.indicator = usable[0]?.id ?? ''
      if (!catalog?.ok) { this.draw(); return }
    }
    this.map = this.series = this.total = this.earlier = null
    this.draw()
    if (this.region()?.countryOfOrigin && this.indicator()?.kind === 'rate') {
      this.map = this.series = this.total = { ok: false, error: new Notice(t('rateNeedsAllOrigins')) }
      this.draw()
      return
    }
    const values = (by: string, shift = 0) => this.session.json<IndicatorAnswer>(`/v1/indicators/${encodeURIComponent(this.query.indicator)}/values?${this.params(by, shift)}`)
    const byCountry = this.region()?.kind === 'region' && this.region()?.byCountry
    await Promise.all([
      attempt(() => byCountry ? values('country') : values('')).then((r) => { this.map = r; this.refresh('ind-map', 'ind-summary', 'ind-sources') }),
      attempt(() => values('period')).then((r) => { this.series = r; this.refresh('ind-series') }),
      attempt(() => values('')).then((r) => { this.total = r; this.refresh('ind-summary') }),
      attempt(async () => {
        const [c, total] = await Promise.all([byCountry ? values('country', -12) : values('', -12), values('', -12)])
        return { byCountry: c, total }
      }).then((r) => { this.earlier = r; this.refresh('ind-summary') })
    ])
    document.body.dataset.indicatorLoads = String(Number(document.body.dataset.indicatorLoads ?? 0) + 1)
  }

  draw (): void {
    this.bodies.clear()
    const indicator = this.indicator()
    replace(this.root,
      this.form(),
      indicator ? h('p', { class: 'definition' }, localized(indicator.definition), ' ', h('span', { class: 'muted' }, t('sdgTarget', { target: indicator.sdg.target }))) : null,
      h('div', { class: 'grid' },
        this.section('ind-map', indicator ? t('indMapTitle', { name: localized(indicator.name) }) : t('indicatorsView')),
        this.section('ind-series', t('indSeriesTitle'))),
      this.section('ind-summary', t('indSummaryTitle')),
      this.section('ind-sources', t('denominatorsTitle')))
    this.refresh('ind-map', 'ind-series', 'ind-summary', 'ind-sources')
  }

  resized (): void {
    this.refresh('ind-map', 'ind-series')
  }

  private refresh (...ids: SectionId[]): void {
    for (const id of ids) {
      const body = this.bodies.get(id)
      if (body) replace(body, this.content(id))
    }
  }

  private content (id: SectionId): Node | Node[] {
    if (this.catalog === null) return h('p', { class: 'loading' }, t('loading'))
    if (!this.catalog.ok) return h('p', { class: isNotFound(this.catalog.error) ? 'muted' : 'problem', role: 'status' }, isNotFound(this.catalog.error) ? t('notAvailable') : describe(this.catalog.error))
    switch (id) {
      case 'ind-map': return this.drawMap()
      case 'ind-series': return this.drawSeries()
      case 'ind-summary': return this.drawSummary()
      case 'ind-sources': return this.drawSources()
    }
  }

  private section (id: SectionId, title: string): HTMLElement {
    const body = h('div', { class: 'section-body' })
    this.bodies.set(id, body)
    return h('section', { id: `section-${id}`, 'aria-labelledby': `h-${id}`, class: `card card-${id}` }, h('h2', { id: `h-${id}` }, title), body)
  }

  private form (): HTMLElement {
    const list = this.catalog?.ok ? this.catalog.value : []
    const indicator = h('select', { id: 'i-indicator', name: 'indicator' },
      list.map((i) => h('option', { value: i.id, selected: i.id === this.query.indicator }, localized(i.name))))
    const readable = this.regions.filter((r) => r.readable || (r.missingConsents ?? []).length > 0)
    const region = h('select', { id: 'i-region', name: 'region' },
      readable.map((r) => h('option', { value: r.code, selected: r.code === this.query.region }, r.kind === 'country' ? countryName(r.code) : regionLabel(r.code, r.name))))
    const from = h('input', { id: 'i-from', name: 'from', type: 'month', value: this.query.from, required: true })
    const to = h('input', { id: 'i-to', name: 'to', type: 'month', value: this.query.to, required: true })
    const periodType = h('select', { id: 'i-period-type', name: 'periodType' },
      PERIOD_TYPES.map((p) => h('option', { value: p, selected: p === this.query.periodType }, t(p === 'month' ? 'periodMonth' : p === 'quarter' ? 'periodQuarter' : 'periodYear'))))
    const form = h('form', { class: 'query', 'aria-label': t('indicatorsView') },
      h('div', { class: 'field' }, h('label', { for: 'i-indicator' }, t('indicator')), indicator),
      h('div', { class: 'field' }, h('label', { for: 'i-region' }, t('region')), region),
      h('div', { class: 'field' }, h('label', { for: 'i-from' }, t('from')), from),
      h('div', { class: 'field' }, h('label', { for: 'i-to' }, t('to')), to),
      h('div', { class: 'field' }, h('label', { for: 'i-period-type' }, t('periodType')), periodType),
      h('button', { type: 'submit' }, t('show')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.query = { indicator: indicator.value, region: region.value, from: from.value, to: to.value, periodType: periodType.value as PeriodType }
      void this.load()
    })
    return form
  }

  private pending<T> (loaded: Loaded<T>, then: (value: T) => Node | Node[]): Node | Node[] {
    if (loaded === null) return h('p', { class: 'loading' }, t('loading'))
    if (!loaded.ok && loaded.error instanceof Notice) return h('p', { class: 'muted' }, loaded.error.message)
    if (!loaded.ok) return h('p', { class: isNotFound(loaded.error) ? 'muted' : 'problem', role: 'status' }, describe(loaded.error))
    return then(loaded.value)
  }

  private width (id: string, fallback: number): number {
    const el = document.getElementById(`section-${id}`)
    const inner = el ? el.clientWidth - 32 : fallback
    return Math.max(280, Math.min(900, inner > 0 ? inner : fallback))
  }

  private unit (answer: { indicator: { unit: Text } }): string {
    return localized(answer.indicator.unit)
  }

  /** A cell in words: its value and interval, or why it has none. */
  private cellText (cell: IndicatorCell | undefined, answer: IndicatorAnswer): string {
    if (!cell) return t('gapNoData')
    if (cell.status === 'no-denominator') return t('statusNoDenominator')
    if (cell.status === 'withheld' || cell.value === null) return t('statusWithheld', { min: answer.indicator.minimumNumerator })
    const interval = cell.lower !== null && cell.upper !== null ? ` (${formatValue(cell.lower)}–${formatValue(cell.upper)})` : ''
    return `${formatValue(cell.value)}${interval}`
  }

  private drawMap (): Node | Node[] {
    const region = this.region()
    return this.pending(this.map, (answer) => {
      const members = region?.members.length ? region.members : [this.query.region]
      const cells = region?.kind === 'country' ? answer.cells.map((c) => ({ ...c, country: this.query.region })) : answer.cells
      const label = (code: string) => `${countryName(code)}: ${this.cellText(cells.find((c) => c.country === code), answer)}`
      return h('figure', { class: 'map' },
        indicatorMap({ members, cells: cells as Array<IndicatorCell & { country: string }>, width: this.width('ind-map', 560), unit: this.unit(answer), label, ariaLabel: t('indMapTitle', { name: localized(this.indicator()?.name ?? {}) }) }),
        h('figcaption', { class: 'legend-protected' },
          h('span', { class: 'swatch hatch', 'aria-hidden': 'true' }), ` ${t('legendWithheld')} · `,
          h('span', { class: 'swatch nodenominator', 'aria-hidden': 'true' }), ` ${t('legendNoDenominator')} · `,
          h('span', { class: 'swatch empty', 'aria-hidden': 'true' }), ` ${t('gapNoData')}`))
    })
  }

  private drawSeries (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      const periods = periodLabels(answer.from, answer.to, answer.periodType ?? 'month')
      const region = this.region()
      const countries = region && region.members.length > 0 ? region.members : [this.query.region]
      const points = seriesPoints({ dim: null, cells: answer.cells.map((c) => ({ period: String(c.period), count: c.status === 'released' ? c.value : null })), periods, countries, coverage: answer.coverage })
      const at = new Map(answer.cells.map((c) => [String(c.period), c]))
      const words = (p: SeriesPoint) => `${formatPeriod(p.period)}: ${p.kind === 'gap' ? t('gapNoData') : this.cellText(at.get(p.period), answer)}`
      // A country's reference is its own comparator; a region has none.
      const reference = region?.kind === 'country' ? answer.cells.find((c) => c.reference)?.reference ?? null : null
      return h('figure', { class: 'chart' },
        indicatorSeries({ points, cells: at, periods, width: this.width('ind-series', 560), unit: this.unit(answer), reference: reference?.value ?? null, describe: words, ariaLabel: t('indSeriesTitle') }),
        h('figcaption', { class: 'muted' }, t('intervalNote', { method: answer.interval.method }),
          reference ? ` ${t('referenceLine', { value: formatNumber(reference.value, 2, false), year: reference.year, source: reference.source })}` : ''),
        h('details', { class: 'chart-data' }, h('summary', {}, t('chartAsTable')),
          h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('chartAsTable') },
            h('table', { class: 'series' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('period')), h('th', { scope: 'col', class: 'num' }, `${t('value')} (${t('interval')})`))),
              h('tbody', {}, points.map((p) => h('tr', { 'data-period': p.period, 'data-kind': p.kind },
                h('th', { scope: 'row' }, formatPeriod(p.period)), h('td', { class: `num point-${p.kind}` }, words(p).replace(/^[^:]+: /, '')))))))))
    })
  }

  private drawSummary (): Node | Node[] {
    return this.pending(this.map, (answer) => {
      const region = this.region()
      const earlier = this.earlier?.ok ? this.earlier.value : null
      const rows: Array<{ label: string, now: IndicatorCell | undefined, before: IndicatorCell | undefined, total: boolean }> = []
      const totalNow = this.total?.ok ? this.total.value.cells[0] : undefined
      if (region?.kind === 'region') rows.push({ label: regionLabel(region.code, region.name), now: totalNow, before: earlier?.total.cells[0], total: true })
      const codes = region?.kind === 'region' ? (region.byCountry ? region.members : []) : [this.query.region]
      for (const code of codes) {
        rows.push({
          label: countryName(code),
          now: region?.kind === 'region' ? answer.cells.find((c) => c.country === code) : answer.cells[0],
          before: region?.kind === 'region' ? earlier?.byCountry.cells.find((c) => c.country === code) : earlier?.total.cells[0],
          total: false
        })
      }
      const earlierAnswer = earlier?.total
      const period = `${formatPeriod(periodStart(this.query.from, this.query.periodType))} – ${formatPeriod(periodEnd(this.query.to, this.query.periodType))}`
      const before = `${formatPeriod(addMonths(periodStart(this.query.from, this.query.periodType), -12))} – ${formatPeriod(addMonths(periodEnd(this.query.to, this.query.periodType), -12))}`
      return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('indSummaryTitle') },
        h('table', { class: 'indicator-summary' },
          h('caption', {}, `${localized(this.indicator()?.name ?? {})}, ${this.unit(answer)}`),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('country')),
            h('th', { scope: 'col', class: 'num' }, `${period}`),
            h('th', { scope: 'col', class: 'num' }, t('yearEarlier', { period: before })),
            h('th', { scope: 'col' }, t('reference')))),
          h('tbody', {}, rows.map((row) => h('tr', { class: row.total ? 'total' : '' },
            h('th', { scope: 'row' }, row.label),
            h('td', { class: `num status-${row.now?.status ?? 'none'}` }, row.total && this.total && !this.total.ok ? describe(this.total.error) : row.total && this.total === null ? t('loading') : this.cellText(row.now, answer)),
            h('td', { class: 'num' }, this.earlier === null ? t('loading') : earlierAnswer ? this.cellText(row.before, earlierAnswer) : this.earlier.ok ? t('gapNoData') : describe(this.earlier.error)),
            h('td', {}, row.now?.reference ? t('referenceOf', { value: formatNumber(row.now.reference.value, 2, false), year: row.now.reference.year, source: row.now.reference.source }) : '—'))))))
    })
  }

  private drawSources (): Node | Node[] {
    return this.pending(this.map, (answer) => {
      if (answer.denominators.length === 0) return h('p', { class: 'muted' }, t('noDenominators'))
      const population = (id: string) => localized(this.populations.find((p) => p.id === id)?.label ?? { en: id })
      return nodes(h('ul', { class: 'sources' }, answer.denominators.map((d) => h('li', {},
        t('denominatorRow', { country: countryName(d.country), population: population(d.population), value: formatNumber(d.value, 0), year: d.year, source: d.source, vintage: d.vintage })))))
    })
  }
}
