// The cascade's threshold, pure: the fast model answers alone when its confidence is at least the
// threshold, else the accurate model is asked. Calibrated on validation items by conformal risk control
// (Angelopoulos et al., 2022): a miss is an item the fast model answers alone and gets a different
// answer from the accurate model's; the threshold is the lowest (fewest escalations) whose
// (misses + 1) / (n + 1) is at most 1 − target. Then the expected agreement on a new item drawn like the
// calibration items is at least the target. The plain rule (misses / n ≤ 1 − target) picks the threshold
// that fits those n items best, and falls short on new ones: 98.2–98.8% on average for a 99% target,
// calibrated on 100–200 PaddleOCR items (scripts/cascade-confidence.mjs).

export interface CascadeSample {
  /** The fast model's confidence. */
  confidence: number;
  /** Whether the fast model's answer equals the accurate model's. */
  agree: boolean;
}

export interface Calibration {
  /** Escalate when confidence < threshold. Infinity: always escalate (no threshold reaches the target). */
  threshold: number;
  /** Agreement with the accurate model on the calibration items, at this threshold. */
  agreement: number;
  /** The agreement expected on new items: 1 − (misses + 1) / (n + 1), at least the target unless everything escalates. */
  expected: number;
  /** Share of items escalated to the accurate model. */
  escalated: number;
  n: number;
  /** The fewest calibration items that could let any item answer alone at this target: 1 / (1 − target) − 1. */
  needed: number;
}

const expectedAgreement = (misses: number, n: number) => 1 - (misses + 1) / (n + 1);

/**
 * 'conformal' (what `serve` uses): (misses + 1) / (n + 1) ≤ 1 − target. 'fit': misses / n ≤ 1 − target,
 * the threshold that fits the calibration items best (edgefit's earlier rule, kept to compare against).
 */
export type CalibrationRule = 'conformal' | 'fit';

export function calibrateThreshold(samples: readonly CascadeSample[], target: number, rule: CalibrationRule = 'conformal'): Calibration {
  const n = samples.length;
  // a target of 1 or more: no count of items suffices
  const needed = Math.ceil(1 / Math.max(0, 1 - target) - 1 - 1e-9);
  const all = { threshold: Infinity, agreement: 1, expected: 1, escalated: 1, n, needed };
  const sorted = [...samples].sort((a, b) => a.confidence - b.confidence);
  // threshold at sorted[k].confidence escalates the k least confident items (ties go together)
  let misses = sorted.filter((s) => !s.agree).length;
  for (let k = 0; k < n; k++) {
    // a tie with the item before: no threshold falls between them, so this one goes with it
    if (k > 0 && sorted[k]!.confidence === sorted[k - 1]!.confidence) {
      if (!sorted[k]!.agree) misses--;
      continue;
    }
    const expected = expectedAgreement(misses, n);
    const reached = rule === 'conformal' ? expected : 1 - misses / n;
    if (reached >= target - 1e-12) return { threshold: sorted[k]!.confidence, agreement: 1 - misses / n, expected, escalated: k / n, n, needed };
    if (!sorted[k]!.agree) misses--;
  }
  return all;
}
