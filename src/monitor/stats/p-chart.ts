// The p-chart: a defect proportion per subgroup against limits p̄ ± 3·√(p̄(1−p̄)/n) from a reference
// window. For the run rules each point is also turned into a z-score; with small subgroups the binomial
// is skewed, so the z is the normal score of the binomial mid-p probability rather than (p−p̄)/σ, which
// keeps the stated in-control false-alarm rates true for small n as well.

import { normalQuantile } from './normal.js';

export interface PChartLimits {
  center: number;
  lcl: number;
  ucl: number;
}

/** Limits for a subgroup of size n, with the centre line from a reference window (k sigma, default 3). */
export function pChartLimits(refDefects: number, refN: number, n: number, k = 3): PChartLimits {
  const center = refN > 0 ? refDefects / refN : 0;
  const sigma = n > 0 ? Math.sqrt((center * (1 - center)) / n) : 0;
  return { center, lcl: Math.max(0, center - k * sigma), ucl: Math.min(1, center + k * sigma) };
}

function logChoose(n: number, k: number): number {
  return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms). */
export function lgamma(x: number): number {
  const g = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012,
    9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
  const xx = x - 1;
  let a = g[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += g[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * P(X < x) + ½P(X = x) for X ~ Binomial(n, p): the mid-p CDF. The shorter tail is summed away from the
 * mean, each term from the one before by the ratio of consecutive probabilities (one lgamma in all),
 * until the terms no longer change the sum.
 */
export function binomialMidP(x: number, n: number, p: number): number {
  if (p <= 0) return x > 0 ? 1 : 0.5;
  if (p >= 1) return x < n ? 0 : 0.5;
  const odds = p / (1 - p);
  const at = Math.exp(logChoose(n, x) + x * Math.log(p) + (n - x) * Math.log(1 - p));
  let s = 0;
  if (x <= n * p) {
    // P(X = k−1) = P(X = k) · k / ((n − k + 1) · odds), falling as k goes down from x ≤ np.
    for (let k = x, t = at; k > 0; k--) {
      t *= k / ((n - k + 1) * odds);
      if (t <= s * 1e-17) break;
      s += t;
    }
    return Math.min(1, s + 0.5 * at);
  }
  // P(X = k+1) = P(X = k) · (n − k) · odds / (k + 1), falling as k goes up from x > np.
  for (let k = x, t = at; k < n; k++) {
    t *= ((n - k) * odds) / (k + 1);
    if (t <= s * 1e-17) break;
    s += t;
  }
  return Math.max(0, 1 - s - 0.5 * at);
}

/** The subgroup's z-score against the centre line: Φ⁻¹ of its binomial mid-p CDF (capped at ±8). */
export function binomialZ(defects: number, n: number, center: number): number {
  if (n <= 0) return 0;
  const z = normalQuantile(binomialMidP(defects, n, center));
  return Math.max(-8, Math.min(8, z));
}
