// Training a sequence model (a CTC head: PaddleOCR rec) on labels alone, with the CTC loss. Each step
// runs the current weights forward, computes the CTC targets γ per frame from the frame logits (ctc.ts),
// then runs the training graph whose loss is the per-frame cross-entropy to γ: with γ held constant its
// gradient w.r.t. the logits is softmax − γ, the CTC gradient. BatchNormalization stays frozen and
// Dropout off, so the forward graph and the training graph compute the same logits.

import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { DataType } from '../onnx/dtype.js';
import { createSession } from '../runtime/session.js';
import { ctcTargets, type CtcTargets } from './ctc.js';
import { DEFAULT_TEACHER_TOP_K, mixTeacher, openCtcTeacher } from './ctc-teacher.js';
import { LOSS_INPUTS } from './losses.js';
import { withWeights } from './loop.js';
import { lrAt, TsOptimizer, type OptimizerConfig } from './optimizers.js';
import { trainingLogits } from './training-logits.js';
import { batchOf } from './stage-train.js';
import { StepResume, stopReason, type StepResumeOptions } from './step-resume.js';
import { buildTrainingGraph, type TrainingGraph } from './training-graph.js';

export interface CtcData {
  /** Samples back to back: n × prod(sampleShape). */
  x: Float32Array;
  sampleShape: number[];
  /** Per sample, the label's class indices (no blank); undefined: the sample does not train. */
  labels: readonly (Int32Array | undefined)[];
}

export interface CtcTrainOptions extends StepResumeOptions {
  model: Model;
  data: CtcData;
  blank: number;
  steps: number;
  lr: number;
  batchSize?: number;
  /** Parameters that train (default: every float weight). */
  trainable?: string[];
  /** A teacher with the same frame output: its per-frame probabilities are mixed into the targets (ctc-teacher.ts). */
  teacher?: Model;
  /** Weight of the teacher term, α in (1 − α)·CTC + α·KD (default 0.5 with a teacher). */
  kdAlpha?: number;
  /** Keep the teacher's probabilities of each sample once computed (default true). */
  cacheTeacher?: boolean;
  /** Classes of each teacher frame kept, the rest of its mass spread evenly (default 32; 0: every class). */
  teacherTopK?: number;
  seed?: number;
  threads?: number;
  /** Epoch milliseconds: no step starts after it; the weights of the last step are kept. */
  deadline?: number;
  /** Once aborted, no further step starts (a checkpoint is written when there is a checkpointDir). */
  signal?: AbortSignal;
  onStep?: (s: CtcStepRecord) => void;
}

export interface CtcStepRecord {
  step: number;
  /** Mean CTC loss of the batch (before its update); NaN when no sample of it trains. */
  loss: number;
  /** Samples of the batch that train (a label that fits the frames). */
  feasible: number;
  batch: number;
}

export interface CtcTrainResult {
  model: Model;
  steps: number;
  /** Mean CTC loss on a fixed probe batch (the first samples), before and after training. */
  lossBefore: number;
  lossAfter: number;
  history: CtcStepRecord[];
  /** Steps without an update: no sample of their batch had a label that fits. */
  skipped: number;
  stopped?: 'deadline' | 'signal';
  /** Steps done by an earlier, killed run (resumed from its checkpoint). */
  resumedFromStep: number;
  /** Training wall time, the killed runs' included. */
  wallMs: number;
  /** Teacher runs (0 without a teacher; with the cache, about one per batch of the first epoch). */
  teacherRuns: number;
  /** With a teacher kept as top-k frames: the least share of a frame's mass its kept classes held. */
  teacherKeptMass?: number;
}

/** The forward graph and the training graph over the same weights, and the output's frame layout. */
export interface CtcLoop {
  tg: TrainingGraph;
  train: ort.InferenceSession;
  forward: ort.InferenceSession;
  input: string;
  logits: string;
  frames: number;
  classes: number;
  blank: number;
  sampleSize: number;
}

/** The model with the frame logits [N, T, C] reshaped to rows [N·T, C], the tensor the loss reads. */
function withRows(model: Model, logits: string, C: number): Model {
  const m = model.clone();
  m.graph.initializers.set('ctc.rows_shape', Tensor.fromInt64('ctc.rows_shape', [2], [-1, C]));
  m.graph.nodes.push(new Node('Reshape', [logits, 'ctc.rows_shape'], ['ctc.rows'], 'ctc/rows'));
  m.graph.outputs = [{ name: 'ctc.rows' }];
  return m;
}

