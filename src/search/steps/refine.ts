// Refinement by per-node sensitivity: a quantized candidate fast enough but below the quality floor
// gets its pass's per-node sensitivity measured once, then is screened again with its most sensitive
// nodes kept in float. After the full measurements, the table is also measured for the report.

import { checkConstraints, type LatencyStat } from '../constraints.js';
import { baselineFor, figuresOf } from '../pareto.js';
import { configId, excludeParam, exclusionVariants } from '../space.js';
import type { CandidateResult, Sensitivity } from '../types.js';
import { runCandidate } from './measure-one.js';
import { screenFigures, screenLatency, sureMiss } from './screen-figures.js';
import { baseIdOf, checkStop, left, timeLeft, perFull, perScreen, type SearchContext } from './context.js';

/** The pass of a candidate that per-node sensitivity can be measured for (calibrated, with a keep-float list). */
function sensitivePass(ctx: SearchContext, r: CandidateResult): string | undefined {
  const passes = ctx.opts.passes;
  return [...r.config.passes].reverse().find((p) => passes?.some((q) => q.name === p.name && q.needsCalibration && excludeParam(q) !== undefined))?.name;
}

/** Per-node sensitivity of a candidate's pass: from the run directory, or measured within `budgetMs`. */
async function sensitivityOf(ctx: SearchContext, target: CandidateResult, budgetMs: number): Promise<Sensitivity | undefined> {
  const { runDir, measurer, progress } = ctx.opts;
  const stored = runDir.readSensitivity(target.id);
  if (stored) return stored;
  const passName = sensitivePass(ctx, target);
  if (!passName || !measurer.sensitivity) return undefined;
  progress?.status({ phase: 'sensitivity', done: 0, total: 1, msLeft: timeLeft(ctx), current: `per-node sensitivity of ${target.config.label}` });
  const started = ctx.now();
  const s = await measurer.sensitivity(target.config, passName, budgetMs).catch((e: unknown) => {
    if (ctx.opts.signal?.aborted) checkStop(ctx); // cut short by an interrupt: stop, not an error
    throw e;
  });
  if (!s) {
    progress?.log(`  per-node sensitivity of ${target.config.label}: not available (${Math.round((ctx.now() - started) / 1000)} s spent)`);
    return undefined;
  }
  s.for = target.id;
  runDir.writeSensitivity(target.id, s);
  progress?.log(
    `  sensitivity of ${target.config.label}: ${s.rows.length} nodes, most sensitive ${s.rows
      .slice(0, 3)
      .map((r) => r.node)
      .join(', ')}`,
  );
  return s;
}

/** The fastest screened candidate that misses only quality floors and has a pass with a keep-float list. */
function refineTarget(ctx: SearchContext, screened: readonly CandidateResult[]): CandidateResult | undefined {
  const { constraints, objective, passes } = ctx.opts;
  const base = ctx.results.get(baseIdOf(ctx))!;
  return screened
    .filter((r) => {
      const f = screenFigures(r, r.screen!, base);
      const cs = checkConstraints(constraints, f.cand, f.base);
      return cs.some((c, i) => !c.ok && constraints[i]!.kind === 'quality') && cs.every((c, i) => c.ok || constraints[i]!.kind === 'quality');
    })
    .filter((r) => r.config.passes.some((p) => passes!.some((q) => q.name === p.name && excludeParam(q) !== undefined)))
    .sort((a, b) => screenLatency(a.screen!, objective, base).v - screenLatency(b.screen!, objective, base).v)[0];
}

/** Screens exclusion variants of the refine target; returns the ones screened. */
export async function refine(ctx: SearchContext, screened: readonly CandidateResult[]): Promise<CandidateResult[]> {
  const { measurer, passes, progress, runDir, constraints } = ctx.opts;
  if (!measurer.sensitivity || !passes) return [];
  const base = ctx.results.get(baseIdOf(ctx))!;
  const target = refineTarget(ctx, screened);
  if (!target) return [];
  const passName = sensitivePass(ctx, target)!;
  const pass = passes.find((p) => p.name === passName)!;
  // Keep time for two exclusion variants and the full measurements after it.
  const budgetLeft = left(ctx) - perFull(ctx) * 3 - perScreen(ctx) * 2;
  if (budgetLeft < perScreen(ctx) * 2) {
    progress?.log(`  no time left to measure per-node sensitivity of ${target.config.label}`);
    return [];
  }
  ctx.sensitivity = await sensitivityOf(ctx, target, budgetLeft);
  if (!ctx.sensitivity) return [];
  const nodes = ctx.sensitivity.rows.filter((r) => r.delta > 0).map((r) => r.node);
  const variants = exclusionVariants(target.config, pass, nodes, ctx.opts.exclusionCounts ?? [1, 3, 6, 12]);
  const out: CandidateResult[] = [];
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    const id = configId(v);
    if (!ctx.cfgOf.has(id)) {
      ctx.cfgOf.set(id, v);
      ctx.ids.push(id);
    }
    const known = ctx.results.get(id) ?? runDir.readResult(id);
    if (!known?.screen && left(ctx) < perScreen(ctx) + perFull(ctx) * 2) break;
    const r = await runCandidate(ctx, id, 'screen', { phase: 'refining', done: i, total: variants.length });
    if (r.status === 'ok' && r.screen) {
      const why = sureMiss(r, r.screen, constraints, base);
      if (why) ctx.dropped.set(r.id, why);
      out.push(r);
    }
  }
  return out;
}

/** For the report: per-node sensitivity of the best fully measured candidate with a calibrated pass, when time is left. */
export async function reportSensitivity(ctx: SearchContext): Promise<void> {
  const { measurer, constraints, objective } = ctx.opts;
  if (ctx.sensitivity || !measurer.sensitivity || left(ctx) <= 60_000) return;
  const base = ctx.results.get(baseIdOf(ctx))!;
  const feasible = (r: CandidateResult) => checkConstraints(constraints, figuresOf(r), baselineFor(r, figuresOf(base))).every((c) => c.ok);
  const at = (r: CandidateResult, st: LatencyStat) => r.full!.latency[st];
  const best = [...ctx.results.values()]
    .filter((r) => r.status === 'ok' && r.full && sensitivePass(ctx, r))
    .sort((a, b) => Number(feasible(b)) - Number(feasible(a)) || at(a, objective) - at(b, objective))[0];
  if (best) ctx.sensitivity = await sensitivityOf(ctx, best, left(ctx) - 20_000);
}
