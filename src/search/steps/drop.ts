// Dropping at screening: sure misses of latency budgets (interval wholly above), quality floors far
// below (interval wholly below), size/memory limits, and candidates another screened one clearly beats.

import { qualityScore } from '../pareto.js';
import type { CandidateResult } from '../types.js';
import { SCREEN_MARGIN, screenLatency, sureMiss } from './screen-figures.js';
import { baseIdOf, type SearchContext } from './context.js';

/** The screened candidates among `ids` (built, measured, not failed). */
export function screenedOf(ctx: SearchContext, ids: readonly string[]): CandidateResult[] {
  return ids.map((id) => ctx.results.get(id)).filter((r): r is CandidateResult => !!r && r.status === 'ok' && !!r.screen);
}

export function dropAtScreening(ctx: SearchContext, screened: readonly CandidateResult[]): void {
  const { constraints, objective } = ctx.opts;
  const base = ctx.results.get(baseIdOf(ctx))!;
  for (const r of screened) {
    if (ctx.dropped.has(r.id)) continue;
    const why = sureMiss(r, r.screen!, constraints, base);
    if (why) ctx.dropped.set(r.id, why);
  }
  for (const r of screened) {
    if (ctx.dropped.has(r.id)) continue;
    const m = r.screen!;
    const { lo } = screenLatency(m, objective, base);
    const by = screened.find((q) => {
      if (q.id === r.id || ctx.dropped.has(q.id)) return false;
      const { hi } = screenLatency(q.screen!, objective, base);
      return hi * SCREEN_MARGIN < lo && qualityScore(q.screen!) >= qualityScore(m) && (q.sizeBytes ?? 0) <= (r.sizeBytes ?? 0);
    });
    if (by)
      ctx.dropped.set(
        r.id,
        `dominated at screening by ${by.config.label} (more than ${SCREEN_MARGIN}× faster with intervals apart, quality and size no worse)`,
      );
  }
}
