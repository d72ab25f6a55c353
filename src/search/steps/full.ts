// Full measurements of the promising candidates, fastest screening figure first, in groups measured in
// interleaved rounds with the baseline, until enough of them meet every constraint or time runs out.

import { checkConstraints, type LatencyStat } from '../constraints.js';
import { baselineFor, figuresOf } from '../pareto.js';
import type { CandidateResult } from '../types.js';
import { runGroup } from './measure-group.js';
import { screenLatency, screenMisses } from './screen-figures.js';
import { baseIdOf, left, noteStop, perFull, type SearchContext } from './context.js';

/**
 * Screened candidates not dropped, in the order they are measured in full: those that met every
 * constraint at screening first, then the rest, each fastest first. A fast candidate that missed the
 * quality floor at screening may still pass in full, but it must not take the few full slots of a tight
 * time limit from candidates that already look feasible.
 */
export function promisingOf(ctx: SearchContext, screened: readonly CandidateResult[]): CandidateResult[] {
  const { objective } = ctx.opts;
  const base = ctx.results.get(baseIdOf(ctx))!;
  // A short run's p99 is nearly its max: order by a steadier statistic when the objective is a far tail.
  const orderStat: LatencyStat = objective === 'p99' || objective === 'max' ? 'p90' : objective;
  const misses = (r: CandidateResult) => (screenMisses(r, ctx.opts.constraints, base).length > 0 ? 1 : 0);
  return screened
    .filter((r) => !ctx.dropped.has(r.id))
    .sort((a, b) => misses(a) - misses(b) || screenLatency(a.screen!, orderStat, base).v - screenLatency(b.screen!, orderStat, base).v);
}

export async function measureInFull(ctx: SearchContext, promising: readonly CandidateResult[]): Promise<void> {
  const target = ctx.opts.fullTarget ?? 3;
  const isFeasible = (r: CandidateResult) =>
    r.status === 'ok' && checkConstraints(ctx.opts.constraints, figuresOf(r), baselineFor(r, figuresOf(ctx.results.get(baseIdOf(ctx))!))).every((c) => c.ok);
  let feasibleFull = 0;
  let i = 0;
  while (i < promising.length && feasibleFull < target) {
    const each = perFull(ctx);
    const slice = promising.slice(i, i + target + 1);
    const want = slice.filter((r) => !r.full);
    const fits = Math.min(want.length, Math.max(0, Math.floor(left(ctx) / each) - 1));
    if (fits < want.length) noteStop(ctx, `time limit: ${promising.length - i - fits} promising candidate(s) not fully measured`);
    if (fits > 0)
      await runGroup(
        ctx,
        want.slice(0, fits).map((r) => r.id),
        i,
        promising.length,
      );
    i += slice.length;
    feasibleFull += slice.filter((r) => ctx.results.get(r.id)!.full && isFeasible(ctx.results.get(r.id)!)).length;
    if (fits < want.length) break;
  }
}
