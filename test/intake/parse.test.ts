import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { defaultSchemasDir } from '../../src/intake/registry.js'
import { isParseFailure, parseCsv, parseNdjson, recordFields, recordFieldsOf } from '../../src/intake/parse.js'
import type { ParseResult } from '../../src/intake/parse.js'
import { jsonFaultAt, parseJsonBody } from '../../src/intake/body.js'

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function ok (t: Test, result: ParseResult): { records: unknown[], lines: number[] } {
  if (isParseFailure(result)) {
    t.fail(`unexpected parse error: ${JSON.stringify(result.error)}`)
    return { records: [], lines: [] }
  }
  return result
}

t.test('recordFields come from the schema file', async (t) => {
  const schema = JSON.parse(readFileSync(`${defaultSchemasDir()}/migrant-health-event/1.0.0.json`, 'utf8'))
  t.same(recordFields, Object.keys(schema.properties))
  t.ok(recordFields.includes('recordId') && recordFields.includes('outcome'))
  t.ok(Object.isFrozen(recordFields))
  t.throws(() => recordFieldsOf({}), /no properties/)
})

t.test('NDJSON', async (t) => {
  t.test('one record per line, blank lines ignored, 1-based lines', async (t) => {
    const body = `{"recordId":"${uuid(1)}","sex":"female"}\n\n   \n{"recordId":"${uuid(2)}"}\n`
    const { records, lines } = ok(t, parseNdjson(body))
    t.same(records, [{ recordId: uuid(1), sex: 'female' }, { recordId: uuid(2) }])
    t.same(lines, [1, 4])
  })
  t.test('CRLF, a BOM and a Buffer body', async (t) => {
    const body = Buffer.from(`\ufeff{"a":1}\r\n\r\n{"b":2}\r\n`, 'utf8')
    const { records, lines } = ok(t, parseNdjson(body))
    t.same(records, [{ a: 1 }, { b: 2 }])
    t.same(lines, [1, 3])
  })
  t.test('a line that is not JSON names its line', async (t) => {
    const result = parseNdjson(`{"a":1}\n\n{"a":2,}\n{"a":3}`)
    t.ok(isParseFailure(result))
    if (isParseFailure(result)) {
      t.equal(result.error.line, 3)
      t.match(result.error.message, /^line 3 is not valid JSON/)
    }
  })
  t.test('two objects on one line is an error on that line', async (t) => {
    const result = parseNdjson(`{"a":1}\n{"a":2}{"a":3}\n`)
    t.match(result, { error: { line: 2 } })
  })
  t.test('values that are not objects are left to the validator', async (t) => {
    const { records, lines } = ok(t, parseNdjson(`null\n[1]\n"x"\n`))
    t.same(records, [null, [1], 'x'])
    t.same(lines, [1, 2, 3])
  })
  t.test('__proto__ stays an own key for the validator to refuse', async (t) => {
    const { records } = ok(t, parseNdjson(`{"__proto__":{"isAdmin":true}}\n`))
    const record = records[0] as Record<string, unknown>
    t.ok(Object.hasOwn(record, '__proto__'))
    t.equal(Object.getPrototypeOf(record), Object.prototype)
  })
  t.test('empty body is no records', async (t) => {
    t.same(parseNdjson(''), { records: [], lines: [] })
    t.same(parseNdjson('\n\n'), { records: [], lines: [] })
  })
  t.test('bytes that are not UTF-8 are refused with their line', async (t) => {
    const body = Buffer.concat([Buffer.from('{"a":1}\n{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')])
    t.match(parseNdjson(body), { error: { line: 2, message: /not valid UTF-8/ } })
  })
})

