// The samples a training stage reads, loaded in the build worker: the task's train split (all of it when
// the task is too small to split) and a slice of its val split, fitted to the model's input; or, with no
// task, the model's first input from a stream of feeds (the user's calibration data), unlabelled.

import type { Model } from '../onnx/model.js';
import { UsageError } from '../onnx/errors.js';
import type { Feeds, StageData } from '../passes/pass.js';
import { loadSplit } from '../data/load-split.js';
import { taskSamples } from '../cli/prune-pipeline.js';
import type { Task } from '../data/task.js';
import { ctcSamples } from './ctc-data.js';

export interface StageTaskRef {
  ref: string;
  data?: string;
  seed: number;
}

export async function stageDataFromTask(task: StageTaskRef, model: Model, items: number): Promise<{ trainData: StageData; valData?: StageData }> {
  const base = { ...(task.data ? { data: task.data } : {}), seed: task.seed };
  const train = await loadSplit(task.ref, 'train', { ...base, limit: items });
  const trainData = await samplesOf(train.task, model, items);
  if (train.whole) return { trainData }; // no separate validation items to be had
  const val = await loadSplit(task.ref, 'val', { ...base, limit: Math.max(8, Math.ceil(items / 8)) });
  return { trainData, ...(val.whole ? {} : { valData: await samplesOf(val.task, model, val.task.size) }) };
}

/** The task's samples; for an OCR task, with each text as class indices (the recovery stage then trains with CTC). */
async function samplesOf(task: Task, model: Model, items: number): Promise<StageData> {
  if (task.spec.output.decode !== 'ctc') return taskSamples(task, model, items);
  const c = await ctcSamples(task, model, { limit: items });
  return { x: c.x, sampleShape: c.sampleShape, sequences: c.labels, blank: c.blank };
}

/** Up to `items` samples of the model's first input from the stream, stacked (all of one shape). */
export async function stageDataFromFeeds(stream: () => AsyncIterable<Feeds>, model: Model, items: number): Promise<StageData> {
  const input = model.graph.realInputs()[0]!.name;
  const parts: Float32Array[] = [];
  let shape: number[] | undefined;
  let n = 0;
  for await (const f of stream()) {
    const t = f[input];
    if (t?.type !== 'float32')
      throw new UsageError(`training stages need float32 samples of input '${input}'`, 'give a task (--task) whose inputs fit the model');
    const per = t.dims.slice(1);
    if (shape && per.join() !== shape.join())
      throw new UsageError(`the samples of input '${input}' differ in shape`, 'give fixed-size inputs for training stages');
    shape = [...per];
    parts.push(Float32Array.from(t.data as ArrayLike<number>));
    n += t.dims[0] ?? 1;
    if (n >= items) break;
  }
  if (!shape) throw new UsageError('there are no samples to train on', 'give the task or data more items');
  const s = shape.reduce((p, q) => p * q, 1);
  const x = new Float32Array(Math.min(n, items) * s);
  let at = 0;
  for (const p of parts) {
    const k = Math.min(p.length, x.length - at);
    x.set(p.subarray(0, k), at);
    at += k;
  }
  return { x, sampleShape: shape };
}
