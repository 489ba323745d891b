// The reader's view: a query form, then the map, the time series, coverage, the answer's table with its
// downloads, and "about these numbers". Each section loads on its own and fails on its own, in words.
import type { Session } from './api.js'
import { regionMap, seriesLegend, timeSeries, type Cell } from './charts.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { alpha3Codes, countryName, dimensionName, formatCount, formatPeriod, labelCatalog, regionLabel, subnationalAreas, t, valueLabel } from './i18n.js'
import { addMonths, currentMonth, monthsBetween } from './months.js'
import { PERIOD_TYPES, periodEnd, periodLabels, periodStart, seriesPoints, type CoverageItem, type PeriodType, type SeriesPoint } from './periods.js'

export interface Region { code: string, name: string, kind: 'country' | 'region', members: string[], readable: boolean, byCountry: boolean, k: number | null, countryOfOrigin?: string | null, missingConsents?: string[] | null }

export interface Answer {
  region: string
  from: string
  to: string
  periodType?: PeriodType
  by: string[]
  k: number
  cells: Cell[]
  disclosure?: { method: 'cellkey' | 'none', ptable?: string | null }
  coverage?: CoverageItem[]
}

interface PeriodItem { country: string, period: string, status: 'not_reported' | 'open' | 'published', revision: number | null, publishedAt: string | null, onTime: boolean | null, changedSince?: boolean }

/** Dimensions offered when the hub's labels catalog could not be read (it lists every dimension). */
const FALLBACK_DIMENSIONS = ['country', 'countryOfOrigin', 'sex', 'ageBand', 'migrationStatus', 'migrationStage', 'encounter', 'conditionGroup', 'insurance', 'outcome', 'recordType', 'tbOutcome', 'serviceCoverage', 'returnedFrom']

/** Every dimension but the period (a series is always by period): from the hub's labels catalog. */
export function dimensions (): string[] {
  const catalog = labelCatalog()
  return catalog ? Object.keys(catalog.dimensions).filter((d) => d !== 'period') : FALLBACK_DIMENSIONS
}

const TABLE_ROWS = 400

type SectionId = 'map' | 'chart' | 'table' | 'coverage' | 'about'

type Loaded<T> = { ok: true, value: T } | { ok: false, error: unknown } | null

/** GET /v1/disclosure, as the page uses it. */
interface Disclosure {
  method: string
  description?: string
  ptable?: string
  D?: number
  V?: number
  js?: number
  k?: number
  sensitiveK?: number
  sensitiveDimensions?: string[]
  queryBudget?: number
  additive?: boolean
}

export interface ReaderQuery { region: string, from: string, to: string, periodType: PeriodType, dim: string, filters: Record<string, string[]> }

/** An origin grant reads its unit's data about one origin's nationals only: the filter every read of it carries. */
function originFilter (region: Region | undefined): Record<string, string[]> {
  return region?.countryOfOrigin ? { countryOfOrigin: [region.countryOfOrigin] } : {}
}

export function defaultQuery (regions: Region[]): ReaderQuery {
  const to = addMonths(currentMonth(), -1)
  const readable = regions.filter((r) => r.readable)
  const region = readable.find((r) => r.kind === 'region' && r.byCountry) ?? readable.find((r) => r.kind === 'region') ?? readable[0]
  return { region: region?.code ?? '', from: addMonths(to, -11), to, periodType: 'month', dim: 'sex', filters: originFilter(region) }
}

/** The query string of a read: from and to widened to whole periods, the filters as comma lists. */
function query (q: ReaderQuery, by: string): string {
  const params = new URLSearchParams({ region: q.region, from: periodStart(q.from, q.periodType), to: periodEnd(q.to, q.periodType) })
  if (q.periodType !== 'month' && by.includes('period')) params.set('periodType', q.periodType)
  if (by) params.set('by', by)
  for (const [dim, values] of Object.entries(q.filters)) if (values.length > 0) params.set(dim, values.join(','))
  return params.toString()
}

