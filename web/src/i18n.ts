// The page's languages: one file per language in web/src/i18n/ (its name, its locale, every message, and the
// country names that differ from i18n-iso-countries'), gathered by web/build.ts. A new language is one file.
// Names of dimensions and of their codes come from the hub's labels catalog (GET /v1/schemas/labels/…).
import countries from 'i18n-iso-countries'
import enCountries from 'i18n-iso-countries/langs/en.json' with { type: 'json' }
import ruCountries from 'i18n-iso-countries/langs/ru.json' with { type: 'json' }
import LANGUAGES from 'mhx:languages'
import type EN from './i18n/en.json'

countries.registerLocale(enCountries)
countries.registerLocale(ruCountries)

export type MessageKey = keyof typeof EN.messages
export type Lang = string

/** A language file (web/src/i18n/<code>.json). */
export interface LanguageFile {
  name: string
  locale: string
  messages: Record<MessageKey, string>
  /** Country names (alpha-3) where i18n-iso-countries differs from how the country's government and the UN write it. */
  countries: Record<string, string>
  /** Names of the hub's regions (code → name) where the hub's own (English) name should not show. */
  regions: Record<string, string>
}

/** The hub's labels catalog (schemas/labels): names of the dimensions and of their enumerated codes. */
export interface LabelCatalog {
  dimensions: Record<string, Record<string, string>>
  special: Record<string, Record<string, string>>
  codes: Record<string, Record<string, Record<string, string>>>
}

const FILES = LANGUAGES as Record<string, LanguageFile>
const FALLBACK = 'en'
let current: Lang = FALLBACK
let catalog: LabelCatalog | null = null

export function languages (): Array<{ code: Lang, name: string }> {
  return Object.entries(FILES).map(([code, file]) => ({ code, name: file.name }))
}
export function language (): Lang { return current }
export function setLanguage (lang: Lang): void {
  current = FILES[lang] ? lang : FALLBACK
  document.documentElement.lang = current
}
/** The language a browser asks for, if the page has it. */
export function preferredLanguage (asked: readonly string[]): Lang {
  for (const tag of asked) {
    const code = tag.toLowerCase().split('-')[0]
    if (FILES[code]) return code
  }
  return FALLBACK
}

export function t (key: MessageKey, vars: Record<string, string | number> = {}): string {
  const template = FILES[current].messages[key] ?? FILES[FALLBACK].messages[key]
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`))
}

/** A sub-national area of the hub's catalog (named in English only). */
export interface Area { code: string, country: string, name: string }
let areas: Area[] = []
export function setAreas (list: Area[]): void { areas = list }
export function subnationalAreas (): Area[] { return areas }

export function setLabels (labels: LabelCatalog): void {
  catalog = labels
}
export function labelCatalog (): LabelCatalog | null {
  return catalog
}

/** A name from the catalog in the current language, else in English (a language the catalog lacks). */
function named (names: Record<string, string> | undefined): string | undefined {
  return names?.[current] ?? names?.[FALLBACK]
}

/** A text the hub gives in several languages ({en, ru}): the current one, else English. */
export function localized (text: Record<string, string>): string {
  return named(text) ?? Object.values(text)[0] ?? ''
}

export function dimensionName (dim: string): string {
  if (dim === 'period') return t('period')
  return named(catalog?.dimensions[dim]) ?? dim
}

/** A country's name in the current language (alpha-3 in; the code itself when nobody knows it). */
export function countryName (code: string): string {
  return FILES[current].countries[code] ?? countries.getName(code, current) ?? countries.getName(code, FALLBACK) ?? code
}

/** A region's name: the language file's, else the hub's. */
export function regionLabel (code: string, hubName: string): string {
  return FILES[current].regions?.[code] ?? hubName
}

export function alpha3OfNumeric (numeric: string | number): string | undefined {
  return countries.numericToAlpha3(String(numeric).padStart(3, '0'))
}

export function alpha3Codes (): string[] {
  return Object.keys(countries.getAlpha3Codes())
}

const COUNTRY_CODED = new Set(['country', 'countryOfOrigin', 'returnedFrom'])

/** A value of a dimension as a reader should see it: countries by name, codes by the catalog's name, absent as a dash. */
export function valueLabel (dim: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === '_Z') return '—'
  if (dim === 'period') return formatPeriod(value)
  if (COUNTRY_CODED.has(dim) && /^[A-Z]{3}$/.test(value)) return countryName(value)
  if (dim === 'subnationalArea') return areas.find((a) => a.code === value)?.name ?? value
  return named(catalog?.codes[dim]?.[value]) ?? named(catalog?.special[value]) ?? value
}

export function formatCount (n: number): string {
  return n.toLocaleString(FILES[current].locale)
}

/** A period label (2026-03, 2026-Q1, 2026) as a reader writes it: "Mar 2026", "Q1 2026" / "март 2026", "I кв. 2026". */
export function formatPeriod (label: string): string {
  const quarter = /^(\d{4})-Q([1-4])$/.exec(label)
  if (quarter) return t('quarterLabel', { q: t('quarterNumerals').split(' ')[Number(quarter[2]) - 1], year: quarter[1] })
  const month = /^(\d{4})-(\d{2})$/.exec(label)
  if (month) {
    return new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1))
      .toLocaleDateString(FILES[current].locale, { month: 'short', year: 'numeric', timeZone: 'UTC' })
  }
  return label
}

export function formatNumber (n: number, digits: number, fixed = true): string {
  return n.toLocaleString(FILES[current].locale, { minimumFractionDigits: fixed ? digits : 0, maximumFractionDigits: digits })
}