/** The model computing only the logits, with the named weights as inputs (fed each step). */
function forwardGraph(model: Model, params: string[], logits: string): Model {
  const m = model.clone();
  for (const p of params) {
    const t = m.graph.initializers.get(p)!;
    m.graph.initializers.delete(p);
    m.graph.inputs = m.graph.inputs.filter((i) => i.name !== p);
    m.graph.inputs.push({ name: p, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [...t.dims] } });
  }
  m.graph.outputs = [{ name: logits }];
  m.graph.valueInfo.clear();
  return m;
}

export async function openCtcLoop(model: Model, data: CtcData, opts: { blank: number; trainable?: string[]; threads?: number }): Promise<CtcLoop> {
  const sampleSize = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = data.x.length / sampleSize;
  if (!Number.isInteger(n) || n < 2) throw new UsageError(`CTC training needs at least 2 samples, got ${n}`, 'give the task more items');
  if (data.labels.length !== n) throw new UsageError(`${n} samples but ${data.labels.length} labels`);
  const threads = opts.threads ?? 1;
  // a head narrowed by prune-classes trains through a view with its full-width logits
  const { model: view, logits } = trainingLogits(model);
  model = view;
  const input = model.graph.realInputs()[0]!.name;
  const sample = { [input]: new ort.Tensor('float32', data.x.slice(0, 2 * sampleSize), [2, ...data.sampleShape]) };
  const probe = await createSession(forwardGraph(model, [], logits), { threads });
  const dims = (await probe.run(sample))[logits]!.dims;
  await probe.release();
  if (dims.length !== 3 || !(Number.isInteger(opts.blank) && opts.blank >= 0 && opts.blank < dims[2]!))
    throw new UsageError(
      `CTC training needs frame logits [N, T, C] with the blank (${opts.blank}) among the C classes; the model's '${logits}' is [${dims.join(', ')}]`,
      'train a CTC head (e.g. PaddleOCR rec); classifiers train with cross-entropy',
    );
  const [, frames, classes] = dims as [number, number, number];
  const tg = await buildTrainingGraph(withRows(model, logits, classes), {
    loss: { kind: 'cross-entropy' },
    output: 'ctc.rows',
    sample,
    batchNorm: 'frozen',
    dropout: 'off',
    ...(opts.trainable ? { trainable: { names: opts.trainable } } : {}),
  });
  const forward = forwardGraph(
    model,
    tg.params.map((p) => p.name),
    logits,
  );
  return {
    tg,
    train: await createSession(tg.model, { threads }),
    forward: await createSession(forward, { threads }),
    input,
    logits,
    frames,
    classes,
    blank: opts.blank,
    sampleSize,
  };
}

function gather(L: CtcLoop, data: CtcData, idx: ArrayLike<number>): ort.Tensor {
  const s = L.sampleSize;
  const x = new Float32Array(idx.length * s);
  for (let i = 0; i < idx.length; i++) x.set(data.x.subarray(idx[i]! * s, (idx[i]! + 1) * s), i * s);
  return new ort.Tensor('float32', x, [idx.length, ...data.sampleShape]);
}

function paramFeeds(L: CtcLoop, params: Float32Array[]): Record<string, ort.Tensor> {
  return Object.fromEntries(L.tg.params.map((p, j) => [p.name, new ort.Tensor('float32', params[j]!, p.dims)]));
}

/** The CTC targets of the samples `idx` under the given weights (one forward run). */
export async function ctcBatchTargets(
  L: CtcLoop,
  data: CtcData,
  idx: ArrayLike<number>,
  params: Float32Array[],
): Promise<{ x: ort.Tensor; targets: CtcTargets }> {
  const x = gather(L, data, idx);
  const out = await L.forward.run({ [L.input]: x, ...paramFeeds(L, params) });
  const labels = Array.from(idx, (j) => data.labels[j]);
  return { x, targets: ctcTargets(out[L.logits]!.data as Float32Array, out[L.logits]!.dims, labels, L.blank) };
}

/** The gradients of the batch's mean CTC loss w.r.t. the trainable weights (one training-graph run). */
export async function ctcGradients(L: CtcLoop, x: ort.Tensor, t: CtcTargets, params: Float32Array[]): Promise<Float32Array[]> {
  const rows = t.weight.length;
  const out = await L.train.run({
    [L.input]: x,
    [LOSS_INPUTS.target]: new ort.Tensor('float32', t.target, [rows, L.classes]),
    [LOSS_INPUTS.weight]: new ort.Tensor('float32', t.weight, [rows]),
    ...paramFeeds(L, params),
  });
  const surrogate = Number((out[L.tg.loss]!.data as Float32Array)[0]);
  if (!Number.isFinite(surrogate)) throw new EdgefitError(`the CTC training loss became ${surrogate}`, 'E_DIVERGED', 'lower the learning rate (--lr)');
  return L.tg.params.map((p) => out[p.grad]!.data as Float32Array);
}

