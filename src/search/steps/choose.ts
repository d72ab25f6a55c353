// The last step: the choice among the fully measured candidates, a verdict on every candidate, the
// comparison of the choice with its runner-up (or the baseline), and the final state written to disk.

import { choose } from '../pareto.js';
import type { SearchOutcome } from '../strategy.js';
import { assignVerdict, compare } from './verdict.js';
import { baseIdOf, type SearchContext } from './context.js';
import type { CandidateResult } from '../types.js';

export function finish(ctx: SearchContext): SearchOutcome {
  const { constraints, objective, runDir } = ctx.opts;
  const baseId = baseIdOf(ctx);
  const baseline = ctx.results.get(baseId);
  if (!baseline) throw new Error(`stopped before the baseline was measured: ${ctx.stoppedEarly ?? 'unknown reason'}`);
  const all = ctx.ids.map((id) => ctx.results.get(id)).filter((r): r is CandidateResult => !!r);
  const choice = choose(all, constraints, baseline, objective, { requireFull: true });
  for (const r of all) assignVerdict(r, choice, ctx.dropped, objective, baseId);
  const comparison = choice.chosen
    ? compare(choice.chosen, choice.runnerUp ?? (choice.chosen.id !== baseline.id ? baseline : undefined), objective)
    : undefined;
  for (const r of all) runDir.writeResult(r);
  return {
    results: all,
    baseline,
    choice,
    comparison,
    stoppedEarly: ctx.stoppedEarly,
    elapsedMs: ctx.now() - ctx.t0,
    reused: ctx.reused,
    measuredNow: ctx.measuredNow,
    ...(ctx.sensitivity ? { sensitivity: ctx.sensitivity } : {}),
  };
}