/** The values a filter on `dim` may name, with their names, for the region read. */
function valuesOf (dim: string, region: Region | undefined): Array<[string, string]> {
  const catalog = labelCatalog()
  const named = (codes: string[]) => codes.map((c): [string, string] => [c, valueLabel(dim, c)])
  const byName = (list: Array<[string, string]>) => list.sort((a, b) => a[1].localeCompare(b[1]))
  const members = region ? (region.members.length > 0 ? region.members : [region.code]) : []
  if (dim === 'country') return byName(named(members))
  if (dim === 'subnationalArea') return byName(subnationalAreas().filter((a) => members.includes(a.country)).map((a) => [a.code, `${a.name} (${countryName(a.country)})`]))
  const codes = Object.keys(catalog?.codes[dim] ?? {})
  if (dim === 'countryOfOrigin' || dim === 'returnedFrom') return [...byName(named(alpha3Codes())), ...named(codes)]
  return named(codes)
}

async function attempt<T> (work: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    return { ok: false, error }
  }
}

export class ReaderView {
  query: ReaderQuery
  private map: Loaded<Answer> = null
  private series: Loaded<Answer> = null
  private coverage: Loaded<{ items: PeriodItem[] }> = null
  private disclosure: Loaded<Disclosure> = null
  readonly root = h('div', { class: 'reader' })
  private readonly bodies = new Map<SectionId, HTMLElement>()

  constructor (private readonly session: Session, private readonly regions: Region[], private readonly say: (text: string, error?: boolean) => void) {
    this.query = defaultQuery(regions)
  }

  private region (): Region | undefined {
    return this.regions.find((r) => r.code === this.query.region)
  }

  /** Loads every section at once; resolves when all are drawn (the reader view is then interactive). */
  async load (): Promise<void> {
    this.map = this.series = this.coverage = null
    this.draw()
    const q = this.query
    const series = this.query.dim ? `period,${this.query.dim}` : 'period'
    await Promise.all([
      attempt(() => this.session.json<Answer>(`/v1/aggregates?${query(q, 'country')}`)).then((r) => { this.map = r; this.refresh('map') }),
      attempt(() => this.session.json<Answer>(`/v1/aggregates?${query(q, series)}`))
        .then((r) => { this.series = r; this.refresh('chart', 'table', 'about') }),
      attempt(() => this.session.json<{ items: PeriodItem[] }>(`/v1/periods?${new URLSearchParams({ region: q.region, from: periodStart(q.from, q.periodType), to: periodEnd(q.to, q.periodType) })}`)).then((r) => { this.coverage = r; this.refresh('coverage') }),
      this.disclosure?.ok
        ? null
        : attempt(async () => {
            const res = await fetch('/v1/disclosure', { headers: { accept: 'application/json' } })
            if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
            return await res.json() as Disclosure
          }).then((r) => { this.disclosure = r; this.refresh('about') })
    ])
    // A hook for tests and for measuring: every section of this load is drawn.
    document.body.dataset.readerLoads = String(Number(document.body.dataset.readerLoads ?? 0) + 1)
  }

  /** Draws every section (a new query, the language, the width); `refresh` redraws only what new data touched. */
  draw (): void {
    this.bodies.clear()
    replace(this.root,
      this.form(),
      h('div', { class: 'grid' },
        this.section('map', t('mapTitle')),
        this.section('chart', this.chartTitle())),
      this.section('table', t('tableTitle')),
      this.section('coverage', t('coverageTitle')),
      this.section('about', t('aboutTitle')))
    this.refresh('map', 'chart', 'table', 'coverage', 'about')
  }

  private chartTitle (): string {
    return this.query.dim ? t('chartTitle', { dim: dimensionName(this.query.dim) }) : t('chartTotal')
  }

  /** A new width: only the map and the chart depend on it (the form keeps its focus). */
  resized (): void {
    this.refresh('map', 'chart')
  }

