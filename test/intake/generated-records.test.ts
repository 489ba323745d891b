// The published schema is the validator: records drawn by json-schema-faker from each published
// record schema (and from the same schema without its cross-field rules, so that some break them)
// are accepted by the service exactly when a standard Ajv 2020-12 validator built from the file
// accepts them. The differences allowed are the documented ones: what depends on the caller's
// token or the period (reportingCountry, subnationalArea's country and validity), and for the
// frozen 1.0.0 its catalog checks (its country and area codes are patterns, not catalog enums).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { generate } from 'json-schema-faker'
import t from 'tap'
import { defaultSchemasDir, loadSchemaRegistry, type RecordFault } from '../../src/intake/registry.js'

const dir = defaultSchemasDir()
const registry = await loadSchemaRegistry()
const areas = new Map((JSON.parse(readFileSync(path.join(dir, 'subnational-areas/1.0.0.json'), 'utf8')).areas as Array<{ code: string, country: string }>).map((a) => [a.code, a.country]))

// a standard validator: the annotations of the published schemas are declared as such, nothing else
function standardAjv (): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true })
  addFormatsModule.default(ajv)
  for (const keyword of ['x-mhx-label', 'x-mhx-sensitive', 'x-mhx-rule']) ajv.addKeyword(keyword)
  return ajv
}

type Json = Record<string, unknown>

// documented, context-dependent rules (see each schema's description), and 1.0.0's catalog checks
const CONTEXT = /must be your own country|belongs to [A-Z]{3}, not to the reporting country|is valid (from|until)/
const CATALOG_1_0 = /is not an ISO 3166-1 alpha-3 country code|is not a first-level ISO 3166-2 area/

function withoutRules (schema: Json): Json {
  const { allOf: _, ...rest } = schema
  return rest
}

const CASES = [
  { name: 'migrant-health-event', version: '1.0.0' },
  { name: 'migrant-health-event', version: '1.1.0' },
  { name: 'migrant-health-aggregate', version: '1.0.0' }
]
const DRAWS = 150

for (const { name, version } of CASES) {
  t.test(`${name} ${version}: the published schema and the service agree on generated records`, async (t) => {
    const document = JSON.parse(readFileSync(path.join(dir, `${name}/${version}.json`), 'utf8')) as Json
    const aggregate = registry.isAggregate(name, version)
    const standard = standardAjv().compile(document)
    const item = aggregate ? (document.$defs as Json).dataValue as Json : document
    let accepted = 0
    let refused = 0
    let context = 0
    for (let seed = 1; seed <= DRAWS * 2; seed++) {
      const source = seed % 2 === 0 ? item : withoutRules(item)
      const record = await generate({ ...source, $schema: undefined, $id: undefined } as never, { seed, optionalsProbability: 0.5 }) as Json
      const country = (typeof record.subnationalArea === 'string' ? areas.get(record.subnationalArea) : undefined)
        ?? (typeof record.reportingCountry === 'string' ? record.reportingCountry : 'KAZ')
      const byStandard = standard(aggregate ? { schema: name, version, dataValues: [record] } : record)
      const result = registry.validate(name, version, [record], { reportingCountry: country })
      const byService = result.faults.length === 0
      if (byStandard === byService) {
        if (byService) accepted++
        else refused++
        continue
      }
      const allowed = (fault: RecordFault) => CONTEXT.test(fault.message) || (version === '1.0.0' && name === 'migrant-health-event' && CATALOG_1_0.test(fault.message))
      if (byStandard && result.faults.every(allowed)) {
        context++
        continue
      }
      t.fail(`seed ${seed}: standard ${byStandard ? 'accepts' : 'refuses'}, service ${byService ? 'accepts' : 'refuses'}: ${JSON.stringify(record)} ${JSON.stringify(result.faults)} ${JSON.stringify(standard.errors?.slice(0, 3))}`)
    }
    t.ok(accepted > DRAWS / 4, `both accept many (${accepted})`)
    if (name !== 'migrant-health-event' || version !== '1.0.0') t.ok(refused > 10, `both refuse some: a broken cross-field rule (${refused})`)
    t.comment(`${accepted} accepted, ${refused} refused by both, ${context} refused only for a documented context rule`)
  })
}
