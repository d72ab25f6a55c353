// Recovery after pruning: fine-tune the pruned model (student) by distillation from the unpruned one
// (teacher). The teacher runs once over the data and its logits are cached; sequence outputs ([B, T, C],
// e.g. OCR rec) are distilled per frame, so no labels are needed and generated data will do. Where class
// labels exist the task loss (cross-entropy) is added. A model that ends in Softmax is distilled on the
// Softmax input (its logits). Iterative schedules (prune a step, recover, repeat) keep the same cache.

import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import { Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { backgroundClass, rowWeights } from './frame-weights.js';
import { classTargets, LOSS_INPUTS } from './losses.js';
import { withWeights } from './loop.js';
import { logitsModel, trainingLogits } from './training-logits.js';
import { TsOptimizer, lrAt } from './optimizers.js';
import { Rng } from './rng.js';
import { buildTrainingGraph } from './training-graph.js';

export interface RecoverData {
  /** Samples back to back: n × prod(sampleShape). */
  x: Float32Array;
  sampleShape: number[];
  /** Class labels, when the task has them and the output is one row of classes per sample. */
  labels?: Int32Array;
}

/** The teacher's logits for every sample, computed once: n × frames × classes. */
export interface TeacherCache {
  logits: Float32Array;
  /** The tensor they were read from (the model output, or the input of its final Softmax). */
  tensor: string;
  frames: number;
  classes: number;
  /** session.run calls spent computing it (once per batch, not per epoch). */
  runs: number;
}

export interface RecoverOptions {
  student: Model;
  data: RecoverData;
  /** The unpruned model, or a cache from an earlier call (iterative schedules). */
  teacher: Model | TeacherCache;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  temperature?: number;
  /** Weight of the distillation term; the task loss gets 1 − alpha (default 0.7 with labels, else 1). */
  alpha?: number;
  seed?: number;
  threads?: number;
  /** Sequence outputs: blank-argmax frames weigh half in all, the rest the other half (default true; frame-weights.ts). */
  balanceFrames?: boolean;
  onEpoch?: (r: { epoch: number; loss: number; seconds: number }) => void;
}

export interface RecoverResult {
  model: Model;
  teacher: TeacherCache;
  history: { epoch: number; loss: number; seconds: number }[];
}

export async function teacherLogits(teacher: Model, data: RecoverData, threads = 1, batch = 32): Promise<TeacherCache> {
  const { model: m, logits: tensor } = logitsModel(teacher);
  const session = await createSession(m, { threads });
  const s = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = data.x.length / s;
  let logits: Float32Array | undefined;
  let per = 0;
  let dims: readonly number[] = [];
  let runs = 0;
  for (let first = 0; first < n; first += batch) {
    const k = Math.min(batch, n - first);
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data.x.subarray(first * s, (first + k) * s), [k, ...data.sampleShape]) });
    runs++;
    const t = r[tensor]!;
    dims = t.dims;
    per = (t.data as Float32Array).length / k;
    logits ??= new Float32Array(n * per);
    logits.set(t.data as Float32Array, first * per);
  }
  await session.release();
  const classes = dims[dims.length - 1] ?? 1;
  return { logits: logits ?? new Float32Array(0), tensor, frames: per / classes, classes, runs };
}

/** The student with its logits as rows of classes ([B·T, C] for sequences): the tensor the loss reads. */
export function framesOf(student: Model, cache: TeacherCache): { model: Model; rows: string } {
  const m = student.clone();
  if (cache.frames === 1) return { model: m, rows: cache.tensor };
  const shape = `recover.frames_shape`;
  m.graph.initializers.set(shape, Tensor.fromInt64(shape, [2], [-1, cache.classes]));
  m.graph.nodes.push(new Node('Reshape', [cache.tensor, shape], ['recover.frames'], 'recover/frames'));
  m.graph.outputs = [{ name: 'recover.frames' }];
  return { model: m, rows: 'recover.frames' };
}

