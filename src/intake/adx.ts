// Reading ADX XML into its groups and data values, each with its line. A plain document (what
// DHIS2 and mhx itself write: an XML declaration, elements with double- or single-quoted
// attributes, whitespace, comments) is read by a strict scanner; anything else it meets (an entity
// or character reference, CDATA, a processing instruction, a carriage return, a name outside
// ASCII, a character outside the Basic Multilingual Plane, or any fault) sends the whole document to saxes, which checks well-formedness and
// names the fault. The scanner accepts only documents saxes accepts, with the same result
// (test/intake/adx.test.ts holds them side by side, a thousand mutated documents included). Why:
// saxes was the largest part of the API's CPU per ADX data value; the scanner takes about half its
// time, and hands attributes over as names and values (one names array for a run of elements with
// the same names) rather than an object per element built key by key.
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import { listedErrors, problem, type FieldError } from '../problem.js'
import { TEXT_PIECE_BYTES, type Utf8Body } from './body.js'

export const ADX_NAMESPACE = 'urn:ihe:qrph:adx:2015'
export const ADX_FAULT = 'ADX document'

/**
 * An element of an ADX document: its attributes (namespace declarations included) as names and
 * values in document order, and its line. Consecutive elements with the same names share one
 * names array (never changed once an element holds it): a reader compares it to tell a layout
 * it has seen, and no object per element is built key by key.
 */
export interface AdxElement { names: readonly string[], values: readonly string[], line: number }
export interface AdxDataValue extends AdxElement {
  /** holds an annotation element: a protected cell of another hub's answer when it has no value */
  annotated: boolean
}
export interface AdxGroup extends AdxElement { dataValues: AdxDataValue[] }

/** The value of an element's attribute `name`, if it has one. */
export function attribute (element: AdxElement, name: string): string | undefined {
  const at = element.names.indexOf(name)
  return at === -1 ? undefined : element.values[at]
}

/** An element's attributes as an object (own properties, `__proto__` included, as any other name). */
export function attributesOf (element: AdxElement): Record<string, string> {
  return Object.fromEntries(element.names.map((name, i) => [name, element.values[i]]))
}

export function refuse (status: 'badRequest' | 'validation', errors: FieldError[], what: string): never {
  throw problem(status, `${errors.length} fault${errors.length === 1 ? '' : 's'} in the ${what}; nothing was stored`, listedErrors(errors))
}

/**
 * The groups and data values of an ADX document. DOCTYPE and entity declarations are refused
 * before parsing (external entities, entity expansion); an undefined entity is a fault of the
 * parser. Every fault names the line. The scanner reads no declaration (any `<!` but a comment
 * sends the document on), so they are looked for only on the way to saxes.
 */
export function readAdx (document: string | Utf8Body, pieceBytes: number = TEXT_PIECE_BYTES): AdxGroup[] {
  return scanPlainAdx(document, pieceBytes) ?? parseAdxXml(refuseDeclarations(typeof document === 'string' ? document : document.text()))
}

function refuseDeclarations (text: string): string {
  const declaration = /<!(DOCTYPE|ENTITY)\b/i.exec(text)
  if (declaration) {
    const line = text.slice(0, declaration.index).split('\n').length
    refuse('badRequest', [{ line, path: `<!${declaration[1].toUpperCase()}>`, message: `XML with a ${declaration[1].toUpperCase()} declaration is refused (external entities, entity expansion): send plain ADX` }], ADX_FAULT)
  }
  return text
}

class RootFault extends Error {
  constructor (readonly fault: FieldError) { super(fault.message) }
}

/** What the elements of a document make, whichever reader found them. */
class AdxBuilder {
  readonly groups: AdxGroup[] = []
  rooted = false
  // depth 1 is the root, 2 its groups, 3 their data values, 4 what a data value holds
  private depth = 0
  private group: AdxGroup | undefined
  private dataValue: AdxDataValue | undefined

