// NDJSON: one JSON value per line (the validator checks it is a record object); blank lines are
// ignored; each item keeps its 1-based line, so that a fault names the line a ministry sees.
import { assertJsonDepth } from '../../json-depth.js'
import { problem } from '../../problem.js'
import { textOf, type Decoded } from './index.js'

export function decode (body: { bytes: Buffer }, member: 'records' | 'dataValues' = 'records'): Decoded {
  assertJsonDepth(body.bytes)
  const text = textOf(body)
  const items: unknown[] = []
  const lines: number[] = []
  const bodyLines = text.split('\n')
  for (let i = 0; i < bodyLines.length; i++) {
    const line = bodyLines[i].endsWith('\r') ? bodyLines[i].slice(0, -1) : bodyLines[i]
    if (line.trim() === '') continue
    try {
      items.push(JSON.parse(line))
    } catch (error) {
      const message = `line ${i + 1} is not valid JSON: ${(error as Error).message}`
      throw problem('badRequest', message, { errors: [{ line: i + 1, path: '', message }] })
    }
    lines.push(i + 1)
  }
  return { items, lines, locate: (index, path) => `/${member}/${index}${path}` }
}
