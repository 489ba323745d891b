// The ministry's view. A steward: who may read its country's data (consents), publishing a month after
// previewing what readers will get, who read it, and its webhook subscriptions. A reporter: its DHIS2
// mapping. Readers appear by their registered names, actions and queries in words.
import type { Session } from './api.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { countryName, dimensionName, formatCount, regionLabel, t, valueLabel } from './i18n.js'
import { tm, type MinistryKey } from './i18n-ministry.js'
import { addMonths, currentMonth } from './months.js'

export interface Consent { reader: string, readerName?: string | null, state: 'pending' | 'granted' | 'refused', k: number | null, release: 'published' | 'live' | null, until: string | null, decidedAt: string | null }
interface AccessEntry { at: string, reader: string | null, readerName?: string | null, action: string, query: unknown, cells: number | null, k: number | null, seq: number }
interface Subscription { id: string, url: string, events: string[], regions: string[] | null, createdAt: string }
interface PreviewCell { [dim: string]: string | number | null, exact: number, released: number | null }
interface Preview { country: string, period: string, by: string[], k: number, disclosure: { ptable: string }, cells: PreviewCell[] }
type Dimensions = Record<string, Record<string, string>>
interface Mapping { dataElements: Dimensions, categoryOptionCombos: Dimensions, attributeOptionCombos?: Dimensions, categories?: Record<string, Dimensions>, orgUnits: Record<string, string> }

type Loaded<T> = { ok: true, value: T } | { ok: false, error: unknown } | null

/** What a partner may do here: decide for its country (steward), push DHIS2 exports (reporter). */
export interface MinistryRoles { steward: boolean, reporter: boolean }

/** Dimensions a DHIS2 id may set (the hub refuses any other, naming it). */
const MAPPABLE = ['recordType', 'conditionGroup', 'condition', 'sex', 'ageBand', 'countryOfOrigin', 'migrationStatus', 'migrationStage', 'encounter',
  'screeningContext', 'screeningConsequence', 'insurance', 'outcome', 'tbOutcome', 'serviceCoverage', 'returnedFrom']
const PREVIEW_DIMENSIONS = ['sex', 'ageBand', 'recordType', 'conditionGroup', 'countryOfOrigin', 'migrationStatus', 'encounter', 'insurance', 'subnationalArea']
const MAPPING_TABLES = ['dataElements', 'categoryOptionCombos', 'attributeOptionCombos'] as const
type MappingTable = typeof MAPPING_TABLES[number]
const TABLE_WORD: Record<MappingTable, MinistryKey> = { dataElements: 'tableDataElements', categoryOptionCombos: 'tableCategoryOptionCombos', attributeOptionCombos: 'tableAttributeOptionCombos' }

interface MappingRow { table: MappingTable, id: string, dim: string, value: string }
interface OrgUnitRow { id: string, area: string }

/** A reader as a steward recognises it: its registered name, with the id beside it. */
function readerLabel (id: string | null, name: string | null | undefined): string {
  if (!id) return '—'
  return name ? tm('readerNamed', { name, id }) : id
}

function periodTypeWord (type: string): string {
  return type === 'quarter' ? tm('periodTypeQuarter') : type === 'year' ? tm('periodTypeYear') : tm('periodTypeMonth')
}

/** A read's query (GET /v1/aggregates parameters, as audited) in words: region, span, breakdown, filters. */
export function readableQuery (query: unknown): string {
  if (typeof query === 'string') return query
  if (!query || typeof query !== 'object') return '—'
  const q = query as Record<string, string | undefined>
  const parts: string[] = []
  if (q.region) parts.push(/^[A-Z]{3}$/.test(q.region) ? countryName(q.region) : regionLabel(q.region, q.region))
  if (q.from && q.to) parts.push(q.from === q.to ? q.from : tm('querySpan', { from: q.from, to: q.to }))
  if (q.periodType && q.periodType !== 'month') parts.push(tm('queryPeriodType', { type: periodTypeWord(q.periodType) }))
  if (q.by) parts.push(tm('queryBy', { dims: q.by.split(',').map(dimensionName).join(', ') }))
  for (const [name, value] of Object.entries(q)) {
    if (['region', 'from', 'to', 'by', 'periodType', 'labels'].includes(name) || value === undefined) continue
    parts.push(tm('queryFilter', { dim: dimensionName(name), values: String(value).split(',').map((v) => valueLabel(name, v)).join(', ') }))
  }
  return parts.join(' · ')
}

