// ladder.json: the Pareto-optimal measured candidates, from the most accurate to the fastest, with their
// measured latency distributions and quality. `serve` degrades along it (shared/DESIGN.md, Artifacts).

import { relative } from 'node:path';
import { bestMeasurement, paretoFront, qualityScore, toPoint } from './pareto.js';
import type { LatencyStat } from './constraints.js';
import type { Summary } from './types.js';

export interface LadderRung {
  id: string;
  label: string;
  /** The model file, relative to the run directory. */
  path: string;
  latency: { p50: number; p90: number; p99: number; max: number };
  quality: { name: string; value: number; ci: [number, number] };
  sizeBytes: number;
  /** It meets every constraint of the run. */
  feasible: boolean;
  /** 'full' or 'screen': a screened candidate's figures come from a short run. */
  stage: 'screen' | 'full';
}

export interface Ladder {
  schema: 'edgefit.ladder/1';
  objective: LatencyStat;
  /** Most accurate first, fastest last. */
  rungs: LadderRung[];
}

/** The front over every measured candidate that is not byte-identical to another; `modelPath(id)` gives each model's file. */
export function buildLadder(s: Summary, root: string, modelPath: (id: string) => string): Ladder {
  const measured = s.candidates.filter((c) => c.status === 'ok' && !c.identicalTo && bestMeasurement(c));
  const points = measured.map((c) => toPoint(c, s.objective)!).filter(Boolean);
  const front = new Set(paretoFront(points));
  const rungs = measured
    .filter((c) => front.has(c.id))
    .sort(
      (a, b) =>
        qualityScore(bestMeasurement(b)!) - qualityScore(bestMeasurement(a)!) ||
        bestMeasurement(b)!.latency[s.objective] - bestMeasurement(a)!.latency[s.objective],
    )
    .map((c) => {
      const m = bestMeasurement(c)!;
      return {
        id: c.id,
        label: c.config.label,
        path: relative(root, modelPath(c.id)),
        latency: { p50: m.latency.p50, p90: m.latency.p90, p99: m.latency.p99, max: m.latency.max },
        quality: { ...m.quality.primary },
        sizeBytes: c.sizeBytes ?? 0,
        feasible: c.verdict?.kind === 'chosen' || c.verdict?.kind === 'feasible',
        stage: m.stage,
      };
    });
  return { schema: 'edgefit.ladder/1', objective: s.objective, rungs };
}
