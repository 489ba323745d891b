// The codecs of the line formats and of JSON: every item keeps its line, every fault names its
// line (a 400), JSON's duplicate names and `__proto__` are read as JSON.parse reads them and the
// envelope is checked strictly. NDJSON and CSV are seen through `{records, lines} | {error}`.
import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { defaultSchemasDir } from '../../src/intake/registry.js'
import * as csv from '../../src/intake/codecs/csv.js'
import { SubmissionBody, type Decoded } from '../../src/intake/codecs/index.js'
import { decode as decodeJson, jsonFaultAt, parseJson, readJsonSubmission } from '../../src/intake/codecs/json.js'
import * as ndjson from '../../src/intake/codecs/ndjson.js'
import { HttpProblem } from '../../src/problem.js'

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const recordFields: readonly string[] = Object.keys(JSON.parse(readFileSync(`${defaultSchemasDir()}/migrant-health-event/1.0.0.json`, 'utf8')).properties)

type ParseResult = { records: unknown[], lines: number[] } | { error: { line: number, message: string } }
const isParseFailure = (result: ParseResult): result is { error: { line: number, message: string } } => 'error' in result
function viaCodec (decode: () => Decoded): ParseResult {
  try {
    const decoded = decode()
    return { records: decoded.items, lines: decoded.lines ?? [] }
  } catch (err) {
    // a body that cannot be read is a 400 naming the line; anything else is a failure here
    if (!(err instanceof HttpProblem) || err.status !== 400) throw err
    return { error: { line: (err.extra.errors as Array<{ line: number }>)[0].line, message: err.message } }
  }
}
const bytesOf = (body: string | Buffer) => ({ bytes: typeof body === 'string' ? Buffer.from(body) : body })
const parseNdjson = (body: string | Buffer) => viaCodec(() => ndjson.decode(bytesOf(body)))
const parseCsv = (body: string | Buffer, fields: readonly string[] = recordFields) => viaCodec(() => csv.decode(bytesOf(body), { fields }))

function ok (t: Test, result: ParseResult): { records: unknown[], lines: number[] } {
  if (isParseFailure(result)) {
    t.fail(`unexpected parse error: ${JSON.stringify(result.error)}`)
    return { records: [], lines: [] }
  }
  return result
}

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
    t.match(problemOf(() => parseJson(text)), { status: 400, message: /^the body is not valid JSON at line \d+, column \d+: [^"]*$/, extra: { errors: [{ line }] } }, `the 400 names line ${line}`)
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

// a fixed seed: a failure here is reproducible
let seed = 20261202
const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
const STRINGS = ['', 'a,b', ']', '[', '{', '}', '"', '\\', 'say "hi", [x]', 'Ёж', '🩺', '\u0000', '\n\t', 'records', '__proto__']
function value (depth: number): unknown {
  const kind = random(depth > 3 ? 5 : 7)
  if (kind === 0) return STRINGS[random(STRINGS.length)] + random(100)
  if (kind === 1) return random(2) === 0 ? random(1000) - 500 : (random(1000) - 500) / 8
  if (kind === 2) return [true, false, null][random(3)]
  if (kind === 3) return STRINGS[random(STRINGS.length)]
  if (kind === 4) return 1e21 + random(10)
  if (kind === 5) return Array.from({ length: random(4) }, () => value(depth + 1))
  return Object.fromEntries(Array.from({ length: random(4) }, () => [STRINGS[random(STRINGS.length)] + random(3), value(depth + 1)]))
}

t.test('random damage to JSON bodies: parsed as JSON.parse parses them, or a 400 naming the line where they stop being JSON', async (t) => {
  const damage = [',', '[', ']', '{', '}', '"', '\\', ' ', ':', '', '\n']
  let refused = 0
  for (let i = 0; i < 1000; i++) {
    const text = JSON.stringify({ schema: 'migrant-health-event', version: '1.1.0', records: Array.from({ length: 1 + random(10) }, () => value(2)) }, null, random(2))
    const at = random(text.length)
    const broken = text.slice(0, at) + damage[random(damage.length)] + text.slice(at + random(2))
    let expected: unknown
    try {
      expected = JSON.parse(broken)
    } catch {
      expected = undefined
    }
    const fault = jsonFaultAt(broken)
    if ((expected === undefined) !== (fault !== undefined)) t.fail(`JSON.parse and jsonFaultAt disagree on ${JSON.stringify(broken)}`)
    const got = problemOf(() => parseJson(broken))
    if (expected === undefined) {
      refused++
      const line = broken.slice(0, fault).split('\n').length
      if (!(got instanceof HttpProblem) || got.status !== 400 || (got.extra.errors as Array<{ line?: number }>)[0].line !== line) t.fail(`${JSON.stringify(broken)}: not a 400 naming line ${line}: ${String(got)}`)
    } else if (got !== undefined) t.fail(`${JSON.stringify(broken)} is JSON, yet refused`)
  }
  t.ok(refused > 300, `${refused} of 1000 damaged bodies are not JSON`)
})

t.test('JSON submissions: a name given twice keeps the last, __proto__ is an unknown member, the envelope is strict', async (t) => {
  const body = (text: string) => new SubmissionBody(Buffer.from(text), 'application/json')
  const twice = readJsonSubmission(body('{"schema":"migrant-health-event","version":"1.0.0","records":[{"a":1}],"records":[{"b":2}]}'))
  t.same(decodeJson(twice, 'records').items, [{ b: 2 }], 'the last records, as JSON.parse keeps them')
  t.equal(decodeJson(twice, 'records').locate(0, '/sex'), '/records/0/sex')
  const proto = problemOf(() => readJsonSubmission(body('{"schema":"migrant-health-event","version":"1.0.0","__proto__":{"records":[1]},"records":[{"a":1}]}')))
  t.match(proto, { status: 422, extra: { errors: [{ path: '/__proto__', message: 'unknown field "__proto__"' }] } })
  const record = decodeJson(readJsonSubmission(body('{"schema":"s","version":"1.0.0","records":[{"__proto__":{"isAdmin":true}}]}')), 'records').items[0] as Record<string, unknown>
  t.ok(Object.hasOwn(record, '__proto__'), 'a record\'s __proto__ stays an own key for the validator to refuse')
  t.equal(Object.getPrototypeOf(record), Object.prototype)
  t.match(problemOf(() => readJsonSubmission(body('{"schema":"s","version":"1.0.0","records":[]}'))), { status: 422, extra: { errors: [{ path: '/records' }] } })
  t.match(problemOf(() => readJsonSubmission(body(`{"records":${'['.repeat(20)}${']'.repeat(20)}}`))), { status: 400, message: /deeper than 8/ })
  t.match(problemOf(() => readJsonSubmission({ ...body(''), bytes: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) } as SubmissionBody)), { status: 400, extra: { errors: [{ line: 1, message: 'not valid UTF-8' }] } })
  t.same(readJsonSubmission(body('\uFEFF{"schema":"s"}')), { schema: 's' }, 'a byte-order mark is no part of the text')
})
