// mhx indicators and mhx denominators (docs/indicators.md): the public catalog, an indicator's values
// behind the reader's grants, and the population figures a steward or the admin sets (one, or a CSV).
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse } from 'csv-parse/sync'
import { aggregateQueryParams } from './aggregates.js'
import { createClient, type HubClient } from './client.js'
import { CliError, list, parseCommand, UsageError, type CliIo } from './io.js'
import { formatTable } from './table.js'

type Values = Record<string, string | boolean | string[] | undefined>
type ClientFor = (values: Values, io: CliIo, usage: string, asAdmin?: boolean) => HubClient
type UrlOf = (values: Values, io: CliIo) => string

const CREDENTIALS = { url: { type: 'string' }, partner: { type: 'string' }, key: { type: 'string' } } as const

export const INDICATORS_USAGE = `usage: mhx indicators list [--json]
       mhx indicators show ID [--json]
       mhx indicators values ID --region R --from YYYY-MM --to YYYY-MM [--by dim,…] [--period-type month|quarter|year] [--filter dim=value]… [--csv|--fhir|--json] --partner ID --key FILE
  (list and show are public; values reads like mhx aggregates, under the same grants and budget)`

export const DENOMINATORS_USAGE = `usage: mhx denominators list [--country ISO3] [--year YYYY] [--population P] [--json]
       mhx denominators set COUNTRY YEAR POPULATION --value N --source TEXT --vintage V [--source-url URL] [--note TEXT]
       mhx denominators set --csv FILE
  (set: the admin, or a steward for its own country: --partner ID --key FILE; the CSV has the columns
   country,year,population,value,source,vintage and optionally sourceUrl,note, one figure a row)`

const print = (io: CliIo, value: unknown) => io.stdout.write(JSON.stringify(value, null, 2) + '\n')
const publicClient = (values: Values, io: CliIo, urlOf: UrlOf) => createClient(io, urlOf(values, io))

interface IndicatorOut { id: string, kind: string, sdg: { target: string, indicator: string | null }, name: { en: string, ru: string }, definition: { en: string, ru: string }, convention: string, numerator: { filters: Record<string, string[]> }, denominator: { population?: string, filters?: Record<string, string[]> }, multiplier: number, unit: { code: string, en: string }, minimumNumerator: number, version: string }
interface ValueCell { numerator: number | null, denominator: number | null, value: number | null, lower: number | null, upper: number | null, status: string, reference: { value: number, year: number } | null, [dim: string]: unknown }
interface ValuesAnswer { indicator: { id: string, unit: { en: string } }, by: string[], k: number, disclosure: { method: string }, interval: { method: string }, denominators: Array<{ country: string, population: string, year: number, forYears: number[], source: string }>, cells: ValueCell[] }
interface DenominatorOut { country: string, year: number, population: string, value: number, source: string, vintage: string, revision: number, setAt: string }

const filtersText = (filters: Record<string, string[]>) => Object.entries(filters).map(([d, v]) => `${d}=${v.join(',')}`).join(' ')
const round = (v: number | null, digits = 2) => v === null ? '-' : v.toFixed(digits)

