// 95 % intervals of an indicator's value that cover both sources of uncertainty in a released
// count: its random variation (Poisson for a rate's numerator, binomial for a proportion) and the
// perturbation the cell-key method added (variance V per atom, published at GET /v1/disclosure).
// Both are score intervals: the set of true values whose distance to the released count is within
// z standard deviations, with the perturbation's variance added under the root. With V = 0 they
// are the ordinary Poisson score interval and Wilson's interval.

export const Z95 = 1.959963984540054

export const INTERVAL_METHODS = {
  rate: 'poisson-score+perturbation',
  proportion: 'wilson+perturbation'
} as const

/** The method an answer names: without perturbation (an exact read) the plain score interval. */
export function intervalMethod (kind: keyof typeof INTERVAL_METHODS, perturbed: boolean): string {
  return perturbed ? INTERVAL_METHODS[kind] : INTERVAL_METHODS[kind].replace('+perturbation', '')
}

/**
 * Bounds of a Poisson mean λ from a released count x whose perturbation has variance `noise`:
 * (x − λ)² ≤ z²(λ + noise), i.e. λ = x + z²/2 ± z·√(x + z²/4 + noise).
 */
export function poissonInterval (x: number, noise: number, z = Z95): [number, number] {
  const half = z * Math.sqrt(Math.max(0, x) + z * z / 4 + noise)
  const centre = x + z * z / 2
  return [Math.max(0, Math.min(x, centre - half)), Math.max(x, centre + half)]
}

/**
 * Bounds of a proportion p from a released numerator x and denominator n whose atoms overlap: the
 * numerator's atoms are among the denominator's, so with `noiseIn` the numerator's perturbation
 * variance and `noiseOut` that of the denominator's other atoms, x − p·n has variance
 * n·p(1−p) + (1−p)²·noiseIn + p²·noiseOut. Solved for p (a quadratic), clamped to [0, 1].
 */
export function proportionInterval (x: number, n: number, noiseIn: number, noiseOut: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1]
  const z2 = z * z
  const a = n * n + z2 * n - z2 * noiseIn - z2 * noiseOut
  const b = -(2 * x * n + z2 * n - 2 * z2 * noiseIn)
  const c = x * x - z2 * noiseIn
  const disc = b * b - 4 * a * c
  if (a <= 0 || disc < 0) return [0, 1]
  const root = Math.sqrt(disc)
  // A score interval holds the estimate; min/max only undo rounding at the edges (x = n, x = 0).
  const p = Math.min(1, Math.max(0, x / n))
  const lo = Math.min(p, (-b - root) / (2 * a))
  const hi = Math.max(p, (-b + root) / (2 * a))
  return [Math.max(0, lo), Math.min(1, hi)]
}
