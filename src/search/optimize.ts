// The optimize pipeline as one readable list of stages: read the source, open the run directory,
// build the candidate space, search, choose, then write summary.json, best.onnx + manifest and
// report.html. The CLI (src/cli/optimize.ts) only parses flags and prints.

import { createHash } from 'node:crypto';
import type { OutputKind } from '../eval/agreement.js';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../onnx/write-model.js';
import { confirmAgainstBaseline, vsBaseline } from './confirm.js';
import { buildLadder } from './ladder.js';
import { machineInfo } from '../bench/machine.js';
import { UsageError } from '../onnx/errors.js';
import { readModel } from '../onnx/read-model.js';
import type { Model } from '../onnx/model.js';
import { declaredInputs, resolveInputs } from '../runtime/inputs.js';
import type { Pass } from '../passes/pass.js';
import { renderReport } from '../report/html.js';
import { parseConstraints, type Constraint, type LatencyStat } from './constraints.js';
import { RealMeasurer, type StageSettings } from './measure.js';
import { bestMeasurement } from './pareto.js';
import type { Progress } from './progress.js';
import { RunDir, sha256File, type Manifest, type RunSpec } from './run-dir.js';
import { buildSpace, PREP_PASSES, roleOf } from './space.js';
import { depthFor } from './schedule/depth.js';
import { search, type Measurer } from './strategy.js';
import { chainPlan } from './schedule/plan.js';
import type { ChainPlan } from './schedule/chains.js';
import { checkQualityMetrics, planQuality } from './quality-plan.js';
import type { CandidateConfig, Summary } from './types.js';
import { feedsOneFloat, inputList } from '../passes/stages/stage-run.js';
import { codeFingerprint } from './code-fingerprint.js';

export interface OptimizeOptions {
  model: string;
  /** Built-in task name or task spec path; without it quality is agreement with the source. */
  task?: string;
  data?: string;
  budget: string[];
  quality: string[];
  objective?: LatencyStat;
  threads?: number;
  timeLimitMs: number;
  out: string;
  shapes?: Record<string, number[]>;
  batch?: number;
  seed?: number;
  screen?: Partial<StageSettings>;
  full?: Partial<StageSettings>;
  calibrationItems?: number;
  passes?: readonly Pass[];
  /** Only these registered passes join the space (preparation passes and training stages stay available). */
  passNames?: string[];
  /** Most parameter variants per pass in the space (default 4). */
  maxPerPass?: number;
  progress?: Progress;
  /** Replaces the candidate space built from the passes (tests). */
  configs?: CandidateConfig[];
  /** Replaces the real measurer (tests). */
  measurer?: Measurer;
  maxNewMeasurements?: number;
  command?: string[];
  /** Fixed input values (--value name=v). */
  values?: Record<string, number>;
  /** Recommend a model even when quality was only measured on random inputs. */
  allowRandom?: boolean;
  /** Fraction of the user's data held out for evaluation (default 0.3). */
  holdout?: number;
  /** What each named output is (--output-kind), where the guess from its values would be wrong. */
  outputKinds?: Record<string, OutputKind>;
  /** Stops the search at the next boundary (Ctrl-C): the summary of what was measured is still written. */
  signal?: AbortSignal;
  /** How promising chains are extended (default: from the passes and the time limit; false: never). */
  chains?: ChainPlan | false;
}

export interface OptimizeResult {
  summary: Summary;
  paths: { dir: string; summary: string; report: string; ladder?: string; best?: string; manifest?: string };
}

export const DEFAULT_SCREEN: StageSettings = { warmup: 5, durationMs: 3000, evalItems: 60 };
// 8 s over 8 rounds: each round's fresh child also warms up for 500 ms (DEFAULT_WARMUP_MS), so a full
// measurement takes the wall time 12 s did with 5 warm-up runs, and the default run keeps its 15 minutes
export const DEFAULT_FULL: StageSettings = { warmup: 10, durationMs: 8_000, evalItems: 150 };