  open (name: string, names: readonly string[], values: readonly string[], line: number): void {
    this.depth++
    const local = name.slice(name.indexOf(':') + 1)
    if (this.depth === 1) {
      this.rooted = true
      const prefix = name.length > local.length ? name.slice(0, name.length - local.length - 1) : ''
      if (local !== 'adx') throw new RootFault({ line, path: `/${name}`, message: 'the root element must be adx' })
      if (attribute({ names, values, line }, prefix === '' ? 'xmlns' : `xmlns:${prefix}`) !== ADX_NAMESPACE) throw new RootFault({ line, path: '/adx/@xmlns', message: `the adx element must be in namespace ${ADX_NAMESPACE}` })
    } else if (this.depth === 2 && local === 'group') {
      this.groups.push(this.group = { names, values, line, dataValues: [] })
    } else if (this.depth === 3 && this.group && local === 'dataValue') {
      this.group.dataValues.push(this.dataValue = { names, values, line, annotated: false })
    } else if (this.depth === 4 && this.dataValue && local === 'annotation') {
      this.dataValue.annotated = true
    }
  }

  close (): void {
    if (this.depth === 2) this.group = undefined
    if (this.depth === 3) this.dataValue = undefined
    this.depth--
  }
}

/** saxes (a streaming parser that checks well-formedness as it goes) for any document. */
export function parseAdxXml (text: string): AdxGroup[] {
  // namespaces are resolved by the builder for the root only: saxes's own resolution builds an object per attribute
  const parser = new SaxesParser<{ xmlns: false, position: true }>({ xmlns: false, position: true })
  const builder = new AdxBuilder()
  // the line a tag starts on (opentag comes at its end, which may be lines later); opentagstart
  // comes after the character that ends the name, so a name ending a line has moved to the next
  let line = 1
  parser.on('opentagstart', () => { line = parser.columnIndex === 0 ? parser.line - 1 : parser.line })
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const names = Object.keys(tag.attributes)
    builder.open(tag.name, names, names.map((name) => tag.attributes[name]), line)
  })
  parser.on('closetag', () => builder.close())
  parser.on('doctype', () => { throw new Error('a DOCTYPE is refused') })
  try {
    parser.write(text).close()
  } catch (err) {
    if (err instanceof RootFault) refuse('badRequest', [err.fault], ADX_FAULT)
    // saxes's messages start with "line:column: "; the line goes in its own member
    const message = (err as Error).message.replace(/^[^:]*:?\d+:\d+: /, '')
    refuse('badRequest', [{ line: parser.line, path: '', message: `not well-formed XML: ${message}` }], ADX_FAULT)
  }
  if (!builder.rooted) refuse('badRequest', [{ line: parser.line, path: '', message: 'not well-formed XML: no root element' }], ADX_FAULT)
  return builder.groups
}

// What sends a document to saxes: references (&), carriage returns (line ends saxes normalizes),
// a byte-order mark, characters XML forbids, and surrogates (names are held to ASCII by NAME_CHAR;
// text and attribute values may hold any other character). The scanner checks each character of
// text, comments and attribute values itself as it passes them (plainText), which cost less than
// a regular expression over the whole document first; CDATA ends are looked for once.
const PLAIN_ASCII = new Uint8Array(128)
for (let c = 0; c < 128; c++) PLAIN_ASCII[c] = (c >= 0x20 && c !== 0x26) || c === 0x0a || c === 0x09 ? 1 : 0
function isPlainChar (c: number): boolean {
  return c < 128 ? PLAIN_ASCII[c] === 1 : !((c >= 0xd800 && c <= 0xdfff) || c === 0xfeff || c === 0xfffe || c === 0xffff)
}
/** Whether text[from, to) holds only characters the scanner may read. */
function plainText (text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isPlainChar(text.charCodeAt(i))) return false
  return true
}
const XML_DECLARATION = /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(?:"1\.0"|'1\.0')(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\n]*\?>/y
// ASCII name characters: 1 may start a name, 2 may follow
const NAME_CHAR = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  NAME_CHAR[c] = /[A-Za-z_]/.test(ch) ? 1 : /[0-9.:-]/.test(ch) ? 2 : 0
}
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09
const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const QUOTE = 0x22
const APOSTROPHE = 0x27

