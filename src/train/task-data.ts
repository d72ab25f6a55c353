// Training data for a task name: MNIST straight from the digits (fast, fixed split), any other
// classification task through the data module (its train/val/test split by id). An image task's
// preprocessing can be overridden, e.g. with the normalisation a pretrained model expects.

import { loadTask } from '../data/task.js';
import type { ImagePreprocess } from '../data/spec.js';
import { inferSpec } from '../data/infer-spec.js';
import { modelIO } from '../data/fit-task.js';
import type { Model } from '../onnx/model.js';
import { EdgefitError } from '../onnx/errors.js';
import { mnistSplits, reshapeSamples, taskDataset, type ArrayDataset, type Splits } from './dataset.js';

export interface TaskSplitOptions {
  sampleShape?: number[];
  seed?: number;
  limit?: number;
  input?: string;
  /** Replaces fields of an image task's preprocessing (size, channel order, normalisation). */
  preprocess?: Partial<Omit<ImagePreprocess, 'kind'>>;
}

export async function taskSplits(task: string, opts: TaskSplitOptions = {}): Promise<Splits> {
  if (task === 'mnist') return mnistSplits({ sampleShape: opts.sampleShape, limit: opts.limit });
  let t = await loadTask(task, { seed: opts.seed ?? 0, limit: opts.limit });
  if (opts.preprocess && t.spec.preprocess.kind === 'image') {
    const spec = structuredClone(t.spec);
    spec.preprocess = { ...(spec.preprocess as ImagePreprocess), ...opts.preprocess };
    t = t.withSpec(spec);
  }
  const [train, val, test] = [await taskDataset(t, 'train', opts.input), await taskDataset(t, 'val', opts.input), await taskDataset(t, 'test', opts.input)];
  const fit = (d: typeof train) => (opts.sampleShape ? reshapeSamples(d, opts.sampleShape) : d);
  return { train: fit(train), val: fit(val), test: fit(test) };
}

/**
 * The input normalisation a pretrained model expects, when edgefit knows the model (PaddleOCR cls/rec:
 * BGR, (x/255 − 0.5)/0.5; see data/infer-spec.ts): channel order, scale, mean and std — not the size,
 * which stays the task's (a convolutional backbone takes any size). Undefined for unknown models.
 */
export function modelNormalisation(model: Model): { preprocess: Partial<ImagePreprocess>; reason: string } | undefined {
  const known = inferSpec(modelIO(model));
  const p = known?.spec.preprocess;
  if (!known || p?.kind !== 'image') return undefined;
  return { preprocess: { channels: p.channels, scale: p.scale, mean: [...p.mean], std: [...p.std] }, reason: known.reason };
}

/**
 * The sample shape MNIST digits must take to feed a model: its input dims after the batch, with
 * symbolic ones filled from 1×28×28 (rank 2: [784]; rank 4: NCHW, or NHWC when the last dim is 1).
 * A model whose fixed dims do not hold 784 values is then refused by mnistSplits with a clear error.
 */
export function mnistSampleShape(model: Model): number[] {
  const t = model.graph.realInputs()[0]?.type;
  const dims = t?.kind === 'tensor' && t.shape ? t.shape.slice(1) : [784];
  const fill = dims.length === 1 ? [784] : dims.length === 2 ? [28, 28] : dims.length === 3 && dims[2] === 1 ? [28, 28, 1] : [1, 28, 28];
  if (dims.length > 3) return dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  return dims.map((d, i) => (typeof d === 'number' && d > 0 ? d : (fill[i] ?? 1)));
}

/**
 * The inputs of one split of any task (OCR included), for training that needs no class labels
 * (distillation, QAT): labels are −1. Images are padded to the fixed size of the preprocessing so a
 * batch is one tensor.
 */
export async function taskInputs(task: string, split: 'train' | 'val' | 'test' | 'all', opts: TaskSplitOptions = {}): Promise<ArrayDataset> {
  let t = await loadTask(task, { seed: opts.seed ?? 0, limit: opts.limit });
  if (t.spec.preprocess.kind === 'image') {
    const spec = structuredClone(t.spec);
    spec.preprocess = { ...(spec.preprocess as ImagePreprocess), pad: 'fixed', ...opts.preprocess };
    t = t.withSpec(spec);
  }
  const parts: Float32Array[] = [];
  let shape: number[] | undefined;
  for await (const batch of t.batches({ batchSize: 32, split, input: opts.input })) {
    const x = Object.values(batch.feeds)[0];
    if (x?.type !== 'float32')
      throw new EdgefitError(`task '${t.name}' does not give float32 inputs`, 'E_DATA_TYPE', 'training needs a float32 image or tensor task');
    shape = x.dims.slice(1);
    parts.push(Float32Array.from(x.data as Float32Array));
  }
  if (!shape || parts.length === 0)
    throw new EdgefitError(`task '${t.name}' has no items in the '${split}' split`, 'E_DATA_EMPTY', 'use more items (--limit) or another split');
  const x = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) x.set(p, (at += p.length) - p.length);
  const per = shape.reduce((p, q) => p * q, 1);
  const d: ArrayDataset = { x, labels: new Int32Array(x.length / per).fill(-1), sampleShape: shape, classes: [...t.classes] };
  return opts.sampleShape ? reshapeSamples(d, opts.sampleShape) : d;
}
