// The map and the time series, drawn with Observable Plot. A protected count is never drawn as a zero:
// on the map its country is hatched, on the chart it is a dashed range from 0 to k ("somewhere below k").
import * as Plot from '@observablehq/plot'
import { feature } from 'topojson-client'
import type { Feature, FeatureCollection, Geometry } from 'geojson'
import type { GeometryCollection, Topology } from 'topojson-specification'
import world from 'world-atlas/countries-110m.json' with { type: 'json' }
import { alpha3OfNumeric, countryName, formatCount, formatPeriod, t } from './i18n.js'
import type { Cell, SeriesPoint } from './periods.js'

export type { Cell }

type Country = Feature<Geometry, { name: string }> & { code?: string }

let countriesCache: Country[] | null = null
function countries (): Country[] {
  if (!countriesCache) {
    const topology = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>
    const collection = feature(topology, topology.objects.countries) as FeatureCollection<Geometry, { name: string }>
    countriesCache = collection.features.map((f) => Object.assign(f, { code: f.id === undefined ? undefined : alpha3OfNumeric(f.id) }))
  }
  return countriesCache
}

/** The pattern protected shapes are filled with (one hidden SVG in the page; url(#…) works across SVGs). */
export function hatchDefs (): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('width', '0')
  svg.setAttribute('height', '0')
  svg.setAttribute('aria-hidden', 'true')
  svg.style.position = 'absolute'
  svg.innerHTML = '<defs><pattern id="mhx-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    + '<rect width="6" height="6" fill="#f1f1f1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#6b6b6b" stroke-width="2"/></pattern></defs>'
  return svg
}

export interface MapInput {
  members: string[]
  cells: Cell[]
  width: number
  /** Why a country without a cell has none, where it is not "no records" (not reported, not published). */
  missing?: (code: string) => string | undefined
}

export function regionMap ({ members, cells, width, missing }: MapInput): Element {
  const byCode = new Map(cells.map((c) => [String(c.country), c]))
  const all = countries()
  const inRegion = all.filter((f) => f.code && members.includes(f.code))
  if (inRegion.length === 0) return document.createTextNode(t('nothingToShow')) as unknown as Element
  const counted = inRegion.filter((f) => typeof byCode.get(f.code!)?.count === 'number')
  const protectedOnes = inRegion.filter((f) => byCode.get(f.code!)?.suppressed)
  const empty = inRegion.filter((f) => !byCode.has(f.code!))
  const label = (f: Country) => {
    const cell = byCode.get(f.code!)
    const what = cell === undefined ? (missing?.(f.code!) ?? t('noData')) : cell.count === null ? t('protectedPrimary') : `${formatCount(cell.count)} ${t('records')}`
    return `${countryName(f.code!)}: ${what}`
  }
  const height = Math.round(Math.min(520, Math.max(280, width * 0.62)))
  // Counts are drawn as circles whose area is the count, never as shades: a shade reads as a rate (and a
  // populous country as a hot spot). Rates are shaded in the indicator view.
  const largest = Math.max(1, ...counted.map((f) => byCode.get(f.code!)!.count as number))
  return Plot.plot({
    width,
    height,
    projection: { type: 'conic-equal-area', domain: { type: 'FeatureCollection', features: inRegion }, inset: 12 },
    r: { type: 'sqrt', domain: [0, largest], range: [0, Math.max(14, Math.min(36, width / 18))] },
    ariaLabel: t('mapTitle'),
    marks: [
      Plot.geo(all.filter((f) => !inRegion.includes(f)), { fill: '#eceae4', stroke: '#ffffff', strokeWidth: 0.6, clip: 'frame', ariaHidden: 'true' }),
      Plot.geo(empty, { fill: '#ffffff', stroke: '#767676', strokeWidth: 0.8, title: label, className: 'mhx-country-empty' }),
      Plot.geo(counted, { fill: '#f4f3ef', stroke: '#333333', strokeWidth: 0.8, title: label, className: 'mhx-country-count' }),
      Plot.geo(protectedOnes, { fill: 'url(#mhx-hatch)', stroke: '#333333', strokeWidth: 0.8, title: label, className: 'mhx-country-protected' }),
      Plot.dot(counted, Plot.centroid({ r: (f: Country) => byCode.get(f.code!)!.count, fill: '#0072B2', fillOpacity: 0.75, stroke: '#ffffff', strokeWidth: 1.5, title: label, className: 'mhx-count-symbol' })),
      Plot.text(inRegion, Plot.centroid({ text: (f: Country) => countryName(f.code!), fill: '#111111', stroke: '#ffffff', strokeWidth: 3, fontSize: 11, dy: -4, className: 'mhx-country-name' }))
    ]
  })
}

