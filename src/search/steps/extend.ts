// Extending chains after screening, in rounds: the chains screened last round that are on or near the
// Pareto front (screening figures) get one more stage by the plan's rules (quantize, QAT, a longer
// recovery); a chain missing a constraint the new stage cannot fix is not extended. Each extension is
// charged its predicted training time and started only when it and the full measurements still fit.
// A round runs the extensions without training first, then the training ones whose chains could reach
// the lowest latency; a chain just recovered longer is quantized at once, before the round goes on,
// when its point moved as quantizing moved the source's would be near the front (as fp32 it may trail
// the int8 chains).
import { nearFront, qualityScore, type Point } from '../pareto.js';
import { extensionsOf, isQuantized, quantizersOffFront, quantizeTails, type ChainPlan, type ChainState, type Extension } from '../schedule/chains.js';
import { excludeParam } from '../space.js';
import type { Pass } from '../../passes/pass.js';
import type { CandidateConfig, CandidateResult } from '../types.js';
import { runCandidate } from './measure-one.js';
import { predictTrainMs } from './predict.js';
import { screenLatency, screenMisses, sureMiss } from './screen-figures.js';
import { addCandidate, baseIdOf, kindOf, left, noteStop, perFull, perScreen, type SearchContext } from './context.js';

/** A screened candidate's latency in the objective's statistic, corrected for load (the figure chains are ranked by). */
function screenedLatency(ctx: SearchContext, r: CandidateResult): number {
  return screenLatency(r.screen!, ctx.opts.objective, ctx.results.get(baseIdOf(ctx))!).v;
}

/** Where a chain not quantized yet could be once quantized: its screening point moved as quantizing moved the source's. */
export interface Potential {
  /** The screening latency times this. */
  latencyRatio: number;
  /** The quality score less this (what quantizing cost the source, never below 0). */
  qualityLoss: number;
}

/**
 * Each of `from` with whether it is near the front of `pool` and what it misses, at screening. A chain
 * that `potential` gives a point for (one not quantized yet) is judged there, against the others' own
 * points, when it is not near the front as it is: a pruned fp32 chain slower than the int8 source is
 * still worth quantizing when its int8 form would be on the front.
 */
