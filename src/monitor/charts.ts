// Control charts per slice (each machine, batch, line and material): the defect proportion per time
// bucket on a p-chart with run rules, EWMA and CUSUM on its z-scores, and the same EWMA/CUSUM on the
// mean confidence. Limits come from the reference window; a slice uses the pooled reference unless its
// own reference differs from it beyond chance (a batch that starts later has no reference of its own).

import type { Cell } from './query.js';
import { cusum, ewma, type DriftChart } from './stats/ewma-cusum.js';
import { binomialZ, pChartLimits } from './stats/p-chart.js';
import { runRules, type Rule } from './stats/rules.js';
import { twoProportionZ } from './stats/tests.js';

export const DIMS = ['machine', 'batch', 'line', 'material'] as const;
export type Dim = (typeof DIMS)[number];

export interface ChartPoint {
  bucket: number;
  n: number;
  k: number;
  p: number;
  ucl: number;
  lcl: number;
  /** z of the defect count against the centre line (binomial mid-p). */
  z: number;
  meanScore: number | null;
  /** z of the mean confidence against the reference mean. */
  zScore: number | null;
  reference: boolean;
  /** The run rule that fired here, if any. */
  rule?: Rule;
}

export interface SliceChart {
  dim: Dim;
  value: string;
  center: number;
  refN: number;
  refScore: { mean: number; sd: number } | null;
  points: ChartPoint[];
  /** Indexes into the monitoring points (those after the reference). */
  defectEwma: DriftChart;
  defectCusum: DriftChart;
  scoreEwma: DriftChart | null;
  scoreCusum: DriftChart | null;
  ruleHits: { index: number; rule: Rule; side: 1 | -1 }[];
}

interface Agg {
  n: number;
  k: number;
  s1: number;
  s2: number;
  ns: number;
}

const add = (a: Agg, c: Agg) => ((a.n += c.n), (a.k += c.k), (a.s1 += c.s1), (a.s2 += c.s2), (a.ns += c.ns));
const zero = (): Agg => ({ n: 0, k: 0, s1: 0, s2: 0, ns: 0 });

function scoreStats(a: Agg): { mean: number; sd: number } | null {
  if (a.ns < 30) return null;
  const mean = a.s1 / a.ns;
  return { mean, sd: Math.sqrt(Math.max(a.s2 / a.ns - mean * mean, 1e-12)) };
}

/** Sums cells per slice value and bucket. */
export function groupCells(cells: readonly Cell[], dim: Dim): Map<string, Map<number, Agg>> {
  const out = new Map<string, Map<number, Agg>>();
  for (const c of cells) {
    const v = c[dim];
    if (!v) continue;
    let m = out.get(v);
    if (!m) out.set(v, (m = new Map()));
    let a = m.get(c.bucket);
    if (!a) m.set(c.bucket, (a = zero()));
    add(a, c);
  }
  return out;
}

export interface ChartOptions {
  /** The first bucket after the reference window. */
  firstMonitorBucket: number;
  rules: readonly Rule[];
}

function chartOne(dim: Dim, value: string, byBucket: Map<number, Agg>, pooled: Agg, o: ChartOptions): SliceChart {
  const own = zero();
  for (const [b, a] of byBucket) if (b < o.firstMonitorBucket) add(own, a);
  // Keep the pooled centre unless the slice's own reference is clearly different from the rest.
  const rest = { k: pooled.k - own.k, n: pooled.n - own.n };
  const ownDiffers = own.n >= 200 && rest.n > 0 && Math.abs(twoProportionZ(own.k, own.n, rest.k, rest.n).z) > 3;
  const ref = ownDiffers ? own : pooled;
  const refScore = scoreStats(ownDiffers ? own : pooled);
  const buckets = [...byBucket.keys()].sort((a, b) => a - b);
  const points: ChartPoint[] = buckets.map((b) => {
    const a = byBucket.get(b)!;
    const lim = pChartLimits(ref.k, ref.n, a.n);
    const meanScore = a.ns ? a.s1 / a.ns : null;
    const zScore = meanScore !== null && refScore ? (meanScore - refScore.mean) / (refScore.sd / Math.sqrt(a.ns)) : null;
    return {
      bucket: b,
      n: a.n,
      k: a.k,
      p: a.k / a.n,
      ucl: lim.ucl,
      lcl: lim.lcl,
      z: binomialZ(a.k, a.n, lim.center),
      meanScore,
      zScore,
      reference: b < o.firstMonitorBucket,
    };
  });
  const mon = points.filter((p) => !p.reference);
  const zs = mon.map((p) => p.z);
  const ruleHits = runRules(zs, o.rules);
  for (const h of ruleHits) mon[h.index]!.rule = h.rule;
  const zc = mon.map((p) => p.zScore ?? 0);
  const hasScore = refScore !== null && mon.some((p) => p.zScore !== null);
  return {
    dim,
    value,
    center: ref.n ? ref.k / ref.n : 0,
    refN: ref.n,
    refScore,
    points,
    defectEwma: ewma(zs),
    defectCusum: cusum(zs),
    scoreEwma: hasScore ? ewma(zc) : null,
    scoreCusum: hasScore ? cusum(zc) : null,
    ruleHits,
  };
}

/** A chart for every slice of every dimension. */
export function buildCharts(cells: readonly Cell[], o: ChartOptions): SliceChart[] {
  const pooled = zero();
  for (const c of cells) if (c.bucket < o.firstMonitorBucket) add(pooled, c);
  const out: SliceChart[] = [];
  for (const dim of DIMS) {
    const groups = groupCells(cells, dim);
    for (const value of [...groups.keys()].sort()) out.push(chartOne(dim, value, groups.get(value)!, pooled, o));
  }
  return out;
}
