// Reading records out of files: every record keeps the line of the file it starts on.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { fileSha256, formatOf, openRecords, type FileItem } from '../../src/cli/records.js'
import { workDir } from './harness.js'

async function itemsOf (file: string, format: 'csv' | 'ndjson' | 'json'): Promise<FileItem[]> {
  const items: FileItem[] = []
  for await (const item of openRecords(file, format).items) items.push(item)
  return items
}

t.test('CSV: lines survive blank lines, CRLF, a BOM and quoted newlines; empty cells are absent', async (t) => {
  const dir = workDir(t)
  const file = join(dir, 'a.csv')
  writeFileSync(file, '\uFEFFrecordId,sex,condition\r\n'
  + 'r1,female,A15\r\n'
  + '\r\n'
  + 'r2,"ma\nle",\n'
  + '\n\n'
  + 'r3,male,B20\n')
  const items = await itemsOf(file, 'csv')
  t.same(items, [
    { record: { recordId: 'r1', sex: 'female', condition: 'A15' }, line: 2, position: 0 },
    { record: { recordId: 'r2', sex: 'ma\nle' }, line: 4, position: 1 },
    { record: { recordId: 'r3', sex: 'male', condition: 'B20' }, line: 8, position: 2 }
  ])
})

t.test('CSV: a row with the wrong number of cells is a fault on its line, and reading goes on', async (t) => {
  const dir = workDir(t)
  const file = join(dir, 'b.csv')
  writeFileSync(file, 'recordId,sex\nr1,female\nr2,male,extra\nr3,other\n')
  const items = await itemsOf(file, 'csv')
  t.equal(items.length, 3)
  t.match(items[0], { record: { recordId: 'r1' }, line: 2 })
  t.match(items[1], { fault: /CSV error/, line: 3 })
  t.match(items[2], { record: { recordId: 'r3' }, line: 4 })
})

t.test('CSV: a header naming a column twice is refused', async (t) => {
  const dir = workDir(t)
  const file = join(dir, 'c.csv')
  writeFileSync(file, 'recordId,sex,sex\nr1,female,male\n')
  await t.rejects(itemsOf(file, 'csv'), /line 1: column "sex" appears twice/)
})

t.test('NDJSON: blank lines skipped, bad JSON is a fault naming its line', async (t) => {
  const dir = workDir(t)
  const file = join(dir, 'a.ndjson')
  writeFileSync(file, '{"a":1}\n\n{"a":2}\r\n{nope\n{"a":3}')
  const items = await itemsOf(file, 'ndjson')
  t.same(items.map((i) => i.line), [1, 3, 4, 5])
  t.same((items[1] as { record: unknown }).record, { a: 2 })
  t.match(items[2], { fault: /not valid JSON/, line: 4 })
})

t.test('JSON: a {schema, version, records} document or a bare array', async (t) => {
  const dir = workDir(t)
  const doc = join(dir, 'doc.json')
  writeFileSync(doc, JSON.stringify({ schema: 'migrant-health-event', version: '1.0.0', records: [{ a: 1 }, { a: 2 }] }))
  const source = openRecords(doc, 'json')
  t.equal(source.schema, 'migrant-health-event')
  t.equal(source.version, '1.0.0')
  const items: FileItem[] = []
  for await (const item of source.items) items.push(item)
  t.same(items, [{ record: { a: 1 }, position: 0 }, { record: { a: 2 }, position: 1 }])
  const array = join(dir, 'arr.json')
  writeFileSync(array, '[{"a":1}]')
  t.equal((await itemsOf(array, 'json')).length, 1)
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, '{"records": 3}')
  t.throws(() => openRecords(bad, 'json'), /must be an array of records/)
})

t.test('format from the name, SHA-256 of the file', async (t) => {
  t.equal(formatOf('x.CSV'), 'csv')
  t.equal(formatOf('x.jsonl'), 'ndjson')
  t.equal(formatOf('x.ndjson'), 'ndjson')
  t.equal(formatOf('x.json'), 'json')
  t.equal(formatOf('x.txt', 'csv'), 'csv')
  t.throws(() => formatOf('x.txt'), /--format/)
  const dir = workDir(t)
  const file = join(dir, 'h.txt')
  writeFileSync(file, 'abc')
  t.equal(await fileSha256(file), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

t.test('a DHIS2 ADX export: zeros and deleted values left out, facilities of one area summed, as the hub does', async (t) => {
  const fixture = (name: string) => readFileSync(new URL(`../intake/fixtures/${name}`, import.meta.url), 'utf8')
  const dir = workDir(t)
  const file = join(dir, 'export.adx.xml')
  writeFileSync(file, fixture('dhis2-2.40-export.adx.xml'))
  const items: FileItem[] = []
  for await (const item of openRecords(file, 'dhis2', undefined, JSON.parse(fixture('dhis2-2.40-mapping.json'))).items) items.push(item)
  const shown = items.map((item) => {
    const dv = (item as { record: Record<string, unknown> }).record
    return `${String(dv.period)} ${String(dv.subnationalArea)} ${String(dv.recordType)} ${String(dv.sex)} ${String(dv.ageBand)}=${String(dv.count)} line ${String(item.line)}`
  })
  t.same(shown, [
    '2026-03 KZ-75 contact female 25-29=17 line 4',
    '2026-03 KZ-75 case_notification male 30-34=2 line 10',
    '2026-03 KZ-71 contact male 30-34=7 line 13',
    '2026-03 KZ-71 contact female 25-29=5 line 14',
    '2026-04 KZ-75 contact female 25-29=6 line 18'
  ])
})
