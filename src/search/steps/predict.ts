// What building a chain will cost now: the cost model's prediction over the steps the measurer's
// stage cache does not hold yet (all of them when the measurer cannot say).

import type { ChainPrediction } from '../schedule/cost-model.js';
import type { CandidateConfig } from '../types.js';
import type { SearchContext } from './context.js';

export async function predictBuild(ctx: SearchContext, cfg: CandidateConfig): Promise<ChainPrediction> {
  const { measurer } = ctx.opts;
  const plan = measurer.stagePlan ? await measurer.stagePlan(cfg) : [];
  const cached: boolean[] = [];
  let j = 0;
  for (const row of plan) {
    while (j < cfg.passes.length && cfg.passes[j]!.name !== row.stage) j++;
    if (j < cfg.passes.length) cached[j++] = row.cached;
  }
  return ctx.stages.predict(cfg.passes, cached);
}

/** Predicted training time of a chain (0 without training stages, without asking the measurer). */
export async function predictTrainMs(ctx: SearchContext, cfg: CandidateConfig): Promise<number> {
  if (!cfg.passes.some((p) => ctx.stages.isTrain(p.name))) return 0;
  return (await predictBuild(ctx, cfg)).trainMs;
}