export function chainStates(
  ctx: SearchContext,
  pool: readonly CandidateResult[],
  from: readonly CandidateResult[],
  margin: number,
  potential: (r: CandidateResult) => Potential | undefined = () => undefined,
): ChainState[] {
  const base = ctx.results.get(baseIdOf(ctx))!;
  const points: Point[] = pool.map((r) => ({ id: r.id, latency: screenedLatency(ctx, r), quality: qualityScore(r.screen!) }));
  const near = new Set(nearFront(points, margin));
  for (const r of from) {
    const moved = potential(r);
    if (!moved || near.has(r.id)) continue;
    const at = { id: r.id, latency: screenedLatency(ctx, r) * moved.latencyRatio, quality: qualityScore(r.screen!) - moved.qualityLoss };
    if (nearFront([...points.filter((p) => p.id !== r.id), at], margin).includes(r.id)) near.add(r.id);
  }
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

/** An extension queued for screening: its predicted training and the screening latency its chain could reach. */
export interface Queued {
  id: string;
  kind: Extension['kind'];
  trainMs: number;
  /** The parent's screening latency, times the best quantizing ratio seen on the source when the parent is not quantized yet. */
  potential: number;
}

/**
 * The order extensions are screened in: those without training first (seconds each), then training ones
 * by the latency their chain could reach once quantized (a longer recovery of a pruned chain that will be
 * quantized before QAT of an unpruned int8 chain that is slower at best), then by predicted cost.
 */
export function byPromise(a: Queued, b: Queued): number {
  return Number(a.trainMs > 0) - Number(b.trainMs > 0) || a.potential - b.potential || a.trainMs - b.trainMs;
}

/**
 * New candidates one stage longer than the chains in `from`, deduplicated, most promising first. For
 * chains `justRecovered` (trained longer a moment ago), only their quantized forms, and each is judged
 * where its quantized form could be: quantizing is what it was trained for, and as fp32 it may trail the
 * int8 chains it would beat once quantized.
 */
async function nextRound(
  ctx: SearchContext,
  plan: ChainPlan,
  pool: readonly CandidateResult[],
  from: readonly CandidateResult[],
  quantizing: Potential,
  justRecovered = false,
): Promise<Queued[]> {
  const kind = kindOf(ctx.opts.passes);
  const fresh: Queued[] = [];
  const unquantized = (r: CandidateResult) => (isQuantized(r.config, plan) ? undefined : quantizing);
  const states = chainStates(ctx, pool, from, plan.margin, justRecovered ? unquantized : undefined);
  for (let k = 0; k < states.length; k++) {
    const potential = screenedLatency(ctx, from[k]!) * (unquantized(from[k]!)?.latencyRatio ?? 1);
    for (const e of extensionsOf(states[k]!, plan, kind)) {
      if (justRecovered && e.kind !== 'quantize') continue;
      const id = addCandidate(ctx, e.cfg, from[k]!.id);
      if (id) fresh.push({ id, kind: e.kind, trainMs: await predictTrainMs(ctx, e.cfg), potential });
    }
  }
  return fresh.sort(byPromise);
}

/**
 * Time kept for full measurements while extending: one whole group (fullTarget + 1 candidates) and the
 * one kept in hand. Extensions are optional: unlike the first screening, they must not leave the run
 * without a full measurement of the candidates already known to be good.
 */
export const extensionReserve = (ctx: SearchContext): number => perFull(ctx) * ((ctx.opts.fullTarget ?? 3) + 2);

/**
 * The two quantizing tails worth appending to other chains, from the screened chains (fastest first):
 * tails that differ only in the nodes a pass keeps float (its declared keep-float parameter) count once.
 */
export function screenedTails(passes: readonly Pass[] | undefined, fastest: readonly CandidateConfig[], plan: ChainPlan): NonNullable<ChainPlan['tails']> {
  const keepFloatOf = (name: string) => {
    const pass = passes?.find((p) => p.name === name);
    return pass && excludeParam(pass);
  };
  return quantizeTails(fastest, plan, kindOf(passes), 2, keepFloatOf);
}

/**
 * The plan with what the first screening taught: the tails that screened fastest, the quantizers that did
 * not pay; and where quantizing moved the source (the fastest quantizing chain without training), which
 * is where a chain not quantized yet is judged.
 */
function learnedPlan(ctx: SearchContext, plan: ChainPlan, screened: readonly CandidateResult[]): { plan: ChainPlan; quantizing: Potential } {
  const base = ctx.results.get(baseIdOf(ctx))!;
  const kind = kindOf(ctx.opts.passes);
  const lat = (r: CandidateResult) => screenedLatency(ctx, r);
  const fastest = screened.filter((r) => r.screen).sort((a, b) => lat(a) - lat(b));
  const tails = screenedTails(
    ctx.opts.passes,
    fastest.map((r) => r.config),
    plan,
  );
  const offFront = quantizersOffFront(plan, chainStates(ctx, [base, ...fastest], fastest, plan.margin), kind);
  const quantized = fastest.find((r) => isQuantized(r.config, plan) && !r.config.passes.some((p) => ctx.stages.isTrain(p.name)));
  const quantizing = quantized
    ? {
        latencyRatio: Math.min(1, lat(quantized) / lat(base)),
        qualityLoss: Math.max(0, qualityScore(base.screen!) - qualityScore(quantized.screen!)),
      }
    : { latencyRatio: 1, qualityLoss: 0 };
  return { plan: { ...plan, tails, offFront }, quantizing };
}

export async function extendChains(ctx: SearchContext, screened: readonly CandidateResult[]): Promise<CandidateResult[]> {
  if (!ctx.opts.chains) return [];
  const base = ctx.results.get(baseIdOf(ctx))!;
  const { plan, quantizing } = learnedPlan(ctx, ctx.opts.chains, screened);
  if (plan.offFront?.length) ctx.opts.progress?.log(`chains: not appended to other chains (off the front on the source): ${plan.offFront.join(', ')}`);
  const out: CandidateResult[] = [];
  let from = [...screened];
  let notStarted = 0;
  for (let round = 1; round <= plan.depth.rounds && from.length; round++) {
    const queue = await nextRound(ctx, plan, [base, ...screened, ...out], from, quantizing);
    from = [];
    for (let i = 0; i < queue.length; i++) {
      const { id, trainMs, kind } = queue[i]!;
      const known = ctx.results.get(id) ?? ctx.opts.runDir.readResult(id);
      if (!known?.screen && left(ctx) < perScreen(ctx) + extensionReserve(ctx) + (known ? 0 : trainMs)) {
        notStarted++;
        ctx.opts.progress?.log(`  ${ctx.cfgOf.get(id)!.label}: not started: predicted to need more time than is left`);
        continue;
      }
      const r = await runCandidate(ctx, id, 'screen', { phase: `extending (round ${round})`, done: i, total: queue.length });
      if (r.status !== 'ok' || !r.screen) continue;
      const why = sureMiss(r, r.screen, ctx.opts.constraints, base);
      if (why) ctx.dropped.set(r.id, why);
      out.push(r);
      from.push(r);
      // a chain just trained longer is quantized at once, ahead of the round's other training: its
      // quantized form is what it was trained for, and a later round may not be reached
      if (kind === 'recover' && !why) queue.splice(i + 1, 0, ...(await nextRound(ctx, plan, [base, ...screened, ...out], [r], quantizing, true)));
    }
  }
  if (notStarted) noteStop(ctx, `time limit: ${notStarted} chain extension(s) not started`);
  return out;
}
