// The 95 % intervals' coverage over simulated data with known truth: counts drawn from the true rate
// or proportion, split into atoms, each perturbed by the hub's perturbation table with a random
// cell key, as a read releases them. Fixed seed: the same figures on every run.
import t from 'tap'
import { poissonInterval, proportionInterval } from '../../src/indicators/interval.js'
import { buildPtable, perturb } from '../../src/release/ptable.js'
import { prng } from '../random.js'

const ptable = buildPtable()
const { V } = ptable.parameters

const random = prng(20261207)
const key = () => Math.floor(random() * 2 ** 32)
function poisson (mean: number): number {
  // Knuth's method in chunks (exp(−mean) underflows past ~700).
  let n = 0
  for (let left = mean; left > 0; left -= 50) {
    const L = Math.exp(-Math.min(50, left))
    let p = 1
    for (;;) { p *= random(); if (p <= L) break; n++ }
  }
  return n
}
const binomial = (n: number, p: number) => { let x = 0; for (let i = 0; i < n; i++) if (random() < p) x++; return x }
/** n spread over `parts` values at random (a multinomial by successive binomials). */
function split (n: number, parts: number): number[] {
  const out: number[] = []
  let left = n
  for (let i = 0; i < parts - 1; i++) { const k = binomial(left, 1 / (parts - i)); out.push(k); left -= k }
  out.push(left)
  return out
}
/** A released atom: its true count perturbed (an empty atom is not listed, so adds nothing). */
const released = (n: number) => n === 0 ? 0 : perturb(ptable, n, key())

const CELLS = 4000

t.test('rates: the Poisson score interval with the perturbation\'s variance covers the true mean in 93–97 % of cells', async (t) => {
  let covered = 0
  let counted = 0
  for (let i = 0; i < CELLS; i++) {
    const atoms = 1 + Math.floor(random() * 12)
    const mean = 10 + random() * 400
    let x = 0
    for (let a = 0; a < atoms; a++) x += released(poisson(mean / atoms))
    if (x < 10) continue // withheld below the minimum numerator: no interval is shown
    counted++
    const [lo, hi] = poissonInterval(x, atoms * V)
    if (lo <= mean && mean <= hi) covered++
  }
  const coverage = covered / counted
  t.ok(coverage >= 0.93 && coverage <= 0.97, `coverage ${(coverage * 100).toFixed(1)} % over ${counted} cells`)
  // Without the perturbation's variance small counts spread over many atoms are covered less often.
  let plain = 0
  for (let i = 0; i < 2000; i++) {
    let x = 0
    for (let a = 0; a < 12; a++) x += released(poisson(30 / 12))
    const [lo, hi] = poissonInterval(x, 0)
    if (lo <= 30 && 30 <= hi) plain++
  }
  t.ok(plain / 2000 < coverage, `ignoring the noise covers less: ${(plain / 20).toFixed(1)} %`)
})

t.test('proportions: Wilson\'s interval with the perturbation\'s variance covers the true share in 93–97 % of cells', async (t) => {
  let covered = 0
  let counted = 0
  for (let i = 0; i < CELLS; i++) {
    const months = 1 + Math.floor(random() * 6)
    const inValues = 2 // numerator values (cured, treatment_completed)
    const outValues = 4 // the cohort's other values
    const p = 0.05 + random() * 0.9
    const size = 20 + random() * 300
    let x = 0
    let rest = 0
    for (let m = 0; m < months; m++) {
      const cohort = poisson(size / months)
      const inside = binomial(cohort, p)
      // The numerator's atoms are among the denominator's: one perturbation each.
      for (const atom of split(inside, inValues)) x += released(atom)
      for (const atom of split(cohort - inside, outValues)) rest += released(atom)
    }
    const n = x + rest
    if (x < 10 || n === 0) continue
    counted++
    const [lo, hi] = proportionInterval(x, n, months * inValues * V, months * outValues * V)
    if (lo <= p && p <= hi) covered++
  }
  const coverage = covered / counted
  t.ok(coverage >= 0.93 && coverage <= 0.97, `coverage ${(coverage * 100).toFixed(1)} % over ${counted} cells`)
})

t.test('without perturbation they are the ordinary intervals', async (t) => {
  // Wilson's interval for 10 of 50 (z = 1.96): 0.1124 … 0.3304.
  const [lo, hi] = proportionInterval(10, 50, 0, 0)
  t.ok(Math.abs(lo - 0.1124) < 1e-3 && Math.abs(hi - 0.3304) < 1e-3, `${lo} ${hi}`)
  // The Poisson score interval for 20: 20 + 1.92 ± 1.96·√(20.96).
  const [plo, phi] = poissonInterval(20, 0)
  t.ok(Math.abs(plo - 12.95) < 0.01 && Math.abs(phi - 30.89) < 0.01, `${plo} ${phi}`)
  const [wlo, whi] = poissonInterval(20, 8)
  t.ok(wlo < plo && whi > phi, 'the perturbation widens it')
})
