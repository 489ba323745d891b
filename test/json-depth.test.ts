// The nesting cap: a deeply nested body is refused before JSON.parse sees it.
import t from 'tap'
import { assertJsonDepth, MAX_JSON_DEPTH } from '../src/json-depth.js'
import { buildTestHub } from './helpers.js'

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

t.test('the scan counts arrays and objects, not brackets inside strings', async (t) => {
  const depthOf = (text: string) => assertJsonDepth(Buffer.from(text))
  t.doesNotThrow(() => depthOf(nested(MAX_JSON_DEPTH)))
  t.throws(() => depthOf(nested(MAX_JSON_DEPTH + 1)), /deeper than 8/)
  t.doesNotThrow(() => depthOf(JSON.stringify({ a: '[[[[[[[[[[{{{{{{{{{{', b: 'say \\"[[[[[[[[[[' })))
  t.throws(() => depthOf(`{"a":"\\"",${'"b":'.repeat(1)}${nested(9)}}`), /deeper/, 'an escaped quote does not end the string early')
  t.doesNotThrow(() => depthOf(`${nested(4)}\n${nested(4)}\n`), 'NDJSON lines each start at the top')
  // multi-byte text (Cyrillic, an emoji) in strings and keys: counted by bytes, the answer is the same
  t.doesNotThrow(() => depthOf(JSON.stringify({ ключ: 'Ёж [[[[[[[[[[ 🩺 "', b: [[['ü']]] })))
  t.throws(() => depthOf(`{"ж":"🩺",${'"b":'.repeat(1)}${nested(9)}}`), /deeper/)
})

t.test('a body nested deeper than 8 levels is a 400 problem before parsing', async (t) => {
  const hub = await buildTestHub(t)
  const admin = { authorization: `Bearer ${await hub.token(hub.admin)}`, 'content-type': 'application/json' }
  const deep = `{"code":"x-region","name":"X","members":${nested(100_000)}}`
  const res = await hub.app.inject({ method: 'POST', url: '/v1/admin/regions', headers: admin, payload: deep })
  t.equal(res.statusCode, 400, res.body)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json().detail, /nests deeper than 8 levels/)

  const reporter = await hub.partner({ roles: ['reporter'], country: 'KAZ' })
  const submit = { authorization: `Bearer ${await hub.token(reporter)}`, 'content-type': 'application/json' }
  const submission = await hub.app.inject({ method: 'POST', url: '/v1/submissions', headers: submit, payload: `{"schema":"migrant-health-event","version":"1.0.0","records":[${nested(20)}]}` })
  t.equal(submission.statusCode, 400, submission.body)
  t.match(submission.json().detail, /deeper than 8/)
})