export async function recover(opts: RecoverOptions): Promise<RecoverResult> {
  const epochs = opts.epochs ?? 3;
  const batchSize = opts.batchSize ?? 32;
  const seed = opts.seed ?? 0;
  const threads = opts.threads ?? 1;
  const { data } = opts;
  const s = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = data.x.length / s;
  if (!Number.isInteger(n) || n < 2) throw new UsageError(`recovery needs at least 2 samples, got ${n}`, 'give the task more items');
  const cache = 'logits' in opts.teacher ? opts.teacher : await teacherLogits(opts.teacher, data, threads);
  if (cache.logits.length !== n * cache.frames * cache.classes)
    throw new UsageError('the teacher cache was computed on other data', 'recompute it on these samples');
  const useLabels = !!data.labels && cache.frames === 1;
  const alpha = opts.alpha ?? (useLabels ? 0.7 : 1);
  const view = trainingLogits(opts.student);
  const { model, rows } = framesOf(view.model, { ...cache, tensor: view.logits });
  const background = (opts.balanceFrames ?? true) && cache.frames > 1 ? backgroundClass(cache) : undefined;
  const input = model.graph.realInputs()[0]!.name;
  const sample = { [input]: new ort.Tensor('float32', data.x.slice(0, 2 * s), [2, ...data.sampleShape]) };
  const tg = await buildTrainingGraph(model, {
    loss: { kind: 'distill', temperature: opts.temperature ?? 2, alpha },
    output: rows,
    sample,
    batchNorm: 'frozen',
    dropout: 'off',
  });
  const session = await createSession(tg.model, { threads });
  const optimizer = { kind: 'adamw' as const, lr: opts.lr ?? 1e-3, weightDecay: 0 };
  const ts = new TsOptimizer(
    optimizer,
    tg.params.map((p) => Float32Array.from(model.graph.initializers.get(p.name)!.toFloat32())),
  );
  const { frames: F, classes: C } = cache;
  const history: RecoverResult['history'] = [];
  const totalSteps = epochs * Math.ceil(n / batchSize);
  const x = new Float32Array(Math.min(batchSize, n) * s);
  const teacherRows = new Float32Array(Math.min(batchSize, n) * F * C);
  const labels = new Int32Array(Math.min(batchSize, n));
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = new Rng(seed * 7919 + epoch).permutation(n);
    const t0 = performance.now();
    let lossSum = 0;
    for (let first = 0; first < n; first += batchSize) {
      const k = Math.min(batchSize, n - first);
      for (let i = 0; i < k; i++) {
        const idx = order[first + i]!;
        x.set(data.x.subarray(idx * s, (idx + 1) * s), i * s);
        teacherRows.set(cache.logits.subarray(idx * F * C, (idx + 1) * F * C), i * F * C);
        labels[i] = data.labels?.[idx] ?? 0;
      }
      const r = k * F;
      const ce = useLabels
        ? classTargets(labels.subarray(0, k), C)
        : { target: new Float32Array(r * C), weight: rowWeights(teacherRows.subarray(0, r * C), r, C, background) };
      const feeds: Record<string, ort.Tensor> = {
        [input]: new ort.Tensor('float32', x.subarray(0, k * s), [k, ...data.sampleShape]),
        [LOSS_INPUTS.teacher]: new ort.Tensor('float32', teacherRows.subarray(0, r * C), [r, C]),
        [LOSS_INPUTS.target]: new ort.Tensor('float32', ce.target, [r, C]),
        [LOSS_INPUTS.weight]: new ort.Tensor('float32', ce.weight, [r]),
      };
      tg.params.forEach((p, j) => {
        feeds[p.name] = new ort.Tensor('float32', ts.params[j]!, p.dims);
      });
      const out = await session.run(feeds);
      lossSum += Number((out[tg.loss]!.data as Float32Array)[0]) * k;
      ts.update(
        tg.params.map((p) => out[p.grad]!.data as Float32Array),
        lrAt(optimizer, ts.step, totalSteps),
      );
    }
    const rec = { epoch: epoch + 1, loss: lossSum / n, seconds: (performance.now() - t0) / 1000 };
    history.push(rec);
    opts.onEpoch?.(rec);
  }
  await session.release();
  const values = new Map(tg.params.map((p, j) => [p.name, ts.params[j]!.slice()]));
  return { model: withWeights(opts.student, values), teacher: cache, history };
}

/**
 * Iterative schedule: `steps` rounds of prune-then-recover whose kept fractions multiply to 1 − ratio;
 * the teacher (the unpruned model) is run once for all rounds. `prune` is the pruning pass to use.
 */
export async function pruneAndRecover(
  model: Model,
  prune: (m: Model, ratio: number) => Promise<Model>,
  opts: Omit<RecoverOptions, 'student' | 'teacher'> & { ratio: number; steps?: number },
): Promise<RecoverResult> {
  const steps = opts.steps ?? 1;
  const per = 1 - (1 - opts.ratio) ** (1 / steps);
  let teacher: Model | TeacherCache = model;
  let current = model;
  let last: RecoverResult | undefined;
  for (let k = 0; k < steps; k++) {
    last = await recover({ ...opts, student: await prune(current, per), teacher });
    teacher = last.teacher;
    current = last.model;
  }
  return last!;
}
