// The steward's view (a ministry): who may read its country's data (consents), publishing a month, and who read it.
import type { Session } from './api.js'
import { h, nodes, replace } from './dom.js'
import { describe, isNotFound } from './errors.js'
import { countryName, t } from './i18n.js'
import { addMonths, currentMonth } from './months.js'

export interface Consent { reader: string, state: 'pending' | 'granted' | 'refused', k: number | null, release: 'published' | 'live' | null, until: string | null, decidedAt: string | null }
interface AccessEntry { at: string, reader: string, action: string, query: unknown, cells: number | null, k: number | null, seq: number }

type Loaded<T> = { ok: true, value: T } | { ok: false, error: unknown } | null

export class StewardView {
  private consents: Loaded<Consent[]> = null
  private access: Loaded<AccessEntry[]> = null
  private published = ''
  readonly root = h('div', { class: 'steward' })

  constructor (private readonly session: Session, private readonly country: string | null, private readonly say: (text: string, error?: boolean) => void) {}

  async load (): Promise<void> {
    this.consents = this.access = null
    this.draw()
    await Promise.all([
      this.session.json<{ items: Consent[] }>('/v1/consents').then((r) => { this.consents = { ok: true, value: r.items } }, (error) => { this.consents = { ok: false, error } }).then(() => this.draw()),
      this.session.json<{ items: AccessEntry[] }>('/v1/access-log?limit=100').then((r) => { this.access = { ok: true, value: r.items } }, (error) => { this.access = { ok: false, error } }).then(() => this.draw())
    ])
  }

  draw (): void {
    replace(this.root,
      h('p', { class: 'muted' }, this.country ? countryName(this.country) : ''),
      this.section('consents', t('consentsTitle'), this.drawConsents()),
      this.section('publish', t('publishTitle'), this.drawPublish()),
      this.section('access', t('accessTitle'), this.drawAccess()))
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
    const k = h('input', { id: `k-${id}`, type: 'number', min: 3, max: 1000, value: c.k ?? '', inputmode: 'numeric', 'aria-label': `k (${c.reader})`, class: 'narrow' })
    const release = h('select', { id: `release-${id}`, 'aria-label': `${t('release')} (${c.reader})` },
      h('option', { value: 'published', selected: c.release !== 'live' }, t('releasePublished')),
      h('option', { value: 'live', selected: c.release === 'live' }, t('releaseLive')))
    const until = h('input', { id: `until-${id}`, type: 'date', value: c.until ?? '', 'aria-label': `${t('until')} (${c.reader})` })
    const decide = (decision: 'grant' | 'refuse') => async () => {
      const body: Record<string, unknown> = { decision }
      if (decision === 'grant') {
        if (k.value) body.k = Number(k.value)
        body.release = release.value
        if (until.value) body.until = until.value
      }
      try {
        await this.session.json(`/v1/consents/${encodeURIComponent(c.reader)}`, { method: 'PUT', json: body })
        this.say(t('consentSaved', { reader: c.reader, state: decision === 'grant' ? t('granted') : t('refused') }))
        await this.load()
      } catch (err) {
        this.say(describe(err), true)
      }
    }
    return h('tr', { 'data-reader': c.reader },
      h('th', { scope: 'row' }, c.reader),
      h('td', {}, h('span', { class: `badge ${c.state}` }, t(c.state))),
      h('td', {}, k), h('td', {}, release), h('td', {}, until),
      h('td', {}, c.decidedAt ? new Date(c.decidedAt).toLocaleString() : '—'),
      h('td', { class: 'actions' },
        h('button', { type: 'button', onclick: () => { void decide('grant')() } }, t('grant')),
        h('button', { type: 'button', class: 'danger', onclick: () => { void decide('refuse')() } }, t('refuse'))))
  }

  private drawPublish (): Node | Node[] {
    if (!this.country) return h('p', { class: 'muted' }, t('notAvailable'))
    const month = h('input', { id: 'publish-month', type: 'month', value: addMonths(currentMonth(), -1), required: true })
    const form = h('form', { class: 'query' },
      h('div', { class: 'field' }, h('label', { for: 'publish-month' }, `${t('month')} (${countryName(this.country)})`), month),
      h('button', { type: 'submit' }, t('publish')))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void (async () => {
        try {
          const r = await this.session.json<{ country: string, period: string, revision: number, records: number }>(
            `/v1/periods/${encodeURIComponent(this.country!)}/${encodeURIComponent(month.value)}/publish`, { method: 'POST' })
          this.published = t('publishedResult', { country: countryName(r.country), period: r.period, revision: r.revision, records: r.records })
          this.say(this.published)
        } catch (err) {
          this.published = describe(err)
          this.say(this.published, true)
        }
        this.draw()
      })()
    })
    return nodes(form, this.published !== '' && h('p', { role: 'status' }, this.published))
  }

  private drawAccess (): Node | Node[] {
    return this.pending(this.access, (items) => {
      if (items.length === 0) return h('p', { class: 'muted' }, t('noAccess'))
      return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': t('accessTitle') },
        h('table', {},
          h('thead', {}, h('tr', {}, [t('at'), t('reader'), t('action'), t('query'), t('cells'), 'k'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((e) => h('tr', {},
            h('td', {}, new Date(e.at).toLocaleString()), h('td', {}, e.reader), h('td', {}, e.action),
            h('td', { class: 'query-text' }, typeof e.query === 'string' ? e.query : JSON.stringify(e.query)),
            h('td', { class: 'num' }, e.cells ?? '—'), h('td', { class: 'num' }, e.k ?? '—'))))))
    })
  }
}
