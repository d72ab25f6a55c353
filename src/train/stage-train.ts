// The step loop behind the training stages (recover, qat): distil a student from a teacher for a fixed
// number of steps, per frame for sequence outputs, plus the task loss where labels exist. The data order
// of step k is a function of (seed, k), so a run resumed from a checkpoint (weights, optimizer state,
// step) computes exactly what an uninterrupted one does. It stops at a step boundary when its signal
// aborts or its deadline passes, checkpoints, and says so; the caller gets the weights it has.

import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import { classTargets, LOSS_INPUTS } from './losses.js';
import { withWeights } from './loop.js';
import { lrAt, TsOptimizer, type OptimizerConfig } from './optimizers.js';
import { framesOf, teacherLogits, type RecoverData, type TeacherCache } from './recover.js';
import { trainingLogits } from './training-logits.js';
import { backgroundClass, rowWeights } from './frame-weights.js';
import { Rng } from './rng.js';
import { StepResume, stopReason, type StepResumeOptions } from './step-resume.js';
import { buildTrainingGraph, type TrainingGraph } from './training-graph.js';

export interface StageTrainOptions extends StepResumeOptions {
  student: Model;
  teacher: Model | TeacherCache;
  data: RecoverData;
  steps: number;
  lr: number;
  batchSize?: number;
  temperature?: number;
  /** Weight of the distillation term (default 0.7 with class labels, else 1). */
  alpha?: number;
  /** Parameters that train (default: every float weight). */
  trainable?: string[];
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
  /** Epoch milliseconds. */
  deadline?: number;
  onStep?: (step: number, loss: number) => void;
  /**
   * Sequence outputs: the frames where the teacher's argmax is its most frequent class (CTC blank) weigh
   * as much together as all other frames together, so the student does not settle on predicting blank
   * (default true; classifier outputs, one row per sample, are never balanced).
   */
  balanceFrames?: boolean;
}

export interface StageTrainResult {
  model: Model;
  /** Steps done in all (those of an earlier, killed run included). */
  steps: number;
  resumedFromStep: number;
  stopped?: 'signal' | 'deadline';
  /** The loss on a fixed probe batch (the first samples) before training and after. */
  lossBefore: number;
  lossAfter: number;
  /** Training wall time, the killed runs' included. */
  wallMs: number;
  teacherRuns: number;
}

interface Loop {
  tg: TrainingGraph;
  session: ort.InferenceSession;
  input: string;
  cache: TeacherCache;
  useLabels: boolean;
  sampleSize: number;
  /** The teacher's most frequent argmax class per frame, when frames are balanced. */
  background?: number;
}

async function setUp(opts: StageTrainOptions, threads: number): Promise<Loop> {
  const { data } = opts;
  const sampleSize = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = data.x.length / sampleSize;
  if (!Number.isInteger(n) || n < 2) throw new UsageError(`a training stage needs at least 2 samples, got ${n}`, 'give the task more items');
  const cache = 'logits' in opts.teacher ? opts.teacher : await teacherLogits(opts.teacher, data, threads);
  const useLabels = !!data.labels && cache.frames === 1;
  const view = trainingLogits(opts.student);
  const { model, rows } = framesOf(view.model, { ...cache, tensor: view.logits });
  const input = model.graph.realInputs()[0]!.name;
  const tg = await buildTrainingGraph(model, {
    loss: { kind: 'distill', temperature: opts.temperature ?? 2, alpha: opts.alpha ?? (useLabels ? 0.7 : 1) },
    output: rows,
    sample: { [input]: new ort.Tensor('float32', data.x.slice(0, 2 * sampleSize), [2, ...data.sampleShape]) },
    batchNorm: 'frozen',
    dropout: 'off',
    ...(opts.trainable ? { trainable: { names: opts.trainable } } : {}),
  });
  const background = (opts.balanceFrames ?? true) && cache.frames > 1 ? backgroundClass(cache) : undefined;
  return { tg, session: await createSession(tg.model, { threads }), input, cache, useLabels, sampleSize, background };
}

