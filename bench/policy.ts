// The read policy's own cost: the grant-set rule for a large partner (50 grants over 60 countries,
// origin grants among them), and decideRead per read. The reads ratio with the policy in the path is
// bench/release.ts's.
// Run: npx tsx bench/policy.ts
import { exposures, type GrantSet } from '../src/policy/grant-set.js'
import { decideRead, type PolicyReader, type PolicyState } from '../src/policy/read.js'
import { rng } from './attacks/harness.js'

const COUNTRIES = Array.from({ length: 60 }, (_, i) => `C${String(i).padStart(2, '0')}`)
const random = rng(7)
const pick = (n: number) => [...COUNTRIES].sort(() => random() - 0.5).slice(0, n)

function partner (grants: number, origins: number): GrantSet {
  const originCodes = pick(origins)
  return {
    partnerId: 'big', country: COUNTRIES[0],
    grants: Array.from({ length: grants }, (_, i) => {
      // A third are countries (each read alone), the rest regions of 3 to 20 countries.
      const members = i % 3 === 0 ? [COUNTRIES[(i * 7) % 60]] : pick(3 + Math.floor(random() * 18))
      return { unit: { code: `u${i}`, members }, countryOfOrigin: i % 4 === 1 ? originCodes[i % origins] : null }
    })
  }
}

function timed (label: string, runs: number, work: () => void) {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    work()
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  console.log(`${label}: median ${times[Math.floor(runs / 2)].toFixed(2)} ms, max ${times[runs - 1].toFixed(2)} ms (${runs} runs)`)
}

for (const [grants, origins] of [[50, 10], [50, 50], [200, 20]] as const) {
  const sets = Array.from({ length: 21 }, () => partner(grants, origins))
  let i = 0
  let exposed = 0
  timed(`grant-set rule, ${grants} grants over 60 countries, ${origins} origins`, sets.length, () => { exposed += exposures(sets[i++]).length > 0 ? 1 : 0 })
  console.log(`  (${exposed} of ${sets.length} random sets expose a country)`)
}

const reader: PolicyReader = { partnerId: 'who', country: null, roles: ['reader'], scopes: new Set(['aggregates:read']), grants: COUNTRIES.map((region) => ({ region, k: null })) }
const state: PolicyState = { consent: 'grants', hubK: 5, sensitiveK: 11, today: '2026-12-07', stewardship: { stewards: new Set(), consents: new Map() } }
const unit = { code: 'all', members: COUNTRIES }
reader.grants = [...reader.grants, { region: 'all', k: null }]
const N = 100_000
const t0 = performance.now()
for (let i = 0; i < N; i++) decideRead(reader, { purpose: 'counts', unit, counted: COUNTRIES, singledOut: COUNTRIES, sensitive: false }, state)
console.log(`decideRead, a 60-country read singling out every country: ${((performance.now() - t0) * 1000 / N).toFixed(1)} µs per read`)
