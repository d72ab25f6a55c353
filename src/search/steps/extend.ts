// Extending chains after screening, in rounds: the chains screened last round that are on or near the
// Pareto front (screening figures) get one more stage by the plan's rules (quantize, QAT, a longer
// recovery); a chain missing a constraint the new stage cannot fix is not extended. Each extension is
// charged its predicted training time and started only when it and the full measurements still fit.

import { nearFront, qualityScore, type Point } from '../pareto.js';
import { extensionsOf, quantizeTails, type ChainPlan, type ChainState } from '../schedule/chains.js';
import type { CandidateResult } from '../types.js';
import { runCandidate } from './measure-one.js';
import { predictTrainMs } from './predict.js';
import { screenLatency, screenMisses, sureMiss } from './screen-figures.js';
import { addCandidate, baseIdOf, kindOf, left, noteStop, perFull, perScreen, type SearchContext } from './context.js';

/** Each of `from` with whether it is near the front of `pool` and what it misses, at screening. */
export function chainStates(ctx: SearchContext, pool: readonly CandidateResult[], from: readonly CandidateResult[], margin: number): ChainState[] {
  const base = ctx.results.get(baseIdOf(ctx))!;
  const points: Point[] = pool.map((r) => ({ id: r.id, latency: screenLatency(r.screen!, ctx.opts.objective, base).v, quality: qualityScore(r.screen!) }));
  const near = new Set(nearFront(points, margin));
  const misses = new Map(from.map((r) => [r.id, screenMisses(r, ctx.opts.constraints, base)]));
  // successive halving: the best (by quality) of the chains of this round that end in a training stage
  // and miss the quality floor, which more training is for (one that meets it already is extended when
  // it is near the front)
  const trained = from.filter(
    (r) => r.config.passes.length && ctx.stages.isTrain(r.config.passes[r.config.passes.length - 1]!.name) && misses.get(r.id)!.includes('quality'),
  );
  const better = new Set(
    [...trained]
      .sort((a, b) => qualityScore(b.screen!) - qualityScore(a.screen!))
      .slice(0, 1)
      .map((r) => r.id),
  );
  return from.map((r) => ({
    cfg: r.config,
    nearFront: near.has(r.id),
    misses: misses.get(r.id)!,
    ...(better.has(r.id) ? { betterHalf: true } : {}),
  }));
}

/** New candidates one stage longer than the chains in `from`, deduplicated, cheapest predicted training first. */
async function nextRound(ctx: SearchContext, plan: ChainPlan, pool: readonly CandidateResult[], from: readonly CandidateResult[]) {
  const kind = kindOf(ctx.opts.passes);
  const fresh: { id: string; trainMs: number }[] = [];
  const states = chainStates(ctx, pool, from, plan.margin);
  for (let k = 0; k < states.length; k++)
    for (const e of extensionsOf(states[k]!, plan, kind)) {
      const id = addCandidate(ctx, e.cfg, from[k]!.id);
      if (id) fresh.push({ id, trainMs: await predictTrainMs(ctx, e.cfg) });
    }
  return fresh.sort((a, b) => a.trainMs - b.trainMs);
}

/**
 * Time kept for full measurements while extending: one whole group (fullTarget + 1 candidates) and the
 * one kept in hand. Extensions are optional: unlike the first screening, they must not leave the run
 * without a full measurement of the candidates already known to be good.
 */
export const extensionReserve = (ctx: SearchContext): number => perFull(ctx) * ((ctx.opts.fullTarget ?? 3) + 2);

export async function extendChains(ctx: SearchContext, screened: readonly CandidateResult[]): Promise<CandidateResult[]> {
  const plan = ctx.opts.chains;
  if (!plan) return [];
  const base = ctx.results.get(baseIdOf(ctx))!;
  const out: CandidateResult[] = [];
  let from = [...screened];
  let notStarted = 0;
  // the quantizing tails that screened fastest on the source ride on promising chains too
  const lat = (r: CandidateResult) => screenLatency(r.screen!, ctx.opts.objective, base).v;
  const fastest = screened.filter((r) => r.screen).sort((a, b) => lat(a) - lat(b));
  const withTails = {
    ...plan,
    tails: quantizeTails(
      fastest.map((r) => r.config),
      plan,
      kindOf(ctx.opts.passes),
    ),
  };
  for (let round = 1; round <= plan.depth.rounds && from.length; round++) {
    const fresh = await nextRound(ctx, withTails, [base, ...screened, ...out], from);
    from = [];
    for (let i = 0; i < fresh.length; i++) {
      const { id, trainMs } = fresh[i]!;
      const known = ctx.results.get(id) ?? ctx.opts.runDir.readResult(id);
      if (!known?.screen && left(ctx) < perScreen(ctx) + extensionReserve(ctx) + (known ? 0 : trainMs)) {
        notStarted++;
        ctx.opts.progress?.log(`  ${ctx.cfgOf.get(id)!.label}: not started: predicted to need more time than is left`);
        continue;
      }
      const r = await runCandidate(ctx, id, 'screen', { phase: `extending (round ${round})`, done: i, total: fresh.length });
      if (r.status !== 'ok' || !r.screen) continue;
      const why = sureMiss(r, r.screen, ctx.opts.constraints, base);
      if (why) ctx.dropped.set(r.id, why);
      out.push(r);
      from.push(r);
    }
  }
  if (notStarted) noteStop(ctx, `time limit: ${notStarted} chain extension(s) not started`);
  return out;
}
