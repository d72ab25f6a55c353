// A speed-up a/b of one latency statistic between two independent samples, with a 95% percentile
// bootstrap interval (each sample resampled on its own, the ratio of their statistics each round).

import type { LatencyStat } from '../../src/search/constraints.js';
import { quantileSorted, resampleSorted, statOf } from '../../src/search/stats.js';
import { mulberry32 } from '../../src/util/rng.js';

export function speedupInterval(
  a: readonly number[],
  b: readonly number[],
  stat: LatencyStat,
  rounds = 2000,
  seed = 11,
): { value: number; ci: [number, number] } {
  const value = statOf(Float64Array.from(a).sort(), stat) / statOf(Float64Array.from(b).sort(), stat);
  const r = mulberry32(seed);
  const [ba, bb] = [new Float64Array(a.length), new Float64Array(b.length)];
  const ratios = Float64Array.from({ length: rounds }, () => statOf(resampleSorted(a, r, ba), stat) / statOf(resampleSorted(b, r, bb), stat)).sort();
  return { value, ci: [quantileSorted(ratios, 0.025), quantileSorted(ratios, 0.975)] };
}
