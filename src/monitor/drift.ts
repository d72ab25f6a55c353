// Drift per machine, bucket by bucket, against the machine's reference window: PSI and a binned KS on
// each input statistic and on the confidence, and chi-square on the class mix. A bucket is flagged when
// the KS (or chi-square) p-value passes Bonferroni over every test made and the PSI is above 0.1, so
// a large sample cannot flag a negligible shift and a small one cannot flag noise.

import type { BinCount, ClassCount } from './query.js';
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

/** PSI and binned KS per monitoring bucket, for one feature's decile-binned counts (bins 0–9). */
export function featureDrift(feature: string, rows: readonly BinCount[], firstMonitorBucket: number): DriftSeries[] {
  const out: DriftSeries[] = [];
  for (const [machine, buckets] of byMachineBucket(rows)) {
    const bins = 10;
    const ref = new Array<number>(bins).fill(0);
    for (const [b, l] of buckets) if (b < firstMonitorBucket) for (const r of l) ref[r.bin]! += r.n;
    const refN = ref.reduce((a, b) => a + b, 0);
    if (refN < 50) continue;
    const points: DriftPoint[] = [];
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
      if (b < firstMonitorBucket) continue;
      const cur = new Array<number>(bins).fill(0);
      for (const r of buckets.get(b)!) cur[r.bin]! += r.n;
      const ks = ksFromCounts(ref, cur);
      points.push({ bucket: b, n: cur.reduce((a, c) => a + c, 0), psi: psiCounts(ref, cur), stat: ks.d, p: ks.p });
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