export async function optimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const t0 = Date.now();
  const loadStart = loadavg();
  const threads = o.threads ?? 1;
  const objective = o.objective ?? 'p99';
  const constraints: Constraint[] = [...o.budget.flatMap(parseConstraints), ...o.quality.flatMap(parseConstraints)];
  const screen = { ...DEFAULT_SCREEN, ...o.screen };
  const full = { ...DEFAULT_FULL, ...o.full };
  const log = (l: string) => o.progress?.log(l);

  // 1. The source and the data: a task, the user's own data, or (last resort) random inputs.
  const sourcePath = resolve(o.model);
  const source = readModel(sourcePath);
  const sourceSha = sha256File(sourcePath);
  const seed = o.seed ?? 0;
  let passes = o.passes ?? (await import('../passes/registry.js')).PASSES;
  if (o.passNames?.length) {
    const known = passes.map((p) => p.name);
    for (const n of o.passNames) if (!known.includes(n)) throw new UsageError(`unknown pass '${n}' in --passes`, `registered passes: ${known.join(', ')}`);
    // training stages only ever follow the named passes in a chain (prune → recover, quantize → qat): they stay
    passes = passes.filter((p) => o.passNames!.includes(p.name) || (PREP_PASSES as readonly string[]).includes(p.name) || roleOf(p) === 'train');
  }
  let task: Awaited<ReturnType<typeof import('../data/task.js').loadTask>> | undefined;
  let calibration;
  const calN = o.calibrationItems ?? 32;
  if (o.task) {
    const { loadTask, calibrationFeeds } = await import('../data/task.js');
    task = await loadTask(o.task, { ...(o.data ? { data: o.data } : {}), seed, limit: full.evalItems });
    // the train split (all of the task when it is too small to split; any other error stops the run)
    const { loadSplit } = await import('../data/load-split.js');
    const calTask = (await loadSplit(o.task, 'train', { ...(o.data ? { data: o.data } : {}), seed, limit: calN })).task;
    calibration = calibrationFeeds(calTask, calN);
  }
  const qp = await planQuality({
    model: sourcePath,
    ...(task ? { task: task.spec, taskClasses: task.classes } : {}),
    ...(o.data && !o.task ? { data: resolve(o.data) } : {}),
    values: o.values ?? {},
    ...(o.shapes ? { shapes: o.shapes } : {}),
    seed,
    ...(o.holdout ? { holdout: o.holdout } : {}),
    ...(o.outputKinds ? { kinds: o.outputKinds } : {}),
  });
  checkQualityMetrics(
    constraints,
    qp.available,
    qp.mode === 'task' ? `task '${task!.name}'` : `agreement with the source model (outputs: ${qp.kinds!.map((k) => `${k.output} ${k.kind}`).join(', ')})`,
  );
  const floors = qp.defaultFloors ?? (qp.defaultFloor ? [qp.defaultFloor] : []);
  if (!constraints.some((c) => c.kind === 'quality') && floors.length) {
    constraints.push(...floors);
    log(
      `quality: no --quality given: the default floor${floors.length > 1 ? 's' : ''} ${floors.map((f) => f.text).join(', ')} appl${floors.length > 1 ? 'y, one per output' : 'ies'} (agreement with the source model on ${qp.mode === 'data' ? 'held-out data' : 'random inputs'})`,
    );
  }
  if (!constraints.some((c) => c.kind === 'latency')) log(`no --budget: minimising ${objective} under the quality floor`);
  for (const n of qp.notes) log(`inputs: ${n}`);
  if (qp.mode === 'data') log(`data: ${qp.describe}`);
  if (qp.mode === 'random')
    log(
      `WARNING: no --data: quality is agreement on RANDOM inputs, which is not evidence that a model still works on real data${o.allowRandom ? ' (--allow-random: a model will be recommended anyway)' : '; no model will be recommended without --allow-random. Give --data <file.npy | folder> with real samples'}`,
    );
  const dataSha = dataFingerprint(o.task, o.data, seed);
  // other code builds and measures otherwise: after an upgrade nothing stored is reused
  const code = codeFingerprint();
  const shapes = qp.shapes ?? o.shapes;

  // 2. The run directory.
  const spec: RunSpec = {
    schema: 'edgefit.optimize.run/1',
    command: o.command ?? [],
    source: { path: sourcePath, sha256: sourceSha },
    task: { ref: o.task ?? '(agreement with the source model)', ...(o.data ? { data: resolve(o.data) } : {}), dataSha256: dataSha, limit: full.evalItems },
    budget: o.budget,
    quality: o.quality,
    objective,
    threads,
    timeLimitSec: Math.round(o.timeLimitMs / 1000),
    measurement: { screen, full, shapes: shapes ?? null, batch: o.batch ?? null, seed, values: qp.values, holdout: o.holdout ?? null, edgefit: code },
  };
  const runDir = new RunDir(resolve(o.out), spec).open();
  if (runDir.lockNote) o.progress?.log(runDir.lockNote);

  // 3. The candidate space and the search.
  const spaceOpts = {
    passes,
    sourceOpset: source.opset('') ?? 0,
    hasCalibration: !!calibration || qp.mode === 'data',
    trainable: feedsOneFloat(source),
    ...(o.maxPerPass ? { maxPerPass: o.maxPerPass } : {}),
    // a CTC or distillation recovery takes minutes here (about 5 for rec): a quick run builds one prune chain
    ...(depthFor(o.timeLimitMs).name === 'quick' ? { prunePerPass: 1 } : {}),
  };
  if (!spaceOpts.trainable) log(`training stages left out: they feed one float32 input per sample, and this model's inputs are ${inputList(source)}`);
  const configs = o.configs ?? buildSpace(spaceOpts);
  // Tests that hand in their own candidates get no extensions unless they ask for them.
  const chains = o.chains === false ? undefined : (o.chains ?? (o.configs ? undefined : chainPlan({ ...spaceOpts, timeLimitMs: o.timeLimitMs })));
  o.progress?.log(
    `edgefit optimize: ${configs.length} candidates from ${passes.length} registered passes; constraints ${constraints.map((c) => c.text).join(', ')}; objective lowest ${objective}; time limit ${Math.round(o.timeLimitMs / 1000)} s`,
  );
  if (chains)
    o.progress?.log(
      `chains: ${chains.depth.name} depth for this time limit: up to ${chains.depth.rounds} round(s) of extension (quantize${chains.depth.halving && chains.recover ? ', longer recovery' : ''}${chains.depth.qat && chains.qat ? ', QAT' : ''})`,
    );
  const measurer =
    o.measurer ??
    new RealMeasurer({
      sourcePath,
      passes,
      threads,
      ...(shapes ? { shapes } : {}),
      ...(o.batch ? { batch: o.batch } : {}),
      ...(o.task ? { task: { ref: o.task, ...(o.data ? { data: o.data } : {}), seed } } : {}),
      ...(qp.userData ? { userData: qp.userData } : {}),
      values: qp.values,
      // every measurement judges each output as the plan did, so the floors and the metrics always match
      ...(qp.kinds ? { outputKinds: Object.fromEntries(qp.kinds.map((k) => [k.output, k.kind])) } : {}),
      ...(calibration ? { calibration } : {}),
      screen,
      full,
      evalBatchSize: 8,
      calibrationItems: calN,
      // built chain steps are content-addressed here: shared prefixes are built once, a killed build resumes
      stageDir: join(runDir.root, 'stages'),
      // what a built stage depends on besides its parent, its step and its parameters
      stageContext: JSON.stringify({ code: code.sha256, data: dataSha, seed, calibrationItems: calN }),
      seed,
      log: (l: string) => o.progress?.log(`  ${l}`),
      ...(qp.mode === 'random' ? { agreementItems: 64 } : {}),
    });
  const out = await search({
    configs,
    measurer,
    runDir,
    constraints,
    objective,
    timeLimitMs: Math.max(0, o.timeLimitMs - (Date.now() - t0)),
    progress: o.progress,
    maxNewMeasurements: o.maxNewMeasurements,
    passes,
    ...(chains ? { chains } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    // the confirming rounds below measure the source and the choice in full, within the same limit
    afterFull: measurer.measureGroup ? 2 : 0,
  });
  const interrupted = o.signal?.aborted === true;

  // 4. The claim: the chosen model against the source in the same interleaved rounds; a choice that is
  //    not faster beyond the noise, or whose quality was judged on random inputs only, is not recommended.
  let chosen = out.choice.chosen;
  let vs: Summary['vsBaseline'];
  let notRecommended: string | undefined;
  if (chosen) {
    const searchFigures = () =>
      vsBaseline(bestMeasurement(chosen!)!.latency.samplesMs, bestMeasurement(out.baseline)!.latency.samplesMs, objective, chosen!.id === out.baseline.id);
    // interrupted: no new measurement, the search's own figures are used
    if (interrupted) vs = searchFigures();
    else
      try {
        vs = await confirmAgainstBaseline(measurer, runDir, out.baseline, chosen, objective, log);
      } catch (e) {
        log(`  the confirming measurement failed (${(e as Error).message.split('\n')[0]}); the figures of the search are used`);
        vs = searchFigures();
      }
    if (!vs.beyondNoise)
      notRecommended =
        chosen.id === out.baseline.id
          ? 'nothing beats the source model: it is itself the fastest candidate that meets the constraints; keep it'
          : `${chosen.config.label} is not faster than the source beyond the noise: ${objective} ${vs.chosenMs.toFixed(3)} vs ${vs.baselineMs.toFixed(3)} ms in the same interleaved rounds, 95% interval of the difference ${vs.ci[0].toFixed(3)} to ${vs.ci[1].toFixed(3)} ms (median: ${vs.medianCi?.[0].toFixed(3)} to ${vs.medianCi?.[1].toFixed(3)} ms); keep the source model`;
    else if (qp.mode === 'random' && !o.allowRandom)
      notRecommended = `quality was measured on random inputs only, which is not evidence that ${chosen.config.label} still works on real data: give --data <file.npy | folder> with real samples (or --allow-random to accept it anyway)`;
    if (notRecommended) {
      chosen.verdict = { kind: 'feasible', why: `the search's pick, not recommended: ${notRecommended}` };
      chosen = undefined;
    }
  }

  // 5. The summary, the chosen model, the ladder and the report.
  const machine = machineInfo(threads);
  const bm = bestMeasurement(out.baseline);
  const summary: Summary = {
    schema: 'edgefit.optimize.summary/1',
    createdAt: new Date().toISOString(),
    source: { path: sourcePath, sha256: sourceSha, sizeBytes: statSync(sourcePath).size },
    task: { name: o.task ?? 'agreement', dataSha256: dataSha, n: bm?.quality.n ?? 0, primary: bm?.quality.primary.name ?? '' },
    constraints,
    objective,
    threads,
    machine: { cpu: machine.cpu, cores: machine.cores, os: machine.os, node: machine.node, ort: machine.ort, threads },
    load: { start: loadStart.map((x) => Math.round(x * 100) / 100), end: loadavg().map((x) => Math.round(x * 100) / 100) },
    baseline: out.baseline.id,
    ...(chosen ? { chosen: chosen.id } : {}),
    ...(out.comparison && chosen ? { comparison: out.comparison } : {}),
    ...(vs ? { vsBaseline: vs } : {}),
    ...(notRecommended ? { notRecommended } : {}),
    feasible: !!chosen,
    ...(out.choice.chosen ? {} : { closest: out.choice.closest }),
    quality: {
      source: qp.mode === 'task' ? 'task' : 'agreement',
      ...(qp.mode !== 'task' ? { basis: qp.mode === 'data' ? ('data' as const) : ('random' as const) } : {}),
      ...(floors.length && constraints.includes(floors[0]!) ? { defaultFloor: floors.map((f) => f.text).join(', ') } : {}),
      ...(qp.holdout ? { holdout: qp.holdout.slice(0, full.evalItems), data: qp.describe } : {}),
      ...(o.allowRandom ? { allowRandom: true } : {}),
    },
    candidates: out.results,
    ...(inputsOf(source, shapes, o.batch) ? { inputs: inputsOf(source, shapes, o.batch) } : {}),
    ...(out.sensitivity ? { sensitivity: out.sensitivity } : {}),
    timeLimitSec: Math.round(o.timeLimitMs / 1000),
    elapsedSec: Math.round((Date.now() - t0) / 1000),
    ...(out.stoppedEarly ? { stoppedEarly: out.stoppedEarly } : {}),
    notes: [
      ...(out.reused ? [`${out.reused} candidate(s) reused from an earlier run in this directory`] : []),
      ...(interrupted ? ['interrupted: the choice is among the candidates measured before the interrupt; rerun the same command to resume'] : []),
      ...(chains
        ? [
            `chains explored at ${chains.depth.name} depth (${chains.depth.rounds} round(s) of extension${chains.depth.halving ? ', successive halving' : ''}${chains.depth.qat ? ', QAT' : ''})`,
          ]
        : []),
      ...(bm?.quality.source === 'agreement'
        ? [
            `quality is agreement with the source model on ${qp.mode === 'data' ? `the held-out part of the user's data (${qp.describe})` : 'RANDOM inputs, which is not evidence of quality on real data'}; per output: ${(bm.quality.outputs ?? []).map((x) => `${x.output} ${x.kind} → ${x.metric}`).join(', ')}`,
          ]
        : []),
      ...(!o.budget.length ? [`no latency budget: the lowest ${objective} under the quality floor was sought`] : []),
    ],
  };
  const paths: OptimizeResult['paths'] = { dir: runDir.root, summary: runDir.writeSummary(summary), report: '' };
  paths.ladder = join(runDir.root, 'ladder.json');
  writeFileAtomic(
    paths.ladder,
    JSON.stringify(
      buildLadder(summary, runDir.root, (id) => runDir.modelPath(id)),
      null,
      2,
    ) + '\n',
  );
  if (chosen) {
    const m = bestMeasurement(chosen)!;
    const manifest: Manifest = {
      schema: 'edgefit.optimize.manifest/1',
      model: 'best.onnx',
      sha256: chosen.modelSha256 ?? '',
      sizeBytes: chosen.sizeBytes ?? 0,
      source: { path: sourcePath, sha256: sourceSha },
      passes: chosen.config.passes,
      session: chosen.config.session,
      data: { task: summary.task.name, sha256: dataSha, n: m.quality.n },
      figures: {
        p50: m.latency.p50,
        p90: m.latency.p90,
        p99: m.latency.p99,
        max: m.latency.max,
        quality: m.quality.primary,
        ...(m.peakRssBytes ? { peakRssBytes: m.peakRssBytes } : {}),
      },
      constraints: constraints.map((c) => c.text),
      machine: summary.machine,
      createdAt: summary.createdAt,
    };
    const w = runDir.writeBest(runDir.modelPath(chosen.id), manifest);
    paths.best = w.model;
    paths.manifest = w.manifest;
  }
  paths.report = runDir.writeReport(renderReport(summary));
  return { summary, paths };
}

/** The inputs as measured, or undefined when their shapes are not all settled. */
function inputsOf(source: Model, shapes: Record<string, number[]> | undefined, batch: number | undefined): Summary['inputs'] {
  try {
    return resolveInputs(declaredInputs(source), { ...(shapes ? { shapes } : {}), ...(batch ? { batch } : {}) }).map((r) => ({
      name: r.name,
      type: r.type,
      shape: r.shape,
    }));
  } catch {
    return undefined;
  }
}

/** A stable fingerprint of the data: generated tasks by name and seed, files by content. */
function dataFingerprint(task: string | undefined, data: string | undefined, seed: number): string {
  const h = createHash('sha256').update(JSON.stringify({ task: task ?? null, seed }));
  for (const p of [data, task]) {
    if (!p) continue;
    try {
      const st = statSync(p);
      if (st.isFile()) h.update(sha256File(p));
      else h.update(`${resolve(p)}:${st.mtimeMs}:${st.size}`);
    } catch {
      // a built-in name, not a path
    }
  }
  return h.digest('hex');
}
