// The targets of issue 9 (docs/disclosure-control.md), in one place: the attack test asserts
// them and bench/attacks/run.ts prints them beside the figures.

export const TARGETS = {
  /**
   * An attack may recover true counts 1…k−1 exactly no more often than the baseline guess (see
   * baseline() in harness.ts) plus this many percentage points, plus a sampling allowance.
   * Why a tolerance at all: record keys are drawn by a CSPRNG at intake, so with the cell-key
   * method both rates move from run to run; the attack's rate must not beat the baseline by
   * more than chance. 5 points is the margin by which we accept "no better".
   */
  recoveryTolerance: 0.05,
  /**
   * The sampling allowance: this many standard errors of a rate over the scored cells,
   * sqrt(p (1 − p) / n) at the baseline's p. Two standard errors keep a protected release
   * from failing CI by bad luck more than ~2 % of the time, while the first wave's 100 %
   * recovery (against baselines of 30–50 %) fails by far on any data we run.
   */
  samplingErrors: 2,
  /** Utility: in 3-D tables, the share of cells with true count ≥ 2k that are released. */
  releasedShareMin: 0.8,
  /** Utility: the median relative error of cells with true count ≥ 50 (an unreleased cell counts as 100 %). */
  medianRelativeErrorMax: 0.1,
  /** The count from which the relative error is measured. */
  largeCount: 50
} as const

/** The highest recovery rate a release may allow an attack whose scored set has `n` cells and baseline rate `baseline`. */
export function recoveryCeiling (baseline: number, n: number): number {
  const se = n > 0 ? Math.sqrt(Math.max(baseline * (1 - baseline), 0.01) / n) : 0
  return baseline + TARGETS.recoveryTolerance + TARGETS.samplingErrors * se
}
