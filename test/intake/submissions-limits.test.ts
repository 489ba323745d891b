// Size limits: too many records, an oversized body, a gzip bomb: 413 naming the limit, quickly,
// without the process growing, and the server keeps serving (in process and over a real socket).
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rows } from '../../src/db/connect.js'
import { bodyLimitFor } from '../../src/intake/body.js'
import { buildTestHub } from '../helpers.js'
import { ndjson, QUERY, records, reporterOf, SCHEMA } from './intake-fixtures.js'

const MAX = 20
const LIMIT = bodyLimitFor(MAX)
const hub = await buildTestHub(t, { config: { maxRecords: MAX } })
const kaz = await reporterOf(hub, 'KAZ')

async function storedCount (): Promise<number> {
  const [row] = await rows<{ n: string }>(hub.database.db, sql`SELECT count(*) AS n FROM records`)
  return Number(row.n)
}

/** A gzip body that inflates to `inflatedMb` MB of spaces (valid JSON whitespace), from small pieces. */
function gzipBomb (inflatedMb: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024, 0x20), { level: 9 })
  return Buffer.concat(Array.from({ length: inflatedMb }, () => member))
}

t.test('more than MHX_MAX_RECORDS records is a 413 naming the limit', async (t) => {
  const json = await kaz.post({ ...SCHEMA, records: records(MAX + 1) })
  t.equal(json.statusCode, 413, json.body)
  t.match(json.json().detail, new RegExp(`at most ${MAX} records.*\`mhx push\` sends a file of any size in batches`))
  const nd = await kaz.post(ndjson(records(MAX + 1)), { url: `/v1/submissions?${QUERY}`, headers: { 'content-type': 'application/x-ndjson' } })
  t.equal(nd.statusCode, 413)
  t.equal((await kaz.post({ ...SCHEMA, records: records(MAX) })).statusCode, 202, 'exactly the limit is fine')
})

t.test('a body over the limit is a 413 naming it, with or without Content-Length', async (t) => {
  const big = JSON.stringify({ ...SCHEMA, records: records(1) }).replace('"records"', `"padding":"${'x'.repeat(LIMIT)}","records"`)
  const res = await kaz.post(big)
  t.equal(res.statusCode, 413)
  t.match(res.headers['content-type'], /problem\+json/)
  t.match(res.json().detail, new RegExp(`${LIMIT} bytes.*${MAX} records.*\`mhx push\``))
  const chunked = await hub.app.inject({
    method: 'POST', url: '/v1/submissions',
    headers: { ...kaz.auth, 'content-type': 'application/json' },
    payload: Readable.from([Buffer.from(big.slice(0, LIMIT / 2)), Buffer.from(big.slice(LIMIT / 2))])
  })
  t.equal(chunked.statusCode, 413)
  t.match(chunked.json().detail, /bytes/)
})

t.test('gzip: accepted under the cap; corrupt gzip is a 400; a bomb is a 413 without the process growing', async (t) => {
  const ok = await kaz.post(gzipSync(JSON.stringify({ ...SCHEMA, records: records(3) })), { headers: { 'content-encoding': 'gzip' } })
  t.equal(ok.statusCode, 202, ok.body)
  const corrupt = await kaz.post(Buffer.from('definitely not gzip'), { headers: { 'content-encoding': 'gzip' } })
  t.equal(corrupt.statusCode, 400)
  t.match(corrupt.json().detail, /gzip/)

  const before = await storedCount()
  const bomb = gzipBomb(1024) // 1 GiB inflated, about 1 MB sent
  globalThis.gc?.()
  const rssBefore = process.memoryUsage().rss
  const started = Date.now()
  const res = await kaz.post(bomb, { headers: { 'content-encoding': 'gzip' } })
  const ms = Date.now() - started
  const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
  t.equal(res.statusCode, 413, res.body)
  t.match(res.json().detail, new RegExp(`${LIMIT} bytes`))
  t.ok(grownMb < 50, `the process grew by ${grownMb.toFixed(1)} MB (< 50)`)
  t.comment(`bomb refused in ${ms} ms`)
  t.equal(await storedCount(), before, 'nothing stored')
})

t.test('at the default limit (10,000 records, about 6 MB) a 1 GiB bomb still costs under 50 MB', async (t) => {
  const defaults = await buildTestHub(t, { database: hub.database, config: { maxRecords: 10_000 } })
  const bomb = gzipBomb(1024)
  globalThis.gc?.()
  const rssBefore = process.memoryUsage().rss
  const res = await defaults.app.inject({ method: 'POST', url: '/v1/submissions', headers: { ...kaz.auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: bomb })
  const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
  t.equal(res.statusCode, 413, res.body)
  t.match(res.json().detail, new RegExp(`${bodyLimitFor(10_000)} bytes`))
  t.ok(grownMb < 50, `the process grew by ${grownMb.toFixed(1)} MB (< 50)`)
})

t.test('over a real socket: the client gets its 413 and the server keeps serving', async (t) => {
  const address = await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = hub.app.server.address() as AddressInfo
  t.ok(address)
  const send = (body: Buffer, headers: Record<string, string>) => new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/submissions', headers: { ...kaz.auth, 'content-type': 'application/json', ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    // Written in pieces, without Content-Length (chunked), so the limit must cut the stream itself.
    const piece = 64 * 1024
    let offset = 0
    const writeMore = () => {
      while (offset < body.length) {
        const more = req.write(body.subarray(offset, offset + piece))
        offset += piece
        if (!more) return req.once('drain', writeMore)
      }
      req.end()
    }
    req.on('error', () => {})
    writeMore()
  })
  const bomb = await send(gzipBomb(256), { 'content-encoding': 'gzip' })
  t.equal(bomb.status, 413, bomb.body)
  const huge = await send(Buffer.alloc(LIMIT * 4, 0x20), {})
  t.equal(huge.status, 413, huge.body)
  const fine = await send(Buffer.from(JSON.stringify({ ...SCHEMA, records: records(2) })), {})
  t.equal(fine.status, 202, fine.body)
})