export async function indicatorsCommand (args: string[], io: CliIo, clientFor: ClientFor, urlOf: UrlOf): Promise<number> {
  const usage = INDICATORS_USAGE
  const [verb, ...rest] = args
  if (verb === 'list') {
    const { values } = parseCommand(rest, { url: { type: 'string' }, json: { type: 'boolean' } }, usage)
    const { items } = (await publicClient(values, io, urlOf).request<{ items: IndicatorOut[] }>('GET', '/v1/indicators')).body
    if (values.json) print(io, items)
    else io.stdout.write(formatTable(['id', 'kind', 'SDG', 'unit', 'name'], items.map((i) => [i.id, i.kind, i.sdg.indicator ?? i.sdg.target, i.unit.en, i.name.en])))
    return 0
  }
  if (verb === 'show') {
    const { values, positionals } = parseCommand(rest, { url: { type: 'string' }, json: { type: 'boolean' } }, usage, { min: 1, max: 1 })
    const i = (await publicClient(values, io, urlOf).request<IndicatorOut>('GET', `/v1/indicators/${encodeURIComponent(positionals[0])}`)).body
    if (values.json) { print(io, i); return 0 }
    io.stdout.write([
      `${i.id} (catalog ${i.version}): ${i.name.en} / ${i.name.ru}`,
      `  ${i.kind}, SDG ${i.sdg.indicator ?? i.sdg.target}, × ${i.multiplier} (${i.unit.en}), minimum numerator ${i.minimumNumerator}`,
      `  numerator:   ${filtersText(i.numerator.filters)}`,
      `  denominator: ${i.denominator.population !== undefined ? `population ${i.denominator.population}` : filtersText(i.denominator.filters ?? {})}`,
      `  ${i.definition.en}`,
      `  ${i.definition.ru}`,
      `  convention: ${i.convention}`
    ].join('\n') + '\n')
    return 0
  }
  if (verb === 'values') {
    const { values, positionals } = parseCommand(rest, {
      ...CREDENTIALS, region: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, by: { type: 'string' }, 'period-type': { type: 'string' },
      filter: { type: 'string', multiple: true }, csv: { type: 'boolean' }, fhir: { type: 'boolean' }, json: { type: 'boolean' }
    }, usage, { min: 1, max: 1 })
    for (const required of ['region', 'from', 'to'] as const) if (!values[required]) throw new UsageError(`--${required} is required`, usage)
    const formats = (['csv', 'fhir', 'json'] as const).filter((f) => values[f])
    if (formats.length > 1) throw new UsageError(`--${formats.join(' and --')} exclude each other`, usage)
    const query = aggregateQueryParams({ region: values.region!, from: values.from!, to: values.to!, by: list(values.by), periodType: values['period-type'], filters: values.filter ?? [] }, usage)
    const client = clientFor(values, io, usage)
    const path = `/v1/indicators/${encodeURIComponent(positionals[0])}/values`
    if (values.csv || values.fhir) {
      const text = (await client.request<string>('GET', path, { query, accept: values.csv ? 'text/csv' : 'application/fhir+json', text: true })).body
      io.stdout.write(text.endsWith('\n') ? text : text + '\n')
      return 0
    }
    const answer = (await client.request<ValuesAnswer>('GET', path, { query })).body
    if (values.json) { print(io, answer); return 0 }
    io.stdout.write(formatValues(answer))
    return 0
  }
  throw new UsageError(verb ? `unknown indicators command "${verb}"` : 'missing indicators command', usage)
}

/** A values answer as an aligned table, with what it rests on (protection, interval method, figures used). */
export function formatValues (answer: ValuesAnswer): string {
  const headers = [...answer.by, 'value', '95 % interval', 'numerator', 'denominator', 'status', 'reference']
  const rows = answer.cells.map((c) => [
    ...answer.by.map((d) => c[d] === null ? '_Z' : String(c[d])),
    round(c.value), c.lower === null ? '-' : `${round(c.lower)}–${round(c.upper)}`,
    c.numerator === null ? 'withheld' : String(c.numerator), c.denominator === null ? '-' : String(Math.round(c.denominator * 10) / 10),
    c.status, c.reference === null ? '-' : `${c.reference.value} (${c.reference.year})`
  ])
  const notes = [
    `${answer.indicator.id}: ${answer.indicator.unit.en}; counts ${answer.disclosure.method === 'none' ? 'exact' : `perturbed (cell key), withheld below k ${answer.k}`}; interval ${answer.interval.method}`,
    ...answer.denominators.map((d) => `denominator ${d.country} ${d.population} ${d.year} (for ${d.forYears.join(', ')}): ${d.source}`)
  ]
  return formatTable(headers, rows, headers.map((h, i) => i >= answer.by.length && i < answer.by.length + 4)) + notes.join('\n') + '\n'
}

interface FigureRow { country: string, year: string, population: string, value: string, source: string, vintage: string, sourceUrl?: string, note?: string }

