// Two-sample Kolmogorov–Smirnov test: D = max |F₁ − F₂| over the pooled sample, and its asymptotic
// p-value Q_KS(√nₑ·D·(1 + 0.12/√nₑ + 0.11)) … with nₑ = n₁n₂/(n₁+n₂) (Stephens' small-sample correction).

/** Q_KS(λ) = 2 Σ (−1)^{j−1} e^{−2j²λ²}, the Kolmogorov survival function. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1;
  let s = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    s += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.max(0, Math.min(1, s));
}

export function ksPValue(d: number, n1: number, n2: number): number {
  const ne = (n1 * n2) / (n1 + n2);
  const sq = Math.sqrt(ne);
  return kolmogorovQ((sq + 0.12 + 0.11 / sq) * d);
}

/** D and its p-value for two samples. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return { d, p: x.length && y.length ? ksPValue(d, x.length, y.length) : 1 };
}

/**
 * D from two histograms over the same bins: the largest CDF gap at a bin edge. It is a lower bound on
 * the exact D (gaps inside a bin are not seen), so the test is conservative; with decile bins of the
 * reference it lets the store compute drift in SQL over millions of events.
 */
export function ksFromCounts(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  const na = a.reduce((s, v) => s + v, 0);
  const nb = b.reduce((s, v) => s + v, 0);
  if (!na || !nb) return { d: 0, p: 1 };
  let ca = 0;
  let cb = 0;
  let d = 0;
  for (let k = 0; k < a.length; k++) {
    ca += a[k]!;
    cb += b[k] ?? 0;
    d = Math.max(d, Math.abs(ca / na - cb / nb));
  }
  return { d, p: ksPValue(d, na, nb) };
}
