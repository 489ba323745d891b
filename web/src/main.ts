// The dashboard's shell: sign-in, the language switch, the reader and steward views, and one message area.
// Tokens and the imported key live in this module's memory only (no storage, no cookies).
import './style.css'
import { Session, tokenEndpoint, type Me } from './api.js'
import { importPrivateKey } from './auth.js'
import { hatchDefs } from './charts.js'
import { h, replace } from './dom.js'
import { describe } from './errors.js'
import { language, languages, preferredLanguage, setAreas, setLabels, setLanguage, t, type Area, type LabelCatalog } from './i18n.js'
import { tm } from './i18n-ministry.js'
import { IndicatorView } from './indicators.js'
import { ReaderView, type Region } from './reader.js'
import { StewardView } from './steward.js'
import { BulletinView } from './bulletin.js'

const app = document.getElementById('app')!
const messages = h('div', { id: 'messages', class: 'messages' })

let session: Session | null = null
let me: Me | null = null
let reader: ReaderView | null = null
let indicators: IndicatorView | null = null
let steward: StewardView | null = null
let bulletin: BulletinView | null = null
type ViewId = 'reader' | 'indicators' | 'steward' | 'bulletin'
let view: ViewId = 'reader'
// A deep link to /app/bulletin?region=&quarter=&lang= shows the sign-in form first, then the bulletin.
const onBulletin = /\/bulletin\/?$/.test(location.pathname)
const asked = new URLSearchParams(location.search)
/** Why the last sign-in failed (described at each render: a language switch re-says it). */
let signInError: unknown = null
class NoKey extends Error {}
/** The hub's names of dimensions and codes (public): asked for once, while the reader signs in. */
const labelsLoaded = loadLabels()
let partnerDraft = ''

/** One message at a time, read out by screen readers; errors as alerts. */
function say (text: string, error = false): void {
  replace(messages, text
    ? h('div', { class: error ? 'message error' : 'message', role: error ? 'alert' : 'status' },
        h('span', {}, text), h('button', { type: 'button', class: 'link', onclick: () => say('') }, t('dismiss')))
    : null)
}

function isSteward (): boolean {
  return Boolean(me && (me.roles.includes('steward') || me.scopes.includes('data:steward')))
}
function isReader (): boolean {
  return Boolean(me && me.scopes.includes('aggregates:read'))
}
function isReporter (): boolean {
  return Boolean(me && me.scopes.includes('submissions:write'))
}

/** Two languages: a button naming the other one, in its own language; more: a list of them. */
function languageSwitch (): HTMLElement {
  const all = languages()
  if (all.length === 2) {
    const other = all.find((l) => l.code !== language())!
    return h('button', { type: 'button', class: 'secondary lang', lang: other.code, onclick: () => switchTo(other.code) }, other.name)
  }
  const select = h('select', { id: 'language', 'aria-label': t('language'), class: 'lang' },
    all.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === language() }, l.name)))
  select.addEventListener('change', () => switchTo(select.value))
  return select
}

function switchTo (code: string): void {
  setLanguage(code)
  render()
}

function header (): HTMLElement {
  return h('header', { class: 'top' },
    h('a', { href: '#main', class: 'skip' }, t('skip')),
    h('span', { class: 'brand' }, 'mhx'), h('span', { class: 'title' }, t('title')),
    h('span', { class: 'spacer' }),
    me ? h('span', { class: 'who' }, t('signedInAs', { id: me.partner })) : null,
    languageSwitch(),
    session ? h('button', { type: 'button', class: 'secondary', onclick: signOut }, t('signOut')) : null)
}

function signInForm (): HTMLElement {
  const partner = h('input', { id: 'partner', name: 'partner', autocomplete: 'username', required: true, value: partnerDraft, spellcheck: 'false' })
  const file = h('input', { id: 'keyfile', type: 'file', accept: '.jwk,.json,application/json,application/jwk+json' })
  const text = h('textarea', { id: 'keytext', rows: 6, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'key-hint' })
  const submit = h('button', { type: 'submit' }, t('signIn'))
  const form = h('form', { class: 'signin card', 'aria-labelledby': 'h-signin' },
    h('h1', { id: 'h-signin' }, t('signInTitle')),
    h('p', { class: 'muted' }, t('signInIntro')),
    h('div', { class: 'field' }, h('label', { for: 'partner' }, t('partnerId')), partner),
    h('div', { class: 'field' }, h('label', { for: 'keyfile' }, t('privateKeyFile')), file),
    h('div', { class: 'field' }, h('label', { for: 'keytext' }, t('privateKey')), text, h('small', { id: 'key-hint', class: 'muted' }, t('privateKeyHint'))),
    signInError ? h('p', { class: 'problem', role: 'alert' }, signInError instanceof NoKey ? t('errNoKey') : describe(signInError)) : null,
    submit)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const chosen = file.files?.[0]
    const pasted = text.value.trim()
    // The private key is not kept in the page once read.
    text.value = ''
    file.value = ''
    partnerDraft = partner.value.trim()
    submit.disabled = true
    submit.textContent = t('signingIn')
    void (async () => signIn(partnerDraft, pasted || (chosen ? (await chosen.text()).trim() : '')))()
  })
  return form
}