/**
 * Twelve colours that stay apart for the common colour-vision deficiencies (Paul Tol's "muted" set, with
 * Okabe and Ito's orange and blue, and black); every series also has its own marker and, past twelve, its own
 * dash, so no series is told apart by colour alone.
 */
export const PALETTE = ['#332288', '#117733', '#44AA99', '#88CCEE', '#DDCC77', '#CC6677', '#AA4499', '#882255', '#999933', '#E69F00', '#0072B2', '#000000'] as const
const SYMBOLS = ['circle', 'square', 'triangle', 'diamond', 'cross', 'times'] as const
const DASHES = ['none', '6,3', '2,3'] as const

export interface SeriesStyle { colour: string, symbol: typeof SYMBOLS[number], dash: string }

/** The look of the i-th series of a chart (and of its legend entry). */
export function seriesStyle (i: number): SeriesStyle {
  return { colour: PALETTE[i % PALETTE.length], symbol: SYMBOLS[i % SYMBOLS.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] }
}

const SYMBOL_PATHS: Record<SeriesStyle['symbol'], string> = {
  circle: '<circle cx="7" cy="7" r="4"/>',
  square: '<rect x="3.5" y="3.5" width="7" height="7"/>',
  triangle: '<path d="M7 2.5 L11.5 10.5 L2.5 10.5 Z"/>',
  diamond: '<path d="M7 2 L12 7 L7 12 L2 7 Z"/>',
  cross: '<path d="M5.5 2.5h3v3h3v3h-3v3h-3v-3h-3v-3h3z"/>',
  times: '<path d="M3 5l2-2 2 2 2-2 2 2-2 2 2 2-2 2-2-2-2 2-2-2 2-2z"/>'
}

/** A legend naming every series with its colour, marker and dash (HTML: read out as a list). */
export function seriesLegend (names: readonly string[], label: string): HTMLElement {
  const list = document.createElement('ul')
  list.className = 'series-legend'
  list.setAttribute('aria-label', label)
  names.forEach((name, i) => {
    const style = seriesStyle(i)
    const item = document.createElement('li')
    item.innerHTML = `<svg width="30" height="14" viewBox="0 0 30 14" aria-hidden="true"><line x1="0" y1="7" x2="30" y2="7" stroke="${style.colour}" stroke-width="2.5"${style.dash === 'none' ? '' : ` stroke-dasharray="${style.dash}"`}/>`
      + `<g transform="translate(8 0)" fill="${style.colour}" stroke="#333333" stroke-width="0.8">${SYMBOL_PATHS[style.symbol]}</g></svg>`
    item.append(document.createTextNode(name))
    list.append(item)
  })
  return list
}

export interface SeriesInput {
  points: readonly SeriesPoint[]
  groups: readonly string[]
  periods: readonly string[]
  k: number
  width: number
  /** A point in words (tooltips); the chart's table says the same. */
  describe: (point: SeriesPoint) => string
  ariaLabel: string
}

/**
 * The time series: a line per group, broken where a period is a gap (a grey band marked with its status,
 * never a zero), a dashed range from 0 to k where a count is withheld, hollow markers where a value rests on
 * incomplete coverage.
 */
