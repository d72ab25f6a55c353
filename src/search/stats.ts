// Confidence for the search's latency comparisons: bootstrap intervals of latency percentiles and of
// the difference of two candidates' percentiles. (Paired quality comparisons: src/eval compareCandidates.)

import type { LatencyStat } from './constraints.js';
import type { LatencyFigures } from './types.js';
import { quantileSorted, summarize } from '../bench/stats.js';
import { mulberry32 } from '../util/rng.js';
import { wilson as wilsonInterval } from '../eval/metrics.js';

// Order statistics, mean and standard deviation are the benchmark's (src/bench/stats.ts).
export { quantileSorted } from '../bench/stats.js';

const Q: Record<LatencyStat, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, max: 1, mean: NaN };

export function statOf(sorted: ArrayLike<number>, stat: LatencyStat): number {
  if (stat === 'mean') {
    let s = 0;
    for (let i = 0; i < sorted.length; i++) s += sorted[i]!;
    return s / sorted.length;
  }
  return quantileSorted(sorted, Q[stat]);
}

/** A bootstrap resample of `xs` (with replacement, buf.length draws), sorted, in `buf`. */
export function resampleSorted(xs: readonly number[], r: () => number, buf: Float64Array): Float64Array {
  for (let i = 0; i < buf.length; i++) buf[i] = xs[Math.floor(r() * xs.length)]!;
  return buf.sort();
}

function rounds(n: number): number {
  return n > 4000 ? 200 : n > 1000 ? 400 : 1000;
}

/** Latency figures with 95% bootstrap intervals from raw samples (ms). */
export function latencyFigures(samplesMs: readonly number[], seed = 1): LatencyFigures {
  const n = samplesMs.length;
  const stats: LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'];
  const ci: LatencyFigures['ci'] = {};
  if (n >= 2) {
    const r = mulberry32(seed);
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
  const { min: _min, ...summary } = summarize(samplesMs);
  // An empty sample has stdev 0 here (summarize gives NaN).
  return { ...summary, stdev: n === 0 ? 0 : summary.stdev, ci, samplesMs: [...samplesMs] };
}

/**
 * Difference of a statistic between two independent latency samples (a minus b), with a 95%
 * bootstrap interval and the share of bootstrap rounds in which a is faster.
 */
export function compareLatency(
  a: readonly number[],
  b: readonly number[],
  stat: LatencyStat,
  seed = 7,
): { diffMs: number; ci: [number, number]; pFaster: number } {
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  const diffMs = statOf(sa, stat) - statOf(sb, stat);
  if (a.length < 2 || b.length < 2) return { diffMs, ci: [diffMs, diffMs], pFaster: diffMs < 0 ? 1 : 0 };
  const r = mulberry32(seed);
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

/** Wilson interval for a proportion k/n: src/eval's, with z = 1.96 by default (eval's default is 1.959964). */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  return wilsonInterval(k, n, z);
}
