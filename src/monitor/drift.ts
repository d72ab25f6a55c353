// Drift per machine, bucket by bucket, against the machine's reference window: PSI and a binned KS on
// each input statistic (from the fine histograms of the pre-aggregates, coarsened to reference quantiles) and on the confidence, and chi-square on the class mix. A bucket is flagged when
// the KS (or chi-square) p-value passes Bonferroni over every test made and the PSI is above 0.1, so
// a large sample cannot flag a negligible shift and a small one cannot flag noise.

import { COARSE_BINS, type BinnedRow, type ClassCount } from './query.js';
import { ksFromCounts } from './stats/ks.js';
import { psiCounts } from './stats/psi.js';
import { chiSquare } from './stats/tests.js';

export interface DriftPoint {
  bucket: number;
  n: number;
  psi: number;
  /** KS D (features) or the chi-square statistic (class mix). */
  stat: number;
  p: number;
  /** Features: an upper bound on the exact KS D (`stat` is a lower bound); see featureDrift. */
  dMax?: number;
}

export interface DriftSeries {
  machine: string;
  /** 'brightness', 'contrast', 'sharpness', 'embedding[1]', 'score' or 'class-mix'. */
  feature: string;
  refN: number;
  points: DriftPoint[];
}

export const PSI_FLOOR = 0.1;

function byMachineBucket<T extends { machine: string; bucket: number }>(rows: readonly T[]): Map<string, Map<number, T[]>> {
  const out = new Map<string, Map<number, T[]>>();
  for (const r of rows) {
    let m = out.get(r.machine);
    if (!m) out.set(r.machine, (m = new Map()));
    let l = m.get(r.bucket);
    if (!l) m.set(r.bucket, (l = []));
    l.push(r);
  }
  return out;
}

function addInto(acc: number[], counts: readonly number[]): void {
  for (let i = 0; i < counts.length; i++) acc[i]! += counts[i]!;
}

/** Pairs of 20-quantile bins merged into deciles, for PSI. */
const deciles = (c: readonly number[]) => Array.from({ length: Math.ceil(c.length / 2) }, (_, i) => c[2 * i]! + (c[2 * i + 1] ?? 0));

/**
 * PSI (on the reference's deciles) and binned KS (at the reference's 20-quantile edges) per monitoring
 * bucket, for one feature's coarse-binned counts. `dMax` bounds the exact KS D from above: the binned D
 * plus the largest share of either sample in one coarse bin (a CDF gap can only grow inside a bin by
 * the mass the bin holds).
 */
export function featureDrift(feature: string, rows: readonly BinnedRow[], firstMonitorBucket: number): DriftSeries[] {
  const out: DriftSeries[] = [];
  for (const [machine, buckets] of byMachineBucket(rows)) {
    const bins = COARSE_BINS;
    const ref = new Array<number>(bins).fill(0);
    for (const [b, l] of buckets) if (b < firstMonitorBucket) for (const r of l) addInto(ref, r.counts);
    const refN = ref.reduce((a, b) => a + b, 0);
    if (refN < 50) continue;
    const points: DriftPoint[] = [];
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
      if (b < firstMonitorBucket) continue;
      const cur = new Array<number>(bins).fill(0);
      for (const r of buckets.get(b)!) addInto(cur, r.counts);
      const n = cur.reduce((a, c) => a + c, 0);
      const ks = ksFromCounts(ref, cur);
      const dMax = Math.min(1, ks.d + Math.max(...ref.map((x, i) => Math.max(x / refN, cur[i]! / n))));
      points.push({ bucket: b, n, psi: psiCounts(deciles(ref), deciles(cur)), stat: ks.d, p: ks.p, dMax });
    }
    out.push({ machine, feature, refN, points });
  }
  return out;
}

/** Chi-square of each monitoring bucket's class counts against the reference's, per machine. */
export function classMixDrift(rows: readonly ClassCount[], firstMonitorBucket: number): DriftSeries[] {
  const classes = [...new Set(rows.map((r) => r.prediction))].sort();
  const out: DriftSeries[] = [];
  for (const [machine, buckets] of byMachineBucket(rows)) {
    const ref = classes.map(() => 0);
    for (const [b, l] of buckets) if (b < firstMonitorBucket) for (const r of l) ref[classes.indexOf(r.prediction)]! += r.n;
    const refN = ref.reduce((a, b) => a + b, 0);
    if (refN < 50) continue;
    const points: DriftPoint[] = [];
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
      if (b < firstMonitorBucket) continue;
      const cur = classes.map(() => 0);
      for (const r of buckets.get(b)!) cur[classes.indexOf(r.prediction)]! += r.n;
      const c = chiSquare([ref, cur]);
      points.push({ bucket: b, n: cur.reduce((a, x) => a + x, 0), psi: psiCounts(ref, cur), stat: c.stat, p: c.p });
    }
    out.push({ machine, feature: 'class-mix', refN, points });
  }
  return out;
}

/** The flagged buckets of a series at significance `alpha` (already Bonferroni-divided). */
export function flagged(s: DriftSeries, alpha: number): DriftPoint[] {
  return s.points.filter((p) => p.p < alpha && p.psi > PSI_FLOOR);
}
