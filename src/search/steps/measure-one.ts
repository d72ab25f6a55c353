// Builds (once) and measures one stage of one candidate, reusing what the run directory already holds.
// A model byte-identical to one already built (same session settings) is the same candidate: it is
// recorded as such and not measured. What the build's stages cost feeds the scheduler's cost model.

import type { CandidateConfig, CandidateResult } from '../types.js';
import { noChangeWhy, firstLine } from './verdict.js';
import { anchorOf } from './screen-figures.js';
import { baseIdOf, checkStop, timeLeft, perFull, Stop, type SearchContext } from './context.js';

type Phase = { phase: string; done: number; total: number };

export async function runCandidate(ctx: SearchContext, id: string, stage: 'screen' | 'full', at: Phase): Promise<CandidateResult> {
  const { opts, results } = ctx;
  const { runDir, measurer, progress } = opts;
  const cfg = ctx.cfgOf.get(id)!;
  let r = results.get(id) ?? runDir.readResult(id);
  if (r && (r.status === 'failed' || r[stage] || r.identicalTo)) {
    if (!results.has(id)) {
      ctx.reused++;
      // what this stage cost when it was measured: a resumed run plans its time with it, not a guess
      const wall = r.status === 'ok' ? r[stage]?.wallMs : undefined;
      if (wall !== undefined && wall > 0) ctx.cost[stage].push(wall);
      observeStages(ctx, r);
    }
    results.set(id, r);
    return r;
  }
  checkStop(ctx);
  const started = ctx.now();
  progress?.status({ ...at, msLeft: timeLeft(ctx), current: `${stage === 'screen' ? 'screening' : 'measuring'} ${cfg.label}` });
  const modelPath = runDir.modelPath(id);
  let trainMs = 0;
  try {
    if (!r) {
      // A training stage must leave time for the measurements after it: it stops by this deadline.
      const deadline = Date.now() + Math.max(0, ctx.opts.timeLimitMs - (started - ctx.t0) - 2 * perFull(ctx));
      const b = await measurer.build(cfg, modelPath, { deadline, ...(opts.signal ? { signal: opts.signal } : {}) });
      r = { id, config: cfg, status: 'ok', modelSha256: b.sha256, sizeBytes: b.sizeBytes, passRecords: b.records };
      const parentId = ctx.parentOf.get(id);
      if (parentId) r.parentId = parentId;
      if (b.stageTimes) r.stageTimes = b.stageTimes;
      trainMs = observeStages(ctx, r);
      const twin = twinOf(ctx, r, cfg);
      if (twin) return twin;
      if (id === baseIdOf(ctx) && measurer.canonicalSha) {
        const c = await measurer.canonicalSha();
        if (c) ctx.twins.set(twinKey(c, cfg), id);
      }
    }
    await measureStage(ctx, r, stage, modelPath);
  } catch (e) {
    if (e instanceof Stop) throw e;
    // Interrupted mid-build or mid-measurement: not a failure of the candidate; a rerun resumes it.
    if (opts.signal?.aborted) checkStop(ctx);
    r = failed(id, cfg, e, r);
    progress?.log(`  ${cfg.label}: failed: ${firstLine(r.error!)}`);
  }
  ctx.measuredNow++;
  // training stages are charged by the cost model, not to the screening average
  ctx.cost[stage].push(ctx.now() - started - trainMs);
  results.set(id, r);
  runDir.writeResult(r);
  const m = r[stage];
  if (m)
    progress?.log(
      `  ${stage === 'screen' ? 'screened' : 'measured'} ${cfg.label}: ${opts.objective} ${m.latency[opts.objective].toFixed(2)} ms${m.anchor ? ` (${(m.latency[opts.objective] / m.anchor[opts.objective]).toFixed(2)}× the baseline alongside)` : ''}, ${m.quality.primary.name} ${m.quality.primary.value.toFixed(4)}${r.sizeBytes ? `, ${(r.sizeBytes / 1e6).toFixed(2)} MB` : ''}`,
    );
  return r;
}

/**
 * Byte-identical to a model already built, with the same session settings: the same candidate.
 * Measuring it again would only let noise pick between two copies of one model.
 */
function twinOf(ctx: SearchContext, r: CandidateResult, cfg: CandidateConfig): CandidateResult | undefined {
  const baseId = baseIdOf(ctx);
  const twin = ctx.twins.get(twinKey(r.modelSha256!, cfg));
  if (twin !== undefined && twin !== r.id) {
    r.identicalTo = twin;
    ctx.results.set(r.id, r);
    ctx.opts.runDir.writeResult(r);
    ctx.opts.progress?.log(`  ${cfg.label}: no change (${noChangeWhy(r, twin, twin === baseId)}); not measured`);
    return r;
  }
  ctx.twins.set(twinKey(r.modelSha256!, cfg), r.id);
  return undefined;
}

async function measureStage(ctx: SearchContext, r: CandidateResult, stage: 'screen' | 'full', modelPath: string): Promise<void> {
  const { measurer, runDir } = ctx.opts;
  const baseId = baseIdOf(ctx);
  const base = ctx.results.get(baseId);
  if (stage === 'screen' && measurer.measureGroup && base?.screen && r.id !== baseId) {
    // Screened in interleaved rounds with the baseline: its ratio to the baseline survives the
    // machine's load drifting between one candidate and the next.
    const [b, m] = await measurer.measureGroup(
      [
        { modelPath: runDir.modelPath(base.id), cfg: base.config, quality: base.screen.quality },
        { modelPath, cfg: r.config },
      ],
      'screen',
    );
    r.screen = { ...m!, anchor: anchorOf(b!) };
  } else {
    r[stage] = await measurer.measure(modelPath, r.config, stage);
  }
}

function failed(id: string, cfg: CandidateConfig, e: unknown, r: CandidateResult | undefined): CandidateResult {
  return {
    id,
    config: cfg,
    status: 'failed',
    error: (e as Error).message ?? String(e),
    passRecords: r?.passRecords ?? [],
    sizeBytes: r?.sizeBytes,
    modelSha256: r?.modelSha256,
    ...(r?.parentId ? { parentId: r.parentId } : {}),
    ...(r?.stageTimes ? { stageTimes: r.stageTimes } : {}),
  };
}

/** Feeds the cost model with the stages a build ran (not those from the cache); returns the training stages' wall time. */
function observeStages(ctx: SearchContext, r: CandidateResult): number {
  let trainMs = 0;
  let j = 0;
  for (const st of r.stageTimes ?? []) {
    while (j < r.config.passes.length && r.config.passes[j]!.name !== st.stage) j++;
    const step = r.config.passes[j++];
    if (!step || st.cached) continue;
    ctx.stages.observe(step, st.wallMs, st.resumedFromStep);
    if (ctx.stages.isTrain(step.name)) trainMs += st.wallMs;
  }
  return trainMs;
}

export function twinKey(sha: string, cfg: CandidateConfig): string {
  return `${sha}|${cfg.session.graphOptimizationLevel}|${[...cfg.session.disabledOptimizers].sort().join(',')}`;
}
