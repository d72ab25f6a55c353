// Confidence for the search's latency comparisons: bootstrap intervals of latency percentiles and of
// the difference of two candidates' percentiles. (Paired quality comparisons: src/eval compareCandidates.)

import type { LatencyStat } from './constraints.js';
import type { LatencyFigures } from './types.js';

/** Small seeded PRNG (mulberry32) so that intervals are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Quantile of sorted values with linear interpolation (q in [0,1]). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const Q: Record<LatencyStat, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, max: 1, mean: NaN };

export function statOf(sorted: ArrayLike<number>, stat: LatencyStat): number {
  if (stat === 'mean') {
    let s = 0;
    for (let i = 0; i < sorted.length; i++) s += sorted[i]!;
    return s / sorted.length;
  }
  return quantileSorted(sorted, Q[stat]);
}

function resampleSorted(xs: readonly number[], r: () => number, buf: Float64Array): Float64Array {
  for (let i = 0; i < buf.length; i++) buf[i] = xs[Math.floor(r() * xs.length)]!;
  return buf.sort();
}

function rounds(n: number): number {
  return n > 4000 ? 200 : n > 1000 ? 400 : 1000;
}

/** Latency figures with 95% bootstrap intervals from raw samples (ms). */
export function latencyFigures(samplesMs: readonly number[], seed = 1): LatencyFigures {
  const sorted = Float64Array.from(samplesMs).sort();
  const n = sorted.length;
  const mean = statOf(sorted, 'mean');
  let v = 0;
  for (const x of sorted) v += (x - mean) ** 2;
  const stats: LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'];
  const ci: LatencyFigures['ci'] = {};
  if (n >= 2) {
    const r = rng(seed);
    const B = rounds(n);
    const draws = Object.fromEntries(stats.map((s) => [s, new Float64Array(B)])) as Record<LatencyStat, Float64Array>;
    const buf = new Float64Array(n);
    for (let b = 0; b < B; b++) {
      const s = resampleSorted(samplesMs, r, buf);
      for (const st of stats) draws[st][b] = statOf(s, st);
    }
    for (const st of stats) {
      const d = draws[st].sort();
      ci[st] = [quantileSorted(d, 0.025), quantileSorted(d, 0.975)];
    }
  }
  return {
    count: n,
    p50: statOf(sorted, 'p50'),
    p90: statOf(sorted, 'p90'),
    p95: statOf(sorted, 'p95'),
    p99: statOf(sorted, 'p99'),
    max: n ? sorted[n - 1]! : NaN,
    mean,
    stdev: n > 1 ? Math.sqrt(v / (n - 1)) : 0,
    ci,
    samplesMs: [...samplesMs],
  };
}

/**
 * Difference of a statistic between two independent latency samples (a minus b), with a 95%
 * bootstrap interval and the share of bootstrap rounds in which a is faster.
 */
export function compareLatency(a: readonly number[], b: readonly number[], stat: LatencyStat, seed = 7): { diffMs: number; ci: [number, number]; pFaster: number } {
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  const diffMs = statOf(sa, stat) - statOf(sb, stat);
  if (a.length < 2 || b.length < 2) return { diffMs, ci: [diffMs, diffMs], pFaster: diffMs < 0 ? 1 : 0 };
  const r = rng(seed);
  const B = rounds(Math.max(a.length, b.length));
  const diffs = new Float64Array(B);
  const ba = new Float64Array(a.length);
  const bb = new Float64Array(b.length);
  let faster = 0;
  for (let i = 0; i < B; i++) {
    const d = statOf(resampleSorted(a, r, ba), stat) - statOf(resampleSorted(b, r, bb), stat);
    diffs[i] = d;
    if (d < 0) faster++;
  }
  diffs.sort();
  return { diffMs, ci: [quantileSorted(diffs, 0.025), quantileSorted(diffs, 0.975)], pFaster: faster / B };
}

/** Wilson interval for a proportion k/n. */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const den = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / den;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}
