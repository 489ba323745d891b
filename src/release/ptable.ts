// The perturbation table of the cell-key method (ABS TableBuilder, ONS 2021, sdcTools' ptable):
// for a true count n and a cell key in [0, 2^32) it gives a deviation d in −D…+D, so that the
// released count n + d is unbiased (E[d | n] = 0), has variance V where the support allows it,
// is never negative, and no count 1…js−1 is released unchanged. The same (n, key) always gives
// the same d: the same record set is released the same way in every answer.
import { KEY_MODULUS } from '../model/cells.js'

export interface PtableParameters {
  /** Largest deviation. */
  D: number
  /** Target variance of the deviation. */
  V: number
  /** Counts 1…js−1 are never released unchanged. */
  js: number
}

/** One row: for counts n (the last row: every n ≥ it), keys in [lo, hi) get deviation d. */
export interface PtableRow { n: number, lo: number, hi: number, d: number }

export interface Ptable {
  parameters: PtableParameters
  /** Name of this table, published and carried by every answer (`disclosure.ptable`). */
  version: string
  rows: PtableRow[]
  /** Rows hold counts 1…nMax; counts above nMax use row nMax. */
  nMax: number
  /** The distribution of each row's deviation, for publication. */
  distributions: Array<{ n: number, deviations: Array<{ d: number, p: number }> }>
}

/** D = 3, V = 2, js = 3: the choice measured in bench/RESULTS.md (docs/disclosure-control.md says why). */
export const DEFAULT_PTABLE_PARAMETERS: PtableParameters = { D: 3, V: 2, js: 3 }

/** Deviations allowed for a count n. */
function support (n: number, { D, js }: PtableParameters): number[] {
  const out: number[] = []
  for (let d = -D; d <= D; d++) {
    if (n + d < 0) continue
    if (d === 0 && n < js) continue
    out.push(d)
  }
  return out
}

/**
 * The maximum-entropy distribution on `ds` with mean 0 and variance as close to V as the support
 * allows: p(d) ∝ exp(−λd² + μd), μ solved for the mean, λ for the variance (both by bisection:
 * the mean rises with μ, the variance falls with λ).
 */
function distribution (ds: number[], V: number): number[] {
  const weights = (lambda: number, mu: number) => {
    const w = ds.map((d) => -lambda * d * d + mu * d)
    const top = Math.max(...w)
    const e = w.map((x) => Math.exp(x - top))
    const sum = e.reduce((a, b) => a + b, 0)
    return e.map((x) => x / sum)
  }
  const moments = (p: number[]) => {
    const mean = p.reduce((a, pi, i) => a + pi * ds[i], 0)
    const variance = p.reduce((a, pi, i) => a + pi * (ds[i] - mean) ** 2, 0)
    return { mean, variance }
  }
  const centred = (lambda: number) => {
    let lo = -60
    let hi = 60
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2
      if (moments(weights(lambda, mid)).mean < 0) lo = mid
      else hi = mid
    }
    return weights(lambda, (lo + hi) / 2)
  }
  let lo = -10
  let hi = 60
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (moments(centred(mid)).variance > V) lo = mid
    else hi = mid
  }
  return centred((lo + hi) / 2)
}

export function buildPtable (parameters: PtableParameters = DEFAULT_PTABLE_PARAMETERS): Ptable {
  const { D, V, js } = parameters
  if (!Number.isInteger(D) || D < 1 || !Number.isInteger(js) || js < 1 || !(V > 0)) throw new Error(`bad ptable parameters ${JSON.stringify(parameters)}`)
  // Past max(D, js − 1) neither "never negative" nor js binds: every larger count shares one row.
  const nMax = Math.max(D, js - 1) + 1
  const rows: PtableRow[] = []
  const distributions: Ptable['distributions'] = []
  for (let n = 1; n <= nMax; n++) {
    const ds = support(n, parameters)
    const p = distribution(ds, V)
    distributions.push({ n, deviations: ds.map((d, i) => ({ d, p: Math.round(p[i] * 1e6) / 1e6 })) })
    // Integer thresholds over the key space: the same in SQL and here, no rounding of keys.
    let cumulative = 0
    let lo = 0
    for (let i = 0; i < ds.length; i++) {
      cumulative += p[i]
      const hi = i === ds.length - 1 ? KEY_MODULUS : Math.min(KEY_MODULUS, Math.round(cumulative * KEY_MODULUS))
      if (hi > lo) rows.push({ n, lo, hi, d: ds[i] })
      lo = hi
    }
  }
  return { parameters, version: `mhx-ptable-D${D}-V${V}-js${js}`, rows, nMax, distributions }
}

/** The deviation for true count n (≥ 1) and key sum (mod 2^32). */
export function deviation (ptable: Ptable, n: number, keySum: number): number {
  const row = Math.min(n, ptable.nMax)
  const key = ((keySum % KEY_MODULUS) + KEY_MODULUS) % KEY_MODULUS
  for (const r of ptable.rows) if (r.n === row && key >= r.lo && key < r.hi) return r.d
  throw new Error(`no ptable row for n=${n} key=${keySum}`)
}

/** The released count of a record set: its true count plus the deviation its key sum draws. */
export function perturb (ptable: Ptable, n: number, keySum: number): number {
  return n === 0 ? 0 : n + deviation(ptable, n, keySum)
}