/** Runs the training graph on the samples `idx`; returns the loss and the outputs (gradients). */
async function runBatch(
  L: Loop,
  data: RecoverData,
  idx: ArrayLike<number>,
  params: Float32Array[],
): Promise<{ loss: number; out: ort.InferenceSession.ReturnType }> {
  const { frames: F, classes: C } = L.cache;
  const s = L.sampleSize;
  const k = idx.length;
  const x = new Float32Array(k * s);
  const teacher = new Float32Array(k * F * C);
  const labels = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const j = idx[i]!;
    x.set(data.x.subarray(j * s, (j + 1) * s), i * s);
    teacher.set(L.cache.logits.subarray(j * F * C, (j + 1) * F * C), i * F * C);
    labels[i] = data.labels?.[j] ?? 0;
  }
  const r = k * F;
  const ce = L.useLabels ? classTargets(labels, C) : { target: new Float32Array(r * C), weight: rowWeights(teacher, r, C, L.background) };
  const feeds: Record<string, ort.Tensor> = {
    [L.input]: new ort.Tensor('float32', x, [k, ...data.sampleShape]),
    [LOSS_INPUTS.teacher]: new ort.Tensor('float32', teacher, [r, C]),
    [LOSS_INPUTS.target]: new ort.Tensor('float32', ce.target, [r, C]),
    [LOSS_INPUTS.weight]: new ort.Tensor('float32', ce.weight, [r]),
  };
  L.tg.params.forEach((p, j) => {
    feeds[p.name] = new ort.Tensor('float32', params[j]!, p.dims);
  });
  const out = await L.session.run(feeds);
  return { loss: Number((out[L.tg.loss]!.data as Float32Array)[0]), out };
}

/** What must match for a checkpoint to be resumed: the settings, the data and the starting weights. */
function fingerprint(opts: StageTrainOptions, L: Loop, start: Float32Array[], batchSize: number, seed: number): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      steps: opts.steps,
      lr: opts.lr,
      batchSize,
      seed,
      T: opts.temperature,
      a: opts.alpha,
      bf: opts.balanceFrames,
      shape: opts.data.sampleShape,
    }),
  );
  h.update(JSON.stringify(L.tg.params.map((p) => [p.name, p.dims])));
  for (const v of [opts.data.x, ...(opts.data.labels ? [opts.data.labels] : []), ...start]) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return h.digest('hex');
}

/** The sample indices of step k: batch (k mod steps-per-epoch) of epoch ⌊k / steps-per-epoch⌋'s seeded order. */
export function batchOf(step: number, n: number, batchSize: number, seed: number, orders: Map<number, Int32Array>): Int32Array {
  const perEpoch = Math.ceil(n / batchSize);
  const epoch = Math.floor(step / perEpoch);
  let order = orders.get(epoch);
  if (!order) {
    orders.clear();
    order = new Rng(seed * 7919 + epoch).permutation(n);
    orders.set(epoch, order);
  }
  const first = (step % perEpoch) * batchSize;
  return order.subarray(first, Math.min(n, first + batchSize));
}

export async function trainStage(opts: StageTrainOptions): Promise<StageTrainResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new UsageError(`steps must be a whole number ≥ 0, got ${opts.steps}`);
  const threads = opts.threads ?? 1;
  const seed = opts.seed ?? 0;
  const L = await setUp(opts, threads);
  const n = opts.data.x.length / L.sampleSize;
  const batchSize = Math.min(opts.batchSize ?? 16, n);
  const start = L.tg.params.map((p) => Float32Array.from(opts.student.graph.initializers.get(p.name)!.toFloat32()));
  const optimizer: OptimizerConfig = { kind: 'adamw', lr: opts.lr, weightDecay: 0 };
  const ts = new TsOptimizer(
    optimizer,
    start.map((v) => v.slice()),
  );
  const resume = new StepResume(opts, fingerprint(opts, L, start, batchSize, seed), seed, ts);
  const probe = Int32Array.from({ length: batchSize }, (_, i) => i);
  resume.lossBefore ??= (await runBatch(L, opts.data, probe, ts.params)).loss;
  const orders = new Map<number, Int32Array>();
  let step = resume.resumedFromStep;
  let stopped: StageTrainResult['stopped'];
  for (; step < opts.steps; ) {
    stopped = stopReason(opts);
    if (stopped) {
      resume.save(step);
      break;
    }
    const { loss, out } = await runBatch(L, opts.data, batchOf(step, n, batchSize, seed, orders), ts.params);
    if (!Number.isFinite(loss)) throw new UsageError(`the loss became ${loss} at step ${step}`, 'lower the stage lr');
    ts.update(
      L.tg.params.map((p) => out[p.grad]!.data as Float32Array),
      lrAt(optimizer, step, opts.steps),
    );
    step++;
    opts.onStep?.(step, loss);
    resume.afterStep(step, opts.steps);
  }
  const lossAfter = (await runBatch(L, opts.data, probe, ts.params)).loss;
  await L.session.release();
  const values = new Map(L.tg.params.map((p, j) => [p.name, ts.params[j]!.slice()]));
  return {
    model: withWeights(opts.student, values),
    steps: step,
    resumedFromStep: resume.resumedFromStep,
    ...(stopped ? { stopped } : {}),
    lossBefore: resume.lossBefore,
    lossAfter,
    wallMs: resume.elapsedMs(),
    teacherRuns: L.cache.runs,
  };
}
