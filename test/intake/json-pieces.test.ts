// A JSON body read a piece at a time (no text over V8's large-object size) gives what JSON.parse of
// the whole text gives, value or 400, wherever the pieces are cut; and the pieces are really used.
import t from 'tap'
import { parsedInPieces, parseJsonBody, parseJsonPieces, Utf8Body } from '../../src/intake/body.js'
import { scanJsonBody } from '../../src/json-depth.js'
import { HttpProblem } from '../../src/problem.js'

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
/** a body as a client writes it: members around one large array, some spaces and line ends */
function document (): string {
  const records = Array.from({ length: 2 + random(30) }, () => value(2))
  const text = JSON.stringify({ schema: 'migrant-health-event', version: '1.1.0', records, after: random(2) === 0 ? [1, 2] : 'x' }, null, random(2) === 0 ? 0 : 1)
  return text
}

/** what parsing gives: the value, or the problem it is refused with */
function outcome (parse: () => unknown): unknown {
  try {
    return { value: parse() }
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err
    return { status: err.status, message: err.message, ...err.extra }
  }
}
const bodyOf = (text: string): Utf8Body => Utf8Body.of(Buffer.from(text))!
const inPieces = (text: string, size: number) => () => {
  const bytes = Buffer.from(text)
  return parseJsonPieces(Utf8Body.of(bytes)!, scanJsonBody(bytes, 8, size))
}

/** The first piece size (1 to the body's length) at which parsing in pieces does not give `expected`, with what it gave. */
function firstSizeDiffering (text: string, expected: unknown): { size: number, got: unknown } | undefined {
  for (let size = 1; size <= text.length; size++) {
    const got = outcome(inPieces(text, size))
    if (JSON.stringify(got) !== JSON.stringify(expected)) return { size, got }
  }
  return undefined
}

t.test('generated bodies: the same value in pieces of any size, read by pieces whenever there is a cut', async (t) => {
  let read = 0
  for (let i = 0; i < 300; i++) {
    const text = document()
    const size = 1 + random(200)
    const bytes = Buffer.from(text)
    const cuts = scanJsonBody(bytes, 8, size)
    const whole = JSON.parse(text) as unknown
    if (cuts) {
      const pieces = parsedInPieces(Utf8Body.of(bytes)!, cuts)
      if (pieces === undefined) t.fail(`not read in pieces of ${size}: ${text}`)
      else read++
    }
    const got = parseJsonPieces(Utf8Body.of(bytes)!, cuts)
    if (JSON.stringify(got) !== JSON.stringify(whole)) t.same(got, whole, `pieces of ${size}: ${text}`)
  }
  t.ok(read > 100, `${read} of 300 read in pieces`)
})

t.test('every member kept as JSON.parse keeps it; the pieces are the largest array member\'s', async (t) => {
  const cases: Record<string, string> = {
    'a name given twice, the array first': '{"records":[1,2,3,4],"records":[]}',
    'a name given twice, the array last': '{"records":[],"records":[1,2,3,4]}',
    'the name as a value before it': '{"a":"records","records":[1,2,3,4]}',
    'a name written with an escape': '{"rec\\u006frds":[1,2,3,4]}',
    'a member named __proto__': '{"__proto__":[1,2,3,4]}',
    'a top-level array': '[[1,2,3,4]]',
    'two arrays': '{"a":[1,2],"b":[1,2,3,4,5,6],"c":[]}',
    'a byte-order mark': '\uFEFF{"records":[1,2,3,4]}',
    'Cyrillic and an emoji in the elements': '{"records":["Ёж,]",{"ключ":"🩺"},3,4]}',
    'nested arrays': '{"records":[[1,[2]],[3],{"a":[4,5]},6]}'
  }
  for (const [name, text] of Object.entries(cases)) {
    t.same(firstSizeDiffering(text, outcome(() => parseJsonBody(bodyOf(text).text()))), undefined, name)
  }
  // the value the marker stood for is never left behind
  const got = parseJsonPieces(bodyOf('{"records":[1,2,3,4],"records":[]}'), scanJsonBody(Buffer.from('{"records":[1,2,3,4],"records":[]}'), 8, 1))
  t.same(got, { records: [] })
  t.equal(Object.getPrototypeOf(parseJsonPieces(bodyOf('{"__proto__":[1,2,3,4]}'), scanJsonBody(Buffer.from('{"__proto__":[1,2,3,4]}'), 8, 1))), Object.prototype)
})

t.test('a body that is not JSON is the same 400, naming the same line, wherever it is cut', async (t) => {
  const faulty: Record<string, string> = {
    'an empty element': '{"records":[1,,2,3]}',
    'a trailing comma': '{"records":[1,2,3,]}',
    'a leading comma': '{"records":[,1,2,3]}',
    'a missing comma': '{"records":[{"a":1} {"b":2},3]}',
    'an unclosed array': '{"records":[1,2,3',
    'an unclosed string': '{"records":["1,2,3]}',
    'a mismatched bracket': '{"records":[1,2,3}',
    'text after the body': '{"records":[1,2,3]} x',
    'on a later line': '{\n"schema": "x",\n"records": [\n1,\n2,\n3 4\n]\n}'
  }
  for (const [name, text] of Object.entries(faulty)) {
    const expected = outcome(() => parseJsonBody(text))
    t.match(expected, { status: 400 }, `${name}: a 400 whole`)
    t.same(firstSizeDiffering(text, expected), undefined, name)
  }
  // random damage to generated bodies: the same answer, value or 400
  const damage = [',', '[', ']', '{', '}', '"', '\\', ' ', ':', '']
  for (let i = 0; i < 300; i++) {
    const text = document()
    const at = random(text.length)
    const broken = text.slice(0, at) + damage[random(damage.length)] + text.slice(at + random(2))
    const size = 1 + random(100)
    let expected: unknown
    try {
      expected = outcome(() => parseJsonBody(broken))
    } catch {
      continue
    }
    const got = outcome(inPieces(broken, size))
    if (JSON.stringify(got) !== JSON.stringify(expected)) t.same(got, expected, `pieces of ${size}: ${broken}`)
  }
})