export async function denominatorsCommand (args: string[], io: CliIo, clientFor: ClientFor, urlOf: UrlOf): Promise<number> {
  const usage = DENOMINATORS_USAGE
  const [verb, ...rest] = args
  if (verb === 'list') {
    const { values } = parseCommand(rest, { url: { type: 'string' }, country: { type: 'string' }, year: { type: 'string' }, population: { type: 'string' }, json: { type: 'boolean' } }, usage)
    const query = { country: values.country, year: values.year, population: values.population }
    const { items } = (await publicClient(values, io, urlOf).request<{ items: DenominatorOut[] }>('GET', '/v1/denominators', { query })).body
    if (values.json) print(io, items)
    else io.stdout.write(formatTable(['country', 'year', 'population', 'value', 'source', 'vintage', 'rev'], items.map((d) => [d.country, String(d.year), d.population, String(d.value), d.source, d.vintage, String(d.revision)]), [false, false, false, true]))
    return 0
  }
  if (verb === 'set') {
    const { values, positionals } = parseCommand(rest, {
      ...CREDENTIALS, csv: { type: 'string' }, value: { type: 'string' }, source: { type: 'string' }, vintage: { type: 'string' }, 'source-url': { type: 'string' }, note: { type: 'string' }
    }, usage, { min: 0, max: 3 })
    let rows: FigureRow[]
    if (values.csv !== undefined) {
      if (positionals.length > 0) throw new UsageError('give a CSV file or COUNTRY YEAR POPULATION, not both', usage)
      rows = readFigures(resolve(io.cwd, values.csv))
    } else {
      if (positionals.length !== 3) throw new UsageError('missing COUNTRY YEAR POPULATION', usage)
      for (const required of ['value', 'source', 'vintage'] as const) if (!values[required]) throw new UsageError(`--${required} is required`, usage)
      const [country, year, population] = positionals
      rows = [{ country, year, population, value: values.value!, source: values.source!, vintage: values.vintage!, sourceUrl: values['source-url'], note: values.note }]
    }
    // Without --partner (or MHX_PARTNER) the admin sets them, with its key where the service wrote it.
    const client = clientFor(values, io, usage, values.partner === undefined && !io.config.partner)
    let set = 0
    for (const [i, row] of rows.entries()) {
      // A figure is an integer: "3 700 000" or "3,700,000" is refused by the hub rather than read two ways here.
      const value = /^-?\d+(\.\d+)?$/.test(row.value) ? Number(row.value) : row.value
      const body = { value, source: row.source, vintage: row.vintage, ...(row.sourceUrl ? { sourceUrl: row.sourceUrl } : {}), ...(row.note ? { note: row.note } : {}) }
      try {
        const saved = (await client.request<DenominatorOut>('PUT', `/v1/denominators/${encodeURIComponent(row.country)}/${encodeURIComponent(row.year)}/${encodeURIComponent(row.population)}`, { json: body })).body
        io.stdout.write(`${saved.country} ${saved.year} ${saved.population} = ${saved.value} (revision ${saved.revision})\n`)
        set++
      } catch (err) {
        if (rows.length > 1) io.stderr.write(`row ${i + 2} (${row.country} ${row.year} ${row.population}): stopped here; ${set} of ${rows.length} set before it\n`)
        throw err
      }
    }
    return 0
  }
  throw new UsageError(verb ? `unknown denominators command "${verb}"` : 'missing denominators command', usage)
}

/** The figures of a CSV file (comma or semicolon), header first; a missing column is named. */
function readFigures (file: string): FigureRow[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '')
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`)
  }
  const delimiter = (text.split('\n')[0].match(/;/g)?.length ?? 0) > (text.split('\n')[0].match(/,/g)?.length ?? 0) ? ';' : ','
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, delimiter }) as Array<Record<string, string>>
  if (rows.length === 0) throw new CliError(`${file} holds no figure`)
  for (const column of ['country', 'year', 'population', 'value', 'source', 'vintage']) {
    if (!(column in rows[0])) throw new CliError(`${file}: no column "${column}" (the header needs country,year,population,value,source,vintage)`)
  }
  return rows as unknown as FigureRow[]
}
