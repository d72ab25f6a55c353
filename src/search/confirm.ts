// The claim a run makes: the chosen model against the source measured in the same interleaved rounds,
// so that the machine's load at one moment cannot pass for a speed-up. A chosen model whose latency
// interval against the source holds 0 (or that is the source) is not beyond the noise: no claim.

import type { LatencyStat } from './constraints.js';
import { bestMeasurement } from './pareto.js';
import type { RunDir } from './run-dir.js';
import { compareLatency, statOf } from './stats.js';
import type { Measurer } from './strategy.js';
import type { CandidateResult, Summary } from './types.js';

export async function confirmAgainstBaseline(
  measurer: Measurer,
  runDir: RunDir,
  baseline: CandidateResult,
  chosen: CandidateResult,
  objective: LatencyStat,
  log?: (l: string) => void,
): Promise<NonNullable<Summary['vsBaseline']>> {
  let a = bestMeasurement(chosen)!.latency.samplesMs;
  let b = bestMeasurement(baseline)!.latency.samplesMs;
  let rounds: number | undefined;
  if (chosen.id !== baseline.id && measurer.measureGroup) {
    log?.(`confirming ${chosen.config.label} against the source in interleaved rounds`);
    const [mb, ma] = await measurer.measureGroup(
      [
        { modelPath: runDir.modelPath(baseline.id), cfg: baseline.config, quality: bestMeasurement(baseline)!.quality },
        { modelPath: runDir.modelPath(chosen.id), cfg: chosen.config, quality: bestMeasurement(chosen)!.quality },
      ],
      'full',
    );
    a = ma!.latency.samplesMs;
    b = mb!.latency.samplesMs;
    rounds = ma!.rounds;
  }
  return vsBaseline(a, b, objective, chosen.id === baseline.id, rounds);
}

/**
 * The speed-up of `chosen` over `base` samples; beyond the noise when the whole 95% interval of the
 * difference of `stat` is below 0, or when that of the median is and `stat` is not worse.
 */
export function vsBaseline(
  chosen: readonly number[],
  base: readonly number[],
  stat: LatencyStat,
  same = false,
  rounds?: number,
): NonNullable<Summary['vsBaseline']> {
  const c = compareLatency(chosen, base, stat);
  // A far tail (p99 of a few hundred runs on a shared machine) is often too wide to settle alone: the
  // pick also counts as faster when its median is faster beyond the noise and its tail is not worse.
  const med = compareLatency(chosen, base, 'p50');
  const sorted = (x: readonly number[]) => Float64Array.from(x).sort();
  const chosenMs = statOf(sorted(chosen), stat);
  const baselineMs = statOf(sorted(base), stat);
  return {
    stat,
    baselineMs,
    chosenMs,
    speedup: baselineMs / chosenMs,
    diffMs: c.diffMs,
    ci: c.ci,
    pFaster: c.pFaster,
    medianDiffMs: med.diffMs,
    medianCi: med.ci,
    beyondNoise: !same && (c.ci[1] < 0 || (med.ci[1] < 0 && c.diffMs <= 0)),
    ...(rounds !== undefined ? { rounds } : {}),
  };
}
