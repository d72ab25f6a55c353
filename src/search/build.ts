// Builds one candidate model from the registered passes and training stages (run inside build-worker),
// step by step through the stage cache when the run has one, and the calibration stream and training
// samples the steps read, rebuilt from the task reference in each child.

import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import type { Feeds, ParamValues, PassContext, PassRecord } from '../passes/pass.js';
import { openUserDataRef, type UserDataRef } from '../data/user-data.js';
import { loadSplit } from '../data/load-split.js';
import { declaredInputs, type InputSpec } from '../runtime/inputs.js';
import { buildChain, sha256File, StageCache, writeChainResult, type StageTime } from './stage-cache.js';

export interface TaskRef {
  ref: string;
  data?: string;
  seed: number;
}

export interface BuildRequest {
  sourcePath: string;
  steps: { name: string; params: ParamValues }[];
  label: string;
  outPath: string;
  task?: TaskRef;
  /** The user's data (no task): calibration reads its calibration part, never the held-out one. */
  userData?: UserDataRef;
  calibrationItems: number;
  /** The stage cache folder (<runDir>/stages): steps are built one by one and each is cached there. */
  stageDir?: string;
  /** The source file's sha256 (the root of the stage keys); computed here when absent. */
  sourceKey?: string;
  /** Seed of the passes and training stages (default 0). */
  seed?: number;
  /** Samples a training stage trains on (default 256). */
  trainItems?: number;
  /** Threads of training sessions (default 1). */
  threads?: number;
  /** Training stages stop at this time (epoch ms) and return what they have (not cached). */
  deadline?: number;
}

export interface BuildResult {
  records: PassRecord[];
  sizeBytes: number;
  sha256: string;
  stageTimes: StageTime[];
}

/** Calibration feeds from the task's train split (all of it when it is too small to split). */
export async function calibrationFor(task: TaskRef, n: number): Promise<() => AsyncIterable<Feeds>> {
  const { calibrationFeeds } = await import('../data/task.js');
  const { task: t } = await loadSplit(task.ref, 'train', { ...(task.data ? { data: task.data } : {}), seed: task.seed, limit: n });
  return calibrationFeeds(t, n);
}

/** Calibration feeds from the calibration part of the user's data (the held-out part is never read). */
export function userDataCalibration(ref: UserDataRef, inputs: InputSpec[], n: number): () => AsyncIterable<Feeds> {
  return () => {
    const data = openUserDataRef(ref, inputs);
    const it = data.stream('calibration', n)();
    return (async function* () {
      try {
        for await (const f of it) yield f as Feeds;
      } finally {
        data.close();
      }
    })();
  };
}

/** The context of the chain's steps, built on first use; the training part (teacher, samples) only when a training stage runs. */
function contextLoader(req: BuildRequest, source: () => Model): (train: boolean) => Promise<PassContext> {
  const calibration = async () =>
    req.task
      ? await calibrationFor(req.task, req.calibrationItems)
      : req.userData
        ? userDataCalibration(req.userData, declaredInputs(source()), req.calibrationItems)
        : undefined;
  const baseCtx = async (): Promise<PassContext> => {
    const cal = await calibration();
    return {
      seed: req.seed ?? 0,
      threads: req.threads ?? 1,
      ...(cal ? { calibration: cal } : {}),
      ...(req.deadline !== undefined ? { deadline: req.deadline } : {}),
    };
  };
  const base = once(baseCtx);
  const trainCtx = async (): Promise<PassContext> => {
    const ctx = await base();
    const { stageDataFromTask, stageDataFromFeeds } = await import('../train/stage-data.js');
    const items = req.trainItems ?? 256;
    const data = req.task
      ? await stageDataFromTask(req.task, source(), items)
      : ctx.calibration
        ? { trainData: await stageDataFromFeeds(ctx.calibration, source(), items) }
        : {};
    return { ...ctx, teacher: source(), ...data };
  };
  const trained = once(trainCtx);
  return (train) => (train ? trained() : base());
}

/** f, called at most once: later calls get the first call's promise. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    return p;
  };
}

/** Builds the chain step by step (each step cached under <stageDir> when given) and writes the result to outPath. */
export async function buildCandidate(req: BuildRequest): Promise<BuildResult> {
  const { PASSES } = await import('../passes/registry.js');
  let src: Model | undefined;
  const source = () => (src ??= readModel(req.sourcePath));
  const r = await buildChain({
    source,
    sourceKey: req.sourceKey ?? sha256File(req.sourcePath),
    steps: req.steps,
    passes: PASSES,
    ...(req.stageDir ? { cache: new StageCache(req.stageDir) } : {}),
    context: contextLoader(req, source),
    label: req.label,
  });
  return { records: r.records, stageTimes: r.stageTimes, ...writeChainResult(r, req.outPath) };
}
