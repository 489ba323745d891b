// Property: over random grant sets and random (also malformed) queries, no answer ever holds a
// unit outside the caller's grants, and a read is answered exactly when the grant rules allow it.
import { randomUUID } from 'node:crypto'
import { eq } from 'drizzle-orm'
import fc from 'fast-check'
import t from 'tap'
import { grants, regions } from '../../src/db/schema.js'
import { buildTestHub } from '../helpers.js'
import { CENTRAL_ASIA, insertCells } from './fixtures.js'

const hub = await buildTestHub(t)
await hub.database.db.insert(regions).values({ code: 'caspian', name: 'Caspian', members: ['AZE', 'KAZ', 'RUS', 'TKM'] })
const MEMBERS: Record<string, string[]> = { 'central-asia': CENTRAL_ASIA, caspian: ['AZE', 'KAZ', 'RUS', 'TKM'] }
const COUNTRIES = ['AZE', 'KAZ', 'KGZ', 'RUS', 'TJK', 'TKM', 'TUR', 'UZB']
const UNITS = [...Object.keys(MEMBERS), ...COUNTRIES]
const AREAS: Record<string, string> = { 'KZ-75': 'KAZ', 'KG-C': 'KGZ', 'TJ-DU': 'TJK', 'UZ-TK': 'UZB', 'RU-MOW': 'RUS' }

const cells = []
for (const country of COUNTRIES) {
  for (const sex of ['female', 'male']) {
    const area = Object.entries(AREAS).find(([, c]) => c === country)?.[0] ?? '_Z'
    cells.push({ country, sex, count: 3 + country.charCodeAt(0) % 7, subnationalArea: area })
    cells.push({ country, sex, count: 12, period: '2026-02' })
  }
}
await insertCells(hub.database, cells)

const reader = await hub.partner({ roles: ['reader'], id: `prop-${randomUUID().slice(0, 6)}` })
const token = await hub.token(reader)

const unitOf = (code: string) => MEMBERS[code] ?? (COUNTRIES.includes(code) ? [code] : undefined)

/** The rule, written independently: grant on the region, and on every country the query can single out. */
function allowed (granted: Set<string>, region: string, by: string[], country: string[], area: string[]): boolean {
  const members = unitOf(region) as string[]
  if (!granted.has(region)) return false
  const singled = new Set<string>([...country, ...area.map((a) => AREAS[a])])
  if (by.includes('country') || by.includes('subnationalArea')) members.forEach((m) => singled.add(m))
  return [...singled].every((c) => granted.has(c))
}

const spellings = (code: string) => fc.constantFrom(code, code.toLowerCase(), code.toUpperCase(), ` ${code}`, `${code}%20`, encodeURIComponent(code).replace(/A/, '%41'))

t.test('no answer contains a unit outside the grants', async (t) => {
  let answered = 0
  let refused = 0
  await fc.assert(fc.asyncProperty(
    fc.oneof(fc.subarray(UNITS), fc.subarray(UNITS, { minLength: UNITS.length - 2 })),
    fc.constantFrom(...UNITS).chain((u) => fc.tuple(fc.constant(u), fc.oneof({ weight: 4, arbitrary: fc.constant(u) }, { weight: 1, arbitrary: spellings(u) }))),
    fc.subarray(['country', 'sex', 'subnationalArea', 'period'], { maxLength: 3 }),
    fc.subarray(COUNTRIES, { maxLength: 2 }),
    fc.subarray(Object.keys(AREAS), { maxLength: 1 }),
    fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    async (grantSet, [region, spelled], by, countryFilter, areaFilter, repeat) => {
      await hub.database.db.delete(grants).where(eq(grants.partnerId, reader.id))
      if (grantSet.length > 0) await hub.database.db.insert(grants).values(grantSet.map((g) => ({ partnerId: reader.id, region: g, k: null })))
      // Grants written by SQL (any set, even one the admin API would refuse): tell the directory, as the admin routes do.
      hub.directory.invalidate(reader.id)
      const params = [`region=${spelled}`, 'from=2026-01', 'to=2026-02']
      if (by.length > 0) params.push(`by=${by.join(',')}`)
      if (countryFilter.length > 0) params.push(`country=${countryFilter.join(',')}`)
      if (areaFilter.length > 0) params.push(`subnationalArea=${areaFilter.join(',')}`)
      if (repeat) params.push(`region=${spelled}`)
      const res = await hub.app.inject({ url: `/v1/aggregates?${params.join('&')}`, headers: { authorization: `Bearer ${token}` } })
      const granted = new Set(grantSet)
      const exact = decodeURIComponent(spelled) === region
      const members = unitOf(region) as string[]
      const inRegion = countryFilter.every((c) => members.includes(c)) && areaFilter.every((a) => members.includes(AREAS[a]))
      if (res.statusCode !== 200) {
        refused++
        if (exact && !repeat && inRegion && allowed(granted, region, by, countryFilter, areaFilter)) throw new Error(`refused an allowed read: ${params.join('&')} ${res.body}`)
        return
      }
      answered++
      if (!exact || repeat || !inRegion) throw new Error(`answered a malformed read: ${params.join('&')}`)
      if (!allowed(granted, region, by, countryFilter, areaFilter)) throw new Error(`answered a read the grants do not allow: ${params.join('&')} with ${grantSet.join(',')}`)
      const body = res.json()
      if (body.region !== region) throw new Error(`answered ${body.region} for ${region}`)
      for (const cell of body.cells) {
        if (cell.country !== undefined && !(granted.has(cell.country) && members.includes(cell.country))) throw new Error(`cell of ungranted ${cell.country}`)
        if (cell.subnationalArea && !granted.has(AREAS[cell.subnationalArea])) throw new Error(`cell of ungranted area ${cell.subnationalArea}`)
      }
    }
  ), { numRuns: 250, seed: 20260301 })
  t.ok(answered > 20, `some reads were answered (${answered})`)
  t.ok(refused > 20, `some reads were refused (${refused})`)
})