function actionWord (action: string): string {
  if (action === 'aggregates.read') return tm('actionRead')
  if (action === 'aggregates.denied') return tm('actionDenied')
  return action
}

function eventWord (event: string): string {
  return event === 'period.published' ? tm('eventPublished') : event === 'period.revised' ? tm('eventRevised') : event
}

function mappingRows (mapping: Mapping | null): { rows: MappingRow[], orgUnits: OrgUnitRow[] } {
  const rows: MappingRow[] = []
  for (const table of MAPPING_TABLES) {
    for (const [id, dims] of Object.entries(mapping?.[table] ?? {})) {
      const entries = Object.entries(dims)
      if (entries.length === 0) rows.push({ table, id, dim: '', value: '' })
      for (const [dim, value] of entries) rows.push({ table, id, dim, value })
    }
  }
  const orgUnits = Object.entries(mapping?.orgUnits ?? {}).map(([id, area]) => ({ id, area }))
  return { rows, orgUnits }
}

export class StewardView {
  private consents: Loaded<Consent[]> = null
  private access: Loaded<AccessEntry[]> = null
  private subscriptions: Loaded<Subscription[]> = null
  private mapping: Loaded<Mapping | null> = null
  private mappingDraft: { rows: MappingRow[], orgUnits: OrgUnitRow[] } | null = null
  private preview: Loaded<Preview> = null
  private previewAsked = { month: addMonths(currentMonth(), -1), by: '' }
  private published = ''
  readonly root = h('div', { class: 'steward' })

  constructor (private readonly session: Session, private readonly country: string | null, private readonly say: (text: string, error?: boolean) => void,
    private readonly roles: MinistryRoles = { steward: true, reporter: false }) {}

  async load (): Promise<void> {
    this.consents = this.access = this.subscriptions = this.mapping = null
    this.mappingDraft = null
    this.draw()
    const loads: Array<Promise<void>> = []
    const into = <T>(path: string, set: (value: Loaded<T>) => void, pick: (body: unknown) => T) => loads.push(this.session.json<unknown>(path)
      .then((r) => set({ ok: true, value: pick(r) }), (error) => set({ ok: false, error })).then(() => this.draw()))
    if (this.roles.steward) {
      into<Consent[]>('/v1/consents', (v) => { this.consents = v }, (r) => (r as { items: Consent[] }).items)
      into<AccessEntry[]>('/v1/access-log?limit=100', (v) => { this.access = v }, (r) => (r as { items: AccessEntry[] }).items)
      into<Subscription[]>('/v1/subscriptions', (v) => { this.subscriptions = v }, (r) => (r as { items: Subscription[] }).items)
    }
    if (this.roles.reporter) {
      // No mapping yet is a 404: an empty form, not an error.
      loads.push(this.session.json<Mapping>('/v1/mappings/dhis2')
        .then((m) => { this.mapping = { ok: true, value: m } }, (error) => { this.mapping = isNotFound(error) ? { ok: true, value: null } : { ok: false, error } })
        .then(() => this.draw()))
    }
    await Promise.all(loads)
  }