export function timeSeries ({ points, groups, periods, k, width, describe, ariaLabel }: SeriesInput): Element {
  const gaps = periods.filter((p) => points.some((q) => q.period === p && q.kind === 'gap') && points.filter((q) => q.period === p).every((q) => q.kind === 'gap'))
  const step = width / Math.max(periods.length, 1)
  const marks: Plot.Markish[] = [
    Plot.ruleY([0], { ariaHidden: 'true' }),
    Plot.ruleX(gaps, { x: (p: string) => p, stroke: '#e3e3e3', strokeWidth: Math.max(8, Math.min(40, step * 0.6)), className: 'mhx-gap', title: (p: string) => describe(points.find((q) => q.period === p)!) }),
    Plot.text(gaps, { x: (p: string) => p, frameAnchor: 'top', dy: 4, text: () => '?', fill: '#555555', fontSize: 14, fontWeight: 'bold', ariaHidden: 'true' })
  ]
  groups.forEach((group, i) => {
    const style = seriesStyle(i)
    const own = points.filter((p) => p.group === group)
    const valued = own.filter((p) => p.kind === 'count' || p.kind === 'zero')
    marks.push(
      Plot.ruleX(own.filter((p) => p.kind === 'protected'), { x: 'period', y1: 0, y2: k, stroke: style.colour, strokeDasharray: '3,3', strokeWidth: 2, title: describe, className: 'mhx-protected-range' }),
      // A gap or a withheld count breaks the line (y undefined), so nothing is drawn through it.
      Plot.lineY(own, { x: 'period', y: (p: SeriesPoint) => p.kind === 'count' || p.kind === 'zero' ? p.count : undefined, stroke: style.colour, strokeWidth: 2.5, strokeDasharray: style.dash === 'none' ? undefined : style.dash, className: 'mhx-series', ariaHidden: 'true' }),
      Plot.dot(valued, { x: 'period', y: 'count', symbol: style.symbol, r: 4, fill: (p: SeriesPoint) => p.missing.length > 0 ? '#ffffff' : style.colour, stroke: (p: SeriesPoint) => p.missing.length > 0 ? style.colour : '#333333', strokeWidth: 1.5, title: describe, className: 'mhx-points' })
    )
  })
  return Plot.plot({
    width,
    height: Math.round(Math.min(420, Math.max(260, width * 0.5))),
    marginLeft: 48,
    x: { type: 'point', domain: periods, label: null, tickRotate: periods.length > 8 ? -40 : 0, tickFormat: formatPeriod },
    y: { grid: true, label: t('records'), zero: true },
    ariaLabel,
    marks
  })
}

type Shaded = { [dim: string]: unknown, country: string, value: number | null, lower: number | null, upper: number | null, status: string }

export interface IndicatorMapInput { members: string[], cells: Shaded[], width: number, unit: string, label: (code: string) => string, ariaLabel: string }

/** The region's countries shaded by the indicator's value: withheld ones hatched, those without a denominator dotted. */
export function indicatorMap ({ members, cells, width, unit, label, ariaLabel }: IndicatorMapInput): Element {
  const byCode = new Map(cells.map((c) => [c.country, c]))
  const all = countries()
  const inRegion = all.filter((f) => f.code && members.includes(f.code))
  if (inRegion.length === 0) return document.createTextNode(t('nothingToShow')) as unknown as Element
  const status = (f: Country) => byCode.get(f.code!)?.status
  const released = inRegion.filter((f) => status(f) === 'released' && typeof byCode.get(f.code!)?.value === 'number')
  const withheld = inRegion.filter((f) => status(f) === 'withheld' || (status(f) === 'released' && byCode.get(f.code!)?.value === null))
  const noDenominator = inRegion.filter((f) => status(f) === 'no-denominator')
  const empty = inRegion.filter((f) => !byCode.has(f.code!))
  const title = (f: Country) => label(f.code!)
  return Plot.plot({
    width,
    height: Math.round(Math.min(520, Math.max(280, width * 0.62))),
    projection: { type: 'conic-equal-area', domain: { type: 'FeatureCollection', features: inRegion }, inset: 12 },
    color: { type: 'linear', scheme: 'blues', legend: true, label: unit, zero: true },
    ariaLabel,
    marks: [
      Plot.geo(all.filter((f) => !inRegion.includes(f)), { fill: '#eceae4', stroke: '#ffffff', strokeWidth: 0.6, clip: 'frame', ariaHidden: 'true' }),
      Plot.geo(empty, { fill: '#ffffff', stroke: '#767676', strokeWidth: 0.8, title, className: 'mhx-country-empty' }),
      Plot.geo(released, { fill: (f: Country) => byCode.get(f.code!)!.value, stroke: '#333333', strokeWidth: 0.8, title, className: 'mhx-country-rate' }),
      Plot.geo(withheld, { fill: 'url(#mhx-hatch)', stroke: '#333333', strokeWidth: 0.8, title, className: 'mhx-country-withheld' }),
      Plot.geo(noDenominator, { fill: '#ffffff', stroke: '#333333', strokeWidth: 1.2, strokeDasharray: '2,2', title, className: 'mhx-country-nodenominator' }),
      Plot.text(inRegion, Plot.centroid({ text: (f: Country) => countryName(f.code!), fill: '#111111', stroke: '#ffffff', strokeWidth: 3, fontSize: 11, className: 'mhx-country-name' }))
    ]
  })
}

