// The ADX reader (saxes) and the decoder of ADX in mhx's codes: groups, attributes and lines as
// written, every fault a 400 or 422 naming its line, and no document (a thousand mutations of a
// real one included) answered otherwise.
import t from 'tap'
import * as adx from '../../src/intake/codecs/adx.js'
import { readAdx } from '../../src/intake/codecs/adx.js'
import { HttpProblem } from '../../src/problem.js'

const NS = 'urn:ihe:qrph:adx:2015'

/** what reading a document gives: its groups (attributes as plain objects), or the problem it is refused with */
function outcome (read: (text: string) => unknown, text: string): unknown {
  try {
    return { groups: JSON.parse(JSON.stringify(read(text))) }
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err
    return { status: err.status, message: err.message, ...err.extra }
  }
}

const plain: Record<string, string> = {
  'the shape mhx writes': `<?xml version="1.0" encoding="UTF-8"?>
<adx xmlns="${NS}">
<group orgUnit="KAZ" period="2026-03-01/P1M">
<dataValue dataElement="contact" countryOfOrigin="UZB" sex="female" value="12"/>
<dataValue dataElement="case_notification" countryOfOrigin="TJK" sex="male" value="3"/>
</group>
<group orgUnit="KZ-75" period="2026-04-01/P1M"><dataValue dataElement="contact" sex="male" value="1"/></group>
</adx>
`,
  'no declaration, single quotes, spaces around =, tags across lines': `<adx xmlns='${NS}' exported = '2026-05-01'>
  <group
     orgUnit="KAZ"
     period = '2026-03-01/P1M' >
    <dataValue
      dataElement="contact" value="7"
      sex='male' />
  </group >
</adx >`,
  'a prefixed root, comments, text, annotations and Cyrillic values': `<?xml version='1.0' standalone='yes' ?>
<!-- exported by hand -->
<a:adx xmlns:a="${NS}" xmlns:x="urn:example">
  <!-- March -->
  <a:group orgUnit="TJK" period="2026-03-01/P1M" dataSet="МИГ-1">
    text that ADX ignores > still well-formed
    <a:dataValue dataElement="contact" sex="female"><a:annotation>protected</a:annotation></a:dataValue>
    <a:dataValue dataElement="contact" sex="male" x:note="примечание" value="4"></a:dataValue>
    <other><deeper a="1"/></other>
  </a:group>
</a:adx>
<!-- after the root -->
`,
  'a root that is not adx (the same fault)': `<?xml version="1.0"?>\n<root xmlns="${NS}"><group/></root>`,
  'adx outside its namespace (the same fault)': `\n\n<adx xmlns="urn:other"><group orgUnit="KAZ"/></adx>`
}

t.test('a document is read with its groups, attributes and lines', async (t) => {
  t.same(outcome(readAdx, plain['the shape mhx writes']), {
    groups: [
      {
        attributes: { orgUnit: 'KAZ', period: '2026-03-01/P1M' },
        line: 3,
        dataValues: [
          { attributes: { dataElement: 'contact', countryOfOrigin: 'UZB', sex: 'female', value: '12' }, line: 4, annotated: false },
          { attributes: { dataElement: 'case_notification', countryOfOrigin: 'TJK', sex: 'male', value: '3' }, line: 5, annotated: false }
        ]
      },
      { attributes: { orgUnit: 'KZ-75', period: '2026-04-01/P1M' }, line: 7, dataValues: [{ attributes: { dataElement: 'contact', sex: 'male', value: '1' }, line: 7, annotated: false }] }
    ]
  })
  const groups = readAdx(plain['no declaration, single quotes, spaces around =, tags across lines'])
  t.same(groups.map((g) => [g.line, g.dataValues.map((v) => v.line)]), [[2, [5]]], 'a tag across lines is on the line it starts')
  t.same(groups[0].attributes.period, '2026-03-01/P1M')
  t.same(readAdx(plain['a prefixed root, comments, text, annotations and Cyrillic values'])[0].dataValues.map((v) => [v.annotated, v.attributes.value, v.attributes['x:note']]), [[true, undefined, undefined], [false, '4', 'примечание']])
  t.match(outcome(readAdx, plain['a root that is not adx (the same fault)']), { status: 400, errors: [{ line: 2, path: '/root', message: 'the root element must be adx' }] })
  t.match(outcome(readAdx, plain['adx outside its namespace (the same fault)']), { status: 400, errors: [{ line: 3, path: '/adx/@xmlns' }] })
})