/** Where the name starting at `from` ends, or -1 when no name starts there. */
function nameEnd (text: string, from: number): number {
  if (NAME_CHAR[text.charCodeAt(from)] !== 1) return -1
  let at = from + 1
  while (NAME_CHAR[text.charCodeAt(at)] > 0) at++
  return at
}

/** Whether the name `name` (and no longer one) starts at `at`: a loop, cheaper here than startsWith. */
function namedAt (text: string, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if (text.charCodeAt(at + i) !== name.charCodeAt(i)) return false
  return NAME_CHAR[text.charCodeAt(at + name.length)] === 0
}

/** The last start tag the scanner read: its attribute names in order, where it ended, whether it closed itself. */
interface LastTag { names: readonly string[], end: number, selfClosing: boolean }

/**
 * A start tag's attribute values, from just after its name (its names, where it ends and whether
 * it closes itself go in `tag`), or undefined for anything saxes must see (no space before an
 * attribute, no quotes, a duplicate, `<`, a tab or line end in a value, `__proto__`).
 */
function startTagRest (text: string, from: number, tag: LastTag): string[] | undefined {
  const last = tag.names
  // the last tag's names array while every name is its at that place (then none repeats: that
  // tag had none twice); a new array from the first that is not
  let names: string[] | undefined
  const values: string[] = []
  let at = from
  for (let k = 0; ; k++) {
    const spaced = at
    while (isSpace(text.charCodeAt(at))) at++
    const c = text.charCodeAt(at)
    if (c === GT || c === SLASH) {
      tag.names = names ?? (k === last.length ? last : last.slice(0, k))
      tag.selfClosing = c === SLASH
      if (tag.selfClosing && text.charCodeAt(at + 1) !== GT) return undefined
      tag.end = at + (tag.selfClosing ? 2 : 1)
      return values
    }
    if (at === spaced) return undefined
    // the k-th attribute of a tag is mostly named as the last tag's: that string again, not a new one to look up
    let name = last[k]
    if (name !== undefined && namedAt(text, at, name)) {
      at += name.length
    } else {
      const end = nameEnd(text, at)
      if (end === -1) return undefined
      name = text.slice(at, end)
      names ??= last.slice(0, k)
      at = end
    }
    while (isSpace(text.charCodeAt(at))) at++
    if (text.charCodeAt(at) !== 0x3d) return undefined // =
    at++
    while (isSpace(text.charCodeAt(at))) at++
    const quote = text.charCodeAt(at)
    if (quote !== QUOTE && quote !== APOSTROPHE) return undefined
    // the closing quote; a value holding `<`, a tab or a line end, or never closed, goes to saxes
    let close = at + 1
    for (;; close++) {
      const v = text.charCodeAt(close)
      if (v === quote) break
      if (v === LT || v === 0x0a || v === 0x09 || !isPlainChar(v) || close >= text.length) return undefined
    }
    if (names !== undefined) {
      // once the names differ from the last tag's, each must be no other attribute's of this tag
      if (name === '__proto__' || names.includes(name)) return undefined
      names.push(name)
    }
    values.push(text.slice(at + 1, close))
    at = close + 1
  }
}

/**
 * A plain document's groups, or undefined when saxes must read it (see isPlainChar and the
 * returns). A body's bytes are read in pieces of about `pieceBytes` (adxPieces), each cut right
 * before the `<` of a tag or comment: no tag, comment or attribute value spans two. A piece cut
 * anywhere else (only in a document that is not plain) ends in a tag or comment the scanner cannot
 * finish, which sends the document to saxes, as any other fault does.
 */
export function scanPlainAdx (document: string | Utf8Body, pieceBytes: number = TEXT_PIECE_BYTES): AdxGroup[] | undefined {
  return scanPlainPieces(typeof document === 'string' ? [document] : adxPieces(document, pieceBytes))
}

