// The search strategy: the baseline first, then a short screening measurement of every candidate,
// dropping those that cannot meet the constraints or that another screened candidate clearly beats,
// then full measurements of the promising ones (fastest first) until enough feasible ones are known
// or the time limit is near. Results go to the run directory as they come, so a killed run resumes.

import { EdgefitError } from '../onnx/errors.js';
import { checkConstraints, describeCheck, lowerIsBetter, resolveMetric, type Constraint, type Figures, type LatencyStat } from './constraints.js';
import { baselineFor, bestMeasurement, choose, figuresOf, qualityScore, type Choice } from './pareto.js';
import type { Progress } from './progress.js';
import type { RunDir } from './run-dir.js';
import { configId, excludeParam, exclusionVariants } from './space.js';
import type { Pass } from '../passes/pass.js';
import { compareLatency } from './stats.js';
import { compareCandidates } from '../eval/evaluate.js';
import type { CandidateConfig, CandidateResult, Comparison, Measurement, Sensitivity } from './types.js';
import type { PassRecord } from '../passes/pass.js';

/** How candidates are built and measured; the real one runs passes and isolated processes, tests fake it. */
export interface Measurer {
  build(cfg: CandidateConfig, outPath: string): Promise<{ records: PassRecord[]; sizeBytes: number; sha256: string }>;
  measure(modelPath: string, cfg: CandidateConfig, stage: 'screen' | 'full'): Promise<Measurement>;
  /**
   * Several candidates' full measurements with their latency taken in interleaved rounds, so that load
   * drift on a shared machine hits them alike. `quality` reuses a known quality figure.
   */
  measureGroup?(items: { modelPath: string; cfg: CandidateConfig; quality?: Measurement['quality'] }[], stage: 'screen' | 'full'): Promise<Measurement[]>;
  /** The sha256 the source model has when written by this toolkit unchanged: a pass that changed nothing gives it. */
  canonicalSha?(): Promise<string | undefined>;
  /** Per-node sensitivity of one pass of a candidate (most sensitive first), when the pass supports it. */
  sensitivity?(cfg: CandidateConfig, passName: string, timeoutMs: number): Promise<Sensitivity | undefined>;
}

export interface SearchOptions {
  configs: CandidateConfig[];
  measurer: Measurer;
  runDir: RunDir;
  constraints: Constraint[];
  objective: LatencyStat;
  timeLimitMs: number;
  progress?: Progress;
  /** Full measurements to aim for among feasible candidates (default 3: the choice, a runner-up, one spare). */
  fullTarget?: number;
  /** The registered passes (for exclusion variants after sensitivity). */
  passes?: readonly Pass[];
  /** Exclusion counts tried after sensitivity (default [1, 3, 6, 12]). */
  exclusionCounts?: number[];
  /** Stop after this many new measurements (for tests of resume). */
  maxNewMeasurements?: number;
  now?: () => number;
}

export interface SearchOutcome {
  results: CandidateResult[];
  baseline: CandidateResult;
  choice: Choice;
  comparison?: Comparison;
  stoppedEarly?: string;
  elapsedMs: number;
  reused: number;
  measuredNow: number;
  sensitivity?: Sensitivity;
}

class Budget extends Error {}

/** How far past a bound a screening figure must be before a candidate is dropped without a full run. */
export const SCREEN_MARGIN = 1.3;

