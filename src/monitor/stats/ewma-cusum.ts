// EWMA and tabular CUSUM over standardized points (z-scores against the reference): both catch slow,
// small drifts that a 3σ rule misses. Defaults: EWMA λ = 0.2, L = 3 (in-control ARL ≈ 560); CUSUM
// k = 0.5, h = 5 (two-sided in-control ARL ≈ 465; one shift of 1σ is caught in about 10 points).

export interface DriftChart {
  /** The statistic after each point. */
  stat: number[];
  /** The control limit at each point. */
  limit: number[];
  /** The first point beyond the limit, or -1. */
  alarm: number;
  /** Where the change most likely began: for CUSUM, the point after the statistic last left zero. */
  start: number;
}

export function ewma(z: readonly number[], lambda = 0.2, L = 3): DriftChart {
  const stat: number[] = [];
  const limit: number[] = [];
  let s = 0;
  let alarm = -1;
  for (let i = 0; i < z.length; i++) {
    s = lambda * z[i]! + (1 - lambda) * s;
    const lim = L * Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * (i + 1))));
    stat.push(s);
    limit.push(lim);
    if (alarm < 0 && Math.abs(s) > lim) alarm = i;
  }
  // The EWMA has no clean change-point; take the last sign change of the statistic before the alarm.
  let start = alarm;
  if (alarm >= 0) {
    const sign = Math.sign(stat[alarm]!);
    while (start > 0 && Math.sign(stat[start - 1]!) === sign) start--;
  }
  return { stat, limit, alarm, start };
}

/** Two-sided tabular CUSUM; `stat` is the larger of the upper and lower sums, signed by its side. */
export function cusum(z: readonly number[], k = 0.5, h = 5): DriftChart {
  const stat: number[] = [];
  let hi = 0;
  let lo = 0;
  let hiStart = 0;
  let loStart = 0;
  let alarm = -1;
  let start = -1;
  for (let i = 0; i < z.length; i++) {
    if (hi === 0) hiStart = i;
    if (lo === 0) loStart = i;
    hi = Math.max(0, hi + z[i]! - k);
    lo = Math.max(0, lo - z[i]! - k);
    stat.push(hi >= lo ? hi : -lo);
    if (alarm < 0 && (hi > h || lo > h)) {
      alarm = i;
      start = hi > h ? hiStart : loStart;
    }
  }
  return { stat, limit: z.map(() => h), alarm, start };
}

/** One-sided upper CUSUM: the first point where C⁺ exceeds h, and where that run of C⁺ began (or -1, -1). */
export function cusumUpper(z: readonly number[], k = 0.5, h = 5): { alarm: number; start: number } {
  let hi = 0;
  let start = 0;
  for (let i = 0; i < z.length; i++) {
    if (hi === 0) start = i;
    hi = Math.max(0, hi + z[i]! - k);
    if (hi > h) return { alarm: i, start };
  }
  return { alarm: -1, start: -1 };
}
