// Who read my data: the access log of KAZ lists every read that counted (or tried) KAZ and no
// other; checkpoints signed by the hub verify against its JWKS, and a rewritten chain or a cut
// tail fails against a checkpoint kept from before.
import { asc, sql } from 'drizzle-orm'
import t from 'tap'
import { auditHash, appendAudit, GENESIS_HASH } from '../../src/audit/log.js'
import { verifyAudit } from '../../src/audit/chain.js'
import { auditLog } from '../../src/db/schema.js'
import { chainMatches, checkpointAudit, verifyCheckpoint } from '../../src/stewardship/checkpoints.js'
import { buildTestHub, PUBLIC_URL, type TestHub, type TestPartner } from '../helpers.js'

const hub: TestHub = await buildTestHub(t, { config: { consent: 'required' } })
const db = hub.database.db
const as = async (partner: TestPartner) => ({ authorization: `Bearer ${await hub.token(partner)}` })
const kaz = await hub.partner({ id: 'kaz-moh', roles: ['reporter', 'steward'], country: 'KAZ' })
const kgz = await hub.partner({ id: 'kgz-moh', roles: ['steward'], country: 'KGZ' })
const who = await hub.partner({ id: 'who-euro', roles: ['reader'], grants: [{ region: 'central-asia' }] })

// Read rows as the read path writes them: the countries a query counted, or tried to, in detail.countries.
const reads = [
  { action: 'aggregates.read', subject: 'central-asia', countries: ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'], cells: 12 },
  { action: 'aggregates.read', subject: 'KGZ', countries: ['KGZ'], cells: 3 },
  { action: 'aggregates.denied', subject: 'KAZ', countries: ['KAZ'] },
  { action: 'aggregates.read', subject: 'KAZ', countries: ['KAZ'], cells: 1 },
  { action: 'consent.grant', subject: 'who-euro', countries: ['KAZ'] }
]
for (const r of reads) {
  await appendAudit(db, { partnerId: 'who-euro', action: r.action, subject: r.subject, detail: { query: { region: r.subject, from: '2026-01', to: '2026-03' }, countries: r.countries, ...(r.cells === undefined ? {} : { cells: r.cells, k: 5 }) } })
}

t.test('the access log of KAZ lists every read that counted or tried KAZ, and no other', async (t) => {
  const res = await hub.app.inject({ url: '/v1/access-log', headers: await as(kaz) })
  t.equal(res.statusCode, 200)
  const items = res.json().items as Array<{ action: string, query: { region: string }, seq: number, hash: string, reader: string, cells: number | null }>
  t.same(items.map((i) => [i.action, i.query.region]), [['aggregates.read', 'central-asia'], ['aggregates.denied', 'KAZ'], ['aggregates.read', 'KAZ']])
  t.match(items[0], { reader: 'who-euro', cells: 12, k: 5 })
  t.equal(items[1].cells, null)
  // Each item is the audit chain's row: its seq and hash are there.
  const rowsByseq = await db.select().from(auditLog).where(sql`seq IN (${sql.join(items.map((i) => sql`${i.seq}`), sql`, `)})`).orderBy(asc(auditLog.seq))
  t.same(rowsByseq.map((r) => r.hash), items.map((i) => i.hash))

  const kgzLog = await hub.app.inject({ url: '/v1/access-log', headers: await as(kgz) })
  t.same(kgzLog.json().items.map((i: { query: { region: string } }) => i.query.region), ['central-asia', 'KGZ'])

  const page1 = await hub.app.inject({ url: '/v1/access-log?limit=2', headers: await as(kaz) })
  const page2 = await hub.app.inject({ url: `/v1/access-log?limit=2&cursor=${page1.json().nextCursor}`, headers: await as(kaz) })
  t.same([...page1.json().items, ...page2.json().items].map((i: { seq: number }) => i.seq), items.map((i) => i.seq))
  t.equal(page2.json().nextCursor, null)
  const future = await hub.app.inject({ url: '/v1/access-log?from=2999-01-01', headers: await as(kaz) })
  t.same(future.json().items, [])
  t.equal((await hub.app.inject({ url: '/v1/access-log?from=yesterday', headers: await as(kaz) })).statusCode, 400)
  t.equal((await hub.app.inject({ url: '/v1/access-log', headers: await as(who) })).statusCode, 403, 'stewards only')
})

t.test('a checkpoint verifies against the JWKS; a rewritten chain and a cut tail fail against it', async (t) => {
  const res = await hub.app.inject({ url: '/v1/audit/checkpoints/latest', headers: await as(who) })
  t.equal(res.statusCode, 200)
  const checkpoint = res.json()
  const jwks = (await hub.app.inject({ url: '/.well-known/jwks.json' })).json()
  const claims = await verifyCheckpoint(checkpoint.jws, jwks, PUBLIC_URL)
  t.same(claims, { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at })
  t.same(await chainMatches(db, claims), { ok: true, found: claims.hash })
  await t.rejects(verifyCheckpoint(checkpoint.jws.replace(/\.[^.]+$/, '.AAAA'), jwks), 'a forged signature fails')

  // Renewed once the log grew and a minute passed; not before.
  await appendAudit(db, { partnerId: 'kaz-moh', action: 'consent.refuse', subject: 'who-euro', detail: {} })
  const soon = await checkpointAudit(db, hub.keys, PUBLIC_URL, new Date(Date.parse(checkpoint.at) + 10_000), 60_000)
  t.equal(soon!.seq, checkpoint.seq, 'not renewed within the minute')
  const later = await checkpointAudit(db, hub.keys, PUBLIC_URL, new Date(Date.parse(checkpoint.at) + 61_000), 60_000)
  t.ok(later!.seq > checkpoint.seq, 'renewed after a minute')

  // Rewrite history: change an early row and re-chain everything after it, as a tamperer would.
  await db.execute(sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`)
  const all = await db.select().from(auditLog).orderBy(asc(auditLog.seq))
  let prev = GENESIS_HASH
  for (const [i, row] of all.entries()) {
    const detail = i === 3 ? { ...(row.detail as object), countries: [] } : row.detail
    const hash = auditHash(prev, { at: row.at, partnerId: row.partnerId, action: row.action, subject: row.subject, detail })
    await db.execute(sql`UPDATE audit_log SET detail = ${JSON.stringify(detail)}::jsonb, prev_hash = ${prev}, hash = ${hash} WHERE seq = ${row.seq}`)
    prev = hash
  }
  t.equal((await verifyAudit(db)).ok, true, 'the rewritten chain is consistent in itself')
  const rewritten = await chainMatches(db, claims)
  t.equal(rewritten.ok, false, 'but not with the checkpoint kept from before')

  await db.execute(sql`DELETE FROM audit_log WHERE seq >= ${claims.seq}`)
  t.same(await chainMatches(db, claims), { ok: false, found: null }, 'a cut tail loses the checkpointed row')
  await db.execute(sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`)
})
