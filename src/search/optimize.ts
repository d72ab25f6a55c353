// The optimize pipeline as one readable list of stages: read the source, open the run directory,
// build the candidate space, search, choose, then write summary.json, best.onnx + manifest and
// report.html. The CLI (src/cli/optimize.ts) only parses flags and prints.

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { machineInfo } from '../bench/machine.js';
import { UsageError } from '../onnx/errors.js';
import { readModel } from '../onnx/read-model.js';
import type { Pass } from '../passes/pass.js';
import { renderReport } from '../report/html.js';
import { parseConstraints, type Constraint, type LatencyStat } from './constraints.js';
import { RealMeasurer, type StageSettings } from './measure.js';
import { bestMeasurement } from './pareto.js';
import type { Progress } from './progress.js';
import { RunDir, sha256File, type Manifest, type RunSpec } from './run-dir.js';
import { buildSpace, PREP_PASSES } from './space.js';
import { search, type Measurer } from './strategy.js';
import type { CandidateConfig, Summary } from './types.js';

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
  /** Only these registered passes join the space (preparation passes stay available). */
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
}

export interface OptimizeResult {
  summary: Summary;
  paths: { dir: string; summary: string; report: string; best?: string; manifest?: string };
}

export const DEFAULT_SCREEN: StageSettings = { warmup: 5, durationMs: 3000, evalItems: 60 };
export const DEFAULT_FULL: StageSettings = { warmup: 10, durationMs: 12_000, evalItems: 150 };

export async function optimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const t0 = Date.now();
  const loadStart = loadavg();
  const threads = o.threads ?? 1;
  const objective = o.objective ?? 'p99';
  const constraints: Constraint[] = [...o.budget.flatMap(parseConstraints), ...o.quality.flatMap(parseConstraints)];
  if (!constraints.some((c) => c.kind === 'latency')) throw new UsageError('no latency budget given', 'pass --budget, e.g. --budget "p99<=12ms"');
  const screen = { ...DEFAULT_SCREEN, ...o.screen };
  const full = { ...DEFAULT_FULL, ...o.full };

  // 1. The source and the data.
  const sourcePath = resolve(o.model);
  const source = readModel(sourcePath);
  const sourceSha = sha256File(sourcePath);
  const seed = o.seed ?? 0;
  let task: Awaited<ReturnType<typeof import('../data/task.js').loadTask>> | undefined;
  let calibration;
  if (o.task) {
    const { loadTask, calibrationFeeds } = await import('../data/task.js');
    task = await loadTask(o.task, { ...(o.data ? { data: o.data } : {}), seed, limit: full.evalItems });
    const calN = o.calibrationItems ?? 32;
    let calTask = task;
    try {
      calTask = await loadTask(o.task, { ...(o.data ? { data: o.data } : {}), seed, split: 'train', limit: calN });
    } catch {
      // too little data for a train split: calibrate on the eval items
    }
    calibration = calibrationFeeds(calTask, calN);
  }
  const dataSha = dataFingerprint(o.task, o.data, seed);
  let passes = o.passes ?? (await import('../passes/registry.js')).PASSES;
  if (o.passNames?.length) {
    const known = passes.map((p) => p.name);
    for (const n of o.passNames) if (!known.includes(n)) throw new UsageError(`unknown pass '${n}' in --passes`, `registered passes: ${known.join(', ')}`);
    passes = passes.filter((p) => o.passNames!.includes(p.name) || (PREP_PASSES as readonly string[]).includes(p.name));
  }

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
    measurement: { screen, full, shapes: o.shapes ?? null, batch: o.batch ?? null, seed },
  };
  const runDir = new RunDir(resolve(o.out), spec).open();
  if (runDir.lockNote) o.progress?.log(runDir.lockNote);

  // 3. The candidate space and the search.
  const configs =
    o.configs ??
    buildSpace({ passes, sourceOpset: source.opset('') ?? 0, hasCalibration: !!calibration, ...(o.maxPerPass ? { maxPerPass: o.maxPerPass } : {}) });
  o.progress?.log(
    `edgefit optimize: ${configs.length} candidates from ${passes.length} registered passes; budget ${constraints.map((c) => c.text).join(', ')}; time limit ${Math.round(o.timeLimitMs / 1000)} s`,
  );
  const measurer =
    o.measurer ??
    new RealMeasurer({
      sourcePath,
      passes,
      threads,
      ...(o.shapes ? { shapes: o.shapes } : {}),
      ...(o.batch ? { batch: o.batch } : {}),
      ...(o.task ? { task: { ref: o.task, ...(o.data ? { data: o.data } : {}), seed } } : {}),
      ...(calibration ? { calibration } : {}),
      screen,
      full,
      evalBatchSize: 8,
      calibrationItems: o.calibrationItems ?? 32,
      log: (l: string) => o.progress?.log(`  ${l}`),
      agreementItems: 64,
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
  });

  // 4. The summary, the chosen model and the report.
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
    ...(out.choice.chosen ? { chosen: out.choice.chosen.id } : {}),
    ...(out.comparison ? { comparison: out.comparison } : {}),
    feasible: !!out.choice.chosen,
    ...(out.choice.chosen ? {} : { closest: out.choice.closest }),
    candidates: out.results,
    ...(out.sensitivity ? { sensitivity: out.sensitivity } : {}),
    timeLimitSec: Math.round(o.timeLimitMs / 1000),
    elapsedSec: Math.round((Date.now() - t0) / 1000),
    ...(out.stoppedEarly ? { stoppedEarly: out.stoppedEarly } : {}),
    notes: [
      ...(out.reused ? [`${out.reused} candidate(s) reused from an earlier run in this directory`] : []),
      ...(bm?.quality.source === 'agreement' ? ['quality is per-item top-1 agreement with the source model (no task metric available)'] : []),
    ],
  };
  const paths: OptimizeResult['paths'] = { dir: runDir.root, summary: runDir.writeSummary(summary), report: '' };
  const chosen = out.choice.chosen;
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