  private refresh (...ids: SectionId[]): void {
    for (const id of ids) {
      const body = this.bodies.get(id)
      if (body) replace(body, this.content(id))
    }
  }

  private content (id: SectionId): Node | Node[] {
    switch (id) {
      case 'map': return this.drawMap()
      case 'chart': return this.drawSeries()
      case 'table': return this.drawTable()
      case 'coverage': return this.drawCoverage()
      case 'about': return this.drawAbout()
    }
  }

  private section (id: SectionId, title: string): HTMLElement {
    const body = h('div', { class: 'section-body' })
    this.bodies.set(id, body)
    return h('section', { id: `section-${id}`, 'aria-labelledby': `h-${id}`, class: `card card-${id}` },
      h('h2', { id: `h-${id}` }, title), body)
  }

  private form (): HTMLElement {
    // A region granted but not consented stays on offer: choosing it says whose consent is missing.
    const readable = this.regions.filter((r) => r.readable || (r.missingConsents ?? []).length > 0)
    const regionSelect = h('select', { id: 'q-region', name: 'region' },
      readable.map((r) => h('option', { value: r.code, selected: r.code === this.query.region }, regionName(r))))
    const from = h('input', { id: 'q-from', name: 'from', type: 'month', value: this.query.from, required: true, pattern: '\\d{4}-\\d{2}' })
    const to = h('input', { id: 'q-to', name: 'to', type: 'month', value: this.query.to, required: true, pattern: '\\d{4}-\\d{2}' })
    const periodType = h('select', { id: 'q-period-type', name: 'periodType' },
      PERIOD_TYPES.map((p) => h('option', { value: p, selected: p === this.query.periodType }, t(PERIOD_TYPE_NAME[p]))))
    const dim = h('select', { id: 'q-dim', name: 'dim' },
      h('option', { value: '', selected: this.query.dim === '' }, t('none')),
      dimensions().map((d) => h('option', { value: d, selected: d === this.query.dim }, dimensionName(d))))
    const filters = this.filterFields(regionSelect)
    const form = h('form', { class: 'query', 'aria-label': t('show') },
      h('div', { class: 'field' }, h('label', { for: 'q-region' }, t('region')), regionSelect),
      h('div', { class: 'field' }, h('label', { for: 'q-from' }, t('from')), from),
      h('div', { class: 'field' }, h('label', { for: 'q-to' }, t('to')), to),
      h('div', { class: 'field' }, h('label', { for: 'q-period-type' }, t('periodType')), periodType),
      h('div', { class: 'field' }, h('label', { for: 'q-dim' }, t('dimension')), dim),
      filters.root,
      h('button', { type: 'submit' }, t('show')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const region = this.regions.find((r) => r.code === regionSelect.value)
      const chosen: Record<string, string[]> = {}
      for (const [d, v] of filters.values()) {
        if (d && v && !(chosen[d] ??= []).includes(v)) chosen[d].push(v)
      }
      this.query = { region: regionSelect.value, from: from.value, to: to.value, periodType: periodType.value as PeriodType, dim: dim.value, filters: { ...chosen, ...originFilter(region) } }
      void this.load()
    })
    return form
  }

