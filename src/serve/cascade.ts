// The cascade's threshold, pure: the fast model answers alone when its confidence is at least the
// threshold, else the accurate model is asked. Calibrated on validation items to the lowest threshold
// whose final answers agree with the accurate model's on at least the target share of items (the
// fewest escalations that keep the agreement).

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
  /** Share of items escalated to the accurate model. */
  escalated: number;
  n: number;
}

export function calibrateThreshold(samples: readonly CascadeSample[], target: number): Calibration {
  const n = samples.length;
  if (n === 0) return { threshold: Infinity, agreement: 1, escalated: 1, n };
  const sorted = [...samples].sort((a, b) => a.confidence - b.confidence);
  // threshold at sorted[k].confidence escalates the k least confident items (ties go together)
  let disagreeKept = sorted.filter((s) => !s.agree).length;
  for (let k = 0; k < n; k++) {
    // a tie with the item before: no threshold falls between them, so this one goes with it
    if (k > 0 && sorted[k]!.confidence === sorted[k - 1]!.confidence) {
      if (!sorted[k]!.agree) disagreeKept--;
      continue;
    }
    const agreement = 1 - disagreeKept / n;
    if (agreement >= target) return { threshold: sorted[k]!.confidence, agreement, escalated: k / n, n };
    if (!sorted[k]!.agree) disagreeKept--;
  }
  return { threshold: Infinity, agreement: 1, escalated: 1, n };
}
