// Faults a client can ride out, in one process (the embedded database or PostgreSQL): which faults
// are the database being away, a 503 problem+json with Retry-After for them on any route, one log
// line at each end of an outage, a 500 problem+json with the request id for anything else, and 503
// problem+json with Retry-After for requests that arrive while the hub shuts down.
// test/ops/outage.test.ts stops a PostgreSQL of its own under load; test/ops/kill.test.ts kills processes.
// @embedded: which of each driver's errors mean the database is away
import { Writable } from 'node:stream'
import { connect } from 'node:net'
import pino from 'pino'
import t from 'tap'
import { databaseFault } from '../../src/db/connect.js'
import { createOutage } from '../../src/ops/outage.js'
import { PROBLEM_TYPES } from '../../src/problem.js'
import { buildTestHub, freePort, PUBLIC_URL } from '../helpers.js'
import { reporterOf, records, SCHEMA } from '../intake/intake-fixtures.js'

/** A logger whose lines the test reads. */
function capturedLogger () {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, new Writable({
    write (chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    }
  }))
  return { logger, lines }
}

t.test('which faults are the database being away', async (t) => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code })
  // drizzle wraps a driver's error as its cause; a connection to several addresses fails with an AggregateError
  const wrapped = (cause: unknown) => new Error('Failed query: select 1', { cause })
  const cases: Array<[string, unknown, 'down' | 'maybe' | undefined]> = [
    ['connection refused', coded('ECONNREFUSED'), 'down'],
    ['connection reset, wrapped by drizzle', wrapped(coded('ECONNRESET')), 'down'],
    ['every address refused', wrapped(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')])), 'down'],
    ['admin shutdown (57P01)', wrapped(coded('57P01', 'terminating connection due to administrator command')), 'down'],
    ['crash shutdown (57P02)', coded('57P02'), 'down'],
    ['cannot connect now (57P03)', coded('57P03', 'the database system is starting up'), 'down'],
    ['too many connections (53300)', coded('53300', 'sorry, too many clients already'), 'down'],
    ['connection failure (08006)', coded('08006'), 'down'],
    ['a backend gone mid-query', wrapped(new Error('Connection terminated unexpectedly')), 'down'],
    ['the pool could not connect in time', new Error('timeout exceeded when trying to connect'), 'down'],
    ['a pool already ended', new Error('Cannot use a pool after calling end on the pool'), 'down'],
    ['the embedded database closed', wrapped(new Error('PGlite is closed')), 'down'],
    ['a statement timeout', wrapped(coded('57014', 'canceling statement due to statement timeout')), 'maybe'],
    ['a statement cancelled by hand', coded('57014', 'canceling statement due to user request'), undefined],
    ['a unique violation', wrapped(coded('23505')), undefined],
    ['a missing table', coded('42P01', 'relation "x" does not exist'), undefined],
    ['a bug', new TypeError('cannot read properties of undefined'), undefined],
    ['not an error', 'boom', undefined]
  ]
  for (const [name, err, expected] of cases) t.equal(databaseFault(err), expected, name)
})

t.test('an outage is logged once when it starts and once when it ends, with counts', async (t) => {
  const { logger, lines } = capturedLogger()
  let answers = false
  const outage = createOutage({ dependency: 'PostgreSQL', meanwhile: 'requests are answered 503', logger, classify: databaseFault, probe: async () => answers, probeEveryMs: 20 })
  t.teardown(() => outage.close())
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  t.equal(await outage.explains(new Error('a bug'), 'requests'), false, 'a fault that is not an outage is not counted')
  t.notOk(outage.down)
  for (let i = 0; i < 5; i++) t.equal(await outage.explains(refused, 'requests'), true)
  await outage.explains(refused, 'jobs')
  await outage.explains(refused)
  t.ok(outage.down)
  // a statement timeout while the outage is known is part of it
  t.equal(await outage.explains(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }), 'requests'), true)
  answers = true
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.notOk(outage.down, 'the probe found it back')
  t.same(lines.map((l) => [l.level, l.msg]), [
    [40, 'PostgreSQL unavailable: requests are answered 503 until it is back'],
    [30, lines[1]?.msg]
  ], 'one line at each end, none per request')
  t.match(lines[0], { dependency: 'PostgreSQL', cause: { code: 'ECONNREFUSED' } })
  t.match(lines[1], { dependency: 'PostgreSQL', requests: 6, jobs: 1, msg: /^PostgreSQL available again after \d+\.\d s \(6 requests, 1 jobs affected\)$/ })
  t.type(lines[1].downMs, 'number')
  // a statement timeout while the database answers is the statement's fault
  t.equal(await outage.explains(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }), 'requests'), false)
  t.equal(lines.length, 2)
})

