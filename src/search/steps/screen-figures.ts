// Screening figures held against the constraints: latency corrected for the machine's load (scaled by
// the baseline measured in the same rounds), and the sure misses that drop a candidate without a full run.

import { checkConstraints, describeCheck, resolveMetric, type Constraint, type Figures, type LatencyStat } from '../constraints.js';
import { figuresOf } from '../pareto.js';
import type { CandidateResult, Measurement } from '../types.js';

/** How far past a bound a screening figure must be before a candidate is dropped without a full run. */
export const SCREEN_MARGIN = 1.3;

const STATS: LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'];

export function anchorOf(b: Measurement): NonNullable<Measurement['anchor']> {
  const l = b.latency;
  return { p50: l.p50, p90: l.p90, p95: l.p95, p99: l.p99, max: l.max, mean: l.mean };
}

/** The baseline's quietest figure per statistic: the reference that anchored measurements are scaled to. */
function refLatency(base: CandidateResult): Record<LatencyStat, number> {
  const ms = [base.screen, base.full].filter((m): m is Measurement => !!m);
  return Object.fromEntries(STATS.map((st) => [st, Math.min(...ms.map((m) => m.latency[st]))])) as Record<LatencyStat, number>;
}

/**
 * A screening figure corrected for load: with an anchor (the baseline measured in the same rounds) it
 * is the ratio to the baseline times the baseline's reference figure; without one, as measured.
 */
export function screenLatency(m: Measurement, st: LatencyStat, base: CandidateResult): { v: number; lo: number; hi: number } {
  const k = m.anchor ? refLatency(base)[st] / m.anchor[st] : 1;
  const [lo, hi] = m.latency.ci[st] ?? [m.latency[st], m.latency[st]];
  return { v: m.latency[st] * k, lo: lo * k, hi: hi * k };
}

/** A candidate's screening figures (latency corrected for load) and the baseline's to hold them against. */
export function screenFigures(r: CandidateResult, m: Measurement, base: CandidateResult): { cand: Figures; base: Figures } {
  const cand = figuresOf(r, m);
  let b = figuresOf(base);
  // Quality from the baseline's screening run, which scored the same items.
  if (base.screen) b = { ...b, quality: figuresOf(base, base.screen).quality };
  if (m.anchor) {
    cand.latency = Object.fromEntries(STATS.map((st) => [st, screenLatency(m, st, base).v]));
    b = { ...b, latency: refLatency(base) };
  }
  return { cand, base: b };
}

/** The kinds of constraint a screened candidate misses on its point figures. */
export function screenMisses(r: CandidateResult, constraints: readonly Constraint[], base: CandidateResult): Constraint['kind'][] {
  const f = screenFigures(r, r.screen!, base);
  const checks = checkConstraints(constraints, f.cand, f.base);
  return [...new Set(constraints.filter((_, i) => !checks[i]!.ok).map((c) => c.kind))];
}

/** Why a screened candidate surely misses a constraint (interval wholly past the bound), or undefined. */
export function sureMiss(r: CandidateResult, m: Measurement, constraints: readonly Constraint[], base: CandidateResult): string | undefined {
  const f = screenFigures(r, m, base);
  const checks = checkConstraints(constraints, f.cand, f.base);
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    const ch = checks[i]!;
    if (ch.ok) continue;
    if (c.kind === 'latency') {
      // Screening runs are short and the machine's load drifts between them: drop only when even the
      // interval's low end is well past the budget.
      const { v, lo } = screenLatency(m, c.stat, base);
      if (Number.isFinite(ch.bound) && lo > ch.bound * SCREEN_MARGIN)
        return `misses ${c.text} at screening: ${c.stat} ${v.toFixed(2)} ms${m.anchor ? ' (scaled by the baseline measured alongside)' : ''}, 95% interval from ${lo.toFixed(2)} ms, more than ${SCREEN_MARGIN}× the bound ${ch.bound.toFixed(2)} ms`;
    } else if (c.kind === 'quality') {
      const all = { [m.quality.primary.name]: m.quality.primary, ...m.quality.metrics };
      const key = resolveMetric(c.metric, Object.keys(all));
      if (key === undefined) continue;
      const ci = all[key]!.ci;
      const better = c.op === '>=' || c.op === '>' ? ci[1] < ch.bound : ci[0] > ch.bound;
      if (better && Number.isFinite(ch.bound)) return `misses ${c.text} at screening: ${describeCheck(ch)} (interval ${ci[0].toFixed(3)}–${ci[1].toFixed(3)})`;
    } else {
      return `misses ${describeCheck(ch)}`;
    }
  }
  return undefined;
}