  /** Filters on any dimension: rows of a field and a value (several values of one field: any of them). */
  private filterFields (regionSelect: HTMLSelectElement): { root: HTMLElement, values: () => Array<[string, string]> } {
    const rows: Array<{ dim: HTMLSelectElement, value: HTMLSelectElement }> = []
    const list = h('div', { class: 'filter-rows' })
    const locked = h('p', { class: 'origin-lock' })
    const showLock = () => {
      const region = this.regions.find((r) => r.code === regionSelect.value)
      replace(locked, region?.countryOfOrigin ? t('originLocked', { region: regionName(region), country: countryName(region.countryOfOrigin) }) : '')
      locked.hidden = !region?.countryOfOrigin
    }
    regionSelect.addEventListener('change', showLock)
    showLock()
    const add = (dimValue = '', value = '') => {
      const n = rows.length + 1
      const dim = h('select', { id: `f-dim-${n}`, 'aria-label': `${t('filterField')} ${n}` },
        h('option', { value: '' }, '—'),
        dimensions().filter((d) => d !== 'countryOfOrigin' || !this.regions.find((r) => r.code === regionSelect.value)?.countryOfOrigin)
          .map((d) => h('option', { value: d, selected: d === dimValue }, dimensionName(d))))
      const values = h('select', { id: `f-value-${n}`, 'aria-label': `${t('filterValue')} ${n}` })
      const fill = () => replace(values, h('option', { value: '' }, '—'),
        valuesOf(dim.value, this.regions.find((r) => r.code === regionSelect.value)).map(([code, name]) => h('option', { value: code, selected: code === value }, name)))
      dim.addEventListener('change', fill)
      fill()
      const row = { dim, value: values }
      rows.push(row)
      const line = h('div', { class: 'filter-row' }, dim, h('span', { 'aria-hidden': 'true' }, '='), values,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `${t('removeFilter')} ${n}`, onclick: () => { rows.splice(rows.indexOf(row), 1); line.remove() } }, t('removeFilter')))
      list.append(line)
    }
    const origin = this.region()?.countryOfOrigin
    for (const [d, values] of Object.entries(this.query.filters)) {
      for (const v of values) if (!(d === 'countryOfOrigin' && origin)) add(d, v)
    }
    const root = h('fieldset', { class: 'filters' }, h('legend', {}, t('filters')), locked, list,
      h('button', { type: 'button', class: 'secondary', id: 'add-filter', onclick: () => add() }, t('addFilter')))
    return { root, values: () => rows.map((r) => [r.dim.value, r.value.value]) }
  }

  private pending<T> (loaded: Loaded<T>, then: (value: T) => Node | Node[]): Node | Node[] {
    if (loaded === null) return h('p', { class: 'loading' }, t('loading'))
    if (!loaded.ok) return h('p', { class: isNotFound(loaded.error) ? 'muted' : 'problem', role: 'status' }, describe(loaded.error))
    return then(loaded.value)
  }

  private width (id: string, fallback: number): number {
    const el = document.getElementById(`section-${id}`)
    const inner = el ? el.clientWidth - 32 : fallback
    return Math.max(280, Math.min(900, inner > 0 ? inner : fallback))
  }

  private drawMap (): Node | Node[] {
    const region = this.region()
    if (region && !region.byCountry && region.kind === 'region') return h('p', { class: 'muted' }, t('mapNoCountry'))
    return this.pending(this.map, (answer) => {
      const members = region?.members.length ? region.members : [this.query.region]
      // A country with no cell: no records, or (every month of the span unpublished) not reported / not published.
      const months = monthsBetween(answer.from, answer.to).length
      const missing = (code: string) => {
        const gaps = (answer.coverage ?? []).filter((c) => c.country === code)
        if (gaps.length < months) return undefined
        return gaps.every((g) => g.status === 'not_reported') ? t('notReported') : `${t('gapNoData')} (${missingText(gaps)})`
      }
      return h('figure', { class: 'map' }, regionMap({ members, cells: answer.cells, width: this.width('map', 560), missing }),
        h('figcaption', { class: 'legend-protected' }, h('span', { class: 'swatch circle', 'aria-hidden': 'true' }), ` ${t('mapCircles')} · `,
          h('span', { class: 'swatch hatch', 'aria-hidden': 'true' }), ` ${t('protectedPrimary')} · `,
          h('span', { class: 'swatch empty', 'aria-hidden': 'true' }), ` ${t('noData')}`))
    })
  }

  /** The countries an answer counts: the region's members, narrowed by a country filter. */
  private countries (): string[] {
    const region = this.region()
    const members = region && region.members.length > 0 ? region.members : [this.query.region]
    const only = this.query.filters.country
    return only && only.length > 0 ? members.filter((c) => only.includes(c)) : members
  }

  private drawSeries (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      const dim = this.query.dim || null
      const periods = periodLabels(answer.from, answer.to, answer.periodType ?? 'month')
      const points = seriesPoints({ dim, cells: answer.cells, periods, countries: this.countries(), coverage: answer.coverage ?? [] })
      const groups = [...new Set(points.map((p) => p.group))]
      const name = (g: string) => dim ? valueLabel(dim, g) : t('records')
      const words = (p: SeriesPoint) => `${dim ? `${name(p.group)}, ` : ''}${formatPeriod(p.period)}: ${pointText(p, answer.k)}`
      const gaps = periods.filter((period) => points.filter((p) => p.period === period).every((p) => p.kind === 'gap'))
      return h('figure', { class: 'chart' },
        timeSeries({ points, groups, periods, k: answer.k, width: this.width('chart', 560), describe: words, ariaLabel: this.chartTitle() }),
        groups.length > 1 || dim ? seriesLegend(groups.map(name), t('legend')) : null,
        h('figcaption', { class: 'muted' },
          gaps.length > 0 ? h('p', { class: 'gaps-note' }, t('gapsNote', { list: gaps.map((g) => `${formatPeriod(g)} (${missingText(points.find((p) => p.period === g)!.missing)})`).join('; ') })) : null,
          points.some((p) => p.kind !== 'gap' && p.missing.length > 0) ? h('p', {}, t('hollowNote')) : null),
        this.seriesTable(points, groups, periods, name, answer.k))
    })
  }

  /** The chart in words: a row per period, a column per group, and what each period rests on. */
  private seriesTable (points: SeriesPoint[], groups: string[], periods: string[], name: (g: string) => string, k: number): HTMLElement {
    const at = new Map(points.map((p) => [`${p.group}|${p.period}`, p]))
    return h('details', { class: 'chart-data' }, h('summary', {}, t('chartAsTable')),
      h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('chartAsTable') },
        h('table', { class: 'series' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('period')), groups.map((g) => h('th', { scope: 'col', class: 'num' }, name(g))), h('th', { scope: 'col' }, t('coverageColumn')))),
          h('tbody', {}, periods.map((period) => {
            const row = groups.map((g) => at.get(`${g}|${period}`)!)
            const missing = row.find((p) => p.missing.length > 0)?.missing ?? []
            return h('tr', { 'data-period': period, 'data-kind': row.every((p) => p.kind === 'gap') ? 'gap' : 'data' },
              h('th', { scope: 'row' }, formatPeriod(period)),
              row.map((p) => h('td', { class: `num point-${p.kind}` }, pointText(p, k, true))),
              h('td', {}, missing.length > 0 ? missingText(missing) : t('complete')))
          })))))
  }

  private drawTable (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      const rows = answer.cells.slice(0, TABLE_ROWS)
      const byNames = answer.by.map(dimensionName).join(', ')
      const region = this.region()
      const table = h('table', { class: 'answer' },
        h('caption', {}, t('tableCaption', { region: region ? regionName(region) : answer.region, from: formatPeriod(answer.from), to: formatPeriod(answer.to), by: byNames || '—', n: answer.cells.length, k: answer.k })),
        h('thead', {}, h('tr', {}, answer.by.map((d) => h('th', { scope: 'col' }, dimensionName(d))), h('th', { scope: 'col', class: 'num' }, t('count')))),
        h('tbody', {}, rows.map((cell) => h('tr', {},
          answer.by.map((d) => h('td', {}, valueLabel(d, cell[d] as string | null))),
          cell.count === null
            ? h('td', { class: 'num protected', 'data-suppressed': 'primary' }, h('span', { 'aria-hidden': 'true' }, '▨ '), t('protectedPrimary'))
            : h('td', { class: 'num' }, formatCount(cell.count))))))
      const exact = answer.disclosure?.method === 'none'
      return nodes(
        h('p', { class: `disclosure-note ${exact ? 'exact' : 'perturbed'}`, 'data-method': answer.disclosure?.method ?? 'cellkey' },
          exact ? t('answerExact') : t('answerPerturbed', { ptable: answer.disclosure?.ptable ?? '—' })),
        h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('tableTitle') }, table),
        answer.cells.length > TABLE_ROWS && h('p', { class: 'muted' }, t('rowsOmitted', { n: answer.cells.length - TABLE_ROWS })),
        h('p', { class: 'muted' }, t('protectedNote')),
        this.notPublished(answer),
        this.downloads())
    })
  }

  private notPublished (answer: Answer): HTMLElement | null {
    const gaps = answer.coverage ?? []
    if (gaps.length === 0) return null
    return h('details', { class: 'coverage-gaps' }, h('summary', {}, `${t('notPublishedTitle')} (${gaps.length})`),
      h('ul', {}, gaps.slice(0, 60).map((g) => h('li', {}, `${countryName(g.country)}, ${formatPeriod(g.period)}: ${statusLabel(g.status)}`))))
  }

  private downloads (): HTMLElement {
    const kinds: Array<{ label: string, accept: string, ext: string }> = [
      { label: t('downloadCsv'), accept: 'text/csv', ext: 'csv' },
      { label: t('downloadSdmx'), accept: 'application/vnd.sdmx.data+csv;version=2.0.0', ext: 'sdmx.csv' },
      { label: t('downloadFhir'), accept: 'application/fhir+json', ext: 'fhir.json' }
    ]
    const by = this.query.dim ? `period,${this.query.dim}` : 'period'
    return h('div', { class: 'downloads', role: 'group', 'aria-label': t('downloads') },
      h('span', { class: 'label' }, `${t('downloads')}:`),
      kinds.map((kind) => h('button', {
        type: 'button',
        class: 'secondary',
        'data-format': kind.ext,
        onclick: () => { void this.download(by, kind.accept, kind.ext, kind.label) }
      }, kind.label)))
  }

  private async download (by: string, accept: string, ext: string, label: string): Promise<void> {
    try {
      const res = await this.session.fetch(`/v1/aggregates?${query(this.query, by)}`, { accept })
      const blob = await res.blob()
      const file = `mhx-${this.query.region}-${this.query.from}-${this.query.to}-${by.replace(',', '-')}.${ext}`
      const url = URL.createObjectURL(blob)
      const a = h('a', { href: url, download: file, hidden: true })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      this.say(t('downloaded', { file }))
    } catch (err) {
      this.say((err as { status?: number }).status === 406 ? `${label}: ${t('notAvailable')}` : describe(err), true)
    }
  }

  private drawCoverage (): Node | Node[] {
    return this.pending(this.coverage, ({ items }) => {
      if (items.length === 0) return h('p', { class: 'muted' }, t('nothingToShow'))
      const countries = [...new Set(items.map((i) => i.country))]
      const periods = monthsBetween(this.query.from, this.query.to)
      const at = new Map(items.map((i) => [`${i.country}|${i.period}`, i]))
      return [
        h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('coverageTitle') },
          h('table', { class: 'coverage' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('country')), periods.map((p) => h('th', { scope: 'col' }, formatPeriod(p))))),
            h('tbody', {}, countries.map((c) => h('tr', {}, h('th', { scope: 'row' }, countryName(c)),
              periods.map((p) => coverageCell(at.get(`${c}|${p}`)))))))),
        h('p', { class: 'muted' }, h('span', { class: 'cov published' }, '●'), ' ', h('span', { class: 'cov late' }, '◍'), ' ', h('span', { class: 'cov open' }, '◐'), ' ', h('span', { class: 'cov not_reported' }, '○'), ` ${t('coverageLegend')}`)
      ]
    })
  }

  private drawAbout (): Node | Node[] {
    const answer = this.series?.ok ? this.series.value : (this.map?.ok ? this.map.value : undefined)
    const k = answer?.k ?? this.region()?.k ?? 5
    const exact = answer?.disclosure?.method === 'none'
    if (this.disclosure === null) return h('p', { class: 'loading' }, t('loading'))
    if (!this.disclosure.ok) {
      return nodes(h('p', {}, exact ? t('aboutMethodNone') : t('aboutMethodCellKey')), k > 1 && h('p', {}, t('aboutKOnly', { k, below: k - 1 })))
    }
    const d = this.disclosure.value
    const method = exact ? 'none' : (answer?.disclosure?.method ?? d.method)
    const budget = d.queryBudget === undefined ? undefined : d.queryBudget === 0 ? t('aboutBudgetNone') : formatCount(d.queryBudget)
    const rows: Array<[string, unknown]> = [
      [t('aboutMethod'), method === 'none' ? t('aboutMethodNameNone') : t('aboutMethodName')],
      [t('aboutK'), exact ? k : (answer?.k ?? d.k)], [t('aboutSensitiveK'), d.sensitiveK],
      [t('aboutSensitiveDimensions'), d.sensitiveDimensions?.map(dimensionName).join(', ')],
      [t('aboutD'), d.D], [t('aboutV'), d.V], [t('aboutJs'), d.js], [t('aboutBudget'), budget],
      [t('aboutPtable'), answer?.disclosure?.ptable ?? d.ptable]
    ]
    return nodes(
      h('p', {}, method === 'none' ? t('aboutMethodNone') : t('aboutMethodCellKey')),
      d.additive === false && h('p', { class: 'not-additive' }, t('aboutNotAdditive')),
      h('dl', { class: 'about' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([name, v]) => [h('dt', {}, name), h('dd', {}, String(v))])),
      Boolean(d.description) && h('details', { class: 'about-hub' }, h('summary', {}, t('aboutHubText')), h('p', { lang: 'en' }, d.description)))
  }
}