async function signIn (partnerId: string, keyText: string): Promise<void> {
  const started = performance.now()
  try {
    if (!keyText) throw new NoKey()
    const signing = await importPrivateKey(keyText)
    const next = new Session(partnerId, signing, await tokenEndpoint())
    await Promise.all([next.signIn(), labelsLoaded])
    me = await next.json<Me>('/v1/me')
    session = next
    signInError = null
    view = onBulletin && isReader() ? 'bulletin' : isReader() ? 'reader' : 'steward'
    const regions = isReader() ? (await next.json<{ items: Region[] }>('/v1/regions')).items : []
    reader = isReader() ? new ReaderView(next, regions, say) : null
    indicators = isReader() ? new IndicatorView(next, regions) : null
    steward = isSteward() || isReporter() ? new StewardView(next, me.country, say, { steward: isSteward(), reporter: isReporter() }) : null
    bulletin = isReader() ? new BulletinView(next, regions, { region: asked.get('region'), quarter: asked.get('quarter') }) : null
    render()
    await ({ reader, indicators, steward, bulletin })[view]?.load()
    performance.measure('mhx-signin-to-ready', { start: started })
    document.body.dataset.ready = view
  } catch (err) {
    session = null
    me = null
    signInError = err
    render()
  }
}

async function loadLabels (): Promise<void> {
  try {
    const list = await (await fetch('/v1/schemas', { headers: { accept: 'application/json' } })).json() as { items: Array<{ name: string, version: string, href: string }> }
    const newest = (name: string) => list.items.filter((s) => s.name === name).at(-1)
    const read = async <T>(name: string): Promise<T | undefined> => {
      const item = newest(name)
      return item ? await (await fetch(item.href, { headers: { accept: 'application/json' } })).json() as T : undefined
    }
    const [labels, areas] = await Promise.all([read<LabelCatalog>('labels'), read<{ areas: Area[] }>('subnational-areas')])
    if (labels) setLabels(labels)
    if (areas) setAreas(areas.areas)
  } catch {
    // Without the catalog the page names dimensions and codes by their codes: degraded, not broken.
  }
}

function signOut (): void {
  session?.end()
  session = me = reader = indicators = steward = bulletin = null
  say('')
  render()
}

function nav (): HTMLElement | null {
  const views: Array<[ViewId, string]> = []
  if (reader) views.push(['reader', t('readerView')])
  if (indicators) views.push(['indicators', t('indicatorsView')])
  if (steward) views.push(['steward', t('stewardView')])
  if (bulletin) views.push(['bulletin', tm('bulletinForm')])
  if (views.length < 2) return null
  return h('nav', { class: 'views', 'aria-label': t('title') }, views.map(([id, label]) => h('button', {
    type: 'button', class: id === view ? 'tab active' : 'tab', 'aria-current': id === view ? 'page' : null,
    onclick: () => { view = id; render(); void ({ reader, indicators, steward, bulletin })[id]!.load() }
  }, label)))
}

function render (): void {
  const main = h('main', { id: 'main', tabindex: -1 })
  if (!session) {
    main.append(signInForm())
  } else {
    const current = ({ reader, indicators, steward, bulletin })[view]
    const navigation = nav()
    if (navigation) main.append(navigation)
    if (current) {
      main.append(current.root)
      current.draw()
    } else {
      main.append(h('p', { class: 'card' }, t('nothingForRoles')))
    }
  }
  replace(app, header(), messages, main)
}

window.addEventListener('error', (event) => say(describe(event.error ?? event.message), true))
window.addEventListener('unhandledrejection', (event) => say(describe(event.reason), true))
let resizeTimer: ReturnType<typeof setTimeout> | undefined
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer)
  resizeTimer = setTimeout(() => { if (view === 'reader') reader?.resized(); if (view === 'indicators') indicators?.resized() }, 200)
})

document.body.prepend(hatchDefs())
const lang = asked.get('lang')
setLanguage(lang !== null && languages().some((l) => l.code === lang) ? lang : preferredLanguage(navigator.languages ?? [navigator.language]))
render()
