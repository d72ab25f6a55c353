// The first steps of a search: the baseline measured fully (relative floors and the comparison need
// it), then a short screening run of every candidate that fits the time left, keeping enough for full
// measurements of a few; training chains are charged their predicted training time on top.

import { EdgefitError } from '../../onnx/errors.js';
import type { CandidateResult } from '../types.js';
import { runCandidate } from './measure-one.js';
import { predictTrainMs } from './predict.js';
import { baseIdOf, left, noteStop, perFull, perScreen, type SearchContext } from './context.js';

export async function measureBaseline(ctx: SearchContext): Promise<CandidateResult> {
  const baseId = baseIdOf(ctx);
  await runCandidate(ctx, baseId, 'screen', { phase: 'baseline', done: 0, total: 2 });
  const baseline = await runCandidate(ctx, baseId, 'full', { phase: 'baseline', done: 1, total: 2 });
  if (baseline.status !== 'ok')
    throw new EdgefitError(
      `the source model could not be measured: ${baseline.error}`,
      'E_BASELINE',
      'every candidate is compared with the source model, so it must load and run: try `edgefit bench <model>` with the same --shape/--batch/--threads to see why',
    );
  // Before any training stage ran, its cost is predicted from how long this model takes to run once.
  if (!ctx.opts.stagePriors && baseline.full) ctx.stages.priorFromInference(baseline.full.latency.p50);
  return baseline;
}

/**
 * Time kept for full measurements while screening: two candidates (or fullTarget when smaller) and the
 * baseline they are interleaved with. Without the baseline's slot, a screening that ran a little long
 * left room for the baseline alone, and a 2-minute run chose nothing (a 1.7× int8 segmentation net).
 */
export const fullReserve = (ctx: SearchContext): number => perFull(ctx) * (Math.min(2, ctx.opts.fullTarget ?? 3) + 1);

/**
 * Screens candidates in order while the time left covers a screening, its predicted training and the
 * reserve. A chain whose training does not fit is skipped; the first one without training that does
 * not fit ends the screening. Returns how many were not screened.
 */
export async function screenAll(ctx: SearchContext, ids: readonly string[], phase = 'screening'): Promise<number> {
  let skipped = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const known = ctx.results.get(id) ?? ctx.opts.runDir.readResult(id);
    if (!known?.screen) {
      const trainMs = known ? 0 : await predictTrainMs(ctx, ctx.cfgOf.get(id)!);
      if (left(ctx) < perScreen(ctx) + fullReserve(ctx) + trainMs) {
        if (trainMs > 0) {
          skipped++;
          ctx.opts.progress?.log(
            `  ${ctx.cfgOf.get(id)!.label}: not started: its training is predicted to take ${Math.round(trainMs / 1000)} s, more than the time left allows`,
          );
          continue;
        }
        skipped += ids.length - i;
        break;
      }
    }
    await runCandidate(ctx, id, 'screen', { phase, done: i, total: ids.length });
  }
  if (skipped) noteStop(ctx, `time limit: ${skipped} of ${ids.length} candidates not screened`);
  return skipped;
}