/** What must match for a checkpoint to be resumed: the settings, the samples, their labels and the starting weights. */
function fingerprint(opts: CtcTrainOptions, L: CtcLoop, batchSize: number, seed: number, start: readonly Float32Array[]): string {
  const h = createHash('sha256');
  const kd = opts.teacher ? (opts.kdAlpha ?? 0.5) : 0;
  const topK = opts.teacher ? { topK: opts.teacherTopK ?? DEFAULT_TEACHER_TOP_K } : {};
  h.update(JSON.stringify({ kind: 'ctc', steps: opts.steps, lr: opts.lr, batchSize, seed, blank: L.blank, shape: opts.data.sampleShape, kd, ...topK }));
  h.update(JSON.stringify(L.tg.params.map((p) => [p.name, p.dims])));
  h.update(JSON.stringify(opts.data.labels.map((l) => (l ? Array.from(l) : null))));
  for (const v of [opts.data.x, ...start]) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return h.digest('hex');
}

/** CTC training for a fixed number of steps; the data order of step k is a function of (seed, k), so a run resumed from its checkpoint computes what an uninterrupted one does. */
export async function trainCtc(opts: CtcTrainOptions): Promise<CtcTrainResult> {
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new UsageError(`steps must be a whole number ≥ 0, got ${opts.steps}`);
  if (!(opts.lr > 0)) throw new UsageError(`the learning rate must be > 0, got ${opts.lr}`, 'e.g. --lr 0.0003 (1e-3 wrecks PaddleOCR rec)');
  const L = await openCtcLoop(opts.model, opts.data, { blank: opts.blank, trainable: opts.trainable, threads: opts.threads });
  const n = opts.data.labels.length;
  const batchSize = Math.min(opts.batchSize ?? 16, n);
  const seed = opts.seed ?? 0;
  const optimizer: OptimizerConfig = { kind: 'adamw', lr: opts.lr, weightDecay: 0 };
  const start = L.tg.params.map((p) => Float32Array.from(opts.model.graph.initializers.get(p.name)!.toFloat32()));
  const ts = new TsOptimizer(
    optimizer,
    start.map((v) => v.slice()),
  );
  const resume = new StepResume(opts, fingerprint(opts, L, batchSize, seed, start), seed, ts);
  const probe = Int32Array.from({ length: batchSize }, (_, i) => i);
  resume.lossBefore ??= (await ctcBatchTargets(L, opts.data, probe, ts.params)).targets.meanLoss;
  const teacher = opts.teacher
    ? await openCtcTeacher(opts.teacher, opts.data, {
        frames: L.frames,
        classes: L.classes,
        threads: opts.threads,
        cache: opts.cacheTeacher,
        ...(opts.teacherTopK !== undefined ? { topK: opts.teacherTopK } : {}),
      })
    : undefined;
  const history: CtcStepRecord[] = [];
  const orders = new Map<number, Int32Array>();
  let skipped = 0;
  let stopped: CtcTrainResult['stopped'];
  let step = resume.resumedFromStep;
  for (; step < opts.steps; step++) {
    stopped = stopReason(opts);
    if (stopped) {
      resume.save(step);
      break;
    }
    const idx = batchOf(step, n, batchSize, seed, orders);
    const { x, targets } = await ctcBatchTargets(L, opts.data, idx, ts.params);
    if (teacher) mixTeacher(targets, await teacher.probs(idx), opts.kdAlpha ?? 0.5);
    const rec = { step: step + 1, loss: targets.meanLoss, feasible: targets.feasible, batch: idx.length };
    history.push(rec);
    opts.onStep?.(rec);
    if (targets.feasible === 0 && !teacher) skipped++;
    else ts.update(await ctcGradients(L, x, targets, ts.params), lrAt(optimizer, step, opts.steps));
    resume.afterStep(step + 1, opts.steps);
  }
  const lossAfter = (await ctcBatchTargets(L, opts.data, probe, ts.params)).targets.meanLoss;
  await L.train.release();
  await L.forward.release();
  await teacher?.release();
  const values = new Map(L.tg.params.map((p, j) => [p.name, ts.params[j]!.slice()]));
  return {
    model: withWeights(opts.model, values),
    steps: step,
    lossBefore: resume.lossBefore,
    lossAfter,
    history,
    skipped,
    ...(stopped ? { stopped } : {}),
    resumedFromStep: resume.resumedFromStep,
    wallMs: resume.elapsedMs(),
    teacherRuns: teacher?.runs ?? 0,
    ...(teacher?.keptMass !== undefined ? { teacherKeptMass: teacher.keptMass } : {}),
  };
}
