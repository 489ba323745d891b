// The audit log: reads and admin changes are logged, the chain verifies, tampering is found, writes group.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { appendAudit } from '../../src/audit/log.js'
import { verifyAudit } from '../../src/audit/chain.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { rows } from '../../src/db/connect.js'
import { buildTestHub } from '../helpers.js'
import { insertCells } from '../release/fixtures.js'

const hub = await buildTestHub(t)
const { app, database } = hub
await insertCells(database, [{ country: 'KAZ', count: 9 }, { country: 'KAZ', sex: 'female', count: 2 }])
const reader = await hub.partner({ roles: ['reader'], grants: [{ region: 'KAZ' }] })
const readerToken = await hub.token(reader)
const adminToken = await hub.token(hub.admin)
const asAdmin = { authorization: `Bearer ${adminToken}` }

async function auditRows () {
  return rows<{ seq: string, action: string, partner_id: string | null, detail: Record<string, unknown> }>(database.db, sql`SELECT seq, action, partner_id, detail FROM audit_log ORDER BY seq`)
}

t.test('a read is audited (partner, query, cells, k) before its answer is sent', async (t) => {
  const res = await app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&by=sex', headers: { authorization: `Bearer ${readerToken}` } })
  t.equal(res.statusCode, 200, res.body)
  const last = (await auditRows()).at(-1)
  t.equal(last?.action, 'aggregates.read', 'in the table as the answer arrives')
  t.equal(last?.partner_id, reader.id)
  t.same(last?.detail, { query: { region: 'KAZ', from: '2026-01', to: '2026-01', by: 'sex' }, countries: ['KAZ'], cells: 2, k: 5, disclosure: 'cellkey' })
  const denied = await app.inject({ url: '/v1/aggregates?region=KGZ&from=2026-01&to=2026-01', headers: { authorization: `Bearer ${readerToken}` } })
  t.equal(denied.statusCode, 403)
  const after = (await auditRows()).at(-1)
  t.equal(after?.action, 'aggregates.denied', 'a refused read is audited too')
  t.same(after?.detail.missingGrants, ['KGZ'])
})

type Teardown = Pick<typeof t, 'teardown'>

// A second app on the same database with MHX_READ_AUDIT=async: rows follow the answer.
async function eagerHub (t: Teardown) {
  const eager = await buildTestHub(t, { database, config: { readAudit: 'async' } })
  return { eager, eagerToken: await eager.token(reader) }
}

t.test('MHX_READ_AUDIT=async: the row follows the answer, and the audit routes show it at once', async (t) => {
  const { eager, eagerToken } = await eagerHub(t)
  const res = await eager.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01&by=sex', headers: { authorization: `Bearer ${eagerToken}` } })
  t.equal(res.statusCode, 200, res.body)
  // The audit routes wait for the rows their process still holds.
  const listed = (await eager.app.inject({ url: `/v1/admin/audit?partner=${reader.id}&limit=1`, headers: asAdmin })).json()
  t.equal(listed.items[0]?.action, 'aggregates.read')
  t.same(listed.items[0]?.detail, { query: { region: 'KAZ', from: '2026-01', to: '2026-01', by: 'sex' }, countries: ['KAZ'], cells: 2, k: 5, disclosure: 'cellkey' })
})

// A real failure of the database: every insert into the audit log is refused.
async function refuseAuditInserts (t: Teardown): Promise<() => Promise<unknown>> {
  const allow = () => database.db.execute(sql`DROP TRIGGER IF EXISTS audit_log_refuse_insert ON audit_log`)
  await database.db.execute(sql`CREATE TRIGGER audit_log_refuse_insert BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`)
  t.teardown(allow)
  return allow
}
const readKaz = (hub: { app: typeof app }, token: string) => hub.app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01', headers: { authorization: `Bearer ${token}` } })
const readsAudited = async () => (await auditRows()).filter((r) => r.action === 'aggregates.read').length

t.test('while the audit log cannot be written, no read is answered', async (t) => {
  const before = await readsAudited()
  const allow = await refuseAuditInserts(t)
  const refused = await readKaz(hub, readerToken)
  t.equal(refused.statusCode, 503, refused.body)
  t.match(refused.headers['content-type'], /application\/problem\+json/)
  await allow()
  t.equal((await readKaz(hub, readerToken)).statusCode, 200, 'answered again once the log can be written')
  t.equal(await readsAudited(), before + 1, 'only the answered read has a row')
})

