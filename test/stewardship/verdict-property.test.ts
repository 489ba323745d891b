// Property tests of the consent verdict and the origin rule over random stewards, consents, origin
// grants and queries: no verdict lets a read count a country without its consent, never a partial
// answer, and no origin-grant query passes without exactly its origin.
import fc from 'fast-check'
import t from 'tap'
import type { Consent, StewardshipState } from '../../src/stewardship/book.js'
import { consentKey } from '../../src/stewardship/book.js'
import { consentVerdict } from '../../src/stewardship/consents.js'
import { originRule } from '../../src/stewardship/origin.js'
import { stewardReadsOwn } from '../../src/stewardship/steward.js'

const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'TKM', 'UZB', 'RUS']
const READERS = ['who', 'ngo', 'kaz-moh', 'tjk-moh']
const TODAY = '2026-06-15'
const HUB_K = 5

const consentArb = fc.record({
  country: fc.constantFrom(...COUNTRIES),
  readerId: fc.constantFrom(...READERS),
  state: fc.constantFrom('granted' as const, 'refused' as const),
  k: fc.option(fc.integer({ min: HUB_K, max: 20 }), { nil: null }),
  release: fc.constantFrom('published' as const, 'live' as const),
  until: fc.option(fc.constantFrom('2026-06-14', '2026-06-15', '2026-06-16', '2027-01-01'), { nil: null })
})

const stateArb = fc.record({
  stewards: fc.subarray(COUNTRIES),
  consents: fc.array(consentArb, { maxLength: 30 })
}).map(({ stewards, consents }): StewardshipState => ({
  stewards: new Set(stewards),
  consents: new Map(consents.map((c): [string, Consent] => [consentKey(c.country, c.readerId), { ...c, decidedAt: new Date() }])),
  publications: new Map()
}))

const readerArb = fc.record({
  partnerId: fc.constantFrom(...READERS),
  country: fc.option(fc.constantFrom(...COUNTRIES), { nil: null }),
  roles: fc.subarray(['reader', 'steward', 'reporter'])
})

t.test('a read passes only with a holding consent of every country it counts; otherwise all missing are named', async () => {
  fc.assert(fc.property(stateArb, readerArb, fc.subarray(COUNTRIES, { minLength: 1 }), (state, reader, countries) => {
    const v = consentVerdict(state, reader, countries, { mode: 'required', hubK: HUB_K, today: TODAY })
    const holds = (c: string) => {
      if (reader.country === c) return true
      const consent = state.consents.get(consentKey(c, reader.partnerId))
      return state.stewards.has(c) && consent?.state === 'granted' && (consent.until === null || consent.until >= TODAY)
    }
    const missing = countries.filter((c) => !holds(c)).sort()
    if (missing.length > 0) {
      if (v.ok) return false
      return JSON.stringify(v.missingConsents) === JSON.stringify(missing)
    }
    if (!v.ok) return false
    // Every country counted has its release; the k is at least every consent's and the hub's.
    const ks = countries.filter((c) => reader.country !== c)
      .map((c) => state.consents.get(consentKey(c, reader.partnerId))!.k ?? HUB_K)
    return Object.keys(v.releaseByCountry).sort().join() === [...new Set(countries)].sort().join()
      && v.k === Math.max(HUB_K, ...ks)
  }), { numRuns: 2000 })
})

t.test('a country without a steward is readable by nobody but itself, whatever consents say', async () => {
  fc.assert(fc.property(stateArb, readerArb, fc.constantFrom(...COUNTRIES), (state, reader, country) => {
    const stewards = new Set(state.stewards)
    stewards.delete(country)
    const v = consentVerdict({ ...state, stewards }, reader, [country], { mode: 'required', hubK: HUB_K, today: TODAY })
    return v.ok === (reader.country === country)
  }), { numRuns: 1000 })
})

t.test('MHX_CONSENT=grants: always ok, live, at the hub k', async () => {
  fc.assert(fc.property(stateArb, readerArb, fc.subarray(COUNTRIES), (state, reader, countries) => {
    const v = consentVerdict(state, reader, countries, { mode: 'grants', hubK: HUB_K, today: TODAY })
    return v.ok && v.k === HUB_K && Object.values(v.releaseByCountry).every((r) => r === 'live')
  }))
})

const originArb = fc.constantFrom(...COUNTRIES, 'unknown')
t.test('origin rule: a query on an origin-granted unit passes only with exactly that origin', async () => {
  fc.assert(fc.property(
    fc.array(fc.record({ region: fc.constantFrom(...COUNTRIES, 'central-asia'), k: fc.constant(null), countryOfOrigin: fc.option(fc.constantFrom(...COUNTRIES), { nil: null }) }), { maxLength: 6 }),
    fc.constantFrom(...COUNTRIES, 'central-asia'),
    fc.option(fc.array(originArb, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    (grants, region, filter) => {
      const unique = [...new Map(grants.map((g) => [g.region, g])).values()]
      const query = { region, filters: filter === undefined ? {} : { countryOfOrigin: filter } }
      let passed = true
      try { originRule(query, unique) } catch (err) {
        passed = false
        if ((err as { status?: number }).status !== 403) throw err
      }
      const origin = unique.find((g) => g.region === region)?.countryOfOrigin
      const expected = !origin || (filter !== undefined && filter.length === 1 && filter[0] === origin)
      return passed === expected
    }), { numRuns: 2000 })
})

t.test('origin rule checks every unit the read uses, not only the region', async (t) => {
  const grants = [{ region: 'central-asia', k: null }, { region: 'RUS', k: null, countryOfOrigin: 'TJK' }]
  try {
    originRule({ region: 'central-asia', filters: {} }, grants, ['central-asia', 'RUS'])
    t.fail('should refuse')
  } catch (err) {
    t.match(err, { status: 403, extra: { originRequired: { unit: 'RUS', countryOfOrigin: 'TJK' } } })
  }
  t.doesNotThrow(() => originRule({ region: 'central-asia', filters: {} }, grants, ['central-asia']))
})

t.test('stewardReadsOwn: only its own country, and only with the steward scope', async (t) => {
  const caller = { scopes: new Set(['data:steward']), country: 'KAZ' }
  t.equal(stewardReadsOwn(caller, { code: 'KAZ', members: ['KAZ'] }), true)
  t.equal(stewardReadsOwn(caller, { code: 'central-asia', members: ['KAZ', 'KGZ'] }), false)
  t.equal(stewardReadsOwn(caller, { code: 'KGZ', members: ['KGZ'] }), false)
  t.equal(stewardReadsOwn({ scopes: new Set(['aggregates:read']), country: 'KAZ' }, { code: 'KAZ', members: ['KAZ'] }), false)
})
