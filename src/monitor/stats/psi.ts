// Population Stability Index between a reference and a current distribution:
// PSI = Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) over bins, with proportions floored at 1e-4 so an empty bin stays finite.
// Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 large shift.

const FLOOR = 1e-4;

/** PSI from bin counts (same bins, same order). */
export function psiCounts(expected: readonly number[], actual: readonly number[]): number {
  const se = expected.reduce((a, b) => a + b, 0);
  const sa = actual.reduce((a, b) => a + b, 0);
  if (se === 0 || sa === 0) return 0;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / se, FLOOR);
    const a = Math.max((actual[i] ?? 0) / sa, FLOOR);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** Bin edges at the reference's quantiles (equal-frequency bins), duplicates dropped. */
export function quantileEdges(ref: readonly number[], bins = 10): number[] {
  const s = [...ref].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = s[Math.min(s.length - 1, Math.floor((k * s.length) / bins))]!;
    if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
  }
  return edges;
}

/** Which bin v falls in: the count of edges ≤ v. */
export function binOf(v: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const h = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) h[binOf(v, edges)]!++;
  return h;
}

/** PSI of two samples, binned at the reference's deciles. */
export function psi(ref: readonly number[], cur: readonly number[], bins = 10): number {
  const edges = quantileEdges(ref, bins);
  return psiCounts(histogram(ref, edges), histogram(cur, edges));
}