const other: Record<string, string> = {
  'an entity reference': `<adx xmlns="${NS}"><group orgUnit="KAZ" note="a &amp; b"/></adx>`,
  'a character reference': `<adx xmlns="${NS}"><group orgUnit="&#75;AZ"/></adx>`,
  'an undefined entity': `<adx xmlns="${NS}"><group orgUnit="&kaz;"/></adx>`,
  CDATA: `<adx xmlns="${NS}"><group><![CDATA[x]]></group></adx>`,
  'a processing instruction': `<adx xmlns="${NS}"><?mhx x?></adx>`,
  'Windows line ends': `<adx xmlns="${NS}">\r\n<group\r\norgUnit="KAZ"/>\r\n</adx>`,
  'a byte-order mark': `\uFEFF<adx xmlns="${NS}"/>`,
  'a duplicate attribute': `<adx xmlns="${NS}"><group orgUnit="KAZ" orgUnit="TJK"/></adx>`,
  // names as the tags before had them at each place, yet twice in one tag
  'a duplicate attribute named as the tags before': `<adx xmlns="${NS}"><group orgUnit="KAZ"><dataValue a="1" period="2"/><dataValue period="3"/><dataValue period="4" period="5"/></group></adx>`,
  'a duplicate attribute after a new name': `<adx xmlns="${NS}"><group orgUnit="KAZ"><dataValue a="1" b="2"/><dataValue b="3" b="4"/></group></adx>`,
  'attributes without space between': `<adx xmlns="${NS}"><group orgUnit="KAZ"period="x"/></adx>`,
  'an unquoted attribute': `<adx xmlns="${NS}"><group orgUnit=KAZ/></adx>`,
  '< in an attribute value': `<adx xmlns="${NS}"><group orgUnit="K<Z"/></adx>`,
  'a tab in an attribute value': `<adx xmlns="${NS}"><group orgUnit="K\tZ"/></adx>`,
  'a mismatched end tag': `<adx xmlns="${NS}"><group></grup></adx>`,
  'an unclosed root': `<adx xmlns="${NS}"><group/>`,
  'two roots': `<adx xmlns="${NS}"/><adx xmlns="${NS}"/>`,
  'text before the root': `hello<adx xmlns="${NS}"/>`,
  'text after the root': `<adx xmlns="${NS}"/>bye`,
  '-- in a comment': `<adx xmlns="${NS}"><!-- a -- b --></adx>`,
  'XML 1.1': `<?xml version="1.1"?><adx xmlns="${NS}"/>`,
  'a declaration not at the start': ` <?xml version="1.0"?><adx xmlns="${NS}"/>`,
  'a non-ASCII element name': `<adx xmlns="${NS}"><группа/></adx>`,
  'a control character': `<adx xmlns="${NS}">\u0001</adx>`,
  '& in text': `<adx xmlns="${NS}">a &amp; b<group orgUnit="KAZ"/></adx>`,
  'a control character in a comment': `<adx xmlns="${NS}"><!-- \u0007 --><group orgUnit="KAZ"/></adx>`,
  'U+FFFE in a comment': `<adx xmlns="${NS}"><!-- \uFFFE --></adx>`,
  'a lone surrogate in text': `<adx xmlns="${NS}">\uD800<group orgUnit="KAZ"/></adx>`,
  'a carriage return in an attribute value': `<adx xmlns="${NS}"><group orgUnit="K\rZ"/></adx>`,
  'a byte-order mark in an attribute value': `<adx xmlns="${NS}"><group orgUnit="\uFEFFKAZ"/></adx>`,
  'an emoji (a surrogate pair)': `<adx xmlns="${NS}"><group note="🩺"/></adx>`,
  nothing: '',
  'only a declaration': '<?xml version="1.0"?>'
}

t.test('references, CDATA and line ends are XML\'s; every fault is a 400 naming its line', async (t) => {
  const read = Object.fromEntries(Object.entries(other).map(([name, text]) => [name, outcome(readAdx, text)]))
  t.same(read['an entity reference'], { groups: [{ attributes: { orgUnit: 'KAZ', note: 'a & b' }, line: 1, dataValues: [] }] })
  t.same(read['a character reference'], { groups: [{ attributes: { orgUnit: 'KAZ' }, line: 1, dataValues: [] }] })
  t.same(read['Windows line ends'], { groups: [{ attributes: { orgUnit: 'KAZ' }, line: 2, dataValues: [] }] })
  t.same(read['a carriage return in an attribute value'], { groups: [{ attributes: { orgUnit: 'K Z' }, line: 1, dataValues: [] }] }, 'normalized as XML says')
  const wellFormed = ['an entity reference', 'a character reference', 'CDATA', 'a processing instruction', 'Windows line ends', 'a byte-order mark', 'a tab in an attribute value', 'a carriage return in an attribute value', 'a byte-order mark in an attribute value', 'an emoji (a surrogate pair)', 'a non-ASCII element name', 'XML 1.1', '& in text', 'U+FFFE in a comment', 'a lone surrogate in text', 'a control character in a comment']
  for (const [name, got] of Object.entries(read)) {
    if (wellFormed.includes(name)) continue
    t.match(got, { status: 400, errors: [{ line: Number }] }, `${name}: a 400 naming its line`)
  }
  t.match(read['a mismatched end tag'], { status: 400, errors: [{ line: 1, message: /not well-formed XML/ }] })
  t.match(read['a duplicate attribute'], { status: 400, errors: [{ message: /not well-formed XML/ }] })
  t.match(outcome(readAdx, '<?xml version="1.0"?>\n<!DOCTYPE adx [<!ENTITY x "y">]>\n<adx xmlns="urn:ihe:qrph:adx:2015"/>'), { status: 400, errors: [{ line: 2, path: '<!DOCTYPE>' }] })
})

