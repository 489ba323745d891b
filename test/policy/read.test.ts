// decideRead against an oracle written as the contract states it (docs/architecture.md, "Who may
// read what"), over random readers (own country, roles, scopes, grants with k and origins),
// stewards, consents and queries: every field of every verdict must agree.
import fc from 'fast-check'
import t from 'tap'
import { scopesForRoles } from '../../src/auth/scopes.js'
import { decideRead, type PolicyReader, type PolicyState, type ReadQuery } from '../../src/policy/read.js'
import { consentKey, type Consent } from '../../src/stewardship/book.js'

const COUNTRIES = ['KAZ', 'KGZ', 'TJK', 'UZB', 'RUS']
const REGIONS: Record<string, string[]> = { 'central-asia': ['KAZ', 'KGZ', 'TJK', 'UZB'], 'ca-rus': COUNTRIES, south: ['TJK', 'UZB'] }
const UNITS = [...COUNTRIES, ...Object.keys(REGIONS)]
const membersOf = (unit: string) => REGIONS[unit] ?? [unit]
const READER = 'who'
const TODAY = '2026-06-15'
const HUB_K = 5
const SENSITIVE_K = 11

const readerArb = fc.record({
  country: fc.option(fc.constantFrom(...COUNTRIES), { nil: null }),
  roles: fc.subarray(['reader', 'steward', 'reporter', 'admin']),
  fewerScopes: fc.boolean(),
  grants: fc.uniqueArray(fc.record({
    region: fc.constantFrom(...UNITS),
    k: fc.option(fc.integer({ min: HUB_K, max: 20 }), { nil: null }),
    countryOfOrigin: fc.option(fc.constantFrom(...COUNTRIES), { nil: null, freq: 3 })
  }), { selector: (g) => g.region, maxLength: 5 })
}).map(({ country, roles, fewerScopes, grants }): PolicyReader => {
  const scopes = scopesForRoles(roles)
  return { partnerId: READER, country, roles, grants, scopes: new Set(fewerScopes ? scopes.slice(1) : scopes) }
})

const stateArb = fc.record({
  consent: fc.constantFrom('required' as const, 'required' as const, 'grants' as const),
  stewards: fc.subarray(COUNTRIES),
  consents: fc.array(fc.record({
    country: fc.constantFrom(...COUNTRIES),
    state: fc.constantFrom('granted' as const, 'granted' as const, 'refused' as const),
    k: fc.option(fc.integer({ min: HUB_K, max: 20 }), { nil: null }),
    release: fc.constantFrom('published' as const, 'live' as const),
    until: fc.option(fc.constantFrom('2026-06-14', '2026-06-15', '2027-01-01'), { nil: null })
  }), { maxLength: 8 })
}).map(({ consent, stewards, consents }): PolicyState => ({
  consent, hubK: HUB_K, sensitiveK: SENSITIVE_K, today: TODAY,
  stewardship: {
    stewards: new Set(stewards),
    consents: new Map(consents.map((c): [string, Consent] => [consentKey(c.country, READER), { ...c, readerId: READER, decidedAt: new Date(0) }]))
  }
}))

const queryArb = fc.record({
  purpose: fc.constantFrom('counts' as const, 'counts' as const, 'periods' as const),
  unit: fc.constantFrom(...UNITS),
  byCountry: fc.boolean(),
  countryFilter: fc.option(fc.subarray(COUNTRIES, { minLength: 1 }), { nil: undefined }),
  origin: fc.option(fc.subarray([...COUNTRIES, 'unknown'], { minLength: 1, maxLength: 2 }), { nil: undefined }),
  sensitive: fc.boolean()
}).map((q): ReadQuery => {
  const members = membersOf(q.unit)
  const filter = q.countryFilter?.filter((c) => members.includes(c))
  const counted = filter && filter.length > 0 ? filter : members
  const singledOut = q.purpose === 'periods' ? [] : [...new Set([...(q.byCountry && members.length > 1 ? members : []), ...(filter ?? [])])].sort()
  return { purpose: q.purpose, unit: { code: q.unit, members }, counted, singledOut, origin: q.origin, sensitive: q.purpose === 'counts' && q.sensitive }
})

/** The first counterexample of a property (with fast-check's shrinking), or undefined. */
function counterexample<T> (property: fc.IProperty<T>, params: fc.Parameters<T>): string | undefined {
  const run = fc.check(property, params)
  return run.failed ? fc.defaultReportMessage(run) : undefined
}