t.test('a fault that is not an outage is a 500 problem+json carrying the request id, logged with its cause', async (t) => {
  const { logger, lines } = capturedLogger()
  const hub = await buildTestHub(t, { logger })
  hub.app.get('/test/bug', async () => { throw new TypeError('cannot read properties of undefined', { cause: new Error('the root') }) })
  const res = await hub.app.inject({ url: '/test/bug', headers: { 'x-request-id': 'req-bug-1' } })
  t.equal(res.statusCode, 500)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.json(), { type: `${PUBLIC_URL}${PROBLEM_TYPES.internal}`, status: 500, detail: 'Internal Server Error', instance: 'req-bug-1' })
  t.notOk(res.headers['retry-after'])
  const logged = lines.find((l) => l.msg === 'request failed')
  t.match(logged, { reqId: 'req-bug-1', err: { message: /cannot read properties/ } })
  t.match(JSON.stringify(logged), /the root/, 'with its cause')
})

t.test('shutting down: a request under way finishes, one that arrives meanwhile is 503 problem+json with Retry-After', async (t) => {
  const hub = await buildTestHub(t)
  const reporter = await reporterOf(hub)
  const port = await freePort()
  await hub.app.listen({ port, host: '127.0.0.1' })
  // The first request's body arrives in two parts: it is under way when the hub starts closing. The
  // second is sent on the same kept-alive connection while the hub closes.
  const body = JSON.stringify({ ...SCHEMA, records: records(3) })
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (d) => { answer += d })
  const ended = new Promise((resolve) => socket.once('close', resolve))
  socket.write(`POST /v1/submissions HTTP/1.1\r\nhost: x\r\nauthorization: ${reporter.auth.authorization}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closed = hub.app.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.write(`${body.slice(20)}GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n`)
  await closed
  await ended
  const [first, second] = answer.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 202 /, 'the request under way finished')
  t.match(second, /^HTTP\/1\.1 503 /)
  t.match(second, /\r\ncontent-type: application\/problem\+json/i)
  t.match(second, /\r\nretry-after: \d+\r\n/i)
  t.match(second, /\r\nconnection: close\r\n/i)
  const problemBody = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))
  t.match(problemBody, { type: `${PUBLIC_URL}${PROBLEM_TYPES.unavailable}`, status: 503, detail: /shutting down/, instance: /./ })
})

t.test('the database away: every route answers 503 problem+json with Retry-After, readiness names it, one log line', async (t) => {
  const { logger, lines } = capturedLogger()
  const hub = await buildTestHub(t, { logger })
  const reporter = await reporterOf(hub)
  const adminToken = await hub.token(hub.admin)
  t.equal((await reporter.post({ ...SCHEMA, records: records(2) })).statusCode, 202)
  // the embedded database closed, or the PostgreSQL pool ended: what a request meets when it is gone
  await hub.database.close()
  const requests = [
    reporter.post({ ...SCHEMA, records: records(2) }, { headers: { 'idempotency-key': 'while-away' } }),
    hub.app.inject({ url: '/v1/submissions', headers: reporter.auth }),
    hub.app.inject({ url: '/v1/admin/partners', headers: { authorization: `Bearer ${adminToken}` } })
  ]
  for (const res of await Promise.all(requests)) {
    t.equal(res.statusCode, 503, res.body)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.headers['retry-after'], /^\d+$/)
    t.match(res.json(), { type: `${PUBLIC_URL}${PROBLEM_TYPES.unavailable}`, status: 503, detail: /database is unavailable/, instance: /./ })
  }
  const ready = await hub.app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'not ready', database: { status: 'down' }, queue: { status: 'ok' } })
  t.match(ready.headers['retry-after'], /^\d+$/)
  const kind = hub.database.kind === 'postgres' ? 'PostgreSQL' : 'the embedded database'
  t.same(lines.filter((l) => (l.level as number) >= 40).map((l) => l.msg), [`${kind} unavailable: requests that need it are answered 503 with Retry-After, jobs wait until it is back`],
    'one line for the outage, no stack per request')
})