const PERIOD_TYPE_NAME = { month: 'periodMonth', quarter: 'periodQuarter', year: 'periodYear' } as const

function regionName (r: Region): string {
  return r.kind === 'country' ? countryName(r.code) : regionLabel(r.code, r.name)
}

/** A point's value in words: a count, "below k", or why there is none (never a 0 for a gap). */
function pointText (p: SeriesPoint, k: number, short = false): string {
  switch (p.kind) {
    case 'count': return formatCount(p.count!) + (p.missing.length > 0 && !short ? ` (${t('incomplete')}: ${missingText(p.missing)})` : '')
    case 'zero': return formatCount(0) + (p.missing.length > 0 && !short ? ` (${t('incomplete')}: ${missingText(p.missing)})` : '')
    case 'protected': return t('belowK', { k })
    case 'gap': return short ? t('gapNoData') : `${t('gapNoData')}: ${missingText(p.missing)}`
  }
}

/** Which countries a period lacks, by status: "not reported: Turkmenistan; open (not published): Kazakhstan". */
function missingText (missing: readonly CoverageItem[]): string {
  const by = new Map<string, Set<string>>()
  for (const m of missing) {
    const set = by.get(m.status) ?? new Set<string>()
    set.add(countryName(m.country))
    by.set(m.status, set)
  }
  return [...by].map(([status, names]) => `${statusLabel(status)}: ${[...names].join(', ')}`).join('; ')
}

export function statusLabel (status: string, onTime?: boolean | null): string {
  if (status === 'published') return onTime === false ? t('publishedLate') : t('published')
  if (status === 'open') return t('open')
  return t('notReported')
}

function coverageCell (item: PeriodItem | undefined): HTMLElement {
  const status = item?.status ?? 'not_reported'
  const glyph = status === 'published' ? (item?.onTime === false ? '◍' : '●') : status === 'open' ? '◐' : '○'
  const cls = status === 'published' && item?.onTime === false ? 'late' : status
  const label = statusLabel(status, item?.onTime) + (item?.revision ? ` (${item.revision})` : '')
  return h('td', { class: `cov ${cls}`, title: label }, h('span', { 'aria-hidden': 'true' }, glyph), h('span', { class: 'visually-hidden' }, label))
}
