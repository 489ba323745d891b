// The reader's view: a query form, then the map, the time series, coverage, the answer's table with its
// downloads, and "about these numbers". Each section loads on its own and fails on its own, in words.
import type { Session } from './api.js'
import { regionMap, timeSeries, type Cell } from './charts.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { countryName, dimensionName, formatCount, language, t, valueLabel } from './i18n.js'
import { addMonths, currentMonth, monthsBetween } from './months.js'

export interface Region { code: string, name: string, kind: 'country' | 'region', members: string[], readable: boolean, byCountry: boolean, k: number | null, missingConsents?: string[] | null }

export interface Answer {
  region: string
  from: string
  to: string
  by: string[]
  k: number
  cells: Cell[]
  disclosure?: { method: 'cellkey' | 'none', ptable?: string | null }
  /** With ?labels=: per dimension, the hub's name of every code shown (in `labelsIn`, set by the page). */
  labels?: Record<string, Record<string, string>>
  labelsIn?: string
  coverage?: Array<{ country: string, period: string, status: string }>
}

interface PeriodItem { country: string, period: string, status: 'not_reported' | 'open' | 'published', revision: number | null, publishedAt: string | null, onTime: boolean | null, changedSince?: boolean }

export const SERIES_DIMENSIONS = ['sex', 'ageBand', 'countryOfOrigin', 'migrationStatus', 'migrationStage', 'encounter', 'conditionGroup', 'insurance', 'outcome', 'country']
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

export interface ReaderQuery { region: string, from: string, to: string, dim: string }

export function defaultQuery (regions: Region[]): ReaderQuery {
  const to = addMonths(currentMonth(), -1)
  const readable = regions.filter((r) => r.readable)
  const region = readable.find((r) => r.kind === 'region' && r.byCountry) ?? readable.find((r) => r.kind === 'region') ?? readable[0]
  return { region: region?.code ?? '', from: addMonths(to, -11), to, dim: 'sex' }
}

function query (q: ReaderQuery, by: string): string {
  const params = new URLSearchParams({ region: q.region, from: q.from, to: q.to })
  if (by) params.set('by', by)
  return params.toString()
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
      // Value names come from the hub (?labels=); a language switch before the next load falls back to the page's own.
      attempt(async () => ({ ...await this.session.json<Answer>(`/v1/aggregates?${query(q, series)}&labels=${language()}`), labelsIn: language() }))
        .then((r) => { this.series = r; this.refresh('chart', 'table', 'about') }),
      attempt(() => this.session.json<{ items: PeriodItem[] }>(`/v1/periods?${query(q, '')}`)).then((r) => { this.coverage = r; this.refresh('coverage') }),
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
        this.section('chart', this.query.dim ? t('chartTitle', { dim: dimensionName(this.query.dim) }) : t('chartTotal'))),
      this.section('table', t('tableTitle')),
      this.section('coverage', t('coverageTitle')),
      this.section('about', t('aboutTitle')))
    this.refresh('map', 'chart', 'table', 'coverage', 'about')
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
      readable.map((r) => h('option', { value: r.code, selected: r.code === this.query.region }, r.kind === 'country' ? countryName(r.code) : r.name)))
    const from = h('input', { id: 'q-from', name: 'from', type: 'month', value: this.query.from, required: true, pattern: '\\d{4}-\\d{2}' })
    const to = h('input', { id: 'q-to', name: 'to', type: 'month', value: this.query.to, required: true, pattern: '\\d{4}-\\d{2}' })
    const dim = h('select', { id: 'q-dim', name: 'dim' },
      h('option', { value: '', selected: this.query.dim === '' }, t('none')),
      SERIES_DIMENSIONS.map((d) => h('option', { value: d, selected: d === this.query.dim }, dimensionName(d))))
    const form = h('form', { class: 'query', 'aria-label': t('show') },
      h('div', { class: 'field' }, h('label', { for: 'q-region' }, t('region')), regionSelect),
      h('div', { class: 'field' }, h('label', { for: 'q-from' }, t('from')), from),
      h('div', { class: 'field' }, h('label', { for: 'q-to' }, t('to')), to),
      h('div', { class: 'field' }, h('label', { for: 'q-dim' }, t('dimension')), dim),
      h('button', { type: 'submit' }, t('show')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.query = { region: regionSelect.value, from: from.value, to: to.value, dim: dim.value }
      void this.load()
    })
    return form
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
      return h('figure', { class: 'map' }, regionMap({ members, cells: answer.cells, width: this.width('map', 560) }),
        h('figcaption', { class: 'legend-protected' }, h('span', { class: 'swatch hatch', 'aria-hidden': 'true' }), ` ${t('protectedPrimary')} · `,
          h('span', { class: 'swatch empty', 'aria-hidden': 'true' }), ` ${t('noData')}`))
    })
  }

  private drawSeries (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      if (answer.cells.length === 0) return h('p', { class: 'muted' }, t('nothingToShow'))
      return h('figure', { class: 'chart' }, timeSeries({ dim: this.query.dim || null, cells: answer.cells, periods: monthsBetween(answer.from, answer.to), k: answer.k, width: this.width('chart', 560), label: (d, v) => nameOf(answer, d, v) }))
    })
  }

  private drawTable (): Node | Node[] {
    return this.pending(this.series, (answer) => {
      const rows = answer.cells.slice(0, TABLE_ROWS)
      const byNames = answer.by.map(dimensionName).join(', ')
      const region = this.region()
      const table = h('table', { class: 'answer' },
        h('caption', {}, t('tableCaption', { region: region?.kind === 'country' ? countryName(answer.region) : (region?.name ?? answer.region), from: answer.from, to: answer.to, by: byNames || '—', n: answer.cells.length, k: answer.k })),
        h('thead', {}, h('tr', {}, answer.by.map((d) => h('th', { scope: 'col' }, dimensionName(d))), h('th', { scope: 'col', class: 'num' }, t('count')))),
        h('tbody', {}, rows.map((cell) => h('tr', {},
          answer.by.map((d) => h('td', {}, nameOf(answer, d, cell[d] as string | null))),
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
      h('ul', {}, gaps.slice(0, 60).map((g) => h('li', {}, `${countryName(g.country)} ${g.period}: ${statusLabel(g.status)}`))))
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
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('country')), periods.map((p) => h('th', { scope: 'col' }, p)))),
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

/** A value's name: the hub's (?labels=) while the page is in the language it was asked in, else the page's own. */
function nameOf (answer: Answer, dim: string, value: string | null | undefined): string {
  const named = value && answer.labelsIn === language() ? answer.labels?.[dim]?.[value] : undefined
  return named ?? valueLabel(dim, value)
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