export interface IndicatorSeriesInput {
  points: readonly SeriesPoint[]
  cells: ReadonlyMap<string, { value: number | null, lower: number | null, upper: number | null, status: string }>
  periods: readonly string[]
  width: number
  unit: string
  reference: number | null
  describe: (point: SeriesPoint) => string
  ariaLabel: string
}

/** The indicator over time: its value with the 95 % interval as a bar, gaps as grey bands, the reference as a dashed line. */
export function indicatorSeries ({ points, cells, periods, width, unit, reference, describe, ariaLabel }: IndicatorSeriesInput): Element {
  const style = seriesStyle(0)
  const gaps = points.filter((p) => p.kind === 'gap')
  const released = points.filter((p) => p.kind === 'count')
  const withheld = points.filter((p) => p.kind === 'protected' || p.kind === 'zero')
  const cell = (p: SeriesPoint) => cells.get(p.period)
  const step = width / Math.max(periods.length, 1)
  return Plot.plot({
    width,
    height: Math.round(Math.min(420, Math.max(260, width * 0.5))),
    marginLeft: 56,
    x: { type: 'point', domain: periods, label: null, tickRotate: periods.length > 8 ? -40 : 0, tickFormat: formatPeriod },
    y: { grid: true, label: unit, zero: true },
    ariaLabel,
    marks: [
      Plot.ruleY([0], { ariaHidden: 'true' }),
      Plot.ruleX(gaps, { x: 'period', stroke: '#e3e3e3', strokeWidth: Math.max(8, Math.min(40, step * 0.6)), title: describe, className: 'mhx-gap' }),
      Plot.ruleX(withheld, { x: 'period', stroke: '#e3e3e3', strokeWidth: Math.max(8, Math.min(40, step * 0.6)), strokeDasharray: '4,3', title: describe, className: 'mhx-withheld' }),
      reference === null ? null : Plot.ruleY([reference], { stroke: '#a4262c', strokeDasharray: '6,4', strokeWidth: 1.5, className: 'mhx-reference', ariaHidden: 'true' }),
      Plot.ruleX(released, { x: 'period', y1: (p: SeriesPoint) => cell(p)?.lower, y2: (p: SeriesPoint) => cell(p)?.upper, stroke: '#88CCEE', strokeWidth: 6, className: 'mhx-interval', ariaHidden: 'true' }),
      Plot.lineY(points, { x: 'period', y: (p: SeriesPoint) => p.kind === 'count' ? p.count : undefined, stroke: style.colour, strokeWidth: 2.5, className: 'mhx-series', ariaHidden: 'true' }),
      Plot.dot(released, { x: 'period', y: 'count', r: 4, fill: style.colour, stroke: '#ffffff', title: describe, className: 'mhx-points' })
    ]
  })
}
