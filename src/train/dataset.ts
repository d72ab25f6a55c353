// In-memory datasets for training: one float32 input per sample plus a class label. Sources: the MNIST
// digits of the `mnist` package (the data module's fixed 80/10/10 split by id), or any classification
// task of the data module, gathered from its batches.

import { mnistRows } from '../data/sources.js';
import { splitOf } from '../data/rng.js';
import type { Task } from '../data/task.js';
import { idRows } from './id-rows.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';

export interface ArrayDataset {
  /** Samples back to back: n × prod(sampleShape). */
  x: Float32Array;
  labels: Int32Array;
  /** Shape of one sample, e.g. [784] or [1, 28, 28]. */
  sampleShape: number[];
  classes: string[];
}

export interface Splits {
  train: ArrayDataset;
  val: ArrayDataset;
  test: ArrayDataset;
}

export function datasetSize(d: ArrayDataset): number {
  return d.labels.length;
}

export function sampleSize(d: ArrayDataset): number {
  return d.sampleShape.reduce((p, q) => p * q, 1);
}

/** The same samples seen through another sample shape ([784] ↔ [1,28,28]). */
export function reshapeSamples(d: ArrayDataset, sampleShape: number[]): ArrayDataset {
  const n = sampleShape.reduce((p, q) => p * q, 1);
  if (n !== sampleSize(d))
    throw new EdgefitError(
      `samples of shape [${d.sampleShape}] cannot be viewed as [${sampleShape}]`,
      'E_DATA_SHAPE',
      'choose a model whose input matches the task',
    );
  return { ...d, sampleShape };
}

/** Rows [first, first+count) of a dataset (views, no copy). */
export function subset(d: ArrayDataset, first: number, count: number): ArrayDataset {
  const s = sampleSize(d);
  return { ...d, x: d.x.subarray(first * s, (first + count) * s), labels: d.labels.subarray(first, first + count) };
}

function pack(rows: { x: Float32Array; label: number }[], sampleShape: number[], classes: string[]): ArrayDataset {
  const s = sampleShape.reduce((p, q) => p * q, 1);
  const x = new Float32Array(rows.length * s);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    x.set(r.x, k * s);
    labels[k] = r.label;
  });
  return { x, labels, sampleShape, classes };
}

/**
 * MNIST with the data module's split (hash of the id, seed 0): ~8000 train, ~1000 val, ~1000 test.
 * `limit` keeps the first n digits (interleaved by class, so balanced) before they are split.
 */
export function mnistSplits(opts: { sampleShape?: number[]; limit?: number } = {}): Splits {
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1))
    throw new UsageError(`limit must be a whole number ≥ 1, got ${opts.limit}`, 'pass --limit 1000, or leave it out to use every digit');
  const rows = opts.limit !== undefined ? mnistRows().slice(0, opts.limit) : mnistRows();
  const classes = Array.from({ length: 10 }, (_, k) => String(k));
  const shape = opts.sampleShape ?? [784];
  const size = shape.reduce((p, q) => p * q, 1);
  if (size !== 784)
    throw new UsageError(
      `mnist digits are 28×28 (784 values) but the model takes samples of shape [${shape.join(', ')}] (${size} values)`,
      'give the model a 784-value input: mlp:784-…, cnn:1x28x28-…',
    );
  const by = (name: 'train' | 'val' | 'test') => {
    const r = rows.filter((row) => splitOf(row.id, 0) === name);
    if (r.length === 0)
      throw new EdgefitError(
        `mnist has no items in the '${name}' split of the first ${rows.length} digits`,
        'E_DATA_EMPTY',
        'use more items (--limit 100 or more)',
      );
    return pack(r, shape, classes);
  };
  return { train: by('train'), val: by('val'), test: by('test') };
}

/** Gathers one split of a classification task into memory (input `input` of each batch). */
export async function taskDataset(task: Task, split: 'train' | 'val' | 'test' | 'all', input?: string): Promise<ArrayDataset> {
  const rows: { x: Float32Array; label: number }[] = [];
  let shape: number[] | undefined;
  for await (const batch of task.batches({ batchSize: 32, split, input })) {
    const t = Object.values(batch.feeds)[0];
    const pre = task.spec.preprocess;
    const ids = t?.type === 'int64' && pre.kind === 'text';
    if (t?.type !== 'float32' && !ids)
      throw new EdgefitError(`task '${task.name}' does not give float32 inputs or token ids`, 'E_DATA_TYPE', 'training needs an image, tensor or text task');
    // token ids train as float rows of the task's full length (the model trains through floatIdView)
    const per = ids ? [pre.maxLength] : t.dims.slice(1);
    const s = per.reduce((p, q) => p * q, 1);
    if (shape && shape.join() !== per.join())
      throw new EdgefitError(
        `task '${task.name}' gives samples of different shapes ([${shape}] and [${per}])`,
        'E_DATA_SHAPE',
        'use a fixed-size preprocess (pad: fixed) for training',
      );
    shape = per;
    const data = ids ? idRows(t, s) : (t.data as Float32Array);
    batch.labels.forEach((label, k) => {
      if (typeof label !== 'number')
        throw new EdgefitError(
          `task '${task.name}' is not a classification task (label ${JSON.stringify(label)})`,
          'E_DATA_LABEL',
          'training supports class labels',
        );
      rows.push({ x: data.slice(k * s, (k + 1) * s), label });
    });
  }
  if (!shape || rows.length === 0)
    throw new EdgefitError(`task '${task.name}' has no items in the '${split}' split`, 'E_DATA_EMPTY', 'use more items (--limit) or another split');
  return pack(rows, shape, task.classes);
}