  draw (): void {
    replace(this.root,
      h('p', { class: 'muted' }, this.country ? countryName(this.country) : ''),
      this.roles.steward && this.section('consents', t('consentsTitle'), this.drawConsents()),
      this.roles.steward && this.section('publish', t('publishTitle'), this.drawPublish()),
      this.roles.steward && this.section('access', t('accessTitle'), this.drawAccess()),
      this.roles.steward && this.section('subscriptions', tm('subscriptionsTitle'), this.drawSubscriptions()),
      this.roles.reporter && this.section('mapping', tm('mappingTitle'), this.drawMapping()))
  }

  private section (id: string, title: string, body: Node | Node[]): HTMLElement {
    return h('section', { id: `section-${id}`, 'aria-labelledby': `h-${id}`, class: `card card-${id}` }, h('h2', { id: `h-${id}` }, title), body)
  }

  private pending<T> (loaded: Loaded<T>, then: (value: T) => Node | Node[]): Node | Node[] {
    if (loaded === null) return h('p', { class: 'loading' }, t('loading'))
    if (!loaded.ok) return h('p', { class: isNotFound(loaded.error) ? 'muted' : 'problem', role: 'status' }, describe(loaded.error))
    return then(loaded.value)
  }

  private drawConsents (): Node | Node[] {
    return this.pending(this.consents, (items) => {
      if (items.length === 0) return h('p', { class: 'muted' }, t('noConsents'))
      return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('consentsTitle') },
        h('table', { class: 'consents' },
          h('thead', {}, h('tr', {}, [t('reader'), t('state'), 'k', t('release'), t('until'), t('decidedAt'), t('actions')].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((c) => this.consentRow(c)))))
    })
  }

  private consentRow (c: Consent): HTMLElement {
    const id = c.reader.replace(/[^\w-]/g, '_')
    const who = c.readerName ?? c.reader
    const k = h('input', { id: `k-${id}`, type: 'number', min: 3, max: 1000, value: c.k ?? '', inputmode: 'numeric', 'aria-label': `k (${who})`, class: 'narrow' })
    const release = h('select', { id: `release-${id}`, 'aria-label': `${t('release')} (${who})` },
      h('option', { value: 'published', selected: c.release !== 'live' }, t('releasePublished')),
      h('option', { value: 'live', selected: c.release === 'live' }, t('releaseLive')))
    const until = h('input', { id: `until-${id}`, type: 'date', value: c.until ?? '', 'aria-label': `${t('until')} (${who})` })
    const decide = (decision: 'grant' | 'refuse') => async () => {
      const body: Record<string, unknown> = { decision }
      if (decision === 'grant') {
        if (k.value) body.k = Number(k.value)
        body.release = release.value
        if (until.value) body.until = until.value
      }
      try {
        await this.session.json(`/v1/consents/${encodeURIComponent(c.reader)}`, { method: 'PUT', json: body })
        this.say(t('consentSaved', { reader: who, state: decision === 'grant' ? t('granted') : t('refused') }))
        await this.load()
      } catch (err) {
        this.say(describe(err), true)
      }
    }
    return h('tr', { 'data-reader': c.reader },
      h('th', { scope: 'row' }, c.readerName ? h('span', {}, c.readerName, h('br'), h('small', { class: 'muted' }, c.reader)) : c.reader),
      h('td', {}, h('span', { class: `badge ${c.state}` }, t(c.state))),
      h('td', {}, k), h('td', {}, release), h('td', {}, until),
      h('td', {}, c.decidedAt ? new Date(c.decidedAt).toLocaleString() : '—'),
      h('td', { class: 'actions' },
        h('button', { type: 'button', onclick: () => { void decide('grant')() } }, t('grant')),
        h('button', { type: 'button', class: 'danger', onclick: () => { void decide('refuse')() } }, t('refuse'))))
  }

  private drawPublish (): Node | Node[] {
    if (!this.country) return h('p', { class: 'muted' }, t('notAvailable'))
    const country = this.country
    const month = h('input', { id: 'publish-month', type: 'month', value: this.previewAsked.month, required: true })
    const by = h('select', { id: 'preview-by' },
      h('option', { value: '', selected: this.previewAsked.by === '' }, tm('previewTotal')),
      PREVIEW_DIMENSIONS.map((d) => h('option', { value: d, selected: d === this.previewAsked.by }, dimensionName(d))))
    // A new month or breakdown makes the shown preview stale: publishing waits for a new one.
    const stale = () => {
      this.previewAsked = { month: month.value, by: by.value }
      if (this.preview === null) return
      const focused = document.activeElement === by ? 'preview-by' : 'publish-month'
      this.preview = null
      this.published = ''
      this.draw()
      document.getElementById(focused)?.focus()
    }
    month.addEventListener('change', stale)
    by.addEventListener('change', stale)
    const form = h('form', { class: 'query', 'aria-label': tm('previewTitle') },
      h('div', { class: 'field' }, h('label', { for: 'publish-month' }, `${t('month')} (${countryName(country)})`), month),
      h('div', { class: 'field' }, h('label', { for: 'preview-by' }, tm('previewBy')), by),
      h('button', { type: 'submit', class: 'secondary' }, tm('preview')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.previewAsked = { month: month.value, by: by.value }
      void this.loadPreview()
    })
    const current = this.preview
    return nodes(form,
      current === null ? h('p', { class: 'muted' }, tm('previewFirst')) : h('div', { class: 'preview' }, this.pending(current, (p) => this.drawPreview(p))),
      this.published !== '' && h('p', { role: 'status' }, this.published))
  }

  private async loadPreview (): Promise<void> {
    const { month, by } = this.previewAsked
    this.preview = null
    this.published = ''
    this.draw()
    try {
      const query = by ? `?by=${encodeURIComponent(by)}` : ''
      const value = await this.session.json<Preview>(`/v1/periods/${encodeURIComponent(this.country!)}/${encodeURIComponent(month)}/preview${query}`)
      this.preview = { ok: true, value }
    } catch (error) {
      this.preview = { ok: false, error }
    }
    this.draw()
  }

  private drawPreview (p: Preview): Node[] {
    const country = countryName(p.country)
    const publish = h('button', { type: 'button', id: 'publish-confirm', onclick: () => { void this.publish(p.period) } }, tm('publishMonth', { country, period: p.period }))
    if (p.cells.length === 0) return [h('p', {}, tm('previewNothing', { country, period: p.period })), publish]
    const dims = p.by
    return [
      h('p', { class: 'muted' }, tm('previewIntro', { country, period: p.period, ptable: p.disclosure.ptable, k: p.k })),
      h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': tm('previewTitle') },
        h('table', { class: 'preview-cells' },
          h('caption', {}, tm('previewTitle')),
          h('thead', {}, h('tr', {}, dims.length ? dims.map((d) => h('th', { scope: 'col' }, dimensionName(d))) : h('th', { scope: 'col' }, tm('previewBy')),
            h('th', { scope: 'col', class: 'num' }, tm('exactCount')), h('th', { scope: 'col', class: 'num' }, tm('releasedCount')))),
          h('tbody', {}, p.cells.map((cell) => h('tr', {},
            dims.length ? dims.map((d) => h('td', {}, valueLabel(d, cell[d] as string | null))) : h('td', {}, tm('previewTotal')),
            h('td', { class: 'num exact' }, formatCount(cell.exact)),
            cell.released === null
              ? h('td', { class: 'num protected released', 'data-suppressed': 'primary' }, tm('withheld'))
              : h('td', { class: 'num released' }, formatCount(cell.released))))))),
      publish
    ]
  }

  private async publish (period: string): Promise<void> {
    try {
      const r = await this.session.json<{ country: string, period: string, revision: number, records: number }>(
        `/v1/periods/${encodeURIComponent(this.country!)}/${encodeURIComponent(period)}/publish`, { method: 'POST' })
      this.published = t('publishedResult', { country: countryName(r.country), period: r.period, revision: r.revision, records: r.records })
      this.say(this.published)
    } catch (err) {
      this.published = describe(err)
      this.say(this.published, true)
    }
    this.draw()
  }

  private drawAccess (): Node | Node[] {
    return this.pending(this.access, (items) => {
      if (items.length === 0) return h('p', { class: 'muted' }, t('noAccess'))
      return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('accessTitle') },
        h('table', { class: 'access' },
          h('thead', {}, h('tr', {}, [t('at'), t('reader'), t('action'), t('query'), t('cells'), 'k'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((e) => h('tr', { 'data-action': e.action },
            h('td', {}, new Date(e.at).toLocaleString()), h('td', {}, readerLabel(e.reader, e.readerName)),
            h('td', {}, h('span', { class: `badge ${e.action === 'aggregates.denied' ? 'refused' : 'granted'}` }, actionWord(e.action))),
            h('td', { class: 'query-text' }, readableQuery(e.query)),
            h('td', { class: 'num' }, e.cells ?? '—'), h('td', { class: 'num' }, e.k ?? '—'))))))
    })
  }

  private drawSubscriptions (): Node | Node[] {
    return this.pending(this.subscriptions, (items) => {
      if (items.length === 0) return h('p', { class: 'muted' }, tm('subscriptionsNone'))
      return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': tm('subscriptionsTitle') },
        h('table', { class: 'subscriptions' },
          h('thead', {}, h('tr', {}, [tm('subscriptionUrl'), tm('subscriptionEvents'), tm('subscriptionRegions'), tm('subscriptionCreated')].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((s) => h('tr', { 'data-subscription': s.id },
            h('td', { class: 'query-text' }, s.url),
            h('td', {}, s.events.map(eventWord).join(', ')),
            h('td', {}, s.regions ? s.regions.map((r) => /^[A-Z]{3}$/.test(r) ? countryName(r) : r).join(', ') : tm('subscriptionAllRegions')),
            h('td', {}, new Date(s.createdAt).toLocaleString()))))))
    })
  }

  private drawMapping (): Node | Node[] {
    return this.pending(this.mapping, (mapping) => {
      this.mappingDraft ??= mappingRows(mapping)
      const draft = this.mappingDraft
      const categories = Object.keys(mapping?.categories ?? {}).length
      const dimOptions = (selected: string) => [h('option', { value: '', selected: selected === '' }, tm('mappingNothing')),
        ...MAPPABLE.map((d) => h('option', { value: d, selected: d === selected }, `${dimensionName(d)} (${d})`))]
      const rows = draft.rows.map((row, i) => {
        const n = i + 1
        const table = h('select', { id: `map-table-${n}`, 'aria-label': `${tm('mappingTable')} ${n}`, onchange: (e: Event) => { row.table = (e.target as HTMLSelectElement).value as MappingTable } },
          MAPPING_TABLES.map((tb) => h('option', { value: tb, selected: tb === row.table }, tm(TABLE_WORD[tb]))))
        const id = h('input', { id: `map-id-${n}`, value: row.id, spellcheck: 'false', 'aria-label': `${tm('mappingId')} ${n}`, oninput: (e: Event) => { row.id = (e.target as HTMLInputElement).value.trim() } })
        const dim = h('select', { id: `map-dim-${n}`, 'aria-label': `${tm('mappingDimension')} ${n}`, onchange: (e: Event) => { row.dim = (e.target as HTMLSelectElement).value } }, dimOptions(row.dim))
        const value = h('input', { id: `map-value-${n}`, value: row.value, spellcheck: 'false', 'aria-label': `${tm('mappingValue')} ${n}`, oninput: (e: Event) => { row.value = (e.target as HTMLInputElement).value.trim() } })
        const remove = h('button', { type: 'button', class: 'link', 'aria-label': tm('mappingRemoveRow', { n }), onclick: () => { draft.rows.splice(i, 1); this.draw() } }, tm('mappingRemove'))
        return h('tr', {}, h('td', {}, table), h('td', {}, id), h('td', {}, dim), h('td', {}, value), h('td', {}, remove))
      })
      const units = draft.orgUnits.map((unit, i) => {
        const n = i + 1
        return h('tr', {},
          h('td', {}, h('input', { id: `map-ou-${n}`, value: unit.id, spellcheck: 'false', 'aria-label': `${tm('mappingOrgUnit')} ${n}`, oninput: (e: Event) => { unit.id = (e.target as HTMLInputElement).value.trim() } })),
          h('td', {}, h('input', { id: `map-area-${n}`, value: unit.area, spellcheck: 'false', 'aria-label': `${tm('mappingArea')} ${n}`, oninput: (e: Event) => { unit.area = (e.target as HTMLInputElement).value.trim() } })),
          h('td', {}, h('button', { type: 'button', class: 'link', 'aria-label': `${tm('mappingRemove')}: ${tm('mappingOrgUnit')} ${n}`, onclick: () => { draft.orgUnits.splice(i, 1); this.draw() } }, tm('mappingRemove'))))
      })
      const form = h('form', { class: 'mapping', 'aria-labelledby': 'h-mapping' },
        h('p', { class: 'muted' }, tm('mappingIntro')),
        mapping === null && h('p', {}, tm('mappingNone')),
        h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, [tm('mappingTable'), tm('mappingId'), tm('mappingDimension'), tm('mappingValue'), ''].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, rows))),
        h('button', { type: 'button', class: 'secondary', id: 'map-add', onclick: () => { draft.rows.push({ table: 'dataElements', id: '', dim: '', value: '' }); this.draw(); document.getElementById(`map-id-${draft.rows.length}`)?.focus() } }, tm('mappingAddRow')),
        h('h3', {}, tm('mappingOrgUnits')),
        h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, [tm('mappingOrgUnit'), tm('mappingArea'), ''].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, units))),
        h('button', { type: 'button', class: 'secondary', id: 'map-add-ou', onclick: () => { draft.orgUnits.push({ id: '', area: '' }); this.draw(); document.getElementById(`map-ou-${draft.orgUnits.length}`)?.focus() } }, tm('mappingAddOrgUnit')),
        categories > 0 && h('p', { class: 'muted' }, tm('mappingCategoriesKept', { n: categories })),
        h('p', {}, h('button', { type: 'submit' }, tm('mappingSave'))))
      form.addEventListener('submit', (event) => {
        event.preventDefault()
        void this.saveMapping(mapping)
      })
      return form
    })
  }

  private async saveMapping (loaded: Mapping | null): Promise<void> {
    const draft = this.mappingDraft!
    const body: Mapping = { dataElements: {}, categoryOptionCombos: {}, orgUnits: {} }
    for (const [i, row] of draft.rows.entries()) {
      if (!row.id && !row.value) continue
      if (!row.id || (row.dim !== '' && !row.value)) {
        this.say(tm('mappingIncomplete', { n: i + 1 }), true)
        return
      }
      const table = (body[row.table] ??= {})
      const entry = (table[row.id] ??= {})
      if (row.dim) entry[row.dim] = row.value
    }
    for (const unit of draft.orgUnits) if (unit.id) body.orgUnits[unit.id] = unit.area
    if (loaded?.categories) body.categories = loaded.categories
    try {
      await this.session.json('/v1/mappings/dhis2', { method: 'PUT', json: body })
      const ids = MAPPING_TABLES.reduce((n, tb) => n + Object.keys(body[tb] ?? {}).length, 0) + Object.keys(body.orgUnits).length
      this.mapping = { ok: true, value: body }
      this.mappingDraft = mappingRows(body)
      this.draw()
      this.say(tm('mappingSaved', { n: ids }))
    } catch (err) {
      this.say(describe(err), true)
    }
  }
}
