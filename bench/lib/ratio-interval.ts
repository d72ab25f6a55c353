// A speed-up a/b of one latency statistic between two independent samples, with a 95% percentile
// bootstrap interval (each sample resampled on its own, the ratio of their statistics each round).

import type { LatencyStat } from '../../src/search/constraints.js';
import { statOf } from '../../src/search/stats.js';
import { mulberry32 } from '../../src/util/rng.js';

export function speedupInterval(
  a: readonly number[],
  b: readonly number[],
  stat: LatencyStat,
  rounds = 2000,
  seed = 11,
): { value: number; ci: [number, number] } {
  const sorted = (v: readonly number[]) => Float64Array.from(v).sort();
  const value = statOf(sorted(a), stat) / statOf(sorted(b), stat);
  const r = mulberry32(seed);
  const draw = (v: readonly number[]) => sorted(Array.from(v, () => v[Math.floor(r() * v.length)]!));
  const ratios = Float64Array.from({ length: rounds }, () => statOf(draw(a), stat) / statOf(draw(b), stat)).sort();
  const q = (p: number) => ratios[Math.min(rounds - 1, Math.floor(p * rounds))]!;
  return { value, ci: [q(0.025), q(0.975)] };
}