t.test('MHX_READ_AUDIT=async: reads are refused once a write failed; queued rows are written once the log can be', async (t) => {
  const { eager, eagerToken } = await eagerHub(t)
  const before = await readsAudited()
  const allow = await refuseAuditInserts(t)
  let answered = 0
  for (let i = 0; i < 200; i++) {
    // Real time between reads: in-process reads never wait on I/O, so back to back they would starve the writer's socket.
    await new Promise((resolve) => setTimeout(resolve, 5))
    const res = await readKaz(eager, eagerToken)
    if (res.statusCode === 200) { answered++; continue }
    t.equal(res.statusCode, 503, res.body)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    break
  }
  t.ok(answered >= 1 && answered < 200, `${answered} read(s) answered before the failure was known, then 503`)
  await allow()
  let ok = false
  for (let i = 0; i < 100 && !ok; i++) {
    ok = (await readKaz(eager, eagerToken)).statusCode === 200
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(ok, 'reads are answered again once the log can be written')
  const report = (await eager.app.inject({ url: '/v1/admin/audit/verify', headers: asAdmin })).json()
  t.equal(report.ok, true, JSON.stringify(report))
  t.equal(await readsAudited(), before + answered + 1, 'every answered read has its row, the ones answered during the failure included')
})

t.test('admin changes are audited; the list filters by partner, action and time, and pages', async (t) => {
  const created = await hub.partner({ roles: ['reader'], grants: [{ region: 'KGZ' }] })
  const byAction = await app.inject({ url: '/v1/admin/audit?action=grants.replace&order=asc', headers: asAdmin })
  t.equal(byAction.statusCode, 200, byAction.body)
  t.ok(byAction.json().items.some((r: { subject: string }) => r.subject === created.id))
  t.ok(byAction.json().items.every((r: { action: string }) => r.action === 'grants.replace'))
  const byPartner = await app.inject({ url: `/v1/admin/audit?partner=${reader.id}`, headers: asAdmin })
  const mine: Array<{ seq: number, partnerId: string }> = byPartner.json().items
  t.ok(mine.length >= 2 && mine.every((r) => r.partnerId === reader.id), 'only the reader\'s rows')
  t.ok(mine.every((r, i) => i === 0 || r.seq < mine[i - 1].seq), 'newest first')
  const future = await app.inject({ url: `/v1/admin/audit?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, headers: asAdmin })
  t.same(future.json().items, [])

  const seen: number[] = []
  let cursor: string | null = null
  do {
    const page: { items: Array<{ seq: number }>, nextCursor: string | null } = (await app.inject({ url: `/v1/admin/audit?limit=2&order=asc${cursor ? `&cursor=${cursor}` : ''}`, headers: asAdmin })).json()
    seen.push(...page.items.map((r) => r.seq))
    cursor = page.nextCursor
  } while (cursor)
  t.same(seen, (await auditRows()).map((r) => Number(r.seq)), 'pages cover every row once, in order')
  t.equal((await app.inject({ url: '/v1/admin/audit?cursor=%%%', headers: asAdmin })).statusCode, 400)
  t.equal((await app.inject({ url: '/v1/admin/audit', headers: { authorization: `Bearer ${readerToken}` } })).statusCode, 403, 'admin only')
})

t.test('concurrent reads share audit inserts, and the chain still verifies', async (t) => {
  const writer = createAuditWriter(database.db, { mode: 'sync' })
  await Promise.all(Array.from({ length: 40 }, (_, i) => writer.append({ partnerId: 'bench', action: 'test.group', detail: { i } })))
  t.ok(writer.batches < 40, `40 entries in ${writer.batches} transactions`)
  const responses = await Promise.all(Array.from({ length: 20 }, () =>
    app.inject({ url: '/v1/aggregates?region=KAZ&from=2026-01&to=2026-01', headers: { authorization: `Bearer ${readerToken}` } })))
  t.ok(responses.every((r) => r.statusCode === 200))
  const report = (await app.inject({ url: '/v1/admin/audit/verify', headers: asAdmin })).json()
  t.equal(report.ok, true, JSON.stringify(report))
  t.equal(report.checked, (await auditRows()).length)
})

t.test('the table refuses UPDATE, DELETE and TRUNCATE', async (t) => {
  await t.rejects(database.db.execute(sql`UPDATE audit_log SET action = 'x' WHERE seq = 1`))
  await t.rejects(database.db.execute(sql`DELETE FROM audit_log WHERE seq = 1`))
  await t.rejects(database.db.execute(sql`TRUNCATE audit_log`))
})

/** Tampering as a superuser would: triggers off for this transaction only. */
async function tamper (statement: ReturnType<typeof sql>) {
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`)
    await tx.execute(statement)
  })
}

t.test('verify finds an edited row and a deleted row', async (t) => {
  await appendAudit(database.db, [{ partnerId: 'x', action: 'test.tail', detail: { n: 1 } }, { partnerId: 'x', action: 'test.tail', detail: { n: 2 } }])
  const all = await auditRows()
  const victim = Number(all[3].seq)
  const original = all[3].detail
  await tamper(sql`UPDATE audit_log SET detail = '{"forged": true}'::jsonb WHERE seq = ${victim}`)
  const edited = await verifyAudit(database.db)
  t.equal(edited.ok, false)
  t.same(edited.broken?.seq, victim)
  t.equal(edited.broken?.reason, 'hash')
  const viaHttp = (await app.inject({ url: '/v1/admin/audit/verify', headers: asAdmin })).json()
  t.equal(viaHttp.broken.seq, victim, 'the route reports the same link')

  await tamper(sql`UPDATE audit_log SET detail = ${JSON.stringify(original)}::jsonb WHERE seq = ${victim}`)
  t.equal((await verifyAudit(database.db)).ok, true, 'restored')

  const deleted = Number(all[5].seq)
  await tamper(sql`DELETE FROM audit_log WHERE seq = ${deleted}`)
  const gap = await verifyAudit(database.db, 3)
  t.equal(gap.ok, false)
  t.equal(gap.broken?.seq, Number(all[6].seq), 'the row after the deleted one no longer links')
  t.equal(gap.broken?.reason, 'prev_hash')
  t.equal(gap.checked, 5)
})
