// The ADX scanner against saxes: every plain document it reads gives what saxes gives, everything
// else it hands to saxes, and no document (a thousand mutations of a real one included) comes out
// of readAdx differently from saxes alone.
import t from 'tap'
import { attribute, parseAdxXml, readAdx, scanPlainAdx } from '../../src/intake/adx.js'
import { parseAdx } from '../../src/intake/aggregate.js'
import { Utf8Body } from '../../src/intake/body.js'
import { HttpProblem } from '../../src/problem.js'

const NS = 'urn:ihe:qrph:adx:2015'

/** what reading a document gives: its groups, or the problem it is refused with */
function outcome (read: (text: string) => unknown, text: string): unknown {
  try {
    return { groups: read(text) }
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

t.test('a plain document is scanned, with the groups, attributes and lines saxes finds', async (t) => {
  for (const [name, text] of Object.entries(plain)) {
    const scanned = outcome(scanPlainAdx, text)
    t.same(scanned, outcome(parseAdxXml, text), name)
    t.notSame(scanned, { groups: undefined }, `${name}: read by the scanner, not handed on`)
  }
  const groups = scanPlainAdx(plain['no declaration, single quotes, spaces around =, tags across lines'])!
  t.same(groups.map((g) => [g.line, g.dataValues.map((v) => v.line)]), [[2, [5]]], 'a tag across lines is on the line it starts')
  t.same(scanPlainAdx(plain['a prefixed root, comments, text, annotations and Cyrillic values'])![0].dataValues.map((v) => [v.annotated, attribute(v, 'value')]), [[true, undefined], [false, '4']])
})

const handedOn: Record<string, string> = {
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
  // the scanner checks every character of text, comments and values as it passes them
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

t.test('anything else is handed to saxes, which reads it or names its fault', async (t) => {
  for (const [name, text] of Object.entries(handedOn)) {
    t.equal(scanPlainAdx(text), undefined, name)
    t.same(outcome(readAdx, text), outcome(parseAdxXml, text), name)
  }
  t.match(outcome(readAdx, handedOn['a mismatched end tag']), { status: 400, errors: [{ line: 1, message: /not well-formed XML/ }] })
  t.same(outcome(readAdx, handedOn['an entity reference']), { groups: [{ names: ['orgUnit', 'note'], values: ['KAZ', 'a & b'], line: 1, dataValues: [] }] })
})

/** the body a client would send with this text (a lone surrogate becomes U+FFFD on the way) */
const bodyOf = (text: string): Utf8Body => Utf8Body.of(Buffer.from(text))!

t.test('read from its bytes a piece at a time, a document gives what its whole text gives, wherever the pieces are cut', async (t) => {
  const documents: Record<string, string> = {
    ...plain,
    ...handedOn,
    'comments holding < and tags': `<adx xmlns="${NS}"><!-- a < b <c> --><group orgUnit="KAZ" period="2026-03-01/P1M"><!--<dataValue value="1"/>--><dataValue dataElement="contact" value="2"/>
</group><!-- < --></adx>
<!--<-->`,
    'a comment never closed': `<adx xmlns="${NS}"><group orgUnit="KAZ"/><!-- <group/> </adx>`
  }
  for (const [name, text] of Object.entries(documents)) {
    const body = bodyOf(text)
    const whole = outcome(readAdx, body.text())
    const scanned = outcome(scanPlainAdx, body.text())
    // every piece size, from one byte (a cut before every `<`) to the whole document: the same
    // answer, and read by the scanner exactly when the whole text is (a cut inside a comment or tag would send it to saxes)
    let differing: { size: number, got: unknown } | undefined
    for (let size = 1; size <= text.length + 1 && !differing; size++) {
      const got = [outcome((_) => readAdx(body, size), text), outcome((_) => scanPlainAdx(body, size), text)]
      if (JSON.stringify(got) !== JSON.stringify([whole, scanned])) differing = { size, got }
    }
    t.same(differing, undefined, `${name}: the same in pieces of every size`)
  }
  // a byte-order mark is no part of the text
  const bom = Utf8Body.of(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(plain['the shape mhx writes'])]))!
  t.same(readAdx(bom, 8), readAdx(plain['the shape mhx writes']))
  // a document of 1,000 data values, past V8's large-object size, in pieces of the default size
  const many = `<adx xmlns="${NS}">\n<group orgUnit="KAZ" period="2026-03-01/P1M">\n${Array.from({ length: 1000 }, (_, i) => `<!-- ${i} < --><dataValue dataElement="contact" ageBand="20-24" note="${'x'.repeat(i % 300)}" value="${i + 1}"/>`).join('\n')}\n</group>\n</adx>\n`
  t.ok(Buffer.byteLength(many) > 128 * 1024)
  const read = readAdx(bodyOf(many))
  t.same(read, readAdx(many))
  t.same([read[0].dataValues.length, read[0].dataValues[999].line, attribute(read[0].dataValues[999], 'value')], [1000, 1002, '1000'])
})

t.test('a thousand mutations of a real document: readAdx always answers as saxes alone does', async (t) => {
  const base = plain['the shape mhx writes'] + '<!-- c -->'
  const pieces = ['<', '>', '/', '"', '\'', '=', ' ', '\n', '!', '-', '?', '&', ':', 'a', 'é', '\t', '<!--', '-->', '/>', '</group>', '<group>', 'xmlns="urn:x"']
  // a fixed seed: a failure here is reproducible
  let seed = 20261202
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  let scanned = 0
  for (let i = 0; i < 1000; i++) {
    let text = base
    for (let m = 0, edits = 1 + random(3); m < edits; m++) {
      const at = random(text.length)
      const cut = random(3)
      text = text.slice(0, at) + (random(2) === 0 ? pieces[random(pieces.length)] : '') + text.slice(at + cut)
    }
    const fast = outcome(readAdx, text)
    const slow = outcome(parseAdxXml, text)
    // and from its bytes, in pieces of 1 to 24 bytes
    const size = 1 + random(24)
    const body = bodyOf(text)
    const inPieces = outcome((_) => readAdx(body, size), text)
    const wholeText = outcome(readAdx, body.text())
    if (JSON.stringify(inPieces) !== JSON.stringify(wholeText)) t.same(inPieces, wholeText, `${JSON.stringify(text)} in pieces of ${size} bytes`)
    const byScanner = outcome(scanPlainAdx, text) as { groups?: unknown }
    if (!('groups' in byScanner) || byScanner.groups !== undefined) scanned++
    if (JSON.stringify(fast) !== JSON.stringify(slow)) t.same(fast, slow, JSON.stringify(text))
  }
  t.ok(scanned > 100, `the scanner read ${scanned} of them itself`)
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
  for (const [how, document] of [['scanned', text], ['by saxes', text.replace('value="6"', 'value="&#54;"')]]) {
    const { dataValues } = parseAdx(document)
    t.same(dataValues, expected, how)
    t.same(dataValues.map((v) => Object.keys(v)), expected.map((v) => Object.keys(v)), `${how}: in that order`)
    t.ok(dataValues.every((v) => Object.getPrototypeOf(v) === Object.prototype), `${how}: plain objects`)
  }
})