t.test('a thousand mutations of a real document: read, or refused with a problem naming a line or an element', async (t) => {
  const base = plain['the shape mhx writes'] + '<!-- c -->'
  const pieces = ['<', '>', '/', '"', '\'', '=', ' ', '\n', '!', '-', '?', '&', ':', 'a', 'é', '\t', '<!--', '-->', '/>', '</group>', '<group>', 'xmlns="urn:x"', 'value="0"', '__proto__="x"']
  // a fixed seed: a failure here is reproducible
  let seed = 20261202
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const answers = { read: 0, refused: 0 }
  for (let i = 0; i < 1000; i++) {
    let text = base
    for (let m = 0, edits = 1 + random(3); m < edits; m++) {
      const at = random(text.length)
      const cut = random(3)
      text = text.slice(0, at) + (random(2) === 0 ? pieces[random(pieces.length)] : '') + text.slice(at + cut)
    }
    // the codec as the route runs it: anything but a problem naming where is a failure
    let got: unknown
    try {
      got = adx.decode({ bytes: Buffer.from(text) })
      answers.read++
    } catch (err) {
      answers.refused++
      const errors = err instanceof HttpProblem ? err.extra.errors as Array<{ line?: number, path: string }> : undefined
      if (!errors || ![400, 422].includes((err as HttpProblem).status) || !errors.every((e) => typeof e.line === 'number' || e.path !== '')) t.fail(`${JSON.stringify(text)}: ${String(err)}`)
      continue
    }
    const items = (got as { items: Array<Record<string, unknown>> }).items
    if (!items.every((v) => Object.getPrototypeOf(v) === Object.prototype)) t.fail(`${JSON.stringify(text)}: a data value that is not a plain object`)
  }
  t.ok(answers.read > 10 && answers.refused > 100, `read ${answers.read}, refused ${answers.refused}`)
})

t.test('an attribute named __proto__ is an own field of the data value, for the schema to refuse', async (t) => {
  const [dataValue] = adx.decode({ bytes: Buffer.from(`<adx xmlns="${NS}"><group orgUnit="KAZ" period="2026-03-01/P1M"><dataValue dataElement="contact" __proto__="x" value="2"/></group></adx>`) }).items as Array<Record<string, unknown>>
  t.ok(Object.hasOwn(dataValue, '__proto__'))
  t.equal(Object.getPrototypeOf(dataValue), Object.prototype)
})

t.test('data values are the group\'s dimensions and then the dataValue\'s attributes, whatever their layout', async (t) => {
  // layouts that change from one dataValue to the next, a namespace declaration, an attribute
  // overriding a group dimension in its place, and the same read by saxes (an entity reference)
  const text = `<adx xmlns="${NS}">
<group orgUnit="KZ-75" period="2026-03-01/P1M" sex="female" dataSet="x">
<dataValue dataElement="contact" ageBand="20-24" value="3"/>
<dataValue ageBand="25-29" dataElement="contact" value="4" sex="male"/>
<dataValue dataElement="contact" ageBand="20-24" value="5" xmlns:x="urn:x"/>
<dataValue dataElement="contact" ageBand="20-24" value="6"/>
</group>
<group orgUnit="KAZ" period="2026-04-01/P1M"><dataValue dataElement="case_notification" value=" 7 "/></group>
</adx>`
  const expected = [
    { period: '2026-03', subnationalArea: 'KZ-75', sex: 'female', recordType: 'contact', ageBand: '20-24', count: 3 },
    { period: '2026-03', subnationalArea: 'KZ-75', sex: 'male', ageBand: '25-29', recordType: 'contact', count: 4 },
    { period: '2026-03', subnationalArea: 'KZ-75', sex: 'female', recordType: 'contact', ageBand: '20-24', count: 5 },
    { period: '2026-03', subnationalArea: 'KZ-75', sex: 'female', recordType: 'contact', ageBand: '20-24', count: 6 },
    { period: '2026-04', reportingCountry: 'KAZ', recordType: 'case_notification', count: 7 }
  ]
  for (const [how, document] of [['as written', text], ['with a character reference', text.replace('value="6"', 'value="&#54;"')]]) {
    const dataValues = adx.decode({ bytes: Buffer.from(document) }).items as Array<Record<string, unknown>>
    t.same(dataValues, expected, how)
    t.same(dataValues.map((v) => Object.keys(v)), expected.map((v) => Object.keys(v)), `${how}: in that order`)
    t.ok(dataValues.every((v) => Object.getPrototypeOf(v) === Object.prototype), `${how}: plain objects`)
  }
})