function scanPlainPieces (pieces: Iterable<string>): AdxGroup[] | undefined {
  const builder = new AdxBuilder()
  const open: string[] = []
  const tag: LastTag = { names: [], end: 0, selfClosing: false }
  let closed = false
  let first = true
  // the line of the current piece's start, and lines counted up to `counted` in it
  let line = 1
  for (const text of pieces) {
    if (text.includes(']]>')) return undefined
    let at = 0
    if (first) {
      XML_DECLARATION.lastIndex = 0
      at = XML_DECLARATION.test(text) ? XML_DECLARATION.lastIndex : 0
      first = false
    }
    let counted = 0
    const lineAt = (position: number): number => {
      for (let nl = text.indexOf('\n', counted); nl !== -1 && nl < position; nl = text.indexOf('\n', nl + 1)) line++
      counted = position
      return line
    }
    for (;;) {
      const lt = text.indexOf('<', at)
      // outside the root only whitespace; inside, text is no part of ADX, but its characters must be plain
      if (open.length === 0) {
        const end = lt === -1 ? text.length : lt
        while (at < end && isSpace(text.charCodeAt(at))) at++
        if (at !== end) return undefined
      } else if (!plainText(text, at, lt === -1 ? text.length : lt)) return undefined
      if (lt === -1) break
      const next = text.charCodeAt(lt + 1)
      if (next === 0x21) { // <!: only a comment: no -- inside, not ending in -
        if (!text.startsWith('<!--', lt)) return undefined
        const end = text.indexOf('-->', lt + 4)
        if (end === -1) return undefined
        const comment = text.slice(lt + 4, end)
        if (comment.includes('--') || comment.endsWith('-') || !plainText(text, lt + 4, end)) return undefined
        at = end + 3
      } else if (next === SLASH) { // </name>
        const end = nameEnd(text, lt + 2)
        if (end === -1 || open.length === 0 || text.slice(lt + 2, end) !== open[open.length - 1]) return undefined
        at = end
        while (isSpace(text.charCodeAt(at))) at++
        if (text.charCodeAt(at) !== GT) return undefined
        at++
        open.pop()
        builder.close()
      } else { // <name attributes> or <name attributes/>; a processing instruction (<?) is no name
        const end = nameEnd(text, lt + 1)
        if (end === -1 || closed) return undefined
        const name = text.slice(lt + 1, end)
        const values = startTagRest(text, end, tag)
        if (values === undefined) return undefined
        at = tag.end
        try {
          builder.open(name, tag.names, values, lineAt(lt))
        } catch (err) {
          // the same fault saxes finds: everything up to here was well-formed
          if (err instanceof RootFault) refuse('badRequest', [err.fault], ADX_FAULT)
          throw err
        }
        if (tag.selfClosing) builder.close()
        else open.push(name)
      }
      if (open.length === 0 && builder.rooted) closed = true
    }
    // the next piece starts on the line this one ends on
    lineAt(text.length)
  }
  return closed ? builder.groups : undefined
}

const COMMENT_START = Buffer.from('<!--')
const COMMENT_END = Buffer.from('-->')

/**
 * A document's text in pieces of about `size` bytes, each cut right before a `<` that no comment
 * holds (in a plain document, the start of a tag or comment).
 */
function* adxPieces (body: Utf8Body, size: number): Generator<string> {
  const { bytes } = body
  let from = body.start
  while (bytes.length - from > size) {
    // the last `<` within `size` bytes, or the first after them (a long tag or text)
    let cut = bytes.lastIndexOf(LT, from + size)
    if (cut <= from) cut = bytes.indexOf(LT, from + size + 1)
    if (cut === -1) break
    // a `<` inside a comment (the last one begun in the piece, if it ends after the cut) is no cut:
    // the comment's start is, or when the piece starts with it, the first `<` after its end. Looked
    // for in the piece only: a search back through the whole document at every cut would cost
    // time growing with the square of its size
    const inPiece = bytes.subarray(from, cut).lastIndexOf(COMMENT_START)
    if (inPiece !== -1) {
      const comment = from + inPiece
      const end = bytes.indexOf(COMMENT_END, comment + 4)
      if (end === -1) break
      if (end + 3 > cut) cut = comment > from ? comment : bytes.indexOf(LT, end + 3)
      if (cut === -1) break
    }
    yield body.text(from, cut)
    from = cut
  }
  yield body.text(from)
}
