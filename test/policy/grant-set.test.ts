// The grant-set rule against brute force: over random partners (own country, roles, region grants,
// origin grants), enumerate every total decideRead lets the partner read, in every origin view, and
// search integer combinations of them for one that isolates a country the partner cannot read
// directly. The rule must refuse a set exactly when such a combination exists.
import fc from 'fast-check'
import t from 'tap'
import { scopesForRoles } from '../../src/auth/scopes.js'
import { exposedBy, exposures, type GrantSet } from '../../src/policy/grant-set.js'
import { decideRead, type PolicyReader, type PolicyState, type PolicyUnit } from '../../src/policy/read.js'

const COUNTRIES = ['A', 'B', 'C', 'D']
const unit = (code: string, members: string[]): PolicyUnit => ({ code, members })
const STATE: PolicyState = { consent: 'grants', hubK: 5, sensitiveK: 11, today: '2026-06-15', stewardship: { stewards: new Set(), consents: new Map() } }

/** Coefficients in [-2, 2] suffice: over ≤ 4 countries Cramer's rule bounds them by the 3×3 minors of 0/1 matrices (≤ 2). */
function isolated (vectors: number[][]): Set<string> {
  const found = new Set<string>()
  const n = vectors.length
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length > 0) combine(chosen, 0, COUNTRIES.map(() => 0))
    if (chosen.length === 4) return
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i])
  }
  const combine = (chosen: number[], at: number, sum: number[]) => {
    if (at === chosen.length) {
      const nonzero = sum.flatMap((x, i) => (x !== 0 ? [i] : []))
      if (nonzero.length === 1) found.add(COUNTRIES[nonzero[0]])
      return
    }
    for (const a of [-2, -1, 1, 2]) combine(chosen, at + 1, sum.map((x, i) => x + a * vectors[chosen[at]][i]))
  }
  pick(0, [])
  return found
}

/** What the partner can read, by decideRead, in the view of one origin (null: all nationals). */
function readable (reader: PolicyReader, units: PolicyUnit[], origin: string | null) {
  const vectors: number[][] = []
  const direct = new Set<string>()
  for (const u of units) {
    const verdict = decideRead(reader, { purpose: 'counts', unit: u, counted: u.members, singledOut: [], origin: origin ? [origin] : undefined, sensitive: false }, STATE)
    if (!verdict.ok) continue
    vectors.push(COUNTRIES.map((c) => (u.members.includes(c) ? 1 : 0)))
    if (u.members.length === 1) direct.add(u.members[0])
  }
  return { vectors: [...new Map(vectors.map((v) => [v.join(), v])).values()], direct }
}

const partnerArb = fc.record({
  country: fc.option(fc.constantFrom(...COUNTRIES), { nil: null }),
  roles: fc.subarray(['steward', 'reporter']).map((r) => ['reader', ...r]),
  regions: fc.array(fc.subarray(COUNTRIES, { minLength: 2 }), { maxLength: 3 }),
  grants: fc.array(fc.record({ pick: fc.nat(), countryOfOrigin: fc.option(fc.constantFrom('X', 'Y'), { nil: null, freq: 2 }) }), { maxLength: 4 })
})

t.test('refused exactly when a combination of readable totals isolates a country it cannot read', async (t) => {
  let refused = 0
  const run = fc.check(fc.property(partnerArb, (p) => {
    const units = [...COUNTRIES.map((c) => unit(c, [c])), ...p.regions.map((members, i) => unit(`r${i}`, members))]
    const grants = [...new Map(p.grants.map((g) => { const u = units[g.pick % units.length]; return [u.code, { unit: u, countryOfOrigin: g.countryOfOrigin }] })).values()]
    const reader: PolicyReader = { partnerId: 'p', country: p.country, roles: p.roles, scopes: new Set(scopesForRoles(p.roles)),
      grants: grants.map((g) => ({ region: g.unit.code, k: null, countryOfOrigin: g.countryOfOrigin })) }
    let brute = false
    const all = readable(reader, units, null)
    for (const origin of [null, ...new Set(grants.flatMap((g) => g.countryOfOrigin ? [g.countryOfOrigin] : []))]) {
      const view = origin === null ? all : readable(reader, units, origin)
      for (const c of isolated(view.vectors)) if (!view.direct.has(c) && !all.direct.has(c)) brute = true
    }
    const set: GrantSet = { partnerId: 'p', country: p.country, grants }
    const rule = exposures(set).length > 0
    if (rule) refused++
    return rule === brute
  }), { numRuns: 400, seed: 22 })
  t.equal(run.failed ? fc.defaultReportMessage(run) : undefined, undefined, 'no counterexample')
  t.ok(refused > 40 && refused < 360, `both answers exercised (${refused} of 400 refused)`)
})

t.test('the attacker\'s sets are refused, naming the country', async (t) => {
  const ca = unit('central-asia', ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB'])
  const caRus = unit('ca-rus', [...ca.members, 'RUS'])
  const country = (c: string) => unit(c, [c])
  t.match(exposures({ partnerId: 'kz-moh', country: 'KAZ', grants: [ca, country('KGZ'), country('TJK'), country('TKM')].map((u) => ({ unit: u })) }),
    [{ partner: 'kz-moh', country: 'UZB', countryOfOrigin: null }], 'own country + region grants: central-asia − KGZ − TJK − TKM − KAZ exactly = UZB')
  t.same(exposures({ partnerId: 'kz-moh', country: null, grants: [ca, country('KGZ'), country('TJK'), country('TKM')].map((u) => ({ unit: u })) }), [], 'without an own country two remain: nothing isolated')
  t.match(exposures({ partnerId: 'who-europe', country: null, grants: [{ unit: caRus }, { unit: ca, countryOfOrigin: 'TJK' }] }),
    [{ country: 'RUS', countryOfOrigin: 'TJK', units: ['ca-rus', 'central-asia'] }], 'ca-rus·TJK − central-asia·TJK = RUS·TJK')
  t.same(exposures({ partnerId: 'who-europe', country: null, grants: [{ unit: caRus, countryOfOrigin: 'TJK' }, { unit: ca, countryOfOrigin: 'UZB' }] }), [], 'origins kept apart: no view holds both')
  t.same(exposedBy([unit('ab', ['A', 'B']), unit('bc', ['B', 'C']), unit('ac', ['A', 'C'])]), ['A', 'B', 'C'], 'A = (ab − bc + ac) / 2')
  t.same(exposedBy([unit('ab', ['A', 'B']), unit('bc', ['B', 'C'])]), [])
})
