// Where a rise in a proportion began: the start s that maximises the binomial log-likelihood ratio of
// "rate p₁ from s on" against "rate p₀ throughout", with p₁ the rate observed from s on. The CUSUM
// says that a change happened; this says when, without CUSUM's habit of starting at early noise.

/** Index of the most likely start of an upward change in k[i]/n[i] away from p0; -1 if none rises. */
export function changePoint(k: readonly number[], n: readonly number[], p0: number): number {
  let best = -1;
  let bestLlr = 0;
  let K = 0;
  let N = 0;
  // Walk from the end so the totals from s on are running sums.
  for (let s = k.length - 1; s >= 0; s--) {
    K += k[s]!;
    N += n[s]!;
    const p1 = K / N;
    if (!(p1 > p0) || p0 <= 0 || p0 >= 1) continue;
    const llr = K * Math.log(p1 / p0) + (N - K) * (p1 < 1 ? Math.log((1 - p1) / (1 - p0)) : 0);
    if (llr > bestLlr) {
      bestLlr = llr;
      best = s;
    }
  }
  return best;
}
