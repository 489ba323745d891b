// The map and the time series, drawn with Observable Plot. A protected count is never drawn as a zero:
// on the map its country is hatched, on the chart it is a dashed range from 0 to k ("somewhere below k").
import * as Plot from '@observablehq/plot'
import { feature } from 'topojson-client'
import type { Feature, FeatureCollection, Geometry } from 'geojson'
import type { GeometryCollection, Topology } from 'topojson-specification'
import world from 'world-atlas/countries-110m.json' with { type: 'json' }
import { alpha3OfNumeric, countryName, dimensionName, formatCount, t, valueLabel } from './i18n.js'

export interface Cell { [dim: string]: string | number | null | undefined, count: number | null, suppressed?: 'primary' | null }

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

export interface MapInput { members: string[], cells: Cell[], width: number }

export function regionMap ({ members, cells, width }: MapInput): Element {
  const byCode = new Map(cells.map((c) => [String(c.country), c]))
  const all = countries()
  const inRegion = all.filter((f) => f.code && members.includes(f.code))
  if (inRegion.length === 0) return document.createTextNode(t('nothingToShow')) as unknown as Element
  const counted = inRegion.filter((f) => typeof byCode.get(f.code!)?.count === 'number')
  const protectedOnes = inRegion.filter((f) => byCode.get(f.code!)?.suppressed)
  const empty = inRegion.filter((f) => !byCode.has(f.code!))
  const label = (f: Country) => {
    const cell = byCode.get(f.code!)
    const what = cell === undefined ? t('noData') : cell.count === null ? t('protectedPrimary') : `${formatCount(cell.count)} ${t('records')}`
    return `${countryName(f.code!)}: ${what}`
  }
  const height = Math.round(Math.min(520, Math.max(280, width * 0.62)))
  const plot = Plot.plot({
    width,
    height,
    projection: { type: 'conic-equal-area', domain: { type: 'FeatureCollection', features: inRegion }, inset: 12 },
    color: { type: 'linear', scheme: 'blues', legend: true, label: t('records'), zero: true },
    ariaLabel: t('mapTitle'),
    marks: [
      Plot.geo(all.filter((f) => !inRegion.includes(f)), { fill: '#eceae4', stroke: '#ffffff', strokeWidth: 0.6, clip: 'frame', ariaHidden: 'true' }),
      Plot.geo(empty, { fill: '#ffffff', stroke: '#767676', strokeWidth: 0.8, title: label, className: 'mhx-country-empty' }),
      Plot.geo(counted, { fill: (f: Country) => byCode.get(f.code!)!.count, stroke: '#333333', strokeWidth: 0.8, title: label, className: 'mhx-country-count' }),
      Plot.geo(protectedOnes, { fill: 'url(#mhx-hatch)', stroke: '#333333', strokeWidth: 0.8, title: label, className: 'mhx-country-protected' }),
      Plot.text(inRegion, Plot.centroid({ text: (f: Country) => countryName(f.code!), fill: '#111111', stroke: '#ffffff', strokeWidth: 3, fontSize: 11, className: 'mhx-country-name' }))
    ]
  })
  return plot
}

export interface SeriesInput { dim: string | null, cells: Cell[], periods: string[], k: number, width: number, label?: (dim: string, value: string) => string }

export function timeSeries ({ dim, cells, periods, k, width, label = valueLabel }: SeriesInput): Element {
  const key = (c: Cell) => dim ? String(c[dim] ?? '_Z') : 'total'
  const groups = [...new Set(cells.map(key))]
  // True zeros are not listed by the API: a month missing from a series had no records.
  const seen = new Map(cells.map((c) => [`${key(c)}|${String(c.period)}`, c]))
  const points: Array<{ group: string, period: string, count: number | null, suppressed: boolean }> = []
  for (const group of groups) {
    for (const period of periods) {
      const cell = seen.get(`${group}|${period}`)
      points.push({ group, period, count: cell ? cell.count : 0, suppressed: Boolean(cell?.suppressed) })
    }
  }
  const name = (g: string) => dim ? label(dim, g) : t('records')
  const tip = (p: typeof points[number]) => `${name(p.group)}, ${p.period}: ${p.count === null ? t('protectedPrimary') : formatCount(p.count)}`
  return Plot.plot({
    width,
    height: Math.round(Math.min(420, Math.max(260, width * 0.5))),
    marginLeft: 48,
    x: { type: 'point', domain: periods, label: null, tickRotate: periods.length > 8 ? -40 : 0 },
    y: { grid: true, label: t('records'), zero: true },
    color: { legend: groups.length > 1, domain: groups, tickFormat: name, scheme: 'observable10' },
    ariaLabel: dim ? t('chartTitle', { dim: dimensionName(dim) }) : t('chartTotal'),
    marks: [
      Plot.ruleY([0], { ariaHidden: 'true' }),
      Plot.ruleX(points.filter((p) => p.suppressed), { x: 'period', y1: 0, y2: k, stroke: 'group', strokeDasharray: '3,3', strokeWidth: 2, title: tip, className: 'mhx-protected-range' }),
      Plot.lineY(points, { x: 'period', y: 'count', stroke: 'group', z: 'group', strokeWidth: 2, className: 'mhx-series', ariaHidden: 'true' }),
      Plot.dot(points.filter((p) => p.count !== null), { x: 'period', y: 'count', fill: 'group', r: 3, title: tip, className: 'mhx-points' })
    ]
  })
}