export async function search(opts: SearchOptions): Promise<SearchOutcome> {
  const now = opts.now ?? (() => Date.now());
  const t0 = now();
  const left = () => opts.timeLimitMs - (now() - t0);
  const { runDir, measurer, progress } = opts;
  const results = new Map<string, CandidateResult>();
  let reused = 0;
  let measuredNow = 0;
  const cost = { screen: [] as number[], full: [] as number[] };
  const avg = (xs: number[], dflt: number) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : dflt);

  const ids = opts.configs.map(configId);
  const cfgOf = new Map(opts.configs.map((c, i) => [ids[i]!, c]));
  /** Built models by (sha256, session settings) → the first candidate that gave it. */
  const twins = new Map<string, string>();

  /** Builds (once) and measures one stage of a candidate, reusing what the run directory already holds. */
  async function run(id: string, stage: 'screen' | 'full', phase: string, done: number, total: number): Promise<CandidateResult> {
    const cfg = cfgOf.get(id)!;
    let r = results.get(id) ?? runDir.readResult(id);
    if (r && (r.status === 'failed' || r[stage] || r.identicalTo)) {
      if (!results.has(id)) {
        reused++;
        // what this stage cost when it was measured: a resumed run plans its time with it, not a guess
        const wall = r.status === 'ok' ? r[stage]?.wallMs : undefined;
        if (wall !== undefined && wall > 0) cost[stage].push(wall);
      }
      results.set(id, r);
      return r;
    }
    if (opts.maxNewMeasurements !== undefined && measuredNow >= opts.maxNewMeasurements) throw new Budget('stopped after the requested number of measurements');
    const started = now();
    progress?.status({ phase, done, total, msLeft: left(), current: `${stage === 'screen' ? 'screening' : 'measuring'} ${cfg.label}` });
    const modelPath = runDir.modelPath(id);
    try {
      if (!r) {
        const b = await measurer.build(cfg, modelPath);
        r = { id, config: cfg, status: 'ok', modelSha256: b.sha256, sizeBytes: b.sizeBytes, passRecords: b.records };
        // Byte-identical to a model already built, with the same session settings: the same candidate.
        // Measuring it again would only let noise pick between two copies of one model.
        const twin = twins.get(twinKey(b.sha256, cfg));
        if (twin !== undefined && twin !== id) {
          r.identicalTo = twin;
          results.set(id, r);
          runDir.writeResult(r);
          progress?.log(`  ${cfg.label}: no change (${noChangeWhy(r, twin, twin === ids[0])}); not measured`);
          return r;
        }
        twins.set(twinKey(b.sha256, cfg), id);
        if (id === ids[0] && measurer.canonicalSha) {
          const c = await measurer.canonicalSha();
          if (c) twins.set(twinKey(c, cfg), id);
        }
      }
      const base = results.get(ids[0]!);
      if (stage === 'screen' && measurer.measureGroup && base?.screen && id !== ids[0]) {
        // Screened in interleaved rounds with the baseline: its ratio to the baseline survives the
        // machine's load drifting between one candidate and the next.
        const [b, m] = await measurer.measureGroup(
          [
            { modelPath: runDir.modelPath(base.id), cfg: base.config, quality: base.screen.quality },
            { modelPath, cfg },
          ],
          'screen',
        );
        r.screen = { ...m!, anchor: anchorOf(b!) };
      } else {
        r[stage] = await measurer.measure(modelPath, cfg, stage);
      }
    } catch (e) {
      if (e instanceof Budget) throw e;
      r = {
        id,
        config: cfg,
        status: 'failed',
        error: (e as Error).message ?? String(e),
        passRecords: r?.passRecords ?? [],
        sizeBytes: r?.sizeBytes,
        modelSha256: r?.modelSha256,
      };
      progress?.log(`  ${cfg.label}: failed: ${firstLine(r.error!)}`);
    }
    measuredNow++;
    cost[stage].push(now() - started);
    results.set(id, r);
    runDir.writeResult(r);
    const m = r[stage];
    if (m)
      progress?.log(
        `  ${stage === 'screen' ? 'screened' : 'measured'} ${cfg.label}: ${opts.objective} ${m.latency[opts.objective].toFixed(2)} ms${m.anchor ? ` (${(m.latency[opts.objective] / m.anchor[opts.objective]).toFixed(2)}× the baseline alongside)` : ''}, ${m.quality.primary.name} ${m.quality.primary.value.toFixed(4)}${r.sizeBytes ? `, ${(r.sizeBytes / 1e6).toFixed(2)} MB` : ''}`,
      );
    return r;
  }

  const dropped = new Map<string, string>();
  let sensitivity: Sensitivity | undefined;

  /** The pass of a candidate that per-node sensitivity can be measured for (calibrated, with a keep-float list). */
  function sensitivePass(r: CandidateResult): string | undefined {
    return [...r.config.passes].reverse().find((p) => opts.passes?.some((q) => q.name === p.name && q.needsCalibration && excludeParam(q) !== undefined))?.name;
  }

  /** Per-node sensitivity of a candidate's pass: from the run directory, or measured within `budgetMs`. */
  async function sensitivityOf(target: CandidateResult, budgetMs: number): Promise<Sensitivity | undefined> {
    const stored = runDir.readSensitivity(target.id);
    if (stored) return stored;
    const passName = sensitivePass(target);
    if (!passName || !measurer.sensitivity) return undefined;
    progress?.status({ phase: 'sensitivity', done: 0, total: 1, msLeft: left(), current: `per-node sensitivity of ${target.config.label}` });
    const started = now();
    const s = await measurer.sensitivity(target.config, passName, budgetMs);
    if (!s) {
      progress?.log(`  per-node sensitivity of ${target.config.label}: not available (${Math.round((now() - started) / 1000)} s spent)`);
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
  async function refine(screened: CandidateResult[]): Promise<CandidateResult[]> {
    if (!measurer.sensitivity || !opts.passes) return [];
    const base = results.get(ids[0]!)!;
    const target = screened
      .filter((r) => {
        const f = screenFigures(r, r.screen!, base);
        const cs = checkConstraints(opts.constraints, f.cand, f.base);
        return cs.some((c, i) => !c.ok && opts.constraints[i]!.kind === 'quality') && cs.every((c, i) => c.ok || opts.constraints[i]!.kind === 'quality');
      })
      .filter((r) => r.config.passes.some((p) => opts.passes!.some((q) => q.name === p.name && excludeParam(q) !== undefined)))
      .sort((a, b) => screenLatency(a.screen!, opts.objective, base).v - screenLatency(b.screen!, opts.objective, base).v)[0];
    if (!target) return [];
    const passName = sensitivePass(target)!;
    const pass = opts.passes.find((p) => p.name === passName)!;
    // Keep time for two exclusion variants and the full measurements after it.
    const budgetLeft = left() - avg(cost.full, 3 * avg(cost.screen, 10_000)) * 3 - avg(cost.screen, 10_000) * 2;
    if (budgetLeft < avg(cost.screen, 10_000) * 2) {
      progress?.log(`  no time left to measure per-node sensitivity of ${target.config.label}`);
      return [];
    }
    sensitivity = await sensitivityOf(target, budgetLeft);
    if (!sensitivity) return [];
    const nodes = sensitivity.rows.filter((r) => r.delta > 0).map((r) => r.node);
    const variants = exclusionVariants(target.config, pass, nodes, opts.exclusionCounts ?? [1, 3, 6, 12]);
    const out: CandidateResult[] = [];
    for (let i = 0; i < variants.length; i++) {
      const v = variants[i]!;
      const id = configId(v);
      if (!cfgOf.has(id)) {
        cfgOf.set(id, v);
        ids.push(id);
      }
      const known = results.get(id) ?? runDir.readResult(id);
      if (!known?.screen && left() < avg(cost.screen, 10_000) + avg(cost.full, 3 * avg(cost.screen, 10_000)) * 2) break;
      const r = await run(id, 'screen', 'refining', i, variants.length);
      if (r.status === 'ok' && r.screen) {
        const why = sureMiss(r, r.screen, opts.constraints, base);
        if (why) dropped.set(r.id, why);
        out.push(r);
      }
    }
    return out;
  }

  /** Full measurements of a group: interleaved latency when the measurer can, the baseline alongside. */
  async function runGroup(group: string[], done: number, total: number): Promise<void> {
    if (!measurer.measureGroup || group.length === 0) {
      for (let k = 0; k < group.length; k++) await run(group[k]!, 'full', 'full', done + k, total);
      return;
    }
    if (opts.maxNewMeasurements !== undefined && measuredNow >= opts.maxNewMeasurements) throw new Budget('stopped after the requested number of measurements');
    const base = results.get(baseId)!;
    const members = [...(base.full ? [baseId] : []), ...group];
    progress?.status({
      phase: 'full',
      done,
      total,
      msLeft: left(),
      current: `measuring ${members.map((id) => cfgOf.get(id)!.label).join(', ')} in interleaved rounds`,
    });
    const started = now();
    let ms: Measurement[];
    try {
      ms = await measurer.measureGroup(
        members.map((id) => ({ modelPath: runDir.modelPath(id), cfg: cfgOf.get(id)!, ...(id === baseId ? { quality: base.full!.quality } : {}) })),
        'full',
      );
    } catch {
      // One member failed: measure them one by one so the failure lands on the right candidate.
      for (let k = 0; k < group.length; k++) await run(group[k]!, 'full', 'full', done + k, total);
      return;
    }
    measuredNow += members.length;
    const b = members[0] === baseId ? ms[0]!.latency : undefined;
    for (let k = 0; k < members.length; k++) {
      const r = results.get(members[k]!)!;
      r.full = ms[k]!;
      if (b && members[k] !== baseId) r.full.anchor = { p50: b.p50, p90: b.p90, p95: b.p95, p99: b.p99, max: b.max, mean: b.mean };
      runDir.writeResult(r);
      cost.full.push((now() - started) / members.length);
      progress?.log(
        `  measured ${r.config.label}: ${opts.objective} ${r.full.latency[opts.objective].toFixed(2)} ms, ${r.full.quality.primary.name} ${r.full.quality.primary.value.toFixed(4)} (interleaved)`,
      );
    }
  }

  const isFeasibleNow = (r: CandidateResult, base: CandidateResult) =>
    checkConstraints(opts.constraints, figuresOf(r), baselineFor(r, figuresOf(base))).every((c) => c.ok);

  let stoppedEarly: string | undefined;
  const baseId = ids[0]!;
  try {
    // 1. The baseline, fully: relative quality floors and the comparison need it.
    await run(baseId, 'screen', 'baseline', 0, 2);
    const baseline0 = await run(baseId, 'full', 'baseline', 1, 2);
    if (baseline0.status !== 'ok')
      throw new EdgefitError(
        `the source model could not be measured: ${baseline0.error}`,
        'E_BASELINE',
        'every candidate is compared with the source model, so it must load and run: try `edgefit bench <model>` with the same --shape/--batch/--threads to see why',
      );

    // 2. Screening. Keep enough time for full measurements of a few candidates.
    const rest = ids.slice(1);
    for (let i = 0; i < rest.length; i++) {
      const reserve = avg(cost.full, 3 * avg(cost.screen, 10_000)) * Math.min(2, opts.fullTarget ?? 3);
      const known = results.get(rest[i]!) ?? runDir.readResult(rest[i]!);
      if (!known?.screen && left() < avg(cost.screen, 10_000) + reserve) {
        stoppedEarly = `time limit: ${rest.length - i} of ${rest.length} candidates not screened`;
        progress?.log(`  ${stoppedEarly}`);
        break;
      }
      await run(rest[i]!, 'screen', 'screening', i, rest.length);
    }

    // 3. Drop at screening: sure misses of latency budgets (interval wholly above), quality floors far
    //    below (interval wholly below), size/memory limits, and candidates clearly dominated.
    const base = results.get(baseId)!;
    const screened = rest.map((id) => results.get(id)).filter((r): r is CandidateResult => !!r && r.status === 'ok' && !!r.screen);
    for (const r of screened) {
      const why = sureMiss(r, r.screen!, opts.constraints, base);
      if (why) dropped.set(r.id, why);
    }
    for (const r of screened) {
      if (dropped.has(r.id)) continue;
      const m = r.screen!;
      const { lo } = screenLatency(m, opts.objective, base);
      const by = screened.find((q) => {
        if (q.id === r.id || dropped.has(q.id)) return false;
        const { hi } = screenLatency(q.screen!, opts.objective, base);
        return hi * SCREEN_MARGIN < lo && qualityScore(q.screen!) >= qualityScore(m) && (q.sizeBytes ?? 0) <= (r.sizeBytes ?? 0);
      });
      if (by)
        dropped.set(r.id, `dominated at screening by ${by.config.label} (more than ${SCREEN_MARGIN}× faster with intervals apart, quality and size no worse)`);
    }

    // 3b. A quantized candidate fast enough but below the quality floor: measure per-node sensitivity
    //     once and screen it again with its most sensitive nodes kept in float.
    const extra = await refine(screened);
    screened.push(...extra);

    // 4. Full measurements of the promising ones, fastest screening figure first.
    const orderStat: LatencyStat = opts.objective === 'p99' || opts.objective === 'max' ? 'p90' : opts.objective;
    const promising = screened
      .filter((r) => !dropped.has(r.id))
      // A short run's p99 is nearly its max: order by a steadier statistic when the objective is a far tail.
      .sort((a, b) => screenLatency(a.screen!, orderStat, base).v - screenLatency(b.screen!, orderStat, base).v);
    // Groups of up to fullTarget+1 candidates, each measured in interleaved rounds with the baseline,
    // until enough of them meet every constraint or time runs out.
    const target = opts.fullTarget ?? 3;
    let feasibleFull = 0;
    const isFeasible = (r: CandidateResult) =>
      r.status === 'ok' && checkConstraints(opts.constraints, figuresOf(r), baselineFor(r, figuresOf(results.get(baseId)!))).every((c) => c.ok);
    let i = 0;
    while (i < promising.length && feasibleFull < target) {
      const perFull = avg(cost.full, 3 * avg(cost.screen, 10_000));
      const slice = promising.slice(i, i + target + 1);
      const want = slice.filter((r) => !r.full);
      const fits = Math.min(want.length, Math.max(0, Math.floor(left() / perFull) - 1));
      if (fits < want.length) {
        stoppedEarly = (stoppedEarly ? stoppedEarly + '; ' : '') + `time limit: ${promising.length - i - fits} promising candidate(s) not fully measured`;
        progress?.log(`  ${stoppedEarly}`);
      }
      if (fits > 0)
        await runGroup(
          want.slice(0, fits).map((r) => r.id),
          i,
          promising.length,
        );
      i += slice.length;
      feasibleFull += slice.filter((r) => results.get(r.id)!.full && isFeasible(results.get(r.id)!)).length;
      if (fits < want.length) break;
    }
    // 5. For the report: per-node sensitivity of the best fully measured candidate that has a calibrated
    //    pass, when the search did not need one and time is left.
    if (!sensitivity && measurer.sensitivity && left() > 60_000) {
      const base = results.get(baseId)!;
      const best = [...results.values()]
        .filter((r) => r.status === 'ok' && r.full && sensitivePass(r))
        .sort(
          (a, b) => Number(isFeasibleNow(b, base)) - Number(isFeasibleNow(a, base)) || a.full!.latency[opts.objective] - b.full!.latency[opts.objective],
        )[0];
      if (best) sensitivity = await sensitivityOf(best, left() - 20_000);
    }
  } catch (e) {
    if (!(e instanceof Budget)) throw e;
    stoppedEarly = e.message;
  }
  progress?.done();

  const baseline = results.get(baseId);
  if (!baseline) throw new Error(`stopped before the baseline was measured: ${stoppedEarly ?? 'unknown reason'}`);
  const all = ids.map((id) => results.get(id)).filter((r): r is CandidateResult => !!r);
  const choice = choose(all, opts.constraints, baseline, opts.objective, { requireFull: true });
  for (const r of all) assignVerdict(r, choice, dropped, opts.objective, baseId);
  const comparison = choice.chosen
    ? compare(choice.chosen, choice.runnerUp ?? (choice.chosen.id !== baseline.id ? baseline : undefined), opts.objective)
    : undefined;
  for (const r of all) runDir.writeResult(r);
  return { results: all, baseline, choice, comparison, stoppedEarly, elapsedMs: now() - t0, reused, measuredNow, ...(sensitivity ? { sensitivity } : {}) };
}

const STATS: LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'];

function anchorOf(b: Measurement): NonNullable<Measurement['anchor']> {
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
function screenLatency(m: Measurement, st: LatencyStat, base: CandidateResult): { v: number; lo: number; hi: number } {
  const k = m.anchor ? refLatency(base)[st] / m.anchor[st] : 1;
  const [lo, hi] = m.latency.ci[st] ?? [m.latency[st], m.latency[st]];
  return { v: m.latency[st] * k, lo: lo * k, hi: hi * k };
}

/** A candidate's screening figures (latency corrected for load) and the baseline's to hold them against. */
function screenFigures(r: CandidateResult, m: Measurement, base: CandidateResult): { cand: Figures; base: Figures } {
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

function sureMiss(r: CandidateResult, m: Measurement, constraints: readonly Constraint[], base: CandidateResult): string | undefined {
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

function assignVerdict(r: CandidateResult, choice: Choice, dropped: Map<string, string>, objective: LatencyStat, baselineId: string): void {
  r.checks = choice.checks.get(r.id);
  if (r.identicalTo) r.verdict = { kind: 'no-change', why: noChangeWhy(r, r.identicalTo, r.identicalTo === baselineId) };
  else if (r.status === 'failed') r.verdict = { kind: 'failed', why: firstLine(r.error ?? 'failed') };
  else if (choice.chosen?.id === r.id) r.verdict = { kind: 'chosen' };
  else if (dropped.has(r.id) && !r.full) r.verdict = { kind: 'dropped', why: dropped.get(r.id)! };
  else if (choice.feasible.some((f) => f.id === r.id)) {
    const c = bestMeasurement(choice.chosen!)!;
    const m = bestMeasurement(r)!;
    r.verdict =
      m.latency[objective] > c.latency[objective]
        ? {
            kind: 'feasible',
            why: `meets every constraint but ${objective} ${m.latency[objective].toFixed(2)} ms > chosen ${c.latency[objective].toFixed(2)} ms`,
          }
        : {
            kind: 'feasible',
            why: `meets every constraint; ${objective} ${m.latency[objective].toFixed(2)} ms is statistically tied with the chosen ${c.latency[objective].toFixed(2)} ms, which has the better ${c.quality.primary.name} or size`,
          };
  } else if (!bestMeasurement(r)) r.verdict = { kind: 'dropped', why: 'not measured (time limit)' };
  else {
    const misses = (r.checks ?? []).filter((c) => !c.ok).map(describeCheck);
    if (misses.length) r.verdict = { kind: 'rejected', why: misses.join('; ') };
    else
      r.verdict = {
        kind: 'dropped',
        why: `screened only: it met the constraints at screening (${objective} ${r.screen!.latency[objective].toFixed(2)} ms), but full measurements stopped once ${choice.feasible.length} feasible candidates were known${choice.feasible.length ? '' : ' (time limit)'}`,
      };
  }
}

function compare(a: CandidateResult, b: CandidateResult | undefined, objective: LatencyStat): Comparison | undefined {
  if (!b) return undefined;
  const ma = bestMeasurement(a)!;
  const mb = bestMeasurement(b)!;
  const latency = { stat: objective, ...compareLatency(ma.latency.samplesMs, mb.latency.samplesMs, objective) };
  const pa = ma.quality.perItem;
  const pb = mb.quality.perItem;
  let quality: Comparison['quality'];
  if (pa.length && pa.length === pb.length) {
    const q = compareCandidates(pa, pb, {
      ...(ma.quality.weights ? { weights: ma.quality.weights } : {}),
      higherIsBetter: ma.quality.higherIsBetter ?? !lowerIsBetter(ma.quality.primary.name),
    });
    quality = { diff: q.diff, ci: q.ci, pBetter: q.pBetter };
  }
  return { against: b.id, latency, quality };
}

function twinKey(sha: string, cfg: CandidateConfig): string {
  return `${sha}|${cfg.session.graphOptimizationLevel}|${[...cfg.session.disabledOptimizers].sort().join(',')}`;
}

/** "no change: byte-identical to X; quantize-dynamic left 3 nodes alone (Conv: not a MatMul ×3)". */
export function noChangeWhy(r: CandidateResult, twin: string, twinIsSource: boolean): string {
  const rec = r.passRecords[r.passRecords.length - 1];
  const groups = new Map<string, number>();
  for (const sk of rec?.skipped ?? []) groups.set(`${sk.opType}: ${sk.reason}`, (groups.get(`${sk.opType}: ${sk.reason}`) ?? 0) + 1);
  const reasons = [...groups]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`);
  const notes = (rec?.notes ?? []).slice(0, 1);
  const why = [...reasons, ...notes].join('; ');
  return twinIsSource
    ? `the built model is byte-identical to the source${rec ? `: ${rec.pass} changed nothing` : ''}${why ? ` (${why})` : ''}`
    : `the built model is byte-identical to candidate ${twin}: these parameters change nothing${why ? ` (${why})` : ''}`;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim()) ?? s).slice(0, 300);
}
