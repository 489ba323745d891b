// The indicator catalog: checked at start against the dimensions, and told in docs/indicators.md.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { loadIndicatorCatalog } from '../../src/indicators/catalog.js'
import { loadSchemaRegistry, type SchemaRegistry } from '../../src/intake/registry.js'
import { loadVocabulary } from '../../src/release/dimensions.js'

const schemas = await loadSchemaRegistry()
const vocabulary = loadVocabulary(schemas)
const catalog = loadIndicatorCatalog(schemas, vocabulary)

t.test('docs/indicators.md tells every indicator, in English and Russian', async (t) => {
  const doc = readFileSync(new URL('../../docs/indicators.md', import.meta.url), 'utf8')
  for (const i of catalog.indicators) {
    t.ok(doc.includes(`| \`${i.id}\` |`), `${i.id} is in the table`)
    t.ok(doc.includes(i.name.ru) && doc.includes(i.definition.ru), `${i.id}: its Russian name and definition`)
  }
  for (const p of catalog.populations.filter((p) => p.parent === null)) t.ok(doc.includes(`\`${p.id}\``), p.id)
})

t.test('a proportion\'s numerator lies inside its denominator, atom by atom', async (t) => {
  for (const i of catalog.indicators) {
    if (!('filters' in i.denominator)) continue
    for (const [dim, values] of Object.entries(i.numerator.filters)) {
      t.ok(values.every((v) => (i.denominator as { filters: Record<string, string[]> }).filters[dim]?.includes(v)), `${i.id}: ${dim}`)
    }
  }
})

/** The registry with the indicators catalog replaced by `indicators`. */
function withIndicators (indicators: unknown[]): SchemaRegistry {
  return { ...schemas, document: (name: string, version: string) => name === 'indicators' ? { indicators } : schemas.document(name, version) } as SchemaRegistry
}
const base = catalog.indicators.find((i) => i.id === 'uninsured-share')!

t.test('a faulty definition stops the hub at start', async (t) => {
  const faults: Array<[string, unknown]> = [
    ['an unknown value', { ...base, numerator: { filters: { insurance: ['maybe'] } } }],
    ['an unknown dimension', { ...base, numerator: { filters: { colour: ['red'] } } }],
    ['a numerator outside its cohort', { ...base, numerator: { filters: { recordType: ['contact'], insurance: ['unknown'] } } }],
    ['a numerator fixing a dimension its cohort does not', { ...base, numerator: { filters: { recordType: ['contact'], insurance: ['none'], sex: ['female'] } } }],
    ['an unknown population', { ...base, kind: 'rate', denominator: { population: 'martians' } }],
    ['a rate over a count', { ...base, kind: 'rate' }],
    ['a zero minimum', { ...base, minimumNumerator: 0 }]
  ]
  for (const [why, definition] of faults) t.throws(() => loadIndicatorCatalog(withIndicators([definition]), vocabulary), why)
  t.doesNotThrow(() => loadIndicatorCatalog(withIndicators([base]), vocabulary))
})