t.test('CSV', async (t) => {
  t.test('header of field names, every value a string, empty cell absent', async (t) => {
    const body = `recordId,period,sex,ageBand,condition\n${uuid(1)},2026-03,female,25-29,\n${uuid(2)},2026-04,,80+,A15.0\n`
    const { records, lines } = ok(t, parseCsv(body))
    t.same(records, [
      { recordId: uuid(1), period: '2026-03', sex: 'female', ageBand: '25-29' },
      { recordId: uuid(2), period: '2026-04', ageBand: '80+', condition: 'A15.0' }
    ])
    t.same(lines, [2, 3])
  })
  t.test('numbers stay strings and values are not trimmed', async (t) => {
    const { records } = ok(t, parseCsv('period,sex\n202603, female\n'))
    t.same(records, [{ period: '202603', sex: ' female' }])
  })
  t.test('BOM, CRLF, blank lines and quoted newlines keep the right lines', async (t) => {
    const body = Buffer.from(`\ufeffrecordId,sex\r\n${uuid(1)},female\r\n\r\n"${uuid(2)}","ma\r\nle"\r\n${uuid(3)},male`, 'utf8')
    const { records, lines } = ok(t, parseCsv(body))
    t.same(records.map((r) => (r as Record<string, string>).recordId), [uuid(1), uuid(2), uuid(3)])
    t.equal((records[1] as Record<string, string>).sex, 'ma\r\nle', 'the quoted newline stays in the value for the validator to refuse')
    t.same(lines, [2, 4, 6])
  })
  t.test('an unknown header field is an error naming it', async (t) => {
    const result = parseCsv(`recordId,name,sex\n${uuid(1)},Aibek Nurlanov,male\n`)
    t.match(result, { error: { line: 1, message: /unknown field "name"/ } })
  })
  t.test('a header naming __proto__ is an unknown field', async (t) => {
    t.match(parseCsv('__proto__,sex\nx,male\n'), { error: { line: 1, message: /unknown field "__proto__"/ } })
  })
  t.test('a duplicated or empty header column is an error', async (t) => {
    t.match(parseCsv('sex,sex\nmale,female\n'), { error: { line: 1, message: /"sex" appears twice/ } })
    t.match(parseCsv('sex,\nmale,x\n'), { error: { line: 1, message: /empty column name/ } })
  })
  t.test('a header on line 3 after blank lines is reported there', async (t) => {
    t.match(parseCsv('\n\nsex,name\nmale,x\n'), { error: { line: 3, message: /unknown field "name"/ } })
  })
  t.test('a row with the wrong number of cells names its line', async (t) => {
    const result = parseCsv(`recordId,sex\r\n${uuid(1)},male\r\n\r\n${uuid(2)}\r\n${uuid(3)},female\r\n`)
    t.match(result, { error: { line: 4, message: /^CSV error at line 4: Invalid Record Length/ } })
  })
  t.test('an unclosed quote names the line where the record starts', async (t) => {
    const result = parseCsv(`sex,period\nmale,2026-01\n"female,2026-02\nmale,2026-03\n`)
    t.match(result, { error: { line: 3, message: /Quote Not Closed/ } })
  })
  t.test('a header alone or an empty body is no records', async (t) => {
    t.same(parseCsv('recordId,sex\n'), { records: [], lines: [] })
    t.same(parseCsv(''), { records: [], lines: [] })
  })
  t.test('the known fields can be given, for another schema', async (t) => {
    t.same(parseCsv('a,b\n1,2\n', ['a', 'b']), { records: [{ a: '1', b: '2' }], lines: [2] })
    t.match(parseCsv('a,sex\n1,2\n', ['a']), { error: { message: /unknown field "sex"/ } })
  })
  t.test('many rows keep their lines (one pass)', async (t) => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${uuid(i)},male`)
    const { records, lines } = ok(t, parseCsv(`recordId,sex\n${rows.join('\n')}\n`))
    t.equal(records.length, 5000)
    t.equal(lines[4999], 5001)
  })
})

t.test('a JSON body that is not JSON is named by the line where it stops being JSON', async (t) => {
  const cases: Array<[string, number]> = [
    ['{"a": [\n  {"b": 1,\n  "c": }\n]}', 3],
    ['{"a": 1,\n}', 2],
    ['{"a": "x\ty"}', 1],
    ['[1, 2,\n\n 03]', 3],
    ['{"a": tru}', 1],
    ['{"a": [1,\n2', 2],
    ['{"a": 1}\n\nx', 3]
  ]
  for (const [text, line] of cases) {
    t.throws(() => JSON.parse(text), `${JSON.stringify(text)} is not JSON`)
    const at = jsonFaultAt(text)
    t.equal(at === undefined ? undefined : text.slice(0, at).split('\n').length, line, JSON.stringify(text))
    t.match(problemOf(() => parseJsonBody(text)), { status: 400, message: /^the body is not valid JSON at line \d+, column \d+: [^"]*$/, extra: { errors: [{ line }] } }, `the 400 names line ${line}`)
  }
  for (const text of ['{"a": [1, 2.5e3, "\\u00e9", true, null, {}]}', ' [] ', '"x"']) t.equal(jsonFaultAt(text), undefined, text)
})

function problemOf (run: () => unknown): unknown {
  try {
    run()
  } catch (err) {
    return err
  }
  return undefined
}
