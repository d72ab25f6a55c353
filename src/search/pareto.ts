// Pareto front, dominance and the choice: among the candidates that meet every constraint, the one
// with the best objective (lowest latency statistic); when none does, the closest misses.

import { checkConstraints, describeCheck, lowerIsBetter, type Check, type Constraint, type Figures, type LatencyStat } from './constraints.js';
import { compareLatency } from './stats.js';
import type { CandidateResult, Measurement } from './types.js';

/** A candidate reduced to the two axes of the front: latency (lower is better) and quality (higher is better). */
export interface Point {
  id: string;
  latency: number;
  quality: number;
}

export function dominates(a: Point, b: Point): boolean {
  return a.latency <= b.latency && a.quality >= b.quality && (a.latency < b.latency || a.quality > b.quality);
}

/** Ids of the points no other point dominates, sorted by latency. */
export function paretoFront(points: readonly Point[]): string[] {
  return points
    .filter((p) => !points.some((q) => q.id !== p.id && dominates(q, p)))
    .sort((a, b) => a.latency - b.latency)
    .map((p) => p.id);
}

/**
 * Ids of the points on or near the front: a point whose latency divided by (1 + margin) no other point
 * dominates. Margin 0 is the front itself.
 */
export function nearFront(points: readonly Point[], margin: number): string[] {
  return points
    .filter((p) => {
      const moved = { ...p, latency: p.latency / (1 + margin) };
      return !points.some((q) => q.id !== p.id && dominates(q, moved));
    })
    .sort((a, b) => a.latency - b.latency)
    .map((p) => p.id);
}

/** The best measurement a candidate has: the full one when it exists. */
export function bestMeasurement(r: CandidateResult): Measurement | undefined {
  return r.full ?? r.screen;
}

/** Quality on a higher-is-better scale, so CER and accuracy can share one axis. */
export function qualityScore(m: Measurement): number {
  const p = m.quality.primary;
  return lowerIsBetter(p.name) ? -p.value : p.value;
}

export function figuresOf(r: CandidateResult, m: Measurement | undefined = bestMeasurement(r)): Figures {
  if (!m) return { sizeBytes: r.sizeBytes };
  const quality: Record<string, number> = { [m.quality.primary.name]: m.quality.primary.value };
  for (const [k, v] of Object.entries(m.quality.metrics)) quality[k] = v.value;
  return {
    latency: { p50: m.latency.p50, p90: m.latency.p90, p95: m.latency.p95, p99: m.latency.p99, max: m.latency.max, mean: m.latency.mean },
    quality,
    sizeBytes: r.sizeBytes,
    peakRssBytes: m.peakRssBytes,
  };
}

/** The baseline figures a candidate is held to: latency from the rounds it was measured in, when known. */
export function baselineFor(r: CandidateResult, baseFig: Figures | undefined): Figures | undefined {
  const anchor = bestMeasurement(r)?.anchor;
  return anchor && baseFig ? { ...baseFig, latency: anchor } : baseFig;
}

export function toPoint(r: CandidateResult, objective: LatencyStat): Point | undefined {
  const m = bestMeasurement(r);
  if (r.status !== 'ok' || !m) return undefined;
  return { id: r.id, latency: m.latency[objective], quality: qualityScore(m) };
}

export interface Choice {
  chosen?: CandidateResult;
  runnerUp?: CandidateResult;
  feasible: CandidateResult[];
  checks: Map<string, Check[]>;
  /** When nothing is feasible: up to `closestN` candidates nearest to feasibility, with what each misses. */
  closest: { id: string; misses: string[] }[];
}

/**
 * Checks every measured candidate against the constraints (quality floors relative to `baseline`)
 * and picks the feasible one with the lowest objective; candidates statistically tied with it on the
 * objective go by higher quality, then smaller size.
 * Only fully measured candidates can be chosen when `requireFull` is set.
 */
export function choose(
  results: readonly CandidateResult[],
  constraints: readonly Constraint[],
  baseline: CandidateResult | undefined,
  objective: LatencyStat,
  opts: { requireFull?: boolean; closestN?: number } = {},
): Choice {
  const baseFig = baseline ? figuresOf(baseline) : undefined;
  const checks = new Map<string, Check[]>();
  const measured = results.filter((r) => r.status === 'ok' && bestMeasurement(r));
  for (const r of measured) checks.set(r.id, checkConstraints(constraints, figuresOf(r), baselineFor(r, baseFig)));
  const eligible = measured.filter((r) => !opts.requireFull || r.full);
  const feasible = eligible
    .filter((r) => checks.get(r.id)!.every((c) => c.ok))
    .sort((a, b) => {
      const ma = bestMeasurement(a)!;
      const mb = bestMeasurement(b)!;
      return ma.latency[objective] - mb.latency[objective] || qualityScore(mb) - qualityScore(ma) || (a.sizeBytes ?? 0) - (b.sizeBytes ?? 0);
    });
  // Candidates whose objective is statistically tied with the fastest (the 95% interval of the
  // difference holds 0) are told apart by quality, then size: a 0.01 ms edge is noise, a point of
  // quality is not.
  if (feasible.length > 1) {
    const first = bestMeasurement(feasible[0]!)!;
    const tied = feasible.filter((r, i) => {
      if (i === 0) return true;
      const c = compareLatency(bestMeasurement(r)!.latency.samplesMs, first.latency.samplesMs, objective);
      return c.ci[0] <= 0 && c.ci[1] >= 0;
    });
    const pick = [...tied].sort((a, b) => qualityScore(bestMeasurement(b)!) - qualityScore(bestMeasurement(a)!) || (a.sizeBytes ?? 0) - (b.sizeBytes ?? 0))[0]!;
    if (pick !== feasible[0]) feasible.splice(feasible.indexOf(pick), 1), feasible.unshift(pick);
  }
  const closest = feasible.length
    ? []
    : measured
        .map((r) => {
          const cs = checks.get(r.id)!;
          const miss = cs.filter((c) => !c.ok);
          return { r, miss, score: miss.reduce((s, c) => s + (Number.isFinite(c.missBy) ? c.missBy : 1e6), 0) };
        })
        .sort((a, b) => a.miss.length - b.miss.length || a.score - b.score)
        .slice(0, opts.closestN ?? 3)
        // a candidate that met every constraint at screening but was never fully measured misses none:
        // say that, rather than "misses" with a blank reason
        .map(({ r, miss }) => ({
          id: r.id,
          misses: miss.length
            ? miss.map(describeCheck)
            : ['a full measurement: it met every constraint at screening, but was not fully measured before the time limit'],
        }));
  return { chosen: feasible[0], runnerUp: feasible[1], feasible, checks, closest };
}