/** The contract, rule by rule, in the order a refusal is named. */
function oracle (reader: PolicyReader, query: ReadQuery, state: PolicyState) {
  const isOwn = (c: string) => c === reader.country
  const counted = [...new Set(query.counted)].sort()
  const ownOnly = counted.length > 0 && counted.every(isOwn)
  const exact = { ok: true, countries: counted, k: 1, protection: 'none', published: [] as string[] }
  if (query.purpose === 'periods' && reader.scopes.has('admin')) return exact
  if (query.purpose === 'periods' && ownOnly && query.unit.members.every(isOwn) && (reader.scopes.has('data:steward') || reader.scopes.has('aggregates:read'))) return exact
  if (query.purpose === 'counts' && ownOnly && reader.scopes.has('data:steward')) return exact
  if (!reader.scopes.has('aggregates:read')) return { ok: false, kind: 'forbidden' }
  const grantOn = (u: string) => reader.grants.find((g) => g.region === u)
  const used = [query.unit.code, ...query.singledOut].filter((u, i, all) => all.indexOf(u) === i && !isOwn(u))
  const missingGrants = used.filter((u) => grantOn(u) === undefined)
  if (missingGrants.length > 0) return { ok: false, kind: 'grantMissing', missingGrants }
  if (query.purpose === 'counts') {
    for (const u of used) {
      const origin = grantOn(u)!.countryOfOrigin
      if (origin && JSON.stringify(query.origin) !== JSON.stringify([origin])) return { ok: false, kind: 'originFilterRequired', unit: u, countryOfOrigin: origin }
    }
  }
  const consentOf = (c: string) => state.stewardship.consents.get(consentKey(c, READER))
  const holds = (c: string) => isOwn(c) || state.consent === 'grants' || (state.stewardship.stewards.has(c)
    && consentOf(c)?.state === 'granted' && (consentOf(c)!.until === null || consentOf(c)!.until! >= TODAY))
  const missingConsents = counted.filter((c) => !holds(c))
  if (missingConsents.length > 0) return { ok: false, kind: 'consentMissing', missingConsents }
  if (ownOnly) return exact
  const consentKs = state.consent === 'grants' ? [] : counted.filter((c) => !isOwn(c)).map((c) => consentOf(c)!.k ?? HUB_K)
  const k = Math.max(HUB_K, ...used.map((u) => grantOn(u)!.k ?? HUB_K), query.sensitive ? SENSITIVE_K : HUB_K, ...consentKs)
  const published = state.consent === 'grants' ? [] : counted.filter((c) => !isOwn(c) && consentOf(c)!.release === 'published')
  return { ok: true, countries: counted, k, protection: 'cellkey', published }
}

t.test('decideRead agrees with the contract on every field', async (t) => {
  let permits = 0
  let refusals = 0
  const failure = counterexample(fc.property(readerArb, queryArb, stateArb, (reader, query, state) => {
    const verdict = decideRead(reader, query, state)
    const expected = oracle(reader, query, state)
    if (verdict.ok) permits++
    else refusals++
    const got = verdict.ok
      ? { ok: true, countries: verdict.countries, k: verdict.k, protection: verdict.protection, published: verdict.published }
      : { ok: false, kind: verdict.kind, ...('missingGrants' in verdict ? { missingGrants: verdict.missingGrants } : {}),
          ...('missingConsents' in verdict ? { missingConsents: verdict.missingConsents } : {}),
          ...(verdict.kind === 'originFilterRequired' ? { unit: verdict.unit, countryOfOrigin: verdict.countryOfOrigin } : {}) }
    return JSON.stringify(got) === JSON.stringify(expected)
  }), { numRuns: 3000, seed: 22 })
  t.equal(failure, undefined, 'no counterexample')
  t.ok(permits > 300 && refusals > 300, `both sides exercised: ${permits} permits, ${refusals} refusals`)
})

t.test('a permit says per country how it is protected and which release it reads', async (t) => {
  t.equal(counterexample(fc.property(readerArb, queryArb, stateArb, (reader, query, state) => {
    const verdict = decideRead(reader, query, state)
    if (!verdict.ok) return true
    return Object.keys(verdict.byCountry).join() === verdict.countries.join()
      && verdict.countries.every((c) => verdict.byCountry[c].protection === verdict.protection
        && verdict.byCountry[c].release === (verdict.published.includes(c) ? 'published' : 'live'))
  }), { numRuns: 1000, seed: 23 }), undefined)
})

t.test('the attacker\'s read: a ministry with region grants cannot single out a neighbour', async (t) => {
  const kzMoh: PolicyReader = { partnerId: 'kz-moh', country: 'KAZ', roles: ['reader', 'steward', 'reporter'], scopes: new Set(['aggregates:read', 'data:steward', 'submissions:write']), grants: [{ region: 'central-asia', k: null }] }
  const state: PolicyState = { consent: 'grants', hubK: 5, sensitiveK: 11, today: TODAY, stewardship: { stewards: new Set(), consents: new Map() } }
  const uzb = decideRead(kzMoh, { purpose: 'counts', unit: { code: 'central-asia', members: REGIONS['central-asia'] }, counted: ['UZB'], singledOut: ['UZB'], sensitive: false }, state)
  t.match(uzb, { ok: false, kind: 'grantMissing', missingGrants: ['UZB'] })
  const own = decideRead(kzMoh, { purpose: 'counts', unit: { code: 'KAZ', members: ['KAZ'] }, counted: ['KAZ'], singledOut: [], sensitive: false }, state)
  t.match(own, { ok: true, protection: 'none', k: 1 }, 'its own country, exactly')
  const region = decideRead(kzMoh, { purpose: 'counts', unit: { code: 'central-asia', members: REGIONS['central-asia'] }, counted: REGIONS['central-asia'], singledOut: [], sensitive: false }, state)
  t.match(region, { ok: true, protection: 'cellkey', k: 5 }, 'the region, protected')
})
